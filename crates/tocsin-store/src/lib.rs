//! Where Tocsin keeps what it knows: the only crate that speaks SQL.
//!
//! Every later stage (ingest's alerts, incidents, advisories, reports, the
//! console) reads and writes through [`Store`]. Two backends sit behind the
//! one interface:
//!
//! * **SQLite**, embedded, the default: one file, WAL journal, foreign keys on
//!   — `tocsin.db`, `sqlite://path/tocsin.db` or `sqlite::memory:`;
//! * **PostgreSQL** when one machine is not enough — `postgres://…`.
//!
//! Queries are written once in the SQL both understand (numbered `$1`
//! parameters, TEXT for JSON and timestamps) and run through `sqlx`'s `Any`
//! driver; only DDL differs, and `migrate` applies the right dialect of each
//! numbered migration at start, once, inside a transaction. One module per
//! domain (`inventory`, `alerts`, `ingest`, `audit`); the types they read
//! and write are the model's ([`tocsin_model::Alert`]…), never rows.
//!
//! **Tenant isolation lives here.** Every query over agency-owned data takes
//! the caller's [`tocsin_model::Scope`], turned into SQL in one place (the
//! `scope` module): a caller scoped to an agency cannot read or change
//! another agency's alerts or counts, whatever id it guesses.
//!
//! ```no_run
//! # async fn demo() -> Result<(), tocsin_store::StoreError> {
//! let store = tocsin_store::StoreConfig::new("tocsin.db").build().await?;
//! let inv = store.load_inventory().await?;
//! println!("{} agencies", inv.agencies.len());
//! # Ok(()) }
//! ```

mod alerts;
mod audit;
mod error;
mod ingest;
mod inventory;
mod migrate;
mod scope;
#[cfg(feature = "testkit")]
pub mod testkit;
mod time;

pub use alerts::{AlertFilter, LevelCount};
pub use audit::AuditEntry;
pub use error::StoreError;
pub use ingest::IngestBatch;
pub use inventory::InventoryCounts;

use std::sync::Once;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor};

/// Which database a store talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// How to open the store.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// `tocsin.db` (a path), `sqlite://…`, `sqlite::memory:` or
    /// `postgres://user@host/db`.
    pub url: String,
    /// Connections in the pool (SQLite in memory always uses one).
    #[serde(default = "default_connections")]
    pub max_connections: u32,
}

fn default_connections() -> u32 {
    8
}

impl StoreConfig {
    /// A configuration for `url` with default pool size.
    pub fn new(url: &str) -> Self {
        StoreConfig {
            url: url.to_string(),
            max_connections: default_connections(),
        }
    }

    /// The backend the URL names.
    pub fn backend(&self) -> Backend {
        if self.url.starts_with("postgres://") || self.url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    /// Connects, applies pending migrations and returns the store.
    pub async fn build(&self) -> Result<Store, StoreError> {
        static DRIVERS: Once = Once::new();
        DRIVERS.call_once(install_default_drivers);
        let backend = self.backend();
        let (url, max) = match backend {
            Backend::Postgres => (self.url.clone(), self.max_connections.max(1)),
            Backend::Sqlite => sqlite_url(&self.url, self.max_connections)?,
        };
        let mut opts = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(8));
        if backend == Backend::Sqlite {
            opts = opts.after_connect(|conn, _| {
                Box::pin(async move {
                    // Per-connection settings; WAL itself persists in the file.
                    conn.execute("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL;")
                        .await?;
                    Ok(())
                })
            });
        }
        let pool = opts.connect(&url).await.map_err(|e| StoreError::Connect {
            url: redact(&self.url),
            source: e,
        })?;
        if backend == Backend::Sqlite && !url.contains(":memory:") {
            pool.execute("PRAGMA journal_mode = WAL;").await?;
        }
        let store = Store { pool, backend };
        migrate::run(&store).await?;
        Ok(store)
    }
}

/// A path or `sqlite:` URL → a URL sqlx accepts, creating the file if needed.
fn sqlite_url(url: &str, max: u32) -> Result<(String, u32), StoreError> {
    if url.contains(":memory:") {
        // Each in-memory connection would be a separate empty database.
        return Ok(("sqlite::memory:".to_string(), 1));
    }
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let path = path.split('?').next().unwrap_or(path);
    if path.is_empty() {
        return Err(StoreError::BadUrl(url.to_string()));
    }
    if let Some(dir) = std::path::Path::new(path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Io {
            path: dir.display().to_string(),
            source: e,
        })?;
    }
    Ok((format!("sqlite://{path}?mode=rwc"), max.max(1)))
}

/// Hides a password in a URL for error messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => {
            let cred = &url[s + 3..at];
            match cred.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..s + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// An open store. Cheap to clone (the pool is shared).
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Checks the database answers (for `/healthz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes every connection (flushes SQLite's WAL on the last one).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_forms() {
        assert_eq!(StoreConfig::new("tocsin.db").backend(), Backend::Sqlite);
        assert_eq!(
            StoreConfig::new("postgres://u@h/db").backend(),
            Backend::Postgres
        );
        assert_eq!(
            sqlite_url("sqlite::memory:", 8).unwrap(),
            ("sqlite::memory:".to_string(), 1)
        );
        assert_eq!(
            sqlite_url("sqlite://x.db", 4).unwrap().0,
            "sqlite://x.db?mode=rwc"
        );
        assert!(sqlite_url("sqlite://", 4).is_err());
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://soc:s3cret@db/tocsin"),
            "postgres://soc:***@db/tocsin"
        );
        assert_eq!(
            redact("postgres://soc@db/tocsin"),
            "postgres://soc@db/tocsin"
        );
    }
}
