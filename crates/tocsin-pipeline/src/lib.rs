//! The pipeline: the running stage between the queue and the store.
//!
//! ```text
//! [queue] ─► decode ─► parse (tocsin-parse) ─► attribute ─► detectors ─► alerts ─► [store]
//!            └──────────── on every core, a share of the batch each ───┘ ordered
//!                                   └─► raw archive (zstd JSON lines, per input and hour)
//! ```
//!
//! A [`Pipeline`] reads batches from a [`tocsin_queue::Queue`], parses each
//! record, attributes it with the [`tocsin_detect::AttributionPolicy`], runs
//! the [`tocsin_detect::Detectors`] (their parallel stage on every core,
//! their ordered stage on one thread), and commits the batch's alerts,
//! event counts and queue position in one store transaction — so each
//! queued record is processed exactly once across crashes. The
//! [`archive::Archive`] keeps every record for later hunting.

pub mod archive;
mod commit;
mod counts;
mod pipeline;
pub mod retro;
mod stage;

pub use archive::{Archive, ArchiveConfig};
pub use pipeline::Pipeline;
pub use stage::UNREADABLE_INPUT;

use std::sync::Arc;

use tocsin_detect::{Detectors, SensorDetector, SigmaDetector};
use tocsin_dos::DosConfig;
use tocsin_intel::{IntelConfig, IntelDetector, IntelHandle};
use tocsin_model::Level;
use tocsin_parse::ParseLimits;
use tocsin_sigma::{CorrelatorConfig, Engine};
use tocsin_webattack::WebAttackConfig;

/// Pipeline settings (`[ingest.pipeline]`).
#[derive(Clone, Debug, serde::Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineConfig {
    /// Records per batch (one store transaction each).
    pub batch: usize,
    /// Rule matches below this level only feed correlations (a failed
    /// password is not an alert; fifteen of them are).
    pub min_level: Level,
    /// Correlation state bounds.
    pub correlation: CorrelatorConfig,
    /// What one record may become (`[ingest.pipeline.parser]`).
    pub parser: ParseLimits,
    /// Largest evidence (the event as JSON) an alert stores, bytes; a
    /// larger one is cut to its essentials and counted.
    pub max_evidence_bytes: usize,
    /// How far past its receipt an event's own time may be, seconds: a
    /// later time (a wrong clock, or a sender forging times to expire
    /// correlation windows) is clamped to receipt + skew and counted.
    pub clock_skew_secs: u64,
    /// Threat-intelligence matching (`[ingest.pipeline.intel]`).
    pub intel: IntelConfig,
    /// Web-attack detection (`[ingest.pipeline.web]`).
    pub web: WebAttackConfig,
    /// Denial-of-service episodes (`[ingest.pipeline.dos]`).
    pub dos: DosConfig,
    /// Repeats of a detection on the same entity (rule, agency, source or
    /// the detector's entity) fold into its open alert while the alert's
    /// last repeat is at most this many seconds old; 0 turns folding off.
    pub fold_secs: u64,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            batch: 2048,
            min_level: Level::Low,
            correlation: CorrelatorConfig::default(),
            parser: ParseLimits::default(),
            max_evidence_bytes: 64 << 10,
            clock_skew_secs: 300,
            intel: IntelConfig::default(),
            fold_secs: 3600,
            web: WebAttackConfig::default(),
            dos: DosConfig::default(),
        }
    }
}

impl PipelineConfig {
    /// The detectors these settings ask for, over `engine`: Sigma rules and
    /// correlations, sensors' own alerts, web attacks in requests,
    /// denial-of-service episodes per website, then threat intelligence over the indicator set `intel` holds (when
    /// given).
    pub fn detectors(&self, engine: Arc<Engine>, intel: Option<Arc<IntelHandle>>) -> Detectors {
        let d = Detectors::new()
            .with(SigmaDetector::new(
                engine,
                self.min_level,
                self.correlation.clone(),
            ))
            .with(SensorDetector)
            .with(self.web.clone().build())
            .with(self.dos.clone().build());
        match intel {
            Some(h) => d.with(IntelDetector::new(h, self.intel.clone())),
            None => d,
        }
    }
}
