//! The detection layer: events in, findings out, alerts made. Synchronous —
//! no tokio, no SQL — so the pipeline and `tocsin hunt` run the same code.
//!
//! ```text
//! parsed Event ─► AttributionPolicy ─► Detectors ───────────► Finding ─► alerts::alert ─► NewAlert
//!                 (agency, asset,       observe (parallel)              (one place)
//!                  within the input's   follow (in order), tick
//!                  scope)
//! ```
//!
//! * [`Detector`]: the small trait every detection implements — observe an
//!   event on a worker thread, follow up in event order, tick with time,
//!   speed hooks with defaults. [`Detectors`] runs a list of them.
//! * [`SigmaDetector`]: the Sigma engine (rules in parallel, correlations
//!   in order); [`SensorDetector`]: a sensor's own alerts.
//! * [`AttributionPolicy`]: the one way an event gets its agency and asset
//!   (see the [`attribution`] module for the rules).
//! * [`alerts::alert`]: a finding and its evidence make a [`NewAlert`].
//!
//! ```
//! use tocsin_detect::{Detectors, SensorDetector, alerts};
//! use tocsin_model::{Event, EventKind, Observer, Timestamp};
//!
//! let mut ev = Event::new(Timestamp::received(chrono::Utc::now()), Observer::default(), "");
//! ev.kind = EventKind::Alert;
//! ev.fields.insert("rule.name", "ET MALWARE Emotet CnC");
//! let detectors = Detectors::new().with(SensorDetector);
//! let mut w = detectors.workers();
//! let found = detectors.observe(&mut w, &ev);
//! assert_eq!(found.findings[0].title, "ET MALWARE Emotet CnC");
//! let (a, _cut) = alerts::alert(
//!     found.findings[0].clone(),
//!     alerts::Evidence { event: &ev, seq: 7, received: chrono::Utc::now(), archive: None, max_bytes: 65_536 },
//! );
//! assert_eq!(a.stream_seq, 7);
//! ```
//!
//! [`NewAlert`]: tocsin_model::NewAlert

pub mod alerts;
pub mod attribution;
mod detector;
mod sensor;
mod set;
mod sigma;

pub use attribution::{AttributionPolicy, Noted};
pub use detector::{AnyCarry, AnyWorker, Detector, DynDetector, Reading};
pub use sensor::SensorDetector;
pub use set::{Detectors, Observed, Workers};
pub use sigma::{SigmaCarry, SigmaDetector, class_of};
pub use tocsin_model::{ScopeSetting, SourceTrust};
