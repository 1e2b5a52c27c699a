//! Typed snapshots of the running stages, for the console's Inputs page and
//! `/api/v1/ingest/status`: read from the typed counters, never by parsing
//! series names.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::Metrics;

/// Reads the queue's state when asked.
pub(crate) type QueueProbe = Arc<dyn Fn() -> QueueReading + Send + Sync>;

/// A gauge read off the queue: (name, help, which value).
type QueueGauge = (&'static str, &'static str, fn(&QueueReading) -> u64);

/// What the queue says about itself (the composition maps its queue's
/// statistics into this, so telemetry needs no queue type).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueueReading {
    /// Records queued and not yet committed downstream.
    pub depth: u64,
    /// Bytes held.
    pub bytes: u64,
    /// Why it cannot write now, if it cannot.
    pub fault: Option<String>,
    /// Bytes cut at start as a torn tail.
    pub torn_bytes: u64,
    /// Acknowledged records found damaged at start.
    pub damaged_at_open: u64,
    /// Records appended without waiting (UDP) that a write error lost.
    pub lost: u64,
}

/// One input's counters since the server started.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct InputStatus {
    /// The input's name in the configuration.
    pub name: String,
    /// `syslog-udp`, `syslog-tcp`, `http`, `file`…
    pub kind: String,
    /// Records accepted and durably queued.
    pub received: u64,
    /// Bytes of those records.
    pub bytes: u64,
    /// Records dropped (UDP with the queue full).
    pub dropped: u64,
    /// Records cut at the size limit.
    pub truncated: u64,
    /// Requests or frames refused (bad key, bad framing).
    pub rejected: u64,
    /// Events processed and committed.
    pub processed: u64,
    /// Records whose processing panicked (kept as `pipeline_error` events).
    pub panics: u64,
    /// Times a sender was held back (queue full or failing).
    pub pushback: u64,
    /// Datagrams the kernel dropped before the input read them.
    pub kernel_dropped: u64,
    /// Connections refused (not allowed, too many).
    pub refused_connections: u64,
    /// Connections closed for silence or slowness.
    pub timed_out: u64,
}

/// One declared format's parse counters.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct FormatStatus {
    /// `syslog`, `access_log`, `suricata_eve`, `windows`, `cef`, `json`, `auto`.
    pub format: String,
    /// Records parsed (failures included).
    pub parsed: u64,
    /// Of which kept raw with a parse error.
    pub failed: u64,
    /// Of which the parser or a detector panicked on.
    pub panics: u64,
}

/// The ingest and pipeline stages as the console shows them.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct IngestStatus {
    /// Per input.
    pub inputs: Vec<InputStatus>,
    /// Per declared format.
    pub formats: Vec<FormatStatus>,
    /// Records queued and not yet committed downstream.
    pub queue_depth: u64,
    /// Bytes the queue holds.
    pub queue_bytes: u64,
    /// Events processed in all.
    pub processed: u64,
    /// Alerts stored.
    pub alerts: u64,
    /// Receipt → committed, median (bucket bound, seconds).
    pub latency_p50: f64,
    /// Receipt → committed, 99th percentile (bucket bound, seconds).
    pub latency_p99: f64,
    /// Failed store commits (retried).
    pub commit_errors: u64,
    /// Batches the raw archive could not store.
    pub archive_errors: u64,
    /// Queued records lost to disk corruption or undecodable.
    pub unreadable: u64,
    /// Bytes cut from the queue at start as a torn tail (never acknowledged).
    pub queue_torn_bytes: u64,
    /// Acknowledged queue records found damaged at start.
    pub queue_damaged_at_open: u64,
    /// Records of UDP inputs a queue write error lost.
    pub queue_lost: u64,
    /// Alerts the database refused, kept as dead letters (since start).
    pub dead_letters: u64,
    /// Bytes of torn raw-archive frames cut at start.
    pub archive_torn_bytes: u64,
    /// Times the pipeline was restarted after it died (since start).
    pub restarts: u64,
    /// Parts of the node not doing all their work, with why.
    pub problems: Vec<(String, String)>,
}

impl Metrics {
    /// Registers the queue's probe: `/metrics` gains `tocsin_queue_depth`
    /// and `tocsin_queue_bytes`, the status their values.
    pub fn queue_probe(&self, probe: impl Fn() -> QueueReading + Send + Sync + 'static) {
        let probe: QueueProbe = Arc::new(probe);
        let gauges: [QueueGauge; 5] = [
            (
                "tocsin_queue_depth",
                "Records queued and not yet committed downstream.",
                |r| r.depth,
            ),
            ("tocsin_queue_bytes", "Bytes held by the queue.", |r| {
                r.bytes
            }),
            (
                "tocsin_queue_torn_bytes",
                "Bytes cut from the queue at start: written after the last acknowledged append.",
                |r| r.torn_bytes,
            ),
            (
                "tocsin_queue_damaged_at_open",
                "Acknowledged queue records found damaged at start (reported again when read).",
                |r| r.damaged_at_open,
            ),
            (
                "tocsin_queue_lost_total",
                "Records appended without waiting (UDP) that a queue write error lost.",
                |r| r.lost,
            ),
        ];
        for (name, help, read) in gauges {
            let p = probe.clone();
            self.gauge(name, help, move || read(&p()) as f64);
        }
        *self.queue.lock().unwrap_or_else(|e| e.into_inner()) = Some(probe);
    }

    /// Every part of the node not doing its work, and why: the health
    /// reports and the queue's own fault.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = self.health.problems();
        let probe = self.queue.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(f) = probe.and_then(|q| q().fault) {
            out.push(("queue", format!("cannot write: {f}")));
        }
        out
    }

    /// The ingest and pipeline stages now.
    pub fn ingest_status(&self) -> IngestStatus {
        let mut st = IngestStatus::default();
        let mut inputs: BTreeMap<String, InputStatus> = BTreeMap::new();
        for m in self.inputs.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let e = inputs.entry(m.name.clone()).or_default();
            e.name.clone_from(&m.name);
            e.kind = m.kind.to_string();
            e.received += m.received.get();
            e.bytes += m.bytes.get();
            e.dropped += m.dropped.get();
            e.truncated += m.truncated.get();
            e.rejected += m.rejected.get();
            e.pushback += m.pushback.get();
            e.kernel_dropped += m.kernel_dropped.get();
            e.refused_connections += m.refused_connections.get();
            e.timed_out += m.timed_out.get();
        }
        if let Some(p) = self.pipeline.get() {
            for (name, n) in p.processed_per_input() {
                let e = inputs.entry(name.clone()).or_default();
                e.name = name;
                e.processed = n;
            }
            st.formats = p
                .formats
                .iter()
                .map(|f| FormatStatus {
                    format: f.format.to_string(),
                    parsed: f.parsed.get(),
                    failed: f.failed.get(),
                    panics: 0,
                })
                .collect();
            for (input, format, n) in p.panics() {
                let e = inputs.entry(input.clone()).or_default();
                e.name = input;
                e.panics += n;
                if let Some(f) = st.formats.iter_mut().find(|f| f.format == format) {
                    f.panics += n;
                }
            }
            st.processed = p.events.get();
            st.alerts = p.alerts.get();
            st.commit_errors = p.commit_errors.get();
            st.archive_errors = p.archive_errors.get();
            st.unreadable = p.unreadable.get();
            st.dead_letters = p.dead_letters.get();
            st.archive_torn_bytes = p.archive_torn.get();
            st.restarts = p.restarts.get();
        }
        if let Some(q) = self
            .queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            let r = q();
            st.queue_depth = r.depth;
            st.queue_bytes = r.bytes;
            st.queue_torn_bytes = r.torn_bytes;
            st.queue_damaged_at_open = r.damaged_at_open;
            st.queue_lost = r.lost;
        }
        st.inputs = inputs.into_values().collect();
        st.problems = self
            .problems()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        st.latency_p50 = self.latency.quantile(0.5);
        st.latency_p99 = self.latency.quantile(0.99);
        st
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::{Metrics, QueueReading};

    #[test]
    fn status_reads_every_typed_counter() {
        let m = Arc::new(Metrics::default());
        let udp = m.input("fw-udp", "syslog-udp");
        udp.received.add(500);
        udp.bytes.add(64_000);
        udp.dropped.add(7);
        let http = m.input("winlogbeat", "http");
        http.received.add(40);
        http.rejected.add(2);
        let p = m.pipeline(&["auto", "cef"]);
        p.processed("fw-udp").add(493);
        p.formats[1].parsed.add(493);
        p.formats[1].failed.add(4);
        p.events.add(533);
        p.alerts.add(9);
        p.unreadable.add(1);
        m.queue_probe(|| QueueReading {
            depth: 12,
            bytes: 4096,
            fault: Some("No space left on device".into()),
            ..QueueReading::default()
        });
        m.latency.observe_us(1_800);
        let s = m.ingest_status();
        assert_eq!(s.inputs.len(), 2);
        let fw = &s.inputs[0];
        assert_eq!(
            (
                fw.name.as_str(),
                fw.kind.as_str(),
                fw.received,
                fw.bytes,
                fw.dropped,
                fw.processed
            ),
            ("fw-udp", "syslog-udp", 500, 64_000, 7, 493)
        );
        assert_eq!(
            (s.inputs[1].kind.as_str(), s.inputs[1].rejected),
            ("http", 2)
        );
        assert_eq!(
            (
                s.formats[1].format.as_str(),
                s.formats[1].parsed,
                s.formats[1].failed
            ),
            ("cef", 493, 4)
        );
        assert_eq!(
            (
                s.processed,
                s.alerts,
                s.unreadable,
                s.queue_depth,
                s.queue_bytes
            ),
            (533, 9, 1, 12, 4096)
        );
        assert_eq!(s.latency_p50, 0.0025);
        // The same typed counters feed /metrics.
        let text = m.render();
        assert_eq!(
            crate::sum_in_text(&text, "tocsin_input_events_total"),
            540.0
        );
        assert_eq!(crate::sum_in_text(&text, "tocsin_queue_depth"), 12.0);
        assert_eq!(
            s.problems,
            vec![(
                "queue".to_string(),
                "cannot write: No space left on device".to_string()
            )]
        );
        assert_eq!(
            crate::sum_in_text(&text, "tocsin_pipeline_input_events_total"),
            493.0
        );
    }

    #[test]
    fn asking_twice_gives_the_same_counters() {
        let m = Arc::new(Metrics::default());
        m.input("a", "file").received.add(2);
        m.input("a", "file").received.add(3);
        assert_eq!(m.ingest_status().inputs[0].received, 5);
        m.pipeline(&["auto"]).events.inc();
        m.pipeline(&["other"]).events.inc();
        assert_eq!(m.ingest_status().processed, 2);
    }
}
