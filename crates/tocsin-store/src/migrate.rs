//! Numbered schema migrations, one dialect per backend.
//!
//! Hand-rolled rather than `sqlx::migrate!` so the build needs no proc-macro
//! crate of sqlx and each migration can carry SQLite and PostgreSQL DDL side
//! by side. Applied versions are recorded in `tocsin_migrations`.
//!
//! The list only grows: a database that has applied a migration never runs
//! it again, so changing one that has shipped would leave existing
//! databases on the old shape. A schema change is a new migration at the
//! end.

use sqlx::{AssertSqlSafe, Executor, Row};

use crate::{Backend, Store, StoreError};

/// One step of the schema.
struct Migration {
    /// Its number: consecutive from 1, in the order applied.
    version: i64,
    /// A few words for logs and errors.
    name: &'static str,
    /// DDL with `{id}` for an auto-increment primary key. Split into
    /// statements at every `;`, so no statement may hold one itself (in a
    /// string or a trigger body).
    sql: &'static str,
}

/// Every migration, oldest first. Most of the DDL is common to both
/// backends: TEXT for times (see the `time` module) and for JSON, BIGINT
/// for integers.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "inventory",
        sql: r#"
CREATE TABLE agencies (
    code TEXT PRIMARY KEY,
    position BIGINT NOT NULL,
    name TEXT NOT NULL,
    name_en TEXT,
    kind TEXT NOT NULL,
    parent TEXT,
    contacts TEXT NOT NULL,
    ranges TEXT NOT NULL
);
CREATE TABLE assets (
    code TEXT PRIMARY KEY,
    position BIGINT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    owner TEXT NOT NULL REFERENCES agencies(code),
    level BIGINT NOT NULL CHECK (level BETWEEN 1 AND 5),
    addresses TEXT NOT NULL,
    hostnames TEXT NOT NULL,
    urls TEXT NOT NULL,
    description TEXT
);
CREATE INDEX assets_owner ON assets(owner);
CREATE TABLE audit_log (
    id {id},
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);
"#,
    },
    Migration {
        version: 2,
        name: "alerts and ingest",
        sql: r#"
CREATE TABLE alerts (
    id {id},
    created_at TEXT NOT NULL,
    event_time TEXT NOT NULL,
    received_at TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    rule_title TEXT NOT NULL,
    level TEXT NOT NULL,
    kind TEXT NOT NULL,
    agency TEXT,
    asset TEXT,
    source_ip TEXT,
    host TEXT,
    input TEXT NOT NULL,
    stream TEXT NOT NULL,
    stream_seq BIGINT NOT NULL,
    archive TEXT,
    status TEXT NOT NULL,
    summary TEXT NOT NULL,
    tags TEXT NOT NULL,
    event TEXT NOT NULL
);
CREATE UNIQUE INDEX alerts_once ON alerts(stream, stream_seq, rule_id);
CREATE INDEX alerts_created ON alerts(created_at);
CREATE INDEX alerts_agency ON alerts(agency, created_at);
CREATE TABLE ingest_offsets (
    stream TEXT PRIMARY KEY,
    position BIGINT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE event_counts (
    hour TEXT NOT NULL,
    input TEXT NOT NULL,
    agency TEXT NOT NULL,
    events BIGINT NOT NULL,
    errors BIGINT NOT NULL,
    PRIMARY KEY (hour, input, agency)
);
"#,
    },
    Migration {
        version: 3,
        name: "correlation state",
        sql: r#"
CREATE TABLE correlation_state (
    stream TEXT PRIMARY KEY,
    position BIGINT NOT NULL,
    saved_at TEXT NOT NULL,
    state TEXT NOT NULL
);
"#,
    },
    Migration {
        version: 4,
        name: "dead letters",
        sql: r#"
CREATE TABLE dead_letters (
    id {id},
    created_at TEXT NOT NULL,
    stream TEXT NOT NULL,
    stream_seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    agency TEXT,
    reason TEXT NOT NULL,
    payload TEXT NOT NULL,
    replayed_at TEXT
);
CREATE INDEX dead_letters_open ON dead_letters(replayed_at, id);
"#,
    },
    Migration {
        version: 5,
        name: "people and access",
        sql: r#"
ALTER TABLE audit_log ADD COLUMN seq BIGINT;
ALTER TABLE audit_log ADD COLUMN address TEXT;
ALTER TABLE audit_log ADD COLUMN object TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN before_value TEXT;
ALTER TABLE audit_log ADD COLUMN after_value TEXT;
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN hash TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX audit_log_seq ON audit_log(seq);
CREATE TABLE audit_head (
    id BIGINT PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '');
CREATE TABLE users (
    id {id},
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    agency TEXT,
    password_hash TEXT NOT NULL,
    totp_secret TEXT,
    totp_last_step BIGINT NOT NULL DEFAULT 0,
    disabled BIGINT NOT NULL DEFAULT 0,
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until TEXT,
    created_at TEXT NOT NULL,
    password_changed_at TEXT NOT NULL,
    last_login_at TEXT
);
CREATE TABLE sessions (
    id_digest TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    csrf TEXT NOT NULL,
    created_at TEXT NOT NULL,
    seen_at TEXT NOT NULL,
    address TEXT,
    user_agent TEXT
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE TABLE api_tokens (
    id {id},
    user_id BIGINT NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    digest TEXT NOT NULL,
    role TEXT NOT NULL,
    agency TEXT,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    revoked_at TEXT,
    last_used_at TEXT
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);
"#,
    },
    Migration {
        version: 6,
        name: "threat intelligence",
        sql: r#"
ALTER TABLE alerts ADD COLUMN intel TEXT;
CREATE TABLE intel_sightings (
    indicator TEXT NOT NULL,
    kind TEXT NOT NULL,
    agency TEXT NOT NULL,
    source TEXT NOT NULL,
    threat TEXT NOT NULL,
    family TEXT,
    count BIGINT NOT NULL,
    late_count BIGINT NOT NULL DEFAULT 0,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    PRIMARY KEY (indicator, kind, agency)
);
CREATE INDEX intel_sightings_agency ON intel_sightings(agency, last_seen);
CREATE TABLE infected_devices (
    id {id},
    agency TEXT NOT NULL,
    device_key TEXT NOT NULL,
    ip TEXT,
    hostname TEXT,
    mac TEXT,
    asset TEXT,
    botnet BIGINT NOT NULL DEFAULT 0,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    contacts BIGINT NOT NULL,
    indicators TEXT NOT NULL,
    families TEXT NOT NULL,
    status TEXT NOT NULL,
    status_at TEXT NOT NULL,
    found_late BIGINT NOT NULL DEFAULT 0,
    UNIQUE (agency, device_key)
);
CREATE INDEX infected_devices_seen ON infected_devices(last_seen);
CREATE TABLE infected_contacts (
    device BIGINT NOT NULL REFERENCES infected_devices(id),
    ip TEXT NOT NULL,
    indicator TEXT NOT NULL,
    day TEXT NOT NULL,
    botnet BIGINT NOT NULL DEFAULT 0,
    count BIGINT NOT NULL,
    PRIMARY KEY (device, ip, indicator, day)
);
CREATE TABLE intel_feeds (
    name TEXT PRIMARY KEY,
    format TEXT NOT NULL,
    location TEXT NOT NULL,
    attempted_at TEXT,
    loaded_at TEXT,
    indicators BIGINT NOT NULL DEFAULT 0,
    rejected BIGINT NOT NULL DEFAULT 0,
    error TEXT,
    problems TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE intel_retro (
    id {id},
    started_at TEXT NOT NULL,
    finished_at TEXT,
    since TEXT NOT NULL,
    indicators BIGINT NOT NULL,
    files_total BIGINT NOT NULL DEFAULT 0,
    files_done BIGINT NOT NULL DEFAULT 0,
    events BIGINT NOT NULL DEFAULT 0,
    hits BIGINT NOT NULL DEFAULT 0,
    error TEXT
);
"#,
    },
    Migration {
        version: 7,
        name: "attack classes and folded repeats",
        sql: r#"
ALTER TABLE alerts ADD COLUMN class TEXT NOT NULL DEFAULT 'other';
ALTER TABLE alerts ADD COLUMN technique TEXT;
ALTER TABLE alerts ADD COLUMN entity TEXT;
ALTER TABLE alerts ADD COLUMN fold_key TEXT;
ALTER TABLE alerts ADD COLUMN repeats BIGINT NOT NULL DEFAULT 1;
ALTER TABLE alerts ADD COLUMN last_seen TEXT;
UPDATE alerts SET last_seen = event_time;
UPDATE alerts SET class = 'botnet' WHERE kind = 'intel';
CREATE INDEX alerts_fold ON alerts(fold_key, id);
CREATE INDEX alerts_class ON alerts(class, created_at);
CREATE TABLE alert_folds (
    stream TEXT NOT NULL,
    stream_seq BIGINT NOT NULL,
    rule_id TEXT NOT NULL,
    alert_id BIGINT NOT NULL,
    event_time TEXT NOT NULL,
    PRIMARY KEY (stream, stream_seq, rule_id)
);
CREATE INDEX alert_folds_alert ON alert_folds(alert_id);
"#,
    },
];

/// A migration's DDL for `backend`: the one place the two dialects differ
/// is the auto-increment key.
fn dialect(sql: &str, backend: Backend) -> String {
    let id = match backend {
        Backend::Sqlite => "INTEGER PRIMARY KEY AUTOINCREMENT",
        Backend::Postgres => "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
    };
    sql.replace("{id}", id)
}

/// The newest schema version this binary knows.
pub fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Brings the schema up to [`latest`]: each pending migration in its own
/// transaction, recorded in the same transaction, so a failure leaves the
/// database at the last version that fully applied. A database newer than
/// this binary is refused ([`StoreError::TooNew`]) before anything runs.
/// Applies pending migrations; returns the schema version found (0 for a
/// new or empty database).
pub(crate) async fn run(store: &Store) -> Result<i64, StoreError> {
    let pool = &store.pool();
    pool.execute(
        "CREATE TABLE IF NOT EXISTS tocsin_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
    )
    .await?;
    let row = sqlx::query("SELECT COALESCE(MAX(version), 0) AS v FROM tocsin_migrations")
        .fetch_one(pool)
        .await?;
    let current: i64 = row.try_get("v")?;
    if current > latest() {
        return Err(StoreError::TooNew {
            found: current,
            known: latest(),
        });
    }
    for m in MIGRATIONS.iter().filter(|m| m.version > current) {
        let fail = |source| StoreError::Migration {
            version: m.version,
            name: m.name,
            source,
        };
        let mut tx = pool.begin().await.map_err(fail)?;
        let sql = dialect(m.sql, store.backend());
        for stmt in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            tx.execute(AssertSqlSafe(stmt.to_string()))
                .await
                .map_err(fail)?;
        }
        sqlx::query(
            "INSERT INTO tocsin_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
        )
        .bind(m.version)
        .bind(m.name)
        .bind(crate::time::now())
        .execute(&mut *tx)
        .await
        .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        tracing::info!(
            version = m.version,
            name = m.name,
            "applied database migration"
        );
    }
    Ok(current)
}
