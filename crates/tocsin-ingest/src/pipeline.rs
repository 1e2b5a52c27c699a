//! The consumer: queued records → parsed events → attribution → Sigma →
//! alerts, committed per batch with the queue position in one store
//! transaction (exactly once across crashes: see `tocsin_store`'s alerts).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tocsin_model::{Attributor, Event, EventKind, Inventory};
use tocsin_parse::{Parser, Received};
use tocsin_sigma::{CorrelationInput, Correlator, CorrelatorConfig, Engine, Level, Scratch};
use tocsin_store::{AlertKind, EventCount, IngestBatch, NewAlert, Store};

use crate::envelope::Envelope;
use crate::metrics::{Counter, Metrics};
use crate::queue::{Entry, Queue};

/// Pipeline settings (`[ingest.pipeline]`).
#[derive(Clone, Debug, serde::Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineConfig {
    /// Records per batch (one store transaction each).
    pub batch: usize,
    /// Rule matches below this level only feed correlations (a failed
    /// password is not an alert; fifteen of them are).
    pub min_level: String,
    /// Correlation state bounds.
    pub correlation: CorrelatorConfig,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            batch: 2048,
            min_level: "low".into(),
            correlation: CorrelatorConfig::default(),
        }
    }
}

/// How often the pipeline saves its correlation windows (and at stop).
const CORRELATION_SAVE_EVERY: Duration = Duration::from_secs(30);

/// At most this many correlation matches are saved (the most recently
/// active groups first): a flood of distinct sources must not make each
/// save as large as the state.
const CORRELATION_SAVE_ENTRIES: usize = 200_000;

/// The inventory as the pipeline uses it; swapped when the store's version
/// changes.
struct InventoryView {
    version: i64,
    inventory: Inventory,
    attributor: Attributor,
    /// Asset host names (full and first label, lowercase) → asset index.
    hosts: HashMap<String, usize>,
}

impl InventoryView {
    /// The agency and asset an event concerns: an internal source (an
    /// infected device, an inside attacker), else an internal destination
    /// (an attacked server), else the host that sent the log (by address,
    /// then by the host name it gives), else the agency of the sender's API
    /// key.
    fn attribute(&self, ev: &mut Event, peer: Option<IpAddr>, sender: Option<&str>) {
        let ip = |name: &str| {
            ev.fields
                .get_str(name)
                .and_then(|s| s.parse::<IpAddr>().ok())
        };
        let candidates = [ip("source.ip"), ip("destination.ip"), ip("host.ip"), peer];
        for cand in candidates.into_iter().flatten() {
            let a = self.attributor.lookup(cand);
            if let Some(ag) = a.agency {
                ev.attribution.agency = self.inventory.agencies.get(ag).map(|x| x.code.clone());
                ev.attribution.asset = a
                    .asset
                    .and_then(|i| self.inventory.assets.get(i))
                    .map(|x| x.code.clone());
                return;
            }
        }
        let host = ev
            .fields
            .get_str("host.name")
            .or(ev.observer.host.as_deref());
        if let Some(i) = host.and_then(|h| self.hosts.get(&h.to_ascii_lowercase()))
            && let Some(asset) = self.inventory.assets.get(*i)
        {
            ev.attribution.agency = Some(asset.owner.clone());
            ev.attribution.asset = Some(asset.code.clone());
            return;
        }
        if let Some(code) = sender {
            ev.attribution.agency = Some(code.into());
        }
    }

    fn new(version: i64, inventory: Inventory) -> Self {
        let mut hosts = HashMap::new();
        for (i, a) in inventory.assets.iter().enumerate() {
            for h in &a.hostnames {
                let h = h.to_ascii_lowercase();
                if let Some((short, _)) = h.split_once('.') {
                    hosts.entry(short.to_string()).or_insert(i);
                }
                hosts.insert(h, i);
            }
        }
        InventoryView {
            version,
            attributor: Attributor::build(&inventory),
            inventory,
            hosts,
        }
    }
}

/// Counters the pipeline updates.
struct PipelineMetrics {
    events: Counter,
    parse: ParseCounters,
    alerts: Counter,
    batches: Counter,
    commit_errors: Counter,
    archive_errors: Counter,
    archive_pruned: Counter,
    /// Microseconds spent waiting for/reading the queue, processing, committing.
    phase_us: [Counter; 3],
}

/// The running consumer.
pub struct Pipeline {
    cfg: PipelineConfig,
    queue: Arc<dyn Queue>,
    store: Store,
    engine: Arc<Engine>,
    workers: Vec<Worker>,
    /// Per rule: whether its own match is an alert (level at least
    /// `min_level`, not suppressed by a `generate: false` correlation).
    alerting: Vec<bool>,
    parser: Parser,
    archive: Option<crate::archive::Archive>,
    correlator: Correlator,
    /// The latest event time fed to the correlator (ms): its clock for
    /// expiring windows.
    latest_ms: i64,
    inv: InventoryView,
    metrics: Arc<Metrics>,
    m: PipelineMetrics,
}

impl Pipeline {
    /// A pipeline reading `queue` into `store`.
    pub async fn new(
        cfg: PipelineConfig,
        queue: Arc<dyn Queue>,
        store: Store,
        engine: Arc<Engine>,
        metrics: Arc<Metrics>,
    ) -> Result<Self, tocsin_store::StoreError> {
        let inventory = store.load_inventory().await?;
        let version = store.inventory_version().await?;
        let min_level = Level::parse(&cfg.min_level).unwrap_or(Level::Low);
        let per_format = |name, help| {
            tocsin_parse::Format::ALL.map(|f| metrics.counter(name, help, &[("format", f.name())]))
        };
        let parse = ParseCounters {
            parsed: per_format(
                "tocsin_parse_events_total",
                "Records parsed, per declared format (failures included).",
            ),
            failed: per_format(
                "tocsin_parse_failed_total",
                "Records that did not parse in their format (kept raw with the error).",
            ),
            unreadable: metrics.counter(
                "tocsin_queue_unreadable_records_total",
                "Queued records lost to disk corruption or undecodable (counted under input `queue`).",
                &[],
            ),
        };
        let m = PipelineMetrics {
            events: metrics.counter(
                "tocsin_pipeline_events_total",
                "Events processed (parsed, attributed, detected, committed).",
                &[],
            ),
            parse,
            alerts: metrics.counter("tocsin_alerts_total", "Alerts stored.", &[]),
            batches: metrics.counter("tocsin_pipeline_batches_total", "Batches committed.", &[]),
            phase_us: ["read", "process", "commit"].map(|p| {
                metrics.counter(
                    "tocsin_pipeline_phase_microseconds_total",
                    "Time the pipeline spent per phase (read includes waiting for records).",
                    &[("phase", p)],
                )
            }),
            archive_errors: metrics.counter(
                "tocsin_archive_errors_total",
                "Batches the raw archive could not store (the events are still processed).",
                &[],
            ),
            archive_pruned: metrics.counter(
                "tocsin_archive_pruned_files_total",
                "Hourly raw-archive files deleted past `keep_days`.",
                &[],
            ),
            commit_errors: metrics.counter(
                "tocsin_pipeline_commit_errors_total",
                "Failed store commits (the batch is retried).",
                &[],
            ),
        };
        let q = queue.clone();
        metrics.gauge(
            "tocsin_queue_depth",
            "Records queued and not yet committed downstream.",
            move || {
                let (a, b) = q.bounds();
                b.saturating_sub(a) as f64
            },
        );
        let q = queue.clone();
        metrics.gauge(
            "tocsin_queue_bytes",
            "Bytes held by the queue.",
            move || q.bytes() as f64,
        );
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let parser = tocsin_parse::ParserConfig::default().build();
        let workers = (0..cores)
            .map(|_| Worker {
                parser: parser.clone(),
                scratch: engine.scratch(),
            })
            .collect();
        let correlator = Correlator::new(&engine, cfg.correlation.clone());
        let alerting = engine
            .rules()
            .iter()
            .enumerate()
            .map(|(i, r)| r.meta.level >= min_level && !correlator.suppressed(i))
            .collect();
        Ok(Pipeline {
            workers,
            alerting,
            parser,
            archive: None,
            correlator,
            latest_ms: i64::MIN,
            cfg,
            queue,
            store,
            engine,
            inv: InventoryView::new(version, inventory),
            metrics,
            m,
        })
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
        self.restore_correlations(&stream, from).await;
        let mut last_inventory_check = std::time::Instant::now();
        let mut pruned_hour = i64::MIN;
        let mut saved = (std::time::Instant::now(), from);
        loop {
            if saved.1 != from && saved.0.elapsed() >= CORRELATION_SAVE_EVERY {
                self.save_correlations(&stream, from).await;
                saved = (std::time::Instant::now(), from);
            }
            let t_read = std::time::Instant::now();
            let entries = tokio::select! {
                r = self.queue.read(from, self.cfg.batch) => r,
                () = &mut stop => break,
            };
            let entries = match entries {
                Ok(e) => e,
                Err(e) => {
                    tracing::error!(error = %e, "pipeline: cannot read the queue");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            let Some(last) = entries.last().map(|e| e.seq) else {
                continue;
            };
            if last_inventory_check.elapsed() > Duration::from_secs(5) {
                self.refresh_inventory().await;
                last_inventory_check = std::time::Instant::now();
                self.prune_archive(&mut pruned_hour);
            }
            let t_process = std::time::Instant::now();
            self.m.phase_us[0].add((t_process - t_read).as_micros() as u64);
            let (mut batch, received) = if tokio::runtime::Handle::current().runtime_flavor()
                == tokio::runtime::RuntimeFlavor::MultiThread
            {
                // CPU work: let the runtime move other tasks elsewhere.
                tokio::task::block_in_place(|| self.process(&stream, &entries))
            } else {
                self.process(&stream, &entries)
            };
            let t_commit = std::time::Instant::now();
            self.m.phase_us[1].add((t_commit - t_process).as_micros() as u64);
            batch.position = last + 1;
            // Never skip a batch: retry the commit until it lands.
            let mut delay = Duration::from_millis(100);
            while let Err(e) = self.store.commit_ingest_batch(&batch).await {
                self.m.commit_errors.inc();
                tracing::error!(error = %e, position = batch.position, "pipeline: commit failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
            let now = crate::envelope::now_us();
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
            self.save_correlations(&stream, from).await;
        }
    }

    /// Brings back the correlation windows saved before a restart
    /// (`committed`: where processing resumes).
    async fn restore_correlations(&mut self, stream: &str, committed: u64) {
        let (position, saved) = match self.store.correlation_state(stream).await {
            Ok(Some(state)) => state,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "pipeline: cannot read the saved correlation windows; starting them empty");
                return;
            }
        };
        match serde_json::from_str(&saved) {
            Ok(snap) => {
                let r = self.correlator.restore(&self.engine, snap);
                tracing::info!(
                    groups = r.groups,
                    dropped = r.dropped,
                    position,
                    "pipeline: correlation windows restored"
                );
                if position < committed {
                    // A crash since the last save: those matches are not in
                    // the windows.
                    tracing::warn!(
                        from = position,
                        to = committed,
                        "pipeline: correlation windows miss the matches of these queue positions"
                    );
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "pipeline: saved correlation windows are unreadable; starting them empty")
            }
        }
    }

    /// Saves the correlation windows as of queue position `position` (every
    /// [`CORRELATION_SAVE_EVERY`] and at stop): a restart then continues an
    /// attack in progress instead of counting it from zero.
    async fn save_correlations(&mut self, stream: &str, position: u64) {
        // Windows that have passed are dropped first (memory, and the copy).
        // The clock is event time, but a sender's clock far ahead must not
        // expire every window: never past the wall clock (plus slack).
        if self.latest_ms > i64::MIN {
            let wall = crate::envelope::now_us() / 1000 + 300_000;
            self.correlator
                .expire(&self.engine, self.latest_ms.min(wall));
        }
        let snap = self
            .correlator
            .snapshot(&self.engine, CORRELATION_SAVE_ENTRIES);
        let text = match serde_json::to_string(&snap) {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(error = %e, "pipeline: cannot encode the correlation windows");
                return;
            }
        };
        if let Err(e) = self
            .store
            .save_correlation_state(stream, position, &text)
            .await
        {
            tracing::warn!(error = %e, "pipeline: cannot save the correlation windows");
        }
    }

    async fn refresh_inventory(&mut self) {
        let Ok(v) = self.store.inventory_version().await else {
            return;
        };
        if v == self.inv.version {
            return;
        }
        match self.store.load_inventory().await {
            Ok(inventory) => {
                self.inv = InventoryView::new(v, inventory);
                tracing::info!(version = v, "pipeline: inventory reloaded");
            }
            Err(e) => tracing::warn!(error = %e, "pipeline: cannot reload the inventory"),
        }
    }

    /// Parses, attributes and evaluates a batch (CPU only): parsing,
    /// attribution and rule evaluation run on every core, a share of the
    /// batch each; correlation, which needs the events in order, and alert
    /// building follow on this thread. Returns the batch to commit and the
    /// receipt times of its events (for the latency histogram).
    pub fn process(&mut self, stream: &str, entries: &[Entry]) -> (IngestBatch, Vec<i64>) {
        let workers = self.workers.len().max(1);
        let share = entries.len().div_ceil(workers).max(1);
        let cx = StageContext {
            engine: &self.engine,
            correlator: &self.correlator,
            alerting: &self.alerting,
            // Positions below this are archived already (a replayed batch).
            archive_from: self.archive.as_ref().map(|a| a.archived_upto()),
            inv: &self.inv,
            fails: &self.m.parse,
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
                handles.into_iter().filter_map(|h| h.join().ok()).collect()
            })
        };
        let mut batch = IngestBatch {
            stream: stream.to_string(),
            ..IngestBatch::default()
        };
        let mut counts = Counts::default();
        let mut received = Vec::with_capacity(entries.len());
        let mut frames = Vec::new();
        for mut sh in shares {
            frames.append(&mut sh.frames);
            counts.merge(std::mem::take(&mut sh.counts));
            received.append(&mut sh.received);
            for st in &mut sh.kept {
                self.detect(st, &mut batch.alerts);
            }
        }
        let mut per_input: HashMap<&str, i64> = HashMap::new();
        for (_, input, _, n, _) in counts.rows() {
            *per_input.entry(input).or_default() += n;
        }
        for (input, n) in per_input {
            self.metrics
                .counter(
                    "tocsin_pipeline_input_events_total",
                    "Events processed and committed, per input.",
                    &[("input", input)],
                )
                .add(n as u64);
        }
        batch.counts = counts
            .rows()
            .map(|(hour, input, agency, events, errors)| EventCount {
                hour: crate::envelope::hour_text(hour),
                input: input.to_string(),
                agency: agency.to_string(),
                events,
                errors,
            })
            .collect();
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
        let now = crate::envelope::hour_of(crate::envelope::now_us());
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

    /// Keeps the raw archive in `archive` (alerts then link to their record).
    pub fn with_archive(mut self, archive: crate::archive::Archive) -> Self {
        self.archive = Some(archive);
        self
    }

    fn detect(&mut self, st: &mut Staged, out: &mut Vec<NewAlert>) {
        let engine = self.engine.clone();
        let inputs = std::mem::take(&mut st.correlation);
        let fired = if inputs.is_empty() {
            Vec::new()
        } else {
            self.latest_ms = self.latest_ms.max(st.ts_ms);
            self.correlator.feed(&engine, inputs, st.ts_ms)
        };
        let ev = match st.ev.take() {
            Some(ev) => ev,
            // Only correlations wanted it; one fired, so its evidence is
            // needed after all: parse the record again.
            None if !fired.is_empty() => match self.rebuild(&st.raw) {
                Some(ev) => ev,
                None => return,
            },
            None => return,
        };
        let ev = &ev;
        let archive_ref = self.archive.as_ref().map(|_| {
            format!(
                "{}#seq={}",
                crate::archive::relative_path(
                    &ev.observer.name,
                    crate::envelope::hour_of(st.received_us)
                ),
                st.seq
            )
        });
        let at = DateTime::<Utc>::from_timestamp_micros(st.received_us).unwrap_or_default();
        let base =
            |rule_id: String, title: String, level: &str, kind: AlertKind, tags: Vec<String>| {
                NewAlert {
                    event_time: tocsin_store::time_text(ev.timestamp.utc),
                    received_at: tocsin_store::time_text(at),
                    rule_id,
                    rule_title: title,
                    level: level.to_string(),
                    kind,
                    agency: ev
                        .attribution
                        .agency
                        .as_ref()
                        .map(|a| a.as_str().to_string()),
                    asset: ev
                        .attribution
                        .asset
                        .as_ref()
                        .map(|a| a.as_str().to_string()),
                    source_ip: ev.fields.get_str("source.ip").map(str::to_string),
                    host: ev.observer.host.clone(),
                    input: ev.observer.name.clone(),
                    stream_seq: st.seq,
                    archive: archive_ref.clone(),
                    summary: summary(ev),
                    tags,
                    event: serde_json::to_string(ev).unwrap_or_default(),
                }
            };
        for &r in &st.matched {
            if !self.alerting[r as usize] {
                continue;
            }
            let meta = &engine.rules()[r as usize].meta;
            out.push(base(
                meta.key().to_string(),
                meta.title.clone(),
                meta.level.as_str(),
                AlertKind::Rule,
                meta.tags.clone(),
            ));
        }
        for m in fired {
            let def = &engine.correlations()[m.correlation];
            let mut a = base(
                def.meta.key().to_string(),
                def.meta.title.clone(),
                def.meta.level.as_str(),
                AlertKind::Correlation,
                def.meta.tags.clone(),
            );
            let group: Vec<String> = m.group.iter().map(|(k, v)| format!("{k}={v}")).collect();
            a.summary = format!("{} events in the window; {}", m.events, group.join(", "));
            out.push(a);
        }
        // A sensor's own alert (Suricata) is an alert too.
        if ev.kind == EventKind::Alert {
            let sig = ev
                .fields
                .get_str("rule.name")
                .unwrap_or("sensor alert")
                .to_string();
            let id = ev
                .fields
                .get("rule.id")
                .map(|v| format!("sensor:{v}"))
                .unwrap_or_else(|| format!("sensor:{sig}"));
            let level = match ev.fields.get("event.severity").and_then(|v| v.as_i64()) {
                Some(1) => "high",
                Some(2) => "medium",
                _ => "low",
            };
            let module = ev
                .fields
                .get_str("event.module")
                .unwrap_or("sensor")
                .to_string();
            out.push(base(id, sig, level, AlertKind::Sensor, vec![module]));
        }
    }

    /// The event of a queued record, parsed and attributed again.
    fn rebuild(&self, raw: &[u8]) -> Option<Event> {
        let env = Envelope::decode(raw).ok()?;
        let rx = Received {
            input: env.input,
            at: DateTime::<Utc>::from_timestamp_micros(env.received_us)?,
            peer: env.peer,
        };
        let mut ev = self.parser.parse(env.format, env.raw, &rx);
        self.inv.attribute(&mut ev, env.peer, env.sender);
        Some(ev)
    }
}

/// Parse counters per declared format, by [`tocsin_parse::Format::index`].
struct ParseCounters {
    parsed: [Counter; tocsin_parse::Format::ALL.len()],
    failed: [Counter; tocsin_parse::Format::ALL.len()],
    /// Queued records that could not be read back (disk corruption, or an
    /// envelope this version cannot decode).
    unreadable: Counter,
}

/// One worker's tools: its own parser and engine buffers.
struct Worker {
    parser: Parser,
    scratch: Scratch,
}

/// An event after the parallel stage.
struct Staged {
    seq: u64,
    received_us: i64,
    /// Event time, ms (for correlation windows).
    ts_ms: i64,
    /// The event, when it raises an alert on its own.
    ev: Option<Event>,
    /// The queued record, when only correlations need it (re-parsed in the
    /// rare case one fires).
    raw: Vec<u8>,
    matched: Vec<u32>,
    /// What it feeds the correlations (read while its record was loaded).
    correlation: Vec<CorrelationInput>,
}

/// Event counts (events, unparsed) by hour, input and agency. Lookups by
/// borrowed names: a key is allocated only the first time it is seen.
#[derive(Default)]
struct Counts(HashMap<i64, HashMap<String, ByAgency>>);

/// (events, unparsed) per agency code ("" when unattributed).
type ByAgency = HashMap<String, (i64, i64)>;

/// The value under `k`, inserted empty when missing.
fn slot<'m, V: Default>(m: &'m mut HashMap<String, V>, k: &str) -> &'m mut V {
    if !m.contains_key(k) {
        m.insert(k.to_string(), V::default());
    }
    m.get_mut(k).expect("inserted just above")
}

impl Counts {
    fn add(&mut self, hour: i64, input: &str, agency: &str, events: i64, errors: i64) {
        let c = slot(slot(self.0.entry(hour).or_default(), input), agency);
        c.0 += events;
        c.1 += errors;
    }

    fn merge(&mut self, other: Counts) {
        for (hour, inputs) in other.0 {
            for (input, agencies) in inputs {
                for (agency, (events, errors)) in agencies {
                    self.add(hour, &input, &agency, events, errors);
                }
            }
        }
    }

    /// (hour, input, agency, events, unparsed)
    fn rows(&self) -> impl Iterator<Item = (i64, &str, &str, i64, i64)> {
        self.0.iter().flat_map(|(hour, inputs)| {
            inputs.iter().flat_map(move |(input, agencies)| {
                agencies
                    .iter()
                    .map(move |(agency, (e, x))| (*hour, input.as_str(), agency.as_str(), *e, *x))
            })
        })
    }
}

/// The input name under which unreadable queued records are counted.
pub const UNREADABLE_INPUT: &str = "queue";

/// What a worker hands back for its share of a batch: only the events that
/// need the sequential stage (matches, sensor alerts) are kept; the rest
/// are counted and freed on the worker's own thread.
#[derive(Default)]
struct Share {
    kept: Vec<Staged>,
    counts: Counts,
    received: Vec<i64>,
    /// Raw-archive frames of this share (when archiving).
    frames: Vec<crate::archive::Frame>,
}

/// What every worker reads while staging its share of a batch.
struct StageContext<'a> {
    engine: &'a Engine,
    correlator: &'a Correlator,
    /// Per rule: whether its matches alert on their own.
    alerting: &'a [bool],
    /// Archive the records from this queue position on (None: no archive).
    archive_from: Option<u64>,
    inv: &'a InventoryView,
    fails: &'a ParseCounters,
}

/// Decodes, parses, attributes and evaluates a share of a batch.
fn stage(cx: &StageContext<'_>, w: &mut Worker, entries: &[Entry]) -> Share {
    let StageContext {
        engine,
        correlator,
        alerting,
        archive_from,
        inv,
        fails,
    } = *cx;
    let mut out = Share {
        received: Vec::with_capacity(entries.len()),
        ..Share::default()
    };
    let mut pending = crate::archive::Pending::default();
    for e in entries {
        let readable = match &e.damaged {
            Some(d) => Err((d.records, d.reason.clone())),
            None => Envelope::decode(&e.data).map_err(|err| (1, err.to_string())),
        };
        let env = match readable {
            Ok(env) => env,
            Err((n, why)) => {
                // Its content is gone; say so where operators look (the log,
                // /metrics, the event counts of the console) and go on.
                tracing::error!(seq = e.seq, records = n, reason = %why, "pipeline: queued records could not be read; counted as lost");
                fails.unreadable.add(n);
                let now = crate::envelope::now_us();
                out.counts.add(
                    crate::envelope::hour_of(now),
                    UNREADABLE_INPUT,
                    "",
                    n as i64,
                    n as i64,
                );
                continue;
            }
        };
        let at = DateTime::<Utc>::from_timestamp_micros(env.received_us).unwrap_or_else(Utc::now);
        let rx = Received {
            input: env.input,
            at,
            peer: env.peer,
        };
        let mut ev = w.parser.parse(env.format, env.raw, &rx);
        let failed = ev.kind == EventKind::PipelineError;
        fails.parsed[env.format.index()].inc();
        if failed {
            fails.failed[env.format.index()].inc();
        }
        inv.attribute(&mut ev, env.peer, env.sender);
        out.received.push(env.received_us);
        out.counts.add(
            crate::envelope::hour_of(env.received_us),
            env.input,
            ev.attribution.agency.as_ref().map_or("", |a| a.as_str()),
            1,
            i64::from(failed),
        );
        if archive_from.is_some_and(|from| e.seq >= from) {
            let line = crate::archive::line(&ev, e.seq, env.received_us);
            pending.push(env.input, crate::envelope::hour_of(env.received_us), &line);
        }
        let matched = engine.eval_event(&ev, &mut w.scratch);
        if matched.is_empty() && ev.kind != EventKind::Alert {
            continue;
        }
        let matched = matched.to_vec();
        let correlation = if matched.iter().any(|r| correlator.feeds(*r as usize)) {
            Correlator::extract(engine, &w.scratch.record, &matched)
        } else {
            Vec::new()
        };
        let alerts_alone =
            ev.kind == EventKind::Alert || matched.iter().any(|r| alerting[*r as usize]);
        if !alerts_alone && correlation.is_empty() {
            continue;
        }
        out.kept.push(Staged {
            seq: e.seq,
            received_us: env.received_us,
            ts_ms: ev.timestamp.utc.timestamp_millis(),
            raw: if alerts_alone {
                Vec::new()
            } else {
                e.data.clone()
            },
            ev: alerts_alone.then_some(ev),
            matched,
            correlation,
        });
    }
    if archive_from.is_some() {
        out.frames = pending.compress();
    }
    out
}

/// One line for alert lists: who did what to what.
fn summary(ev: &Event) -> String {
    let f = |k: &str| ev.fields.get_str(k);
    let mut parts: Vec<String> = Vec::new();
    if let Some(s) = f("source.ip") {
        parts.push(s.to_string());
    }
    if let Some(u) = f("user.name") {
        parts.push(format!("user {u}"));
    }
    if let Some(m) = f("http.request.method") {
        parts.push(format!("{m} {}", f("url.original").unwrap_or("")));
    } else if let Some(c) = f("process.command_line") {
        parts.push(c.chars().take(160).collect());
    } else if let Some(m) = f("message") {
        parts.push(m.chars().take(160).collect());
    }
    if let Some(h) = &ev.observer.host {
        parts.push(format!("on {h}"));
    }
    parts.join(" · ")
}
