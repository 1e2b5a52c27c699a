//! The store's error type.

/// What went wrong talking to the database.
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
    /// The URL is not one Tocsin understands.
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
    #[error("database schema version {found} is newer than this Tocsin ({known}); upgrade Tocsin")]
    TooNew {
        /// Version in the database.
        found: i64,
        /// Newest version this binary knows.
        known: i64,
    },
    /// A stored value could not be read back (hand-edited row?).
    #[error("stored {what} is corrupt: {reason}")]
    Corrupt {
        /// Which value.
        what: String,
        /// Why.
        reason: String,
    },
    /// Any other database error.
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}
