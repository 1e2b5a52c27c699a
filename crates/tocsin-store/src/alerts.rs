//! Alerts as analysts work on them: lists, one alert, status changes,
//! counts. Every read takes the caller's [`Scope`] (see [`crate::scope`]).
//!
//! Alerts are written only by the pipeline, through
//! `Store::commit_ingest_batch`; from then on the one thing that changes
//! is their status. Ids grow with every insert, so "newest first" here
//! means in the order stored, and paging is by id (`before`) rather than
//! by offset, which stays correct while new alerts arrive.

use sqlx::Row;
use sqlx::any::AnyRow;
use tocsin_model::{
    Actor, AgencyCode, Alert, AlertId, AlertStatus, AssetCode, AttackClass, Level, NewAlert, Scope,
};

use crate::error::corrupt;
use crate::text::{safe, safe_opt};
use crate::{Store, StoreError, scope, time};

/// Which alerts to list.
///
/// The default lists the newest 100 alerts of the caller's scope. Every
/// condition narrows what the scope already allows; none widens it.
#[derive(Clone, Debug, Default)]
pub struct AlertFilter {
    /// Only this agency's. An agency outside the caller's scope gives an
    /// empty list, not an error.
    pub agency: Option<AgencyCode>,
    /// Only this level.
    pub level: Option<Level>,
    /// Only this status.
    pub status: Option<AlertStatus>,
    /// Only this class of attack.
    pub class: Option<AttackClass>,
    /// Only ids below this (paging, newest first): pass the last id of the
    /// previous page.
    pub before: Option<AlertId>,
    /// At most this many (default 100, at most 10,000). Values outside
    /// 1–10,000 are clamped, not refused.
    pub limit: Option<i64>,
}

/// Alerts per level. Levels without alerts are absent rather than 0.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LevelCount {
    /// Level.
    pub level: Level,
    /// Count.
    pub count: i64,
}

/// The columns of `alerts`, in the order [`insert`] binds them after `id`.
/// What every read selects, so [`row`] finds each column by name.
pub(crate) const COLUMNS: &str = "id, created_at, event_time, received_at, rule_id, rule_title, level, kind, agency, asset, source_ip, host, input, stream, stream_seq, archive, status, summary, tags, event, intel, class, technique, entity, repeats, last_seen";

/// What the detection fired on: the rule, the agency and the entity (the
/// detector's own, else the source address, else the reporting host).
/// Repeats with the same key fold into one open alert.
fn fold_key(a: &NewAlert) -> String {
    let entity = a
        .entity
        .clone()
        .or_else(|| a.source_ip.map(|ip| ip.to_string()))
        .or_else(|| a.host.clone())
        .unwrap_or_default();
    let agency = a.agency.as_ref().map_or("", AgencyCode::as_str);
    safe(&format!("{}\u{1f}{agency}\u{1f}{entity}", a.rule_id)).into_owned()
}

/// Stores one alert inside the caller's transaction, or folds it into the
/// open alert of the same detection on the same entity whose last repeat
/// is at most `fold_secs` older (0: never fold).
///
/// Every occurrence is recorded once in `alert_folds` under its (stream,
/// position, rule): a replayed batch finds its occurrences there and
/// neither stores nor counts them again. A folded repeat raises the
/// alert's count, its last-seen time and its level (never lowers it), and
/// its summary becomes the latest (an episode's end says more than its
/// start). The alert starts as `new`; `now` is its `created_at`.
pub(crate) async fn insert(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    stream: &str,
    a: &NewAlert,
    now: &str,
    fold_secs: u64,
) -> Result<(), StoreError> {
    let key = fold_key(a);
    let rule = safe(&a.rule_id).into_owned();
    let event_time = time::text(a.event_time);
    // An occurrence already recorded (a replayed batch) is done with, even
    // if its alert was closed since or the window changed.
    let seen = sqlx::query(
        "SELECT 1 AS one FROM alert_folds WHERE stream = $1 AND stream_seq = $2 AND rule_id = $3",
    )
    .bind(safe(stream).into_owned())
    .bind(a.stream_seq as i64)
    .bind(&rule)
    .fetch_optional(&mut **tx)
    .await?;
    if seen.is_some() {
        return Ok(());
    }
    let target = if fold_secs > 0 {
        let since = chrono::Duration::try_seconds(fold_secs.min(i64::MAX as u64) as i64)
            .and_then(|d| a.event_time.checked_sub_signed(d))
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
        sqlx::query(
            "SELECT id, level, last_seen FROM alerts WHERE fold_key = $1 AND status <> 'closed' \
             AND last_seen >= $2 ORDER BY id DESC LIMIT 1",
        )
        .bind(&key)
        .bind(time::text(since))
        .fetch_optional(&mut **tx)
        .await?
    } else {
        None
    };
    if let Some(t) = target {
        let id: i64 = t.try_get("id")?;
        if !record_occurrence(tx, stream, a.stream_seq, &rule, id, &event_time).await? {
            return Ok(());
        }
        let level = level(&t.try_get::<String, _>("level")?)?.max(a.level);
        let last: Option<String> = t.try_get("last_seen")?;
        let last = last.unwrap_or_default().max(event_time);
        sqlx::query(
            "UPDATE alerts SET repeats = repeats + 1, last_seen = $1, level = $2, summary = $3 WHERE id = $4",
        )
        .bind(last)
        .bind(level.as_str())
        .bind(safe(&a.summary).into_owned())
        .bind(id)
        .execute(&mut **tx)
        .await?;
        return Ok(());
    }
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO alerts (created_at, event_time, received_at, rule_id, rule_title, level, kind, agency, asset, source_ip, host, input, stream, stream_seq, archive, status, summary, tags, event, intel, class, technique, entity, fold_key, repeats, last_seen) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 'new', $16, $17, $18, $19, $20, $21, $22, $23, 1, $2) \
         ON CONFLICT (stream, stream_seq, rule_id) DO NOTHING RETURNING id",
    )
    .bind(now)
    .bind(&event_time)
    .bind(time::text(a.received_at))
    .bind(&rule)
    .bind(safe(&a.rule_title).into_owned())
    .bind(a.level.as_str())
    .bind(a.kind.as_str())
    .bind(safe_opt(a.agency.as_ref().map(AgencyCode::as_str)).map(|c| c.into_owned()))
    .bind(safe_opt(a.asset.as_ref().map(AssetCode::as_str)).map(|c| c.into_owned()))
    .bind(a.source_ip.map(|ip| ip.to_string()))
    .bind(safe_opt(a.host.as_deref()).map(|c| c.into_owned()))
    .bind(safe(&a.input).into_owned())
    .bind(safe(stream).into_owned())
    .bind(a.stream_seq as i64)
    .bind(safe_opt(a.archive.as_deref()).map(|c| c.into_owned()))
    .bind(safe(&a.summary).into_owned())
    .bind(serde_json::to_string(&a.tags).unwrap_or_else(|_| "[]".into()))
    .bind(safe(&a.event).into_owned())
    .bind(
        a.intel
            .as_ref()
            .and_then(|h| serde_json::to_string(h).ok())
            .map(|j| safe(&j).into_owned()),
    )
    .bind(a.class.as_str())
    .bind(safe_opt(a.technique.as_deref()).map(|c| c.into_owned()))
    .bind(safe_opt(a.entity.as_deref()).map(|c| c.into_owned()))
    .bind(&key)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(id) = id {
        record_occurrence(tx, stream, a.stream_seq, &rule, id, &event_time).await?;
    }
    Ok(())
}

/// Records one occurrence (stream, position, rule) as part of alert `id`;
/// false when it was recorded already (a replay).
async fn record_occurrence(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    stream: &str,
    seq: u64,
    rule: &str,
    id: i64,
    event_time: &str,
) -> Result<bool, StoreError> {
    let n = sqlx::query(
        "INSERT INTO alert_folds (stream, stream_seq, rule_id, alert_id, event_time) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (stream, stream_seq, rule_id) DO NOTHING",
    )
    .bind(safe(stream).into_owned())
    .bind(seq as i64)
    .bind(rule)
    .bind(id)
    .bind(event_time)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(n > 0)
}

impl Store {
    /// Alerts in `scope`, newest first, narrowed by `f`.
    pub async fn alerts(&self, scope: &Scope, f: &AlertFilter) -> Result<Vec<Alert>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM alerts WHERE ($1 IS NULL OR agency = $1) AND ($2 IS NULL OR level = $2) \
             AND ($3 IS NULL OR status = $3) AND ($4 IS NULL OR class = $4) AND id < $5 AND {} \
             ORDER BY id DESC LIMIT $6",
            scope::clause(scope, "agency", 7)
        );
        let q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(f.agency.as_ref().map(AgencyCode::as_str))
            .bind(f.level.map(Level::as_str))
            .bind(f.status.map(AlertStatus::as_str))
            .bind(f.class.map(AttackClass::as_str))
            .bind(f.before.map_or(i64::MAX, |b| b.0))
            .bind(f.limit.unwrap_or(100).clamp(1, 10_000));
        let rows = scope::bind(q, scope).fetch_all(&self.pool()).await?;
        rows.iter().map(row).collect()
    }

    /// One alert, when it exists and is in `scope`.
    ///
    /// An alert outside the scope is `None`, exactly like a missing one,
    /// so a caller cannot learn that another agency's id exists.
    pub async fn alert(&self, scope: &Scope, id: AlertId) -> Result<Option<Alert>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM alerts WHERE id = $1 AND {}",
            scope::clause(scope, "agency", 2)
        );
        let q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.0);
        let r = scope::bind(q, scope).fetch_optional(&self.pool()).await?;
        r.as_ref().map(row).transpose()
    }

    /// Changes the status of an alert in `scope`, with an audit entry.
    /// False when there is no such alert there.
    ///
    /// Any status may follow any other; which transitions make sense is the
    /// caller's decision. The audit entry (`alert.status`) is written only
    /// when an alert was changed, in the same transaction.
    pub async fn set_alert_status(
        &self,
        scope: &Scope,
        id: AlertId,
        status: AlertStatus,
        actor: &Actor,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        let sql = format!(
            "SELECT status FROM alerts WHERE id = $1 AND {}",
            scope::clause(scope, "agency", 2)
        );
        let q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.0);
        let Some(row) = scope::bind(q, scope).fetch_optional(&mut *tx).await? else {
            return Ok(false);
        };
        let before: String = row.try_get("status")?;
        sqlx::query("UPDATE alerts SET status = $1 WHERE id = $2")
            .bind(status.as_str())
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        crate::audit::append(
            &mut tx,
            crate::audit::Change::new(actor, "alert.status", format!("alert {id}"))
                .states(Some(before), Some(status.as_str().to_string())),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Alerts in `scope` per level, created at or after `since`.
    ///
    /// "Created" is when the store took the alert, not the event's own
    /// time, so alerts on late events still count as recent.
    pub async fn alert_levels(
        &self,
        scope: &Scope,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<LevelCount>, StoreError> {
        let sql = format!(
            "SELECT level, COUNT(*) AS n FROM alerts WHERE created_at >= $1 AND {} GROUP BY level",
            scope::clause(scope, "agency", 2)
        );
        let q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(time::text(since));
        let rows = scope::bind(q, scope).fetch_all(&self.pool()).await?;
        rows.iter()
            .map(|r| {
                Ok(LevelCount {
                    level: level(&r.try_get::<String, _>("level")?)?,
                    count: r.try_get("n")?,
                })
            })
            .collect()
    }

    /// How many alerts `scope` holds.
    pub async fn alert_total(&self, scope: &Scope) -> Result<i64, StoreError> {
        let sql = format!(
            "SELECT COUNT(*) AS n FROM alerts WHERE {}",
            scope::clause(scope, "agency", 1)
        );
        let q = sqlx::query(sqlx::AssertSqlSafe(sql));
        let r = scope::bind(q, scope).fetch_one(&self.pool()).await?;
        Ok(r.try_get("n")?)
    }
}

/// A stored level read back.
fn level(s: &str) -> Result<Level, StoreError> {
    s.parse().map_err(|e| corrupt("alert level", s, e))
}

/// An alert read back from a row of [`COLUMNS`].
///
/// Strict about what decides handling (times, level, kind, status,
/// address): those fail as [`StoreError::Corrupt`]. Unreadable tags are
/// read as none, since they only decorate the alert.
fn row(r: &AnyRow) -> Result<Alert, StoreError> {
    let text = |c: &str| r.try_get::<String, _>(c);
    let opt = |c: &str| r.try_get::<Option<String>, _>(c);
    let status = text("status")?;
    let kind = text("kind")?;
    let source_ip = opt("source_ip")?;
    let class = text("class")?;
    let event_time = time::parse(&text("event_time")?, "event_time")?;
    Ok(Alert {
        id: AlertId(r.try_get("id")?),
        created_at: time::parse(&text("created_at")?, "created_at")?,
        status: status
            .parse()
            .map_err(|e| corrupt("alert status", &status, e))?,
        stream: text("stream")?,
        repeats: r.try_get::<i64, _>("repeats")?.max(1),
        last_seen: match opt("last_seen")? {
            Some(t) => time::parse(&t, "last_seen")?,
            None => event_time,
        },
        body: NewAlert {
            event_time,
            received_at: time::parse(&text("received_at")?, "received_at")?,
            rule_id: text("rule_id")?,
            rule_title: text("rule_title")?,
            level: level(&text("level")?)?,
            kind: kind.parse().map_err(|e| corrupt("alert kind", &kind, e))?,
            class: class
                .parse()
                .map_err(|e| corrupt("alert class", &class, e))?,
            technique: opt("technique")?,
            entity: opt("entity")?,
            agency: opt("agency")?.map(AgencyCode),
            asset: opt("asset")?.map(AssetCode),
            source_ip: match source_ip {
                Some(s) => Some(s.parse().map_err(|e| corrupt("source address", &s, e))?),
                None => None,
            },
            host: opt("host")?,
            input: text("input")?,
            stream_seq: r.try_get::<i64, _>("stream_seq")?.max(0) as u64,
            archive: opt("archive")?,
            summary: text("summary")?,
            tags: serde_json::from_str(&text("tags")?).unwrap_or_default(),
            event: text("event")?,
            // Written by this module as JSON; an unreadable one (edited by
            // hand) shows as no match rather than hiding the alert.
            intel: opt("intel")?.and_then(|j| serde_json::from_str(&j).ok()),
        },
    })
}
