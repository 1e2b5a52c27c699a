//! The store's error type.

/// What went wrong talking to the database.
///
/// The first five variants come from opening a store
/// ([`StoreConfig::build`](crate::StoreConfig::build)); once it is open,
/// only [`Corrupt`](StoreError::Corrupt) and [`Db`](StoreError::Db) are
/// expected. Non-exhaustive so a variant can be added without breaking
/// callers' matches.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database could not be reached or opened.
    #[error("cannot open database {url}: {source}")]
    Connect {
        /// The URL, password hidden.
        url: String,
        /// The driver's error.
        source: sqlx::Error,
    },
    /// The URL is not one Tocsin understands (a SQLite URL without a
    /// path, such as `sqlite://`).
    #[error("`{0}` is not a database URL (use a file path, sqlite://…, or postgres://…)")]
    BadUrl(String),
    /// A directory for the database file could not be made.
    #[error("cannot create {path}: {source}")]
    Io {
        /// The directory.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A migration failed; the database is left at the previous version.
    ///
    /// Each migration runs in its own transaction (both backends roll DDL
    /// back), so earlier migrations of the same start stay applied and the
    /// next start retries from the failed one.
    #[error("migration {version} ({name}) failed: {source}")]
    Migration {
        /// Its number.
        version: i64,
        /// Its name.
        name: &'static str,
        /// The driver's error.
        source: sqlx::Error,
    },
    /// The database is newer than this binary.
    ///
    /// Refused rather than used: an older binary could misread or damage
    /// tables a newer schema changed. Nothing was written.
    #[error("database schema version {found} is newer than this Tocsin ({known}); upgrade Tocsin")]
    TooNew {
        /// Version in the database.
        found: i64,
        /// Newest version this binary knows.
        known: i64,
    },
    /// A stored value could not be read back (hand-edited row?).
    ///
    /// The row is there but a column does not parse as the model type it
    /// stands for (a time, a level, a kind, a JSON list). One such row fails
    /// the whole read it is part of.
    #[error("stored {what} is corrupt: {reason}")]
    Corrupt {
        /// Which value.
        what: String,
        /// Why.
        reason: String,
    },
    /// Any other database error: a lost connection, no free connection
    /// within the pool's timeout, a violated constraint, a missing column.
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl StoreError {
    /// True when the failure is the database's condition rather than the
    /// data's: a lost or refused connection, no free connection, a full
    /// disk, an I/O error, a lock held too long, a server shutting down.
    /// Retrying the same write later can succeed. False for what the same
    /// write would meet again (a value the database refuses, a violated
    /// constraint): such a write must be isolated, not retried forever.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Connect { .. } | StoreError::Io { .. } => true,
            StoreError::Db(e) | StoreError::Migration { source: e, .. } => transient(e),
            _ => false,
        }
    }
}

fn transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(d) => d.code().is_some_and(|c| transient_code(&c)),
        _ => false,
    }
}

/// SQLite result codes (numeric, primary code in the low byte) and
/// PostgreSQL SQLSTATEs that describe the database's state, not the data.
fn transient_code(code: &str) -> bool {
    // A SQLSTATE has five characters, often all digits ("08006"); SQLite's
    // extended codes have at most four digits.
    if code.len() < 5
        && let Ok(n) = code.parse::<u32>()
    {
        // SQLite: BUSY 5, LOCKED 6, NOMEM 7, READONLY 8, IOERR 10,
        // FULL 13, CANTOPEN 14, PROTOCOL 15.
        return matches!(n & 0xff, 5 | 6 | 7 | 8 | 10 | 13 | 14 | 15);
    }
    // PostgreSQL: connection exceptions (08), insufficient resources (53:
    // disk full, out of memory, too many connections), operator
    // intervention (57: shutdown, cancel), system errors (58: I/O),
    // serialization failures and deadlocks (40001, 40P01).
    matches!(code.get(..2), Some("08" | "53" | "57" | "58")) || matches!(code, "40001" | "40P01")
}

/// A [`StoreError::Corrupt`] quoting the stored value that did not parse.
pub(crate) fn corrupt(what: &str, value: &str, reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        what: format!("{what} `{value}`"),
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::transient_code;

    #[test]
    fn codes_of_the_database_state_are_transient() {
        for c in [
            "13", "10", "778", "5", "08006", "53100", "57P01", "58030", "40P01",
        ] {
            assert!(transient_code(c), "{c}");
        }
        // NUL in text (22021), a check or unique violation, a bad column.
        for c in ["22021", "23505", "23514", "42703", "19", "2067", "1"] {
            assert!(!transient_code(c), "{c}");
        }
    }
}
