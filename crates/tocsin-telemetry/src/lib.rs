//! Telemetry: what the running stages count, and how people and Prometheus
//! read it. Infrastructure, beside the store and the queue:
//!
//! ```text
//! ingest (inputs) ─┐                      ┌─► /metrics (Prometheus text)
//! pipeline ────────┼─► [Metrics registry] ┤
//! queue probe ─────┘                      └─► IngestStatus (console, API)
//! ```
//!
//! Stages take typed handles from one [`Metrics`]: an input its
//! [`InputMetrics`] ([`Metrics::input`]), the pipeline its
//! [`PipelineMetrics`] ([`Metrics::pipeline`]), the queue a probe
//! ([`Metrics::queue_probe`]). The same handles feed both readers: the
//! Prometheus text ([`Metrics::render`]) and the typed [`IngestStatus`]
//! ([`Metrics::ingest_status`]) the console shows — so no crate parses
//! another's series names, and a renamed series cannot silently empty a
//! console table.
//!
//! ```
//! use std::sync::Arc;
//! let m = Arc::new(tocsin_telemetry::Metrics::default());
//! let input = m.input("syslog-udp", "syslog-udp");
//! input.received.add(3);
//! assert_eq!(m.ingest_status().inputs[0].received, 3);
//! assert!(m.render().contains("tocsin_input_events_total{input=\"syslog-udp\",kind=\"syslog-udp\"} 3"));
//! ```

mod health;
mod input;
mod pipeline;
mod registry;
mod status;
mod text;

pub use health::{Condition, Health};
pub use input::InputMetrics;
pub use pipeline::{FormatCounters, PipelineMetrics};
pub use registry::{Counter, Gauge, Histogram, Metrics, Sample};
pub use status::{FormatStatus, IngestStatus, InputStatus, QueueReading};
pub use text::{histogram_quantile, sum_in_text};
