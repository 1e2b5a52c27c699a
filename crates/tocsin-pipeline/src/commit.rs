//! Committing a batch, whatever the database does.
//!
//! * It lands: done.
//! * It fails for the database's condition (a full disk, a lost server, a
//!   lock): the pipeline **pauses** — nothing is read, released or
//!   deleted; the inputs fill the queue and then push back — reopens its
//!   connections (a connection whose commit failed is not trusted again),
//!   checks the last durable position, and tries again with a growing
//!   pause until it lands. `/healthz` and the Inputs page say why.
//! * It fails for the data (a value the database refuses): the batch is
//!   **isolated** — its alerts committed in halves until each refused
//!   alert stands alone, kept as a dead letter with the reason, then the
//!   counts and the position. So no batch is retried forever, and no other
//!   record of it is lost.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tocsin_model::NewAlert;
use tocsin_store::{IngestBatch, Store, StoreError};
use tocsin_telemetry::{Health, PipelineMetrics};

/// The longest pause between two tries.
const MAX_PAUSE: Duration = Duration::from_secs(10);

/// How a commit ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The batch is durable (whole, or with refused alerts dead-lettered).
    Committed,
    /// The database holds an earlier position than the batch starts at:
    /// commits the pipeline believed durable were not. Processing must
    /// resume from there.
    Rewind(u64),
    /// Asked to stop while paused; nothing of the batch is committed.
    Stopped,
}

/// What committing needs.
pub(crate) struct Committer<'a> {
    pub(crate) store: &'a Store,
    pub(crate) health: &'a Health,
    pub(crate) m: &'a PipelineMetrics,
}

impl Committer<'_> {
    /// Commits `batch`, which starts at queue position `start`.
    pub(crate) async fn commit<F: Future<Output = ()>>(
        &self,
        batch: &IngestBatch,
        start: u64,
        stop: &mut Pin<&mut F>,
    ) -> Outcome {
        let mut pause = Duration::from_millis(100);
        loop {
            let err = match self.store.commit_ingest_batch(batch).await {
                Ok(()) => {
                    self.health.ok("store");
                    return Outcome::Committed;
                }
                Err(e) => e,
            };
            self.m.commit_errors.inc();
            if !err.is_transient() {
                tracing::warn!(error = %err, position = batch.position, "pipeline: the database refuses this batch; isolating what it refuses");
                match self.isolate(batch).await {
                    Ok(n) => {
                        self.m.dead_letters.add(n);
                        self.health.ok("store");
                        return Outcome::Committed;
                    }
                    Err(e) if e.is_transient() => {}
                    Err(e) => {
                        // Counts and position alone refused: a store bug.
                        // Paused like a transient fault, loudly.
                        tracing::error!(error = %e, position = batch.position, "pipeline: cannot commit even the position");
                    }
                }
            }
            self.health.degraded(
                "store",
                format!(
                    "paused at queue position {start}: cannot commit to the database ({err}); retrying"
                ),
            );
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = stop.as_mut() => return Outcome::Stopped,
            }
            pause = (pause * 2).min(MAX_PAUSE);
            if let Err(e) = self.store.reconnect().await {
                tracing::warn!(error = %e, "pipeline: cannot reopen the database yet");
                continue;
            }
            // Where the database really is: the failed commit may have
            // landed after all, or earlier ones may not have.
            match self.store.ingest_position(&batch.stream).await {
                Ok(p) if p >= batch.position => {
                    self.health.ok("store");
                    return Outcome::Committed;
                }
                Ok(p) if p < start => {
                    tracing::error!(
                        durable = p,
                        believed = start,
                        "pipeline: the database lost commits it had acknowledged; resuming from its position"
                    );
                    return Outcome::Rewind(p);
                }
                Ok(_) | Err(_) => {}
            }
        }
    }

    /// Commits what the database accepts of `batch` and dead-letters the
    /// alerts it refuses; returns how many were dead-lettered. Fails only
    /// on a transient error (to be retried whole) or when even the counts
    /// and position are refused.
    async fn isolate(&self, batch: &IngestBatch) -> Result<u64, StoreError> {
        let mut dead = 0;
        let mut todo: Vec<&[NewAlert]> = vec![&batch.alerts];
        while let Some(part) = todo.pop() {
            if part.is_empty() {
                continue;
            }
            match self
                .store
                .commit_alerts(&batch.stream, part, batch.fold_secs)
                .await
            {
                Ok(()) => {}
                Err(e) if e.is_transient() => return Err(e),
                Err(e) if part.len() == 1 => {
                    let a = &part[0];
                    tracing::error!(error = %e, seq = a.stream_seq, rule = %a.rule_id, "pipeline: alert refused by the database; kept as a dead letter");
                    self.store
                        .dead_letter_alert(&batch.stream, a, &e.to_string())
                        .await?;
                    dead += 1;
                }
                Err(_) => {
                    let (a, b) = part.split_at(part.len() / 2);
                    todo.push(b);
                    todo.push(a);
                }
            }
        }
        match self.store.commit_progress(batch).await {
            Err(e)
                if !e.is_transient()
                    && (!batch.counts.is_empty() || !batch.sightings.is_empty()) =>
            {
                // The counts themselves are refused: commit the position so
                // the stream goes on, and say what was not counted.
                let events: i64 = batch.counts.iter().map(|c| c.events).sum();
                let sightings = batch.sightings.len();
                tracing::error!(error = %e, events, sightings, position = batch.position, "pipeline: event counts or intel sightings refused by the database; not counted");
                let bare = IngestBatch {
                    fold_secs: 0,
                    counts: Vec::new(),
                    sightings: Vec::new(),
                    ..batch.clone()
                };
                self.store.commit_progress(&bare).await?;
            }
            r => r?,
        }
        Ok(dead)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use tocsin_model::{AlertKind, Level, Scope};
    use tocsin_store::testkit::backends;

    use super::*;

    fn alert(seq: u64, rule: String) -> NewAlert {
        NewAlert {
            event_time: Utc::now(),
            received_at: Utc::now(),
            rule_id: rule.clone(),
            rule_title: rule,
            level: Level::High,
            kind: AlertKind::Sensor,
            class: Default::default(),
            technique: None,
            entity: None,
            agency: None,
            asset: None,
            source_ip: None,
            host: None,
            input: "t".into(),
            stream_seq: seq,
            archive: None,
            summary: String::new(),
            tags: Vec::new(),
            event: "{}".into(),
            intel: None,
        }
    }

    /// Issue 10: a batch the database keeps refusing is split until the
    /// refused alert stands alone; it becomes a dead letter, every other
    /// alert and the position are committed, and nothing is retried
    /// forever. PostgreSQL refuses an index key over about 2,700 bytes.
    #[tokio::test]
    async fn issue_10_a_refused_alert_is_isolated_as_a_dead_letter() {
        for db in backends("commit_isolation").await.unwrap() {
            let s = &db.store;
            // Incompressible, so the index cannot squeeze it under its limit.
            let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
            let huge: String = (0..20_000)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    char::from(b'a' + (x % 26) as u8)
                })
                .collect();
            let batch = IngestBatch {
                fold_secs: 0,
                stream: "events".into(),
                position: 10,
                sightings: Vec::new(),
                alerts: (0..9u64)
                    .map(|i| {
                        alert(
                            i,
                            if i == 6 {
                                huge.clone()
                            } else {
                                format!("r{i}")
                            },
                        )
                    })
                    .collect(),
                counts: Vec::new(),
            };
            let metrics = std::sync::Arc::new(tocsin_telemetry::Metrics::default());
            let m = metrics.pipeline(&["auto"]);
            let c = Committer {
                store: s,
                health: metrics.health(),
                m: &m,
            };
            let stop = std::future::pending::<()>();
            tokio::pin!(stop);
            assert_eq!(c.commit(&batch, 0, &mut stop).await, Outcome::Committed);
            assert_eq!(s.ingest_position("events").await.unwrap(), 10);
            let stored = s.alert_total(&Scope::All).await.unwrap();
            let dead = s.open_dead_letters(&Scope::All).await.unwrap();
            match db.label {
                "postgres" => {
                    assert_eq!((stored, dead), (8, 1));
                    assert_eq!(m.dead_letters.get(), 1);
                    let d = &s.dead_letters(&Scope::All, true, 5).await.unwrap()[0];
                    assert_eq!(d.stream_seq, 6);
                    assert!(d.reason.contains("index row"), "{}", d.reason);
                }
                _ => assert_eq!((stored, dead), (9, 0), "SQLite takes long keys"),
            }
            assert!(metrics.health().problems().is_empty());
            db.cleanup().await;
        }
    }
}
