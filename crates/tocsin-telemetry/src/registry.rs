//! The registry: counters, gauges and one histogram, rendered in the
//! Prometheus text format for `/metrics`. A handful of series with few
//! labels, so a small registry of atomics is all it takes.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// A monotonically increasing count.
#[derive(Clone, Debug, Default)]
pub struct Counter(Arc<AtomicU64>);

impl Counter {
    /// Adds `n`.
    #[inline]
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }

    /// The count.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that goes up and down (state size, connections open), set by
/// its owner and read when `/metrics` is scraped.
#[derive(Clone, Debug, Default)]
pub struct Gauge(Arc<AtomicU64>);

impl Gauge {
    /// Sets the value.
    pub fn set(&self, v: u64) {
        self.0.store(v, Ordering::Relaxed);
    }

    /// The value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Latency buckets in seconds (1 ms … 60 s).
const BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0,
];

/// A histogram of durations.
#[derive(Debug, Default)]
pub struct Histogram {
    counts: [AtomicU64; 15],
    sum_us: AtomicU64,
}

impl Histogram {
    /// Records one duration in microseconds.
    pub fn observe_us(&self, us: u64) {
        let s = us as f64 / 1e6;
        let i = BUCKETS
            .iter()
            .position(|b| s <= *b)
            .unwrap_or(BUCKETS.len());
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// The upper bound of the bucket holding quantile `q` (0–1), seconds.
    pub fn quantile(&self, q: f64) -> f64 {
        let total = self.count();
        if total == 0 {
            return 0.0;
        }
        let want = (q * total as f64).ceil() as u64;
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c.load(Ordering::Relaxed);
            if seen >= want {
                return BUCKETS.get(i).copied().unwrap_or(f64::INFINITY);
            }
        }
        f64::INFINITY
    }
}

type Labels = Vec<(&'static str, String)>;

/// One series and its value now.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The series' name (`tocsin_input_events_total`).
    pub name: &'static str,
    /// Its labels, in the order the series was created with.
    pub labels: Vec<(&'static str, String)>,
    /// The value.
    pub value: f64,
}

impl Sample {
    /// The value of label `key`, or "".
    pub fn label(&self, key: &str) -> &str {
        self.labels
            .iter()
            .find(|(k, _)| *k == key)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// (name, help, read).
type ReadGauge = (
    &'static str,
    &'static str,
    Box<dyn Fn() -> f64 + Send + Sync>,
);

#[derive(Default)]
struct Family {
    help: &'static str,
    kind: &'static str,
    counters: BTreeMap<Labels, Counter>,
}

/// Every series, by name, and the typed handles the status is read from.
#[derive(Default)]
pub struct Metrics {
    families: Mutex<BTreeMap<&'static str, Family>>,
    gauges: Mutex<Vec<ReadGauge>>,
    /// Receipt → processed (alert stored) per event.
    pub latency: Histogram,
    pub(crate) inputs: Mutex<Vec<crate::InputMetrics>>,
    pub(crate) pipeline: std::sync::OnceLock<crate::PipelineMetrics>,
    pub(crate) queue: Mutex<Option<crate::status::QueueProbe>>,
    pub(crate) health: crate::Health,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// The counter `name{labels}`, created at zero on first use.
    pub fn counter(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &[(&'static str, &str)],
    ) -> Counter {
        let mut fams = self.families.lock().unwrap_or_else(|e| e.into_inner());
        let fam = fams.entry(name).or_insert_with(|| Family {
            help,
            kind: "counter",
            ..Family::default()
        });
        let key: Labels = labels.iter().map(|(k, v)| (*k, v.to_string())).collect();
        fam.counters.entry(key).or_default().clone()
    }

    /// A gauge read when `/metrics` is scraped.
    pub fn gauge(
        &self,
        name: &'static str,
        help: &'static str,
        f: impl Fn() -> f64 + Send + Sync + 'static,
    ) {
        self.gauges
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((name, help, Box::new(f)));
    }

    /// A gauge its owner sets (see [`Gauge`]).
    pub fn settable_gauge(&self, name: &'static str, help: &'static str) -> Gauge {
        let g = Gauge::default();
        let read = g.clone();
        self.gauge(name, help, move || read.get() as f64);
        g
    }

    /// Every counter and gauge's current value (for the console's tables;
    /// the latency histogram is read through [`Metrics::latency`]).
    pub fn samples(&self) -> Vec<Sample> {
        let mut out = Vec::new();
        let fams = self.families.lock().unwrap_or_else(|e| e.into_inner());
        for (name, fam) in fams.iter() {
            for (labels, c) in &fam.counters {
                out.push(Sample {
                    name,
                    labels: labels.clone(),
                    value: c.get() as f64,
                });
            }
        }
        drop(fams);
        for (name, _, f) in self.gauges.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            out.push(Sample {
                name,
                labels: Vec::new(),
                value: f(),
            });
        }
        out
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let fams = self.families.lock().unwrap_or_else(|e| e.into_inner());
        for (name, fam) in fams.iter() {
            let _ = writeln!(
                out,
                "# HELP {name} {}\n# TYPE {name} {}",
                fam.help, fam.kind
            );
            for (labels, c) in &fam.counters {
                let _ = writeln!(out, "{name}{} {}", label_text(labels), c.get());
            }
        }
        drop(fams);
        for (name, help, f) in self.gauges.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {}",
                f()
            );
        }
        let name = "tocsin_detection_latency_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Time from receipt of an event to its processing (alerts stored).\n# TYPE {name} histogram"
        );
        let mut cum = 0;
        for (i, b) in BUCKETS.iter().enumerate() {
            cum += self.latency.counts[i].load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{b}\"}} {cum}");
        }
        cum += self.latency.counts[BUCKETS.len()].load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cum}");
        let _ = writeln!(
            out,
            "{name}_sum {}\n{name}_count {cum}",
            self.latency.sum_us.load(Ordering::Relaxed) as f64 / 1e6
        );
        out
    }
}

fn label_text(labels: &Labels) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let mut s = String::from("{");
    for (i, (k, v)) in labels.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let v = v
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n");
        let _ = write!(s, "{k}=\"{v}\"");
    }
    s.push('}');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::default();
        let c = m.counter("tocsin_x_total", "X.", &[("input", "a\"b")]);
        c.add(3);
        m.counter("tocsin_x_total", "X.", &[("input", "a\"b")])
            .inc();
        m.gauge("tocsin_queue_depth", "Depth.", || 7.0);
        m.latency.observe_us(1_500);
        m.latency.observe_us(2_000_000);
        let t = m.render();
        assert!(t.contains("tocsin_x_total{input=\"a\\\"b\"} 4"), "{t}");
        assert!(
            t.contains("# TYPE tocsin_queue_depth gauge\ntocsin_queue_depth 7"),
            "{t}"
        );
        assert!(
            t.contains("tocsin_detection_latency_seconds_bucket{le=\"0.001\"} 0"),
            "{t}"
        );
        assert!(
            t.contains("tocsin_detection_latency_seconds_bucket{le=\"0.0025\"} 1"),
            "{t}"
        );
        assert!(
            t.contains("tocsin_detection_latency_seconds_count 2"),
            "{t}"
        );
        assert_eq!(m.latency.quantile(0.5), 0.0025);
        assert_eq!(m.latency.quantile(0.99), 2.5);
    }
}
