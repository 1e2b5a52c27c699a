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
mod dead_letters;
mod error;
mod ingest;
mod intel;
mod inventory;
mod migrate;
mod scope;
#[cfg(feature = "testkit")]
pub mod testkit;
mod text;
mod time;
mod users;

pub use alerts::{AlertFilter, LevelCount};
pub use audit::{AuditEntry, AuditVerdict};
pub use dead_letters::{DeadLetter, DeadLetterId, DeadLetterKind, Replay};
pub use error::StoreError;
pub use ingest::IngestBatch;
pub use intel::{
    AgencyIntelCount, BotnetAddress, DeviceFilter, FeedStatus, InfectedDevice, RetroStatus,
    SightingRow,
};
pub use inventory::InventoryCounts;
pub use users::{ApiTokenInfo, Credentials, LoginOutcome, NewUser, SessionInfo, User};

use std::sync::atomic::Ordering;
use std::sync::{Arc, Once, RwLock};
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor};

/// Which database a store talks to.
///
/// Decided by the URL alone ([`StoreConfig::backend`]). Queries do not
/// depend on it; only the DDL of migrations and a few connection settings
/// do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite: one file, no server to run.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// How to open the store.
///
/// Deserialized from the configuration file; unknown keys are an error,
/// so a misspelt setting is not silently ignored.
#[derive(Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// `tocsin.db` (a path), `sqlite://…`, `sqlite::memory:` or
    /// `postgres://user@host/db`.
    pub url: String,
    /// The PostgreSQL password, kept out of the URL: a string,
    /// `{ file = "…" }` or `{ env = "…" }`. Replaces one in the URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<tocsin_model::Secret>,
    /// Connections in the pool (SQLite in memory always uses one).
    /// Default 8; 0 is taken as 1. With SQLite, writers still take turns
    /// on the one file (a busy connection waits up to 10 s for the lock),
    /// so more connections mostly help concurrent reads.
    #[serde(default = "default_connections")]
    pub max_connections: u32,
}

/// The pool size when the configuration names none.
fn default_connections() -> u32 {
    8
}

impl StoreConfig {
    /// A configuration for `url` with default pool size.
    pub fn new(url: &str) -> Self {
        StoreConfig {
            url: url.to_string(),
            password: None,
            max_connections: default_connections(),
        }
    }

    /// The URL to connect with: the configured password put in.
    fn connect_url(&self) -> Result<String, StoreError> {
        let Some(p) = &self.password else {
            return Ok(self.url.clone());
        };
        let mut u =
            url::Url::parse(&self.url).map_err(|_| StoreError::BadUrl(redact(&self.url)))?;
        u.set_password(Some(p.expose()))
            .map_err(|_| StoreError::BadUrl(redact(&self.url)))?;
        Ok(u.to_string())
    }

    /// The backend the URL names: `postgres://` or `postgresql://` is
    /// PostgreSQL, anything else (a bare path included) SQLite.
    pub fn backend(&self) -> Backend {
        if self.url.starts_with("postgres://") || self.url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    /// Connects, applies pending migrations and returns the store.
    ///
    /// For SQLite the file and its directory are created when missing, and
    /// every connection turns on foreign keys, a 10 s busy timeout and
    /// `synchronous = NORMAL` (with WAL: a committed transaction survives a
    /// crash of Tocsin, though the last ones may be lost if the machine
    /// loses power). A query waits at most 8 s for a free connection.
    ///
    /// Fails with [`StoreError::BadUrl`], [`StoreError::Io`] or
    /// [`StoreError::Connect`] when the database cannot be opened, and with
    /// [`StoreError::Migration`] or [`StoreError::TooNew`] when its schema
    /// cannot be brought to this binary's version.
    pub async fn build(&self) -> Result<Store, StoreError> {
        let pool = self.connect().await?;
        let store = Store {
            inner: Arc::new(Inner {
                pool: RwLock::new(pool),
                backend: self.backend(),
                config: self.clone(),
                fresh: std::sync::atomic::AtomicBool::new(false),
            }),
        };
        let from = migrate::run(&store).await?;
        audit::chain_legacy(&store).await?;
        store.inner.fresh.store(from == 0, Ordering::Relaxed);
        Ok(store)
    }

    /// A new pool of connections (and, for SQLite, the file in WAL mode).
    async fn connect(&self) -> Result<AnyPool, StoreError> {
        static DRIVERS: Once = Once::new();
        DRIVERS.call_once(install_default_drivers);
        let backend = self.backend();
        let (url, max) = match backend {
            Backend::Postgres => (self.connect_url()?, self.max_connections.max(1)),
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
        Ok(pool)
    }
}

/// Shown without its password, wherever it is logged or printed.
impl std::fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreConfig")
            .field("url", &redact(&self.url))
            .field("password", &self.password)
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

/// A path or `sqlite:` URL → a URL sqlx accepts, creating the file if needed.
///
/// Returns the URL and the pool size. Creates the file's directory here;
/// the file itself is created by sqlx on connect (`mode=rwc`). A query
/// string on the given URL is dropped in favour of that mode.
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
///
/// Only the `scheme://user:password@host` form carries one; any other URL
/// is returned unchanged.
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
///
/// Made by [`StoreConfig::build`], so a `Store` always has an up-to-date
/// schema. Its methods live in the domain modules; every write is one
/// transaction, and a write that must be audited commits together with
/// its audit entry.
#[derive(Clone, Debug)]
pub struct Store {
    inner: Arc<Inner>,
}

/// What every clone of a [`Store`] shares.
#[derive(Debug)]
struct Inner {
    /// The connections, through sqlx's backend-neutral `Any` driver;
    /// replaced whole by [`Store::reconnect`].
    pool: RwLock<AnyPool>,
    /// Which database the pool talks to.
    backend: Backend,
    /// How it was opened, to open it again.
    config: StoreConfig,
    /// The schema was created by this open (an empty or new database).
    fresh: std::sync::atomic::AtomicBool,
}

impl Store {
    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// True when this open created the schema: the database was new or
    /// empty. A node that finds ingest state (a queue, checkpoints) beside
    /// a fresh database has lost its database, and must not start afresh.
    pub fn is_fresh(&self) -> bool {
        self.inner.fresh.load(Ordering::Relaxed)
    }

    /// Checks the database answers (for `/healthz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool()).await?;
        Ok(())
    }

    /// Closes every connection (flushes SQLite's WAL on the last one).
    /// Affects every clone; later queries fail.
    pub async fn close(&self) {
        self.pool().close().await;
    }

    /// Drops every connection and opens new ones: after a failed commit no
    /// connection is trusted again (a connection whose commit failed may
    /// believe it is still inside a transaction, and then "commit" only a
    /// savepoint). Queries in flight finish on the old connections first. An
    /// in-memory SQLite database cannot be reopened; it keeps its one
    /// connection.
    pub async fn reconnect(&self) -> Result<(), StoreError> {
        if self.inner.config.url.contains(":memory:") {
            return Ok(());
        }
        let fresh = self.inner.config.connect().await?;
        let old = {
            let mut g = self.inner.pool.write().unwrap_or_else(|e| e.into_inner());
            std::mem::replace(&mut *g, fresh)
        };
        // Waits for connections in use (a page's query) to come back.
        old.close().await;
        Ok(())
    }

    /// The pool, for the domain modules (a cheap handle). Not public, so
    /// that SQL stays in this crate.
    pub(crate) fn pool(&self) -> AnyPool {
        self.inner
            .pool
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
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
        let mut c = StoreConfig::new("postgres://soc:old@db/tocsin");
        c.password = Some("mật:khẩu@mới".into());
        let shown = format!("{c:?}");
        assert!(!shown.contains("old") && !shown.contains("mới"), "{shown}");
        // The configured password replaces the URL's, escaped.
        let u = c.connect_url().unwrap();
        assert!(
            u.starts_with("postgres://soc:m%E1%BA%ADt%3Akh%E1%BA%A9u%40m%E1%BB%9Bi@db/"),
            "{u}"
        );
    }
}
