//! Tocsin's Sigma engine: detection rules in the open Sigma format (2.1),
//! evaluated against events many times faster than a rule-by-rule walk.
//!
//! Sits in the *detect* stage: ingest hands it events, it hands back the
//! rules that matched, and correlations over those matches. Synchronous, no
//! I/O beyond reading rule files; `tocsin hunt` and `tocsin serve` drive it.
//!
//! * [`EngineBuilder`] loads rule files (every document is loaded or reported
//!   in [`LoadReport`] with file, line and reason) and builds an [`Engine`].
//! * Rules compile once: field names become slots of a [`Record`], values
//!   become [`Matcher`]s, `1 of sel_*` is expanded, and each rule gets a
//!   prefilter guard (see the `prefilter` module).
//! * Each event is decoded once into a [`Record`] (JSON via [`Engine::eval_json`],
//!   Tocsin events via [`Engine::eval_event`]), strings lowercased once for
//!   every rule; the prefilter names the candidate rules; only those are
//!   evaluated. What the prefilter's automata find in a line of text is
//!   remembered per thread (the `scan_cache` module): logs repeat their
//!   lines, so most of an event costs lookups, not scans.
//! * A [`Correlator`] keeps the bounded, windowed state of correlation rules.
//!
//! ```
//! use tocsin_sigma::{EngineBuilder, EngineConfig};
//! let mut b = EngineBuilder::new(EngineConfig::default());
//! b.add_text(r#"
//! title: Whoami
//! logsource: {product: windows, category: process_creation}
//! detection:
//!   sel: {CommandLine|contains: whoami}
//!   condition: sel
//! "#, std::path::Path::new("whoami.yml"));
//! let (engine, report) = b.build();
//! assert!(report.errors.is_empty());
//! let mut s = engine.scratch();
//! let hits = engine.eval_json(br#"{"CommandLine":"cmd /c WHOAMI /all"}"#, &mut s).unwrap();
//! assert_eq!(hits, [0]);
//! ```

mod compile;
mod condition;
mod correlation;
mod correlator;
mod encode;
mod engine;
mod glob;
mod json;
mod mapping;
mod matcher;
mod modifier;
mod prefilter;
mod record;
mod rule;
mod scan;
mod scan_cache;
mod strset;
mod value;

pub use correlation::{CondOp, CorrKind, CorrelationDef, Source};
pub use correlator::{
    CorrelationInput, CorrelationMatch, Correlator, CorrelatorConfig, CorrelatorSnapshot,
    CorrelatorStats, RestoreReport,
};
pub use engine::{Engine, EngineBuilder, EngineConfig, LoadReport, Rule, Scratch, parse_time_ms};
pub use json::{JsonError, JsonScratch, decode as decode_json, unescape as json_unescape};
pub use mapping::{Format, Mappings};
pub use matcher::Matcher;
pub use record::{FieldId, FieldIndex, FieldVal, Kind, Record, Scalar};
pub use rule::{Level, LoadError, Localized, Logsource, RuleMeta};
pub use scan_cache::ScanCacheStats;
