//! The [`Detector`] trait, and its object-safe twin the pipeline holds.

use std::any::Any;

use tocsin_model::{Event, Finding};

/// Something that looks at events and reports [`Finding`]s.
///
/// Detection runs in two stages, so that the expensive part scales with
/// cores while stateful detections still see events in order:
///
/// 1. [`observe`](Detector::observe), on every worker thread at once, with
///    `&self` and the thread's own [`Worker`](Detector::Worker) buffers:
///    findings the event raises on its own go to `out`; anything a
///    stateful detection needs later is returned as a
///    [`Carry`](Detector::Carry);
/// 2. [`follow`](Detector::follow), on one thread, in event order, with
///    `&mut self`: windows, thresholds and episodes.
///
/// [`tick`](Detector::tick) is called periodically with the event clock,
/// for detections that fire on time passing (an episode that ended, a
/// silent source). The speed hooks have defaults that are always correct.
pub trait Detector: Send + Sync + 'static {
    /// Per-thread buffers (a Sigma scratch record, a decoder).
    type Worker: Send + 'static;
    /// What [`observe`](Detector::observe) hands to
    /// [`follow`](Detector::follow) for one event.
    type Carry: Send + 'static;

    /// A short stable name (`sigma`, `sensor`), used for metrics and saved
    /// state.
    fn name(&self) -> &'static str;

    /// Fresh buffers for one worker thread.
    fn worker(&self) -> Self::Worker;

    /// Looks at one event (parallel stage). Findings go to `out`; what the
    /// ordered stage needs is returned.
    fn observe(
        &self,
        w: &mut Self::Worker,
        ev: &Event,
        out: &mut Vec<Finding>,
    ) -> Option<Self::Carry>;

    /// Continues with what `observe` carried, in event order (ordered
    /// stage). The default carries nothing.
    fn follow(&mut self, carry: Self::Carry, out: &mut Vec<Finding>) {
        let _ = (carry, out);
    }

    /// Time passed: the event clock is now `now_ms`. Findings raised here
    /// come with the event they are reported on.
    fn tick(&mut self, now_ms: i64, out: &mut Vec<(Finding, Event)>) {
        let _ = (now_ms, out);
    }

    /// Speed hook: whether `ev` may interest this detector at all. May
    /// answer true for events that turn out uninteresting; must never
    /// answer false for one that would raise a finding.
    fn interested(&self, ev: &Event) -> bool {
        let _ = ev;
        true
    }

    /// State worth keeping across a restart (windows in progress), as JSON.
    fn save(&mut self, now_ms: i64) -> Option<serde_json::Value> {
        let _ = now_ms;
        None
    }

    /// Brings back what [`save`](Detector::save) returned; says what it did.
    fn restore(&mut self, state: serde_json::Value) -> Result<String, String> {
        let _ = state;
        Ok(String::new())
    }

    /// What the detector says about itself now: the size of its state and
    /// what its bounds dropped, exported to `/metrics` by the pipeline.
    fn readings(&self) -> Vec<Reading> {
        Vec::new()
    }
}

/// One number a detector reports about itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reading {
    /// The series name (`tocsin_…`).
    pub name: &'static str,
    /// What it measures.
    pub help: &'static str,
    /// Its value now.
    pub value: u64,
    /// Whether it only grows (a count of drops) or goes both ways (state
    /// size).
    pub total: bool,
}

/// Per-thread buffers of any detector.
pub type AnyWorker = Box<dyn Any + Send>;
/// A carry of any detector.
pub type AnyCarry = Box<dyn Any + Send>;

/// [`Detector`] with its types erased, so detectors of different kinds sit
/// in one list. Implemented for every detector; each downcast is to the
/// type the same impl created, so it cannot fail.
pub trait DynDetector: Send + Sync {
    /// See [`Detector::name`].
    fn name(&self) -> &'static str;
    /// See [`Detector::worker`].
    fn worker(&self) -> AnyWorker;
    /// See [`Detector::observe`].
    fn observe(&self, w: &mut AnyWorker, ev: &Event, out: &mut Vec<Finding>) -> Option<AnyCarry>;
    /// See [`Detector::follow`].
    fn follow(&mut self, carry: AnyCarry, out: &mut Vec<Finding>);
    /// See [`Detector::tick`].
    fn tick(&mut self, now_ms: i64, out: &mut Vec<(Finding, Event)>);
    /// See [`Detector::interested`].
    fn interested(&self, ev: &Event) -> bool;
    /// See [`Detector::save`].
    fn save(&mut self, now_ms: i64) -> Option<serde_json::Value>;
    /// See [`Detector::restore`].
    fn restore(&mut self, state: serde_json::Value) -> Result<String, String>;
    /// See [`Detector::readings`].
    fn readings(&self) -> Vec<Reading>;
}

impl<D: Detector> DynDetector for D {
    fn name(&self) -> &'static str {
        Detector::name(self)
    }

    fn worker(&self) -> AnyWorker {
        Box::new(Detector::worker(self))
    }

    fn observe(&self, w: &mut AnyWorker, ev: &Event, out: &mut Vec<Finding>) -> Option<AnyCarry> {
        let w = w
            .downcast_mut::<D::Worker>()
            .expect("a detector's worker is the one it made");
        Detector::observe(self, w, ev, out).map(|c| Box::new(c) as AnyCarry)
    }

    fn follow(&mut self, carry: AnyCarry, out: &mut Vec<Finding>) {
        if let Ok(c) = carry.downcast::<D::Carry>() {
            Detector::follow(self, *c, out);
        }
    }

    fn tick(&mut self, now_ms: i64, out: &mut Vec<(Finding, Event)>) {
        Detector::tick(self, now_ms, out);
    }

    fn interested(&self, ev: &Event) -> bool {
        Detector::interested(self, ev)
    }

    fn save(&mut self, now_ms: i64) -> Option<serde_json::Value> {
        Detector::save(self, now_ms)
    }

    fn restore(&mut self, state: serde_json::Value) -> Result<String, String> {
        Detector::restore(self, state)
    }

    fn readings(&self) -> Vec<Reading> {
        Detector::readings(self)
    }
}
