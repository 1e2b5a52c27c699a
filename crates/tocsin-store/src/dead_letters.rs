//! Dead letters: what the pipeline could not store, kept instead of lost.
//!
//! When a batch's commit keeps failing for a reason the data carries (a
//! value the database refuses), the pipeline isolates the offending writes
//! and stores each here, with the reason and the write itself as JSON, so
//! the batch — and every other record in it — goes on. An operator sees
//! them in the console and replays them once the cause is fixed (a newer
//! Tocsin, a widened column). JSON text escapes every control character,
//! so a payload is always storable.

use chrono::{DateTime, Utc};
use sqlx::Row;
use tocsin_model::{AgencyCode, NewAlert, Scope};

use crate::text::safe;
use crate::{Store, StoreError, scope, time};

/// A dead letter's number.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct DeadLetterId(pub i64);

impl std::fmt::Display for DeadLetterId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

tocsin_model::named_enum!(
    /// What a dead letter holds.
    DeadLetterKind {
        /// An alert ([`NewAlert`] as JSON).
        Alert => "alert",
    }
);

/// A stored dead letter.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct DeadLetter {
    /// Its number.
    pub id: DeadLetterId,
    /// When it was kept.
    pub created_at: DateTime<Utc>,
    /// The queue stream of the record it came from.
    pub stream: String,
    /// The record's position in it.
    pub stream_seq: u64,
    /// What it holds.
    pub kind: DeadLetterKind,
    /// The agency of the alert it holds, if any.
    pub agency: Option<AgencyCode>,
    /// Why the database refused it.
    pub reason: String,
    /// The write itself, as JSON.
    pub payload: String,
    /// When it was replayed successfully.
    pub replayed_at: Option<DateTime<Utc>>,
}

/// What a replay did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Replay {
    /// Stored now (or already stored: alerts are unique per record and rule).
    Stored,
    /// No such dead letter in the scope, or replayed already.
    NotFound,
}

impl Store {
    /// Keeps an alert the database refused, with why. The write is JSON, so
    /// it is storable whatever its text holds.
    pub async fn dead_letter_alert(
        &self,
        stream: &str,
        alert: &NewAlert,
        reason: &str,
    ) -> Result<DeadLetterId, StoreError> {
        let payload = serde_json::to_string(alert).map_err(|e| StoreError::Corrupt {
            what: "dead letter".into(),
            reason: e.to_string(),
        })?;
        let row = sqlx::query(
            "INSERT INTO dead_letters (created_at, stream, stream_seq, kind, agency, reason, payload) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(time::now())
        .bind(safe(stream).into_owned())
        .bind(alert.stream_seq as i64)
        .bind(DeadLetterKind::Alert.as_str())
        .bind(alert.agency.as_ref().map(|a| safe(a.as_str()).into_owned()))
        .bind(safe(reason).into_owned())
        .bind(payload)
        .fetch_one(&self.pool())
        .await?;
        Ok(DeadLetterId(row.try_get("id")?))
    }

    /// Dead letters in `scope`, newest first; `open_only` leaves out those
    /// replayed.
    pub async fn dead_letters(
        &self,
        scope: &Scope,
        open_only: bool,
        limit: i64,
    ) -> Result<Vec<DeadLetter>, StoreError> {
        let sql = format!(
            "SELECT id, created_at, stream, stream_seq, kind, agency, reason, payload, replayed_at FROM dead_letters \
             WHERE ($1 = 0 OR replayed_at IS NULL) AND {} ORDER BY id DESC LIMIT $2",
            scope::clause(scope, "agency", 3)
        );
        let q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(i64::from(open_only))
            .bind(limit.clamp(1, 10_000));
        let rows = scope::bind(q, scope).fetch_all(&self.pool()).await?;
        rows.iter().map(row).collect()
    }

    /// How many dead letters in `scope` wait for a replay.
    pub async fn open_dead_letters(&self, scope: &Scope) -> Result<i64, StoreError> {
        let sql = format!(
            "SELECT COUNT(*) AS n FROM dead_letters WHERE replayed_at IS NULL AND {}",
            scope::clause(scope, "agency", 1)
        );
        let q = sqlx::query(sqlx::AssertSqlSafe(sql));
        let r = scope::bind(q, scope).fetch_one(&self.pool()).await?;
        Ok(r.try_get("n")?)
    }

    /// Tries a dead letter's write again, and marks it replayed when it
    /// lands (with an audit entry). A write the database still refuses
    /// fails with that error and stays open.
    pub async fn replay_dead_letter(
        &self,
        scope: &Scope,
        id: DeadLetterId,
        actor: &tocsin_model::Actor,
    ) -> Result<Replay, StoreError> {
        let open = self
            .dead_letters(scope, true, 10_000)
            .await?
            .into_iter()
            .find(|d| d.id == id);
        let Some(d) = open else {
            return Ok(Replay::NotFound);
        };
        let alert: NewAlert =
            serde_json::from_str(&d.payload).map_err(|e| StoreError::Corrupt {
                what: format!("dead letter {id}"),
                reason: e.to_string(),
            })?;
        let mut tx = self.pool().begin().await?;
        crate::alerts::insert(&mut tx, &d.stream, &alert, &time::now(), 0).await?;
        sqlx::query("UPDATE dead_letters SET replayed_at = $1 WHERE id = $2")
            .bind(time::now())
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        crate::audit::append(
            &mut tx,
            crate::audit::Change::new(actor, "dead_letter.replay", format!("dead letter {id}"))
                .detail(format!("{} at {}#{}", d.kind, d.stream, d.stream_seq)),
        )
        .await?;
        tx.commit().await?;
        Ok(Replay::Stored)
    }
}

fn row(r: &sqlx::any::AnyRow) -> Result<DeadLetter, StoreError> {
    let kind: String = r.try_get("kind")?;
    let replayed: Option<String> = r.try_get("replayed_at")?;
    Ok(DeadLetter {
        id: DeadLetterId(r.try_get("id")?),
        created_at: time::parse(&r.try_get::<String, _>("created_at")?, "created_at")?,
        stream: r.try_get("stream")?,
        stream_seq: r.try_get::<i64, _>("stream_seq")?.max(0) as u64,
        kind: kind
            .parse()
            .map_err(|e: tocsin_model::UnknownVariant| StoreError::Corrupt {
                what: format!("dead letter kind `{kind}`"),
                reason: e.to_string(),
            })?,
        agency: r.try_get::<Option<String>, _>("agency")?.map(AgencyCode),
        reason: r.try_get("reason")?,
        payload: r.try_get("payload")?,
        replayed_at: match replayed {
            Some(t) => Some(time::parse(&t, "replayed_at")?),
            None => None,
        },
    })
}
