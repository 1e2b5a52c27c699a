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
