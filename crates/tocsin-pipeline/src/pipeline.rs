//! The consumer: queued records → parsed events → attribution → detectors
//! → alerts, committed per batch with the queue position in one store
//! transaction (exactly once across crashes: see `tocsin_store`'s ingest
//! module).

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tocsin_detect::alerts::{self, Evidence};
use tocsin_detect::{AttributionPolicy, Detectors, SourceTrust};
use tocsin_model::{Event, Finding, NewAlert};
use tocsin_parse::Parser;
use tocsin_queue::{Entry, Envelope, Queue, hour_of, now_us};
use tocsin_store::{IngestBatch, Store};
use tocsin_telemetry::{Metrics, PipelineMetrics};

use crate::PipelineConfig;
use crate::archive::{self, Archive};
use crate::commit::{Committer, Outcome};
use crate::counts::Counts;
use crate::stage::{Share, StageContext, UNREADABLE_INPUT, Worker, stage};

/// How often the pipeline saves its detectors' state (and at stop).
const SAVE_EVERY: Duration = Duration::from_secs(30);

/// How often the inventory version is checked.
const INVENTORY_EVERY: Duration = Duration::from_secs(5);

/// The running consumer.
pub struct Pipeline {
    cfg: PipelineConfig,
    queue: Arc<dyn Queue>,
    store: Store,
    detectors: Detectors,
    workers: Vec<Worker>,
    parser: Parser,
    archive: Option<Archive>,
    sources: HashMap<String, SourceTrust>,
    policy: AttributionPolicy,
    metrics: Arc<Metrics>,
    m: PipelineMetrics,
    /// The parser's limit counts already exported.
    limit_hits: tocsin_parse::LimitHits,
    /// The detectors' readings as exported: series, counter or gauge, and
    /// the value already added (counters).
    readings: HashMap<&'static str, Exported>,
}

/// A detector reading in `/metrics`.
enum Exported {
    Total(tocsin_telemetry::Counter, u64),
    Now(tocsin_telemetry::Gauge),
}

impl Pipeline {
    /// Brings the detectors' readings to `/metrics`.
    fn export_readings(&mut self) {
        for r in self.detectors.readings() {
            let metrics = &self.metrics;
            let e = self.readings.entry(r.name).or_insert_with(|| {
                if r.total {
                    Exported::Total(metrics.counter(r.name, r.help, &[]), 0)
                } else {
                    Exported::Now(metrics.settable_gauge(r.name, r.help))
                }
            });
            match e {
                Exported::Total(c, done) => {
                    c.add(r.value.saturating_sub(*done));
                    *done = (*done).max(r.value);
                }
                Exported::Now(g) => g.set(r.value),
            }
        }
    }
}

impl Pipeline {
    /// A pipeline reading `queue` into `store` through `detectors`;
    /// `sources` says what each input may speak for (see
    /// [`tocsin_detect::attribution`]).
    pub async fn new(
        cfg: PipelineConfig,
        queue: Arc<dyn Queue>,
        store: Store,
        detectors: Detectors,
        sources: HashMap<String, SourceTrust>,
        metrics: Arc<Metrics>,
    ) -> Result<Self, tocsin_store::StoreError> {
        let inventory = store.load_inventory().await?;
        let version = store.inventory_version().await?;
        let formats = tocsin_parse::Format::ALL.map(|f| f.name());
        let m = metrics.pipeline(&formats);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let parser = tocsin_parse::ParserConfig {
            limits: cfg.parser.clone(),
            ..Default::default()
        }
        .build();
        let workers = (0..cores)
            .map(|_| Worker {
                parser: parser.clone(),
                detectors: detectors.workers(),
            })
            .collect();
        let policy = AttributionPolicy::new(version, Arc::new(inventory), &sources);
        Ok(Pipeline {
            workers,
            parser,
            archive: None,
            cfg,
            queue,
            store,
            detectors,
            sources,
            policy,
            metrics,
            m,
            limit_hits: Default::default(),
            readings: HashMap::new(),
        })
    }

    /// Keeps the raw archive in `archive` (alerts then link to their record).
    pub fn with_archive(mut self, archive: Archive) -> Self {
        self.m.archive_torn.add(archive.torn_bytes());
        self.archive = Some(archive);
        self
    }

    /// Runs until `stop` resolves; a batch in progress is finished first.
    pub async fn run(mut self, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        let stream = self.queue.name().to_string();
        let mut from = loop {
            match self.store.ingest_position(&stream).await {
                Ok(p) => break p,
                Err(e) => {
                    tracing::error!(error = %e, "pipeline: cannot read the committed position; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        };
        self.restore_state(&stream, from).await;
        let mut last_inventory_check = Instant::now();
        let mut pruned_hour = i64::MIN;
        let mut saved = (Instant::now(), from);
        loop {
            if saved.1 != from && saved.0.elapsed() >= SAVE_EVERY {
                self.save_state(&stream, from).await;
                saved = (Instant::now(), from);
            }
            let t_read = Instant::now();
            let entries = tokio::select! {
                r = self.queue.read(from, self.cfg.batch) => r,
                () = &mut stop => break,
            };
            let entries = match entries {
                Ok(e) => {
                    self.metrics.health().ok("pipeline");
                    e
                }
                Err(e) => {
                    self.metrics
                        .health()
                        .degraded("pipeline", format!("cannot read the queue: {e}"));
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                        () = &mut stop => break,
                    }
                    continue;
                }
            };
            let Some(last) = entries.last().map(|e| e.seq) else {
                continue;
            };
            if last_inventory_check.elapsed() > INVENTORY_EVERY {
                self.refresh_inventory().await;
                last_inventory_check = Instant::now();
                self.prune_archive(&mut pruned_hour);
            }
            let t_process = Instant::now();
            self.m.phase_us[0].add((t_process - t_read).as_micros() as u64);
            let (mut batch, received) = if tokio::runtime::Handle::current().runtime_flavor()
                == tokio::runtime::RuntimeFlavor::MultiThread
            {
                // CPU work: let the runtime move other tasks elsewhere.
                tokio::task::block_in_place(|| self.process(&stream, &entries))
            } else {
                self.process(&stream, &entries)
            };
            let t_commit = Instant::now();
            self.m.phase_us[1].add((t_commit - t_process).as_micros() as u64);
            batch.position = last + 1;
            let committer = Committer {
                store: &self.store,
                health: self.metrics.health(),
                m: &self.m,
            };
            match committer.commit(&batch, from, &mut stop).await {
                Outcome::Committed => {}
                Outcome::Stopped => break,
                Outcome::Rewind(p) => {
                    from = p;
                    continue;
                }
            }
            let now = now_us();
            for r in received {
                self.metrics
                    .latency
                    .observe_us(now.saturating_sub(r).max(0) as u64);
            }
            self.m.events.add(entries.len() as u64);
            self.m.alerts.add(batch.alerts.len() as u64);
            self.m.batches.inc();
            self.m.phase_us[2].add(t_commit.elapsed().as_micros() as u64);
            from = batch.position;
            self.queue.release(from);
        }
        if saved.1 != from {
            self.save_state(&stream, from).await;
        }
    }

    /// Brings back the detectors' state saved before a restart
    /// (`committed`: where processing resumes).
    async fn restore_state(&mut self, stream: &str, committed: u64) {
        let (position, saved) = match self.store.correlation_state(stream).await {
            Ok(Some(state)) => state,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "pipeline: cannot read the saved detector state; starting empty");
                return;
            }
        };
        let value = match serde_json::from_str(&saved) {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "pipeline: saved detector state is unreadable; starting empty");
                return;
            }
        };
        for (detector, r) in self.detectors.restore(value) {
            match r {
                Ok(what) => tracing::info!(detector, position, "pipeline: state restored: {what}"),
                Err(e) => {
                    tracing::warn!(detector, error = %e, "pipeline: saved state unusable; starting empty")
                }
            }
        }
        if position < committed {
            // A crash since the last save: those matches are not in the
            // windows.
            tracing::warn!(
                from = position,
                to = committed,
                "pipeline: restored windows miss the matches of these queue positions"
            );
        }
    }

    /// Saves the detectors' state as of queue position `position` (every
    /// [`SAVE_EVERY`] and at stop): a restart then continues an attack in
    /// progress instead of counting it from zero.
    async fn save_state(&mut self, stream: &str, position: u64) {
        let state = self.detectors.save(now_us() / 1000);
        if let Err(e) = self
            .store
            .save_correlation_state(stream, position, &state.to_string())
            .await
        {
            tracing::warn!(error = %e, "pipeline: cannot save the detector state");
        }
    }

    async fn refresh_inventory(&mut self) {
        let Ok(v) = self.store.inventory_version().await else {
            return;
        };
        if v == self.policy.version() {
            return;
        }
        match self.store.load_inventory().await {
            Ok(inventory) => {
                self.policy = AttributionPolicy::new(v, Arc::new(inventory), &self.sources);
                tracing::info!(version = v, "pipeline: inventory reloaded");
            }
            Err(e) => tracing::warn!(error = %e, "pipeline: cannot reload the inventory"),
        }
    }

    /// Parses, attributes and detects a batch (CPU only): parsing,
    /// attribution and the detectors' parallel stage run on every core, a
    /// share of the batch each; their ordered stage and alert building
    /// follow on this thread. Returns the batch to commit and the receipt
    /// times of its events (for the latency histogram).
    pub fn process(&mut self, stream: &str, entries: &[Entry]) -> (IngestBatch, Vec<i64>) {
        let workers = self.workers.len().max(1);
        let share = entries.len().div_ceil(workers).max(1);
        let cx = StageContext {
            detectors: &self.detectors,
            policy: &self.policy,
            skew: self.skew(),
            // Positions below this are archived already (a replayed batch).
            archive_from: self.archive.as_ref().map(Archive::archived_upto),
            metrics: &self.m,
        };
        let shares: Vec<Share> = if workers == 1 || entries.len() < 64 {
            vec![stage(&cx, &mut self.workers[0], entries)]
        } else {
            std::thread::scope(|sc| {
                let handles: Vec<_> = entries
                    .chunks(share)
                    .zip(self.workers.iter_mut())
                    .map(|(chunk, w)| {
                        let cx = &cx;
                        sc.spawn(move || stage(cx, w, chunk))
                    })
                    .collect();
                handles
                    .into_iter()
                    .zip(entries.chunks(share))
                    .map(|(h, chunk)| h.join().unwrap_or_else(|_| lost_share(&cx, chunk)))
                    .collect()
            })
        };
        let mut batch = IngestBatch {
            stream: stream.to_string(),
            fold_secs: self.cfg.fold_secs,
            ..IngestBatch::default()
        };
        let mut counts = Counts::default();
        let mut received = Vec::with_capacity(entries.len());
        let mut frames = Vec::new();
        for mut sh in shares {
            frames.append(&mut sh.frames);
            counts.merge(std::mem::take(&mut sh.counts));
            received.append(&mut sh.received);
            for st in sh.kept {
                self.detect(st, &mut batch);
            }
        }
        let mut ticked = Vec::new();
        self.detectors.tick(now_us() / 1000, &mut ticked);
        let last = entries.last().map_or(0, |e| e.seq);
        for (f, ev) in ticked {
            self.keep(f, &ev, last, now_us(), &mut batch);
        }
        for (input, n) in counts.per_input() {
            self.m.processed(input).add(n as u64);
        }
        self.export_readings();
        let hits = self.parser.limit_hits();
        let seen = std::mem::replace(&mut self.limit_hits, hits);
        for (c, (now, before)) in self.m.parse_limited.iter().zip([
            (hits.fields, seen.fields),
            (hits.field_name, seen.field_name),
            (hits.flat_bytes, seen.flat_bytes),
            (hits.depth, seen.depth),
        ]) {
            c.add(now.saturating_sub(before));
        }
        batch.counts = counts.rows();
        let upto = entries.last().map_or(0, |e| e.seq + 1);
        if let Some(a) = &self.archive
            && let Err(e) = a.write(&frames, upto)
        {
            self.m.archive_errors.inc();
            tracing::error!(dir = %a.dir().display(), error = %e, "raw archive: cannot write this batch");
        }
        (batch, received)
    }

    /// Applies the archive's retention once per hour.
    fn prune_archive(&self, pruned_hour: &mut i64) {
        let Some(a) = &self.archive else { return };
        let now = hour_of(now_us());
        if *pruned_hour == now {
            return;
        }
        *pruned_hour = now;
        match a.prune(now) {
            Ok(0) => {}
            Ok(n) => {
                self.m.archive_pruned.add(n);
                tracing::info!(dir = %a.dir().display(), files = n, "raw archive: deleted hours past keep_days");
            }
            Err(e) => {
                tracing::error!(dir = %a.dir().display(), error = %e, "raw archive: retention failed")
            }
        }
    }

    /// The ordered stage for one staged event: the detectors follow up on
    /// what they carried; every finding becomes an alert.
    fn detect(&mut self, st: crate::stage::Staged, out: &mut IngestBatch) {
        let mut findings: Vec<Finding> = st.findings;
        let carries = st.carries;
        let followed = catch_unwind(AssertUnwindSafe(|| {
            let mut more = Vec::new();
            self.detectors.follow(carries, &mut more);
            more
        }));
        match followed {
            Ok(more) => findings.extend(more),
            Err(payload) => {
                // The event's own findings still count; its stateful
                // detections are lost for this event, loudly.
                let reason = crate::stage::panic_reason(&*payload);
                tracing::error!(seq = st.seq, %reason, "pipeline: a detector panicked in the ordered stage");
                self.m.panicked("(ordered stage)", "auto").inc();
            }
        }
        if findings.is_empty() {
            return;
        }
        let ev = match st.ev {
            Some(ev) => ev,
            // Only the ordered stage wanted it, and it found something: its
            // evidence is needed after all, so parse the record again.
            None => match self.rebuild(&st.raw) {
                Some(ev) => ev,
                None => return,
            },
        };
        for f in findings {
            self.keep(f, &ev, st.seq, st.received_us, out);
        }
    }

    /// A finding into the batch: its sighting counted when it matched an
    /// indicator, and an alert unless the detector folded it as a repeat.
    fn keep(&self, f: Finding, ev: &Event, seq: u64, received_us: i64, out: &mut IngestBatch) {
        if let Some(s) = alerts::sighting(&f, ev) {
            out.sightings.push(s);
        }
        if !f.repeat {
            out.alerts.push(self.alert(f, ev, seq, received_us));
        }
    }

    fn alert(&self, f: Finding, ev: &Event, seq: u64, received_us: i64) -> NewAlert {
        let archive_ref = self.archive.as_ref().map(|_| {
            format!(
                "{}#seq={seq}",
                archive::relative_path(&ev.observer.name, hour_of(received_us)),
            )
        });
        let (alert, cut) = alerts::alert(
            f,
            Evidence {
                event: ev,
                seq,
                received: DateTime::<Utc>::from_timestamp_micros(received_us).unwrap_or_default(),
                archive: archive_ref.as_deref(),
                max_bytes: self.cfg.max_evidence_bytes,
            },
        );
        if cut {
            self.m.evidence_cut.inc();
        }
        alert
    }

    /// The event of a queued record, parsed and attributed again.
    fn rebuild(&self, raw: &[u8]) -> Option<Event> {
        let env = Envelope::decode(raw).ok()?;
        let ev = catch_unwind(AssertUnwindSafe(|| {
            crate::stage::parse(&self.policy, &self.parser, &env, self.skew()).0
        }));
        Some(
            ev.unwrap_or_else(|p| {
                crate::stage::failed_event(&env, &crate::stage::panic_reason(&*p))
            }),
        )
    }

    /// How far past its receipt an event's time may be.
    fn skew(&self) -> chrono::Duration {
        i64::try_from(self.cfg.clock_skew_secs)
            .ok()
            .and_then(chrono::TimeDelta::try_seconds)
            .unwrap_or(chrono::TimeDelta::MAX)
    }
}

/// A share whose worker died outside the per-record isolation (it
/// should not): every record of it is counted as failed, so the queue
/// position never moves over a record without a trace.
fn lost_share(cx: &StageContext<'_>, chunk: &[Entry]) -> Share {
    tracing::error!(
        first = chunk.first().map(|e| e.seq),
        records = chunk.len(),
        "pipeline: a worker died; its records are counted as failed"
    );
    let mut sh = Share::default();
    for e in chunk {
        let input = Envelope::decode(&e.data).map_or(UNREADABLE_INPUT, |env| env.input);
        cx.metrics.panicked(input, "auto").inc();
        sh.counts.add(hour_of(now_us()), input, "", 1, 1);
    }
    sh
}
