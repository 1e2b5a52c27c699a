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
use tocsin_sigma::{Correlator, CorrelatorConfig, Engine, Level, Scratch};
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
    parse_failed: HashMap<&'static str, Counter>,
    alerts: Counter,
    batches: Counter,
    commit_errors: Counter,
}

/// The running consumer.
pub struct Pipeline {
    cfg: PipelineConfig,
    min_level: Level,
    queue: Arc<dyn Queue>,
    store: Store,
    parser: Parser,
    engine: Arc<Engine>,
    scratch: Scratch,
    correlator: Correlator,
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
        let mut parse_failed = HashMap::new();
        for f in tocsin_parse::Format::ALL {
            parse_failed.insert(
                f.name(),
                metrics.counter(
                    "tocsin_parse_failed_total",
                    "Records that did not parse in their format (kept raw with the error).",
                    &[("format", f.name())],
                ),
            );
        }
        let m = PipelineMetrics {
            events: metrics.counter(
                "tocsin_pipeline_events_total",
                "Events processed (parsed, attributed, detected, committed).",
                &[],
            ),
            parse_failed,
            alerts: metrics.counter("tocsin_alerts_total", "Alerts stored.", &[]),
            batches: metrics.counter("tocsin_pipeline_batches_total", "Batches committed.", &[]),
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
        Ok(Pipeline {
            scratch: engine.scratch(),
            correlator: Correlator::new(&engine, cfg.correlation.clone()),
            cfg,
            min_level,
            queue,
            store,
            parser: tocsin_parse::ParserConfig::default().build(),
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
        let mut last_inventory_check = std::time::Instant::now();
        loop {
            let entries = tokio::select! {
                r = self.queue.read(from, self.cfg.batch) => r,
                () = &mut stop => return,
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
            }
            let mut batch = self.process(&stream, &entries);
            batch.position = last + 1;
            let received: Vec<i64> = entries
                .iter()
                .filter_map(|e| Envelope::decode(&e.data).ok().map(|v| v.received_us))
                .collect();
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
            from = batch.position;
            self.queue.release(from);
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

    /// Parses, attributes and evaluates a batch (CPU only).
    pub fn process(&mut self, stream: &str, entries: &[Entry]) -> IngestBatch {
        let mut batch = IngestBatch {
            stream: stream.to_string(),
            ..IngestBatch::default()
        };
        let mut counts: HashMap<(String, String, String), (i64, i64)> = HashMap::new();
        for e in entries {
            let env = match Envelope::decode(&e.data) {
                Ok(env) => env,
                Err(err) => {
                    tracing::error!(seq = e.seq, error = %err, "pipeline: skipping an unreadable queued record");
                    continue;
                }
            };
            let at =
                DateTime::<Utc>::from_timestamp_micros(env.received_us).unwrap_or_else(Utc::now);
            let rx = Received {
                input: env.input,
                at,
                peer: env.peer,
            };
            let mut ev = self.parser.parse(env.format, env.raw, &rx);
            let failed = ev.kind == EventKind::PipelineError;
            if failed && let Some(c) = self.m.parse_failed.get(env.format.name()) {
                c.inc();
            }
            self.attribute(&mut ev, env.peer, env.sender);
            let agency = ev
                .attribution
                .agency
                .as_ref()
                .map(|a| a.as_str().to_string());
            let hour = at.format("%Y-%m-%dT%H").to_string();
            let c = counts
                .entry((hour, env.input.to_string(), agency.unwrap_or_default()))
                .or_default();
            c.0 += 1;
            c.1 += i64::from(failed);
            self.detect(&ev, e.seq, at, &mut batch.alerts);
        }
        batch.counts = counts
            .into_iter()
            .map(|((hour, input, agency), (events, errors))| EventCount {
                hour,
                input,
                agency,
                events,
                errors,
            })
            .collect();
        batch
    }

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
            let a = self.inv.attributor.lookup(cand);
            if let Some(ag) = a.agency {
                ev.attribution.agency = self.inv.inventory.agencies.get(ag).map(|x| x.code.clone());
                ev.attribution.asset = a
                    .asset
                    .and_then(|i| self.inv.inventory.assets.get(i))
                    .map(|x| x.code.clone());
                return;
            }
        }
        let host = ev
            .fields
            .get_str("host.name")
            .or(ev.observer.host.as_deref());
        if let Some(i) = host.and_then(|h| self.inv.hosts.get(&h.to_ascii_lowercase()))
            && let Some(asset) = self.inv.inventory.assets.get(*i)
        {
            ev.attribution.agency = Some(asset.owner.clone());
            ev.attribution.asset = Some(asset.code.clone());
            return;
        }
        if let Some(code) = sender {
            ev.attribution.agency = Some(code.into());
        }
    }

    fn detect(&mut self, ev: &Event, seq: u64, at: DateTime<Utc>, out: &mut Vec<NewAlert>) {
        let engine = self.engine.clone();
        let matched: Vec<u32> = engine.eval_event(ev, &mut self.scratch).to_vec();
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
                    stream_seq: seq,
                    archive: None,
                    summary: summary(ev),
                    tags,
                    event: serde_json::to_string(ev).unwrap_or_default(),
                }
            };
        for &r in &matched {
            let meta = &engine.rules()[r as usize].meta;
            if meta.level < self.min_level || self.correlator.suppressed(r as usize) {
                continue;
            }
            out.push(base(
                rule_key(meta),
                meta.title.clone(),
                meta.level.as_str(),
                AlertKind::Rule,
                meta.tags.clone(),
            ));
        }
        if !engine.correlations().is_empty() && !matched.is_empty() {
            let ts = ev.timestamp.utc.timestamp_millis();
            for m in self
                .correlator
                .process(&engine, &self.scratch.record, &matched, ts)
            {
                let def = &engine.correlations()[m.correlation];
                let mut a = base(
                    rule_key(&def.meta),
                    def.meta.title.clone(),
                    def.meta.level.as_str(),
                    AlertKind::Correlation,
                    def.meta.tags.clone(),
                );
                let group: Vec<String> = m.group.iter().map(|(k, v)| format!("{k}={v}")).collect();
                a.summary = format!("{} events in the window; {}", m.events, group.join(", "));
                out.push(a);
            }
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
}

fn rule_key(meta: &tocsin_sigma::RuleMeta) -> String {
    meta.id
        .clone()
        .or_else(|| meta.name.clone())
        .unwrap_or_else(|| meta.title.clone())
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
