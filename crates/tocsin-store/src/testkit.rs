//! Helpers for running one test suite against every backend.
//!
//! SQLite always runs (a fresh file in a temporary directory). PostgreSQL runs
//! when `TOCSIN_TEST_POSTGRES` holds a server URL: each test gets a database
//! of its own, created here and dropped by [`TestDb::cleanup`], so tests can
//! run in parallel. Without the variable, the PostgreSQL run prints that it
//! was skipped.

use sqlx::{AssertSqlSafe, Connection, Executor};

use crate::{Store, StoreConfig, StoreError};

/// A database made for one test.
pub struct TestDb {
    /// The open store.
    pub store: Store,
    /// `sqlite` or `postgres`, for assertion messages.
    pub label: &'static str,
    /// The server URL the database was created through (PostgreSQL only),
    /// to drop it again.
    admin_url: Option<String>,
    /// The PostgreSQL database's name (empty for SQLite).
    db_name: String,
    /// The SQLite file's directory, removed when the `TestDb` is dropped.
    _dir: Option<TempDir>,
}

/// A temporary directory removed on drop (no extra dependency for tests).
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A name no other test, thread or process uses at the same time: the tag,
/// the process id, a counter and the clock's nanoseconds.
///
/// Lower-case letters, digits and underscores only, because it is spliced
/// unquoted into `CREATE DATABASE` as well as used as a directory name.
fn unique(tag: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "tocsin_test_{}_{}_{}_{}",
        tag.chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>(),
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        nanos
    )
    .to_lowercase()
}

/// Every backend available to this test run: SQLite, and PostgreSQL when
/// `TOCSIN_TEST_POSTGRES` is set.
///
/// Each database is new and migrated; `tag` (the test's name) makes its
/// name recognisable when one is left behind. Call [`TestDb::cleanup`] on
/// each when done.
pub async fn backends(tag: &str) -> Result<Vec<TestDb>, StoreError> {
    let mut out = Vec::new();
    let dir = std::env::temp_dir().join(unique(tag));
    std::fs::create_dir_all(&dir).map_err(|e| StoreError::Io {
        path: dir.display().to_string(),
        source: e,
    })?;
    let store = StoreConfig::new(&dir.join("tocsin.db").display().to_string())
        .build()
        .await?;
    out.push(TestDb {
        store,
        label: "sqlite",
        admin_url: None,
        db_name: String::new(),
        _dir: Some(TempDir(dir)),
    });
    match std::env::var("TOCSIN_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => out.push(postgres(&url, tag).await?),
        _ => eprintln!("note: TOCSIN_TEST_POSTGRES is not set; PostgreSQL run of `{tag}` skipped"),
    }
    Ok(out)
}

/// Creates a new database on the server at `admin_url` and opens a store
/// on it.
async fn postgres(admin_url: &str, tag: &str) -> Result<TestDb, StoreError> {
    let name = unique(tag);
    let mut conn =
        sqlx::AnyConnection::connect(admin_url)
            .await
            .map_err(|e| StoreError::Connect {
                url: admin_url.to_string(),
                source: e,
            })?;
    conn.execute(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await?;
    conn.close().await?;
    let url = with_db(admin_url, &name);
    let store = StoreConfig::new(&url).build().await?;
    Ok(TestDb {
        store,
        label: "postgres",
        admin_url: Some(admin_url.to_string()),
        db_name: name,
        _dir: None,
    })
}

/// Replaces the database name in a PostgreSQL URL.
fn with_db(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{db}?{q}"),
        None => format!("{host_part}/{db}"),
    }
}

impl TestDb {
    /// The URL another process can open this database with (a PostgreSQL
    /// one; SQLite test databases are files in a directory of their own).
    pub fn url(&self) -> Option<String> {
        self.admin_url.as_deref().map(|a| with_db(a, &self.db_name))
    }

    /// A URL to open this database beside the store on either backend
    /// (tests that reach under the store: tampering, damage).
    pub fn raw_url(&self) -> String {
        match (&self._dir, self.url()) {
            (_, Some(pg)) => pg,
            (Some(d), None) => format!("sqlite://{}", d.0.join("tocsin.db").display()),
            (None, None) => String::new(),
        }
    }

    /// Closes the store and drops a PostgreSQL test database.
    ///
    /// Best effort: errors are ignored so cleanup never fails a test.
    /// `WITH (FORCE)` ends connections still open to the database, and
    /// needs PostgreSQL 13 or later. The SQLite directory goes when `self`
    /// is dropped at the end.
    pub async fn cleanup(self) {
        self.store.close().await;
        if let Some(admin) = &self.admin_url
            && let Ok(mut conn) = sqlx::AnyConnection::connect(admin).await
        {
            let _ = conn
                .execute(AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.db_name
                )))
                .await;
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn replaces_database_name() {
        assert_eq!(
            super::with_db("postgres://u@h:5432/test", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            super::with_db("postgres://u@h/test?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(super::with_db("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
