//! Alerts, the ingest pipeline's consumer positions and hourly event
//! counts. One [`IngestBatch`] is committed in one transaction: the alerts
//! of a batch of queued events, their counts and the queue position after
//! them. A crash before the commit replays the batch; after it, the batch is
//! never seen again — so every queued event is processed exactly once.

use sqlx::Row;

use crate::{Store, StoreError};

/// What produced an alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A Sigma rule matched one event.
    Rule,
    /// A Sigma correlation fired over several events.
    Correlation,
    /// A sensor's own alert (Suricata, a firewall's IPS).
    Sensor,
}

impl AlertKind {
    /// Stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Rule => "rule",
            AlertKind::Correlation => "correlation",
            AlertKind::Sensor => "sensor",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "correlation" => AlertKind::Correlation,
            "sensor" => AlertKind::Sensor,
            _ => AlertKind::Rule,
        }
    }
}

/// Where an analyst is with an alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    /// Not looked at yet.
    New,
    /// Someone is on it.
    Acknowledged,
    /// Done with (handled, or a false positive).
    Closed,
}

impl AlertStatus {
    /// Stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::New => "new",
            AlertStatus::Acknowledged => "acknowledged",
            AlertStatus::Closed => "closed",
        }
    }

    /// From the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "new" => AlertStatus::New,
            "acknowledged" => AlertStatus::Acknowledged,
            "closed" => AlertStatus::Closed,
            _ => return None,
        })
    }
}

/// An alert to store.
#[derive(Clone, Debug, PartialEq)]
pub struct NewAlert {
    /// When the evidence happened (RFC 3339, UTC).
    pub event_time: String,
    /// When Tocsin received the evidence (RFC 3339, UTC).
    pub received_at: String,
    /// The rule's id.
    pub rule_id: String,
    /// The rule's title.
    pub rule_title: String,
    /// informational / low / medium / high / critical.
    pub level: String,
    /// What produced it.
    pub kind: AlertKind,
    /// The agency the evidence is attributed to.
    pub agency: Option<String>,
    /// The asset.
    pub asset: Option<String>,
    /// The source address of the evidence.
    pub source_ip: Option<String>,
    /// The host that reported it.
    pub host: Option<String>,
    /// The input it came through.
    pub input: String,
    /// The queue position of the evidence event (with `rule_id`, unique).
    pub stream_seq: u64,
    /// Where the raw record is archived (`file#line`), when archiving.
    pub archive: Option<String>,
    /// One line for lists.
    pub summary: String,
    /// ATT&CK and other tags (JSON list).
    pub tags: Vec<String>,
    /// The evidence: the normalized event as JSON.
    pub event: String,
}

/// A stored alert.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Alert {
    /// Its number.
    pub id: i64,
    /// When it was stored.
    pub created_at: String,
    /// When the evidence happened.
    pub event_time: String,
    /// When the evidence was received.
    pub received_at: String,
    /// Rule id.
    pub rule_id: String,
    /// Rule title.
    pub rule_title: String,
    /// Level.
    pub level: String,
    /// What produced it.
    pub kind: AlertKind,
    /// Agency code.
    pub agency: Option<String>,
    /// Asset code.
    pub asset: Option<String>,
    /// Source address.
    pub source_ip: Option<String>,
    /// Reporting host.
    pub host: Option<String>,
    /// Input name.
    pub input: String,
    /// Queue stream.
    pub stream: String,
    /// Position in the stream.
    pub stream_seq: i64,
    /// Raw archive reference.
    pub archive: Option<String>,
    /// Status.
    pub status: AlertStatus,
    /// One line.
    pub summary: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Evidence event (JSON text).
    pub event: String,
}

/// Events seen in one hour through one input for one agency.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct EventCount {
    /// `2026-11-24T10` (UTC).
    pub hour: String,
    /// Input name.
    pub input: String,
    /// Agency code, empty when unattributed.
    pub agency: String,
    /// Events.
    pub events: i64,
    /// Of which records that did not parse.
    pub errors: i64,
}

/// Everything one pipeline batch commits at once.
#[derive(Clone, Debug, Default)]
pub struct IngestBatch {
    /// The queue stream's name.
    pub stream: String,
    /// The position after the batch's last event.
    pub position: u64,
    /// Alerts raised by the batch.
    pub alerts: Vec<NewAlert>,
    /// Event counts to add.
    pub counts: Vec<EventCount>,
}

/// Which alerts to list.
#[derive(Clone, Debug, Default)]
pub struct AlertFilter {
    /// Only this agency's.
    pub agency: Option<String>,
    /// Only this level.
    pub level: Option<String>,
    /// Only this status.
    pub status: Option<AlertStatus>,
    /// Only ids below this (paging, newest first).
    pub before_id: Option<i64>,
    /// At most this many (default 100).
    pub limit: Option<i64>,
}

/// Alerts per level.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LevelCount {
    /// Level.
    pub level: String,
    /// Count.
    pub count: i64,
}

const ALERT_COLUMNS: &str = "id, created_at, event_time, received_at, rule_id, rule_title, level, kind, agency, asset, source_ip, host, input, stream, stream_seq, archive, status, summary, tags, event";

/// The hour key of `event_counts` (`2026-11-24T03`, UTC): fixed width, so
/// text order is time order.
pub fn hour_text(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H").to_string()
}

/// Times as stored: fixed width, so text order is time order.
pub fn time_text(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

impl Store {
    /// Commits a pipeline batch atomically (see the module docs). An alert
    /// already stored for the same (stream, position, rule) is not stored
    /// twice.
    pub async fn commit_ingest_batch(&self, b: &IngestBatch) -> Result<(), StoreError> {
        let now = time_text(chrono::Utc::now());
        let mut tx = self.pool().begin().await?;
        for a in &b.alerts {
            sqlx::query(
                "INSERT INTO alerts (created_at, event_time, received_at, rule_id, rule_title, level, kind, agency, asset, source_ip, host, input, stream, stream_seq, archive, status, summary, tags, event) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 'new', $16, $17, $18) \
                 ON CONFLICT (stream, stream_seq, rule_id) DO NOTHING",
            )
            .bind(&now)
            .bind(&a.event_time)
            .bind(&a.received_at)
            .bind(&a.rule_id)
            .bind(&a.rule_title)
            .bind(&a.level)
            .bind(a.kind.as_str())
            .bind(a.agency.as_deref())
            .bind(a.asset.as_deref())
            .bind(a.source_ip.as_deref())
            .bind(a.host.as_deref())
            .bind(&a.input)
            .bind(&b.stream)
            .bind(a.stream_seq as i64)
            .bind(a.archive.as_deref())
            .bind(&a.summary)
            .bind(serde_json::to_string(&a.tags).unwrap_or_else(|_| "[]".into()))
            .bind(&a.event)
            .execute(&mut *tx)
            .await?;
        }
        for c in &b.counts {
            sqlx::query(
                "INSERT INTO event_counts (hour, input, agency, events, errors) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (hour, input, agency) DO UPDATE SET events = event_counts.events + excluded.events, errors = event_counts.errors + excluded.errors",
            )
            .bind(&c.hour)
            .bind(&c.input)
            .bind(&c.agency)
            .bind(c.events)
            .bind(c.errors)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO ingest_offsets (stream, position, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (stream) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at",
        )
        .bind(&b.stream)
        .bind(b.position as i64)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Where the pipeline consuming `stream` resumes (0 for a new stream).
    pub async fn ingest_position(&self, stream: &str) -> Result<u64, StoreError> {
        let row = sqlx::query("SELECT position FROM ingest_offsets WHERE stream = $1")
            .bind(stream)
            .fetch_optional(self.pool())
            .await?;
        Ok(match row {
            Some(r) => r.try_get::<i64, _>("position")?.max(0) as u64,
            None => 0,
        })
    }

    /// Keeps the correlation windows of the pipeline consuming `stream`, as
    /// of queue `position` (the pipeline's own encoding), so a restart does
    /// not forget an attack in progress. Replaces the previous copy.
    pub async fn save_correlation_state(
        &self,
        stream: &str,
        position: u64,
        state: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO correlation_state (stream, position, saved_at, state) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (stream) DO UPDATE SET position = excluded.position, saved_at = excluded.saved_at, state = excluded.state",
        )
        .bind(stream)
        .bind(position as i64)
        .bind(crate::inventory::now())
        .bind(state)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The correlation windows last saved for `stream`: (position, state).
    pub async fn correlation_state(
        &self,
        stream: &str,
    ) -> Result<Option<(u64, String)>, StoreError> {
        let row = sqlx::query("SELECT position, state FROM correlation_state WHERE stream = $1")
            .bind(stream)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| {
            Ok((
                r.try_get::<i64, _>("position")?.max(0) as u64,
                r.try_get::<String, _>("state")?,
            ))
        })
        .transpose()
    }

    /// Alerts, newest first.
    pub async fn alerts(&self, f: &AlertFilter) -> Result<Vec<Alert>, StoreError> {
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE ($1 IS NULL OR agency = $1) AND ($2 IS NULL OR level = $2) \
             AND ($3 IS NULL OR status = $3) AND id < $4 ORDER BY id DESC LIMIT $5"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(f.agency.as_deref())
            .bind(f.level.as_deref())
            .bind(f.status.map(AlertStatus::as_str))
            .bind(f.before_id.unwrap_or(i64::MAX))
            .bind(f.limit.unwrap_or(100).clamp(1, 10_000))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(alert_row).collect()
    }

    /// One alert.
    pub async fn alert(&self, id: i64) -> Result<Option<Alert>, StoreError> {
        let sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(alert_row).transpose()
    }

    /// Changes an alert's status, with an audit entry. False when no such
    /// alert.
    pub async fn set_alert_status(
        &self,
        id: i64,
        status: AlertStatus,
        actor: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        let n = sqlx::query("UPDATE alerts SET status = $1 WHERE id = $2")
            .bind(status.as_str())
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n > 0 {
            crate::inventory::insert_audit(
                &mut tx,
                actor,
                "alert.status",
                &format!("alert {id} → {}", status.as_str()),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(n > 0)
    }

    /// Alerts per level created at or after `since` (RFC 3339 text).
    pub async fn alert_levels(&self, since: &str) -> Result<Vec<LevelCount>, StoreError> {
        let rows = sqlx::query(
            "SELECT level, COUNT(*) AS n FROM alerts WHERE created_at >= $1 GROUP BY level",
        )
        .bind(since)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(LevelCount {
                    level: r.try_get("level")?,
                    count: r.try_get("n")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Total alerts stored.
    pub async fn alert_total(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM alerts")
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get("n")?)
    }

    /// Event counts from hour `since` ([`hour_text`]) on.
    pub async fn event_counts(&self, since: &str) -> Result<Vec<EventCount>, StoreError> {
        let rows = sqlx::query(
            "SELECT hour, input, agency, events, errors FROM event_counts WHERE hour >= $1 ORDER BY hour, input, agency",
        )
        .bind(since)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(EventCount {
                    hour: r.try_get("hour")?,
                    input: r.try_get("input")?,
                    agency: r.try_get("agency")?,
                    events: r.try_get("events")?,
                    errors: r.try_get("errors")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }
}

fn alert_row(r: &sqlx::any::AnyRow) -> Result<Alert, StoreError> {
    let status: String = r.try_get("status")?;
    let tags: String = r.try_get("tags")?;
    let kind: String = r.try_get("kind")?;
    Ok(Alert {
        id: r.try_get("id")?,
        created_at: r.try_get("created_at")?,
        event_time: r.try_get("event_time")?,
        received_at: r.try_get("received_at")?,
        rule_id: r.try_get("rule_id")?,
        rule_title: r.try_get("rule_title")?,
        level: r.try_get("level")?,
        kind: AlertKind::parse(&kind),
        agency: r.try_get("agency")?,
        asset: r.try_get("asset")?,
        source_ip: r.try_get("source_ip")?,
        host: r.try_get("host")?,
        input: r.try_get("input")?,
        stream: r.try_get("stream")?,
        stream_seq: r.try_get("stream_seq")?,
        archive: r.try_get("archive")?,
        status: AlertStatus::parse(&status).unwrap_or(AlertStatus::New),
        summary: r.try_get("summary")?,
        tags: serde_json::from_str(&tags).unwrap_or_default(),
        event: r.try_get("event")?,
    })
}
