//! What the pipeline commits: each batch's alerts, hourly event counts and
//! queue position in one transaction, and its saved correlation windows.
//!
//! A crash before a batch's commit replays the batch; after it, the batch is
//! never seen again — so every queued event is processed exactly once.
//!
//! That holds because the queue position is stored in the same transaction
//! as the batch's results: the pipeline reads on from
//! [`Store::ingest_position`], and lets the queue drop records only once
//! their batch has committed. Correlation windows are saved apart from the
//! batches, every so often rather than with each one, tagged with the
//! position they describe, so the pipeline can tell how far they lag.

use sqlx::Row;
use tocsin_model::{AgencyCode, EventCount, NewAlert, Scope};

use crate::{Store, StoreError, scope, time};

/// Everything one pipeline batch commits at once.
#[derive(Clone, Debug, Default)]
pub struct IngestBatch {
    /// The queue stream's name: the key of the stored position, and part
    /// of each alert's unique key.
    pub stream: String,
    /// The position after the batch's last event: where a restart
    /// resumes. Stored as given, so it must not go backwards.
    pub position: u64,
    /// Alerts raised by the batch.
    pub alerts: Vec<NewAlert>,
    /// Event counts to add to the stored hourly counts (per hour, input
    /// and agency), not to replace them.
    pub counts: Vec<EventCount>,
    /// Threat-intelligence matches to count (with the position, so
    /// exactly once).
    pub sightings: Vec<tocsin_model::Sighting>,
    /// Repeats of a detection on the same entity fold into its open alert
    /// when the alert's last repeat is at most this many seconds older (0:
    /// every finding is an alert of its own).
    pub fold_secs: u64,
}

impl Store {
    /// Commits a pipeline batch atomically (see the module docs). An alert
    /// already stored for the same (stream, position, rule) is not stored
    /// twice.
    ///
    /// On an error nothing of the batch is stored and the position stays
    /// where it was, so the caller may simply retry the same batch.
    pub async fn commit_ingest_batch(&self, b: &IngestBatch) -> Result<(), StoreError> {
        let now = time::now();
        let mut tx = self.pool().begin().await?;
        for a in &b.alerts {
            crate::alerts::insert(&mut tx, &b.stream, a, &now, b.fold_secs).await?;
        }
        progress(&mut tx, b, &now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores alerts alone, in one transaction (no counts, no position):
    /// how the pipeline isolates an alert the database refuses. Alerts
    /// already stored are skipped, so a subset can be committed again.
    pub async fn commit_alerts(
        &self,
        stream: &str,
        alerts: &[NewAlert],
        fold_secs: u64,
    ) -> Result<(), StoreError> {
        let now = time::now();
        let mut tx = self.pool().begin().await?;
        for a in alerts {
            crate::alerts::insert(&mut tx, stream, a, &now, fold_secs).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Commits a batch's counts and position without its alerts (they are
    /// stored already, or kept as dead letters).
    pub async fn commit_progress(&self, b: &IngestBatch) -> Result<(), StoreError> {
        let now = time::now();
        let mut tx = self.pool().begin().await?;
        progress(&mut tx, b, &now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Where the pipeline consuming `stream` resumes (0 for a new stream).
    pub async fn ingest_position(&self, stream: &str) -> Result<u64, StoreError> {
        let row = sqlx::query("SELECT position FROM ingest_offsets WHERE stream = $1")
            .bind(stream)
            .fetch_optional(&self.pool())
            .await?;
        Ok(match row {
            Some(r) => r.try_get::<i64, _>("position")?.max(0) as u64,
            None => 0,
        })
    }

    /// Keeps the correlation windows of the pipeline consuming `stream`, as
    /// of queue `position` (the pipeline's own encoding), so a restart does
    /// not forget an attack in progress. Replaces the previous copy.
    ///
    /// The store does not read `state`; it is kept as text. Not part of a
    /// batch's transaction, so after a crash the saved windows may be
    /// older than the committed position: `position` tells by how much.
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
        .bind(time::now())
        .bind(state)
        .execute(&self.pool())
        .await?;
        Ok(())
    }

    /// The correlation windows last saved for `stream`: (position, state).
    /// `None` when none were ever saved.
    pub async fn correlation_state(
        &self,
        stream: &str,
    ) -> Result<Option<(u64, String)>, StoreError> {
        let row = sqlx::query("SELECT position, state FROM correlation_state WHERE stream = $1")
            .bind(stream)
            .fetch_optional(&self.pool())
            .await?;
        row.map(|r| {
            Ok((
                r.try_get::<i64, _>("position")?.max(0) as u64,
                r.try_get::<String, _>("state")?,
            ))
        })
        .transpose()
    }

    /// Event counts in `scope` from the hour holding `since` on, oldest
    /// first.
    ///
    /// Counts attributed to no agency are stored under the empty code (a
    /// key column cannot be NULL) and come back with `agency: None`; only
    /// the whole-province scope sees them.
    pub async fn event_counts(
        &self,
        scope: &Scope,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<EventCount>, StoreError> {
        let sql = format!(
            "SELECT hour, input, agency, events, errors FROM event_counts WHERE hour >= $1 AND {} \
             ORDER BY hour, input, agency",
            scope::clause(scope, "agency", 2)
        );
        let q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(time::hour_text(since));
        let rows = scope::bind(q, scope).fetch_all(&self.pool()).await?;
        rows.iter()
            .map(|r| {
                let agency: String = r.try_get("agency")?;
                Ok(EventCount {
                    hour: time::parse_hour(&r.try_get::<String, _>("hour")?)?,
                    input: r.try_get("input")?,
                    agency: Some(agency).filter(|a| !a.is_empty()).map(AgencyCode),
                    events: r.try_get("events")?,
                    errors: r.try_get("errors")?,
                })
            })
            .collect()
    }
}

/// A batch's event counts and the queue position after it, inside the
/// caller's transaction.
async fn progress(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    b: &IngestBatch,
    now: &str,
) -> Result<(), StoreError> {
    for c in &b.counts {
        sqlx::query(
            "INSERT INTO event_counts (hour, input, agency, events, errors) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (hour, input, agency) DO UPDATE SET events = event_counts.events + excluded.events, errors = event_counts.errors + excluded.errors",
        )
        .bind(time::hour_text(c.hour))
        .bind(crate::text::safe(&c.input).into_owned())
        // The key cannot hold NULL: unattributed counts under "".
        .bind(crate::text::safe(c.agency.as_ref().map_or("", AgencyCode::as_str)).into_owned())
        .bind(c.events)
        .bind(c.errors)
        .execute(&mut **tx)
        .await?;
    }
    crate::intel::record(tx, &b.sightings).await?;
    sqlx::query(
        "INSERT INTO ingest_offsets (stream, position, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (stream) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at",
    )
    .bind(&b.stream)
    .bind(b.position as i64)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
