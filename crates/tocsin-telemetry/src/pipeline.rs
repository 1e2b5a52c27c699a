//! The counters of the pipeline stage (queue → parse → detect → store).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, Weak};

use crate::{Counter, Metrics};

/// One declared format's parse counters.
#[derive(Clone, Debug)]
pub struct FormatCounters {
    /// The format's name (`syslog`, `cef`…).
    pub format: &'static str,
    /// Records parsed in this format (failures included).
    pub parsed: Counter,
    /// Of which kept raw with a parse error.
    pub failed: Counter,
}

/// The pipeline's counters. Made once per registry by
/// [`Metrics::pipeline`]; clones share the counters.
#[derive(Clone, Debug)]
pub struct PipelineMetrics {
    /// Events processed (parsed, attributed, detected, committed).
    pub events: Counter,
    /// Alerts stored.
    pub alerts: Counter,
    /// Batches committed.
    pub batches: Counter,
    /// Failed store commits (the batch is retried or isolated).
    pub commit_errors: Counter,
    /// Alerts the database refused, kept as dead letters.
    pub dead_letters: Counter,
    /// Times the pipeline was restarted after it died.
    pub restarts: Counter,
    /// Records that met a parser limit, by limit (`fields`, `field_name`,
    /// `flat_bytes`, `depth`).
    pub parse_limited: [Counter; 4],
    /// Events dated past their receipt time plus the allowed skew, whose
    /// time was clamped.
    pub clamped: Counter,
    /// Alerts whose evidence was cut to the evidence limit.
    pub evidence_cut: Counter,
    /// Sensor alerts from inputs that are not sensors, kept as events.
    pub untrusted_alerts: Counter,
    /// Events with an address of an agency outside their input's scope.
    pub outside_scope: Counter,
    /// Batches the raw archive could not store.
    pub archive_errors: Counter,
    /// Hourly raw-archive files deleted past their retention.
    pub archive_pruned: Counter,
    /// Bytes of torn raw-archive frames cut at start.
    pub archive_torn: Counter,
    /// Queued records that could not be read back.
    pub unreadable: Counter,
    /// Microseconds spent reading (and waiting for) the queue, processing,
    /// committing.
    pub phase_us: [Counter; 3],
    /// Per declared format, in the order given to [`Metrics::pipeline`].
    pub formats: Arc<[FormatCounters]>,
    per_input: Arc<Mutex<BTreeMap<String, Counter>>>,
    /// Records whose processing panicked, by (input, format).
    panics: Arc<Mutex<BTreeMap<(String, &'static str), Counter>>>,
    /// The registry (weak: the registry holds these counters).
    registry: Weak<Metrics>,
}

impl PipelineMetrics {
    /// The per-input count of events processed and committed.
    pub fn processed(&self, input: &str) -> Counter {
        let mut m = self.per_input.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = m.get(input) {
            return c.clone();
        }
        let c = match self.registry.upgrade() {
            Some(r) => r.counter(
                "tocsin_pipeline_input_events_total",
                "Events processed and committed, per input.",
                &[("input", input)],
            ),
            None => Counter::default(),
        };
        m.insert(input.to_string(), c.clone());
        c
    }

    /// The count of records of `input` in `format` whose parsing,
    /// attribution or detection panicked (each kept as a `pipeline_error`
    /// event instead).
    pub fn panicked(&self, input: &str, format: &'static str) -> Counter {
        let mut m = self.panics.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = m.get(&(input.to_string(), format)) {
            return c.clone();
        }
        let c = match self.registry.upgrade() {
            Some(r) => r.counter(
                "tocsin_pipeline_panics_total",
                "Records whose processing panicked, kept as pipeline_error events, per input and format.",
                &[("input", input), ("format", format)],
            ),
            None => Counter::default(),
        };
        m.insert((input.to_string(), format), c.clone());
        c
    }

    /// (input, format, panics) for every pair that panicked.
    pub fn panics(&self) -> Vec<(String, &'static str, u64)> {
        let m = self.panics.lock().unwrap_or_else(|e| e.into_inner());
        m.iter()
            .map(|((i, f), c)| (i.clone(), *f, c.get()))
            .collect()
    }

    /// (input, processed) for every input seen.
    pub fn processed_per_input(&self) -> Vec<(String, u64)> {
        let m = self.per_input.lock().unwrap_or_else(|e| e.into_inner());
        m.iter().map(|(k, c)| (k.clone(), c.get())).collect()
    }
}

impl Metrics {
    /// The pipeline's counters, with parse counters for `formats` (made on
    /// the first call; later calls return the same counters).
    pub fn pipeline(self: &Arc<Self>, formats: &[&'static str]) -> PipelineMetrics {
        self.pipeline
            .get_or_init(|| {
                let c = |name, help| self.counter(name, help, &[]);
                PipelineMetrics {
                    events: c(
                        "tocsin_pipeline_events_total",
                        "Events processed (parsed, attributed, detected, committed).",
                    ),
                    alerts: c("tocsin_alerts_total", "Alerts stored."),
                    batches: c("tocsin_pipeline_batches_total", "Batches committed."),
                    commit_errors: c(
                        "tocsin_pipeline_commit_errors_total",
                        "Failed store commits (the batch is retried, or isolated when the database refuses its data).",
                    ),
                    parse_limited: ["fields", "field_name", "flat_bytes", "depth"].map(|l| {
                        self.counter(
                            "tocsin_parse_limited_total",
                            "Records that met a parser limit (the rest of the record left out of its fields; the original kept).",
                            &[("limit", l)],
                        )
                    }),
                    clamped: c(
                        "tocsin_pipeline_clamped_times_total",
                        "Events dated past their receipt plus clock_skew_secs, their time clamped.",
                    ),
                    untrusted_alerts: c(
                        "tocsin_pipeline_untrusted_alerts_total",
                        "Sensor alert records from inputs not marked as sensors, kept as events.",
                    ),
                    outside_scope: c(
                        "tocsin_pipeline_outside_scope_total",
                        "Events naming an address of an agency outside their input's scope (kept with the input's agency, flagged).",
                    ),
                    evidence_cut: c(
                        "tocsin_alert_evidence_cut_total",
                        "Alerts whose evidence was cut to max_evidence_bytes.",
                    ),
                    restarts: c(
                        "tocsin_pipeline_restarts_total",
                        "Times the pipeline task died and was restarted by its supervisor.",
                    ),
                    dead_letters: c(
                        "tocsin_pipeline_dead_letters_total",
                        "Alerts the database refused, kept as dead letters (console: Dead letters).",
                    ),
                    archive_errors: c(
                        "tocsin_archive_errors_total",
                        "Batches the raw archive could not store (the events are still processed).",
                    ),
                    archive_torn: c(
                        "tocsin_archive_torn_bytes_total",
                        "Bytes of torn raw-archive frames cut at start (a crash while a frame was written).",
                    ),
                    archive_pruned: c(
                        "tocsin_archive_pruned_files_total",
                        "Hourly raw-archive files deleted past `keep_days`.",
                    ),
                    unreadable: c(
                        "tocsin_queue_unreadable_records_total",
                        "Queued records lost to disk corruption or undecodable (counted under input `queue`).",
                    ),
                    phase_us: ["read", "process", "commit"].map(|p| {
                        self.counter(
                            "tocsin_pipeline_phase_microseconds_total",
                            "Time the pipeline spent per phase (read includes waiting for records).",
                            &[("phase", p)],
                        )
                    }),
                    formats: formats
                        .iter()
                        .map(|f| FormatCounters {
                            format: f,
                            parsed: self.counter(
                                "tocsin_parse_events_total",
                                "Records parsed, per declared format (failures included).",
                                &[("format", f)],
                            ),
                            failed: self.counter(
                                "tocsin_parse_failed_total",
                                "Records that did not parse in their format (kept raw with the error).",
                                &[("format", f)],
                            ),
                        })
                        .collect(),
                    per_input: Arc::default(),
                    panics: Arc::default(),
                    registry: Arc::downgrade(self),
                }
            })
            .clone()
    }
}
