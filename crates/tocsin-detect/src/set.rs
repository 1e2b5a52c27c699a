//! The detectors a stage runs, as one list: what the pipeline and `tocsin
//! hunt` drive.

use tocsin_model::{Event, Finding};

use crate::detector::{AnyCarry, AnyWorker, Detector, DynDetector};

/// An ordered list of detectors.
#[derive(Default)]
pub struct Detectors {
    list: Vec<Box<dyn DynDetector>>,
}

/// One thread's buffers for every detector of a [`Detectors`].
pub struct Workers(Vec<AnyWorker>);

/// What the parallel stage found in one event.
#[derive(Default)]
pub struct Observed {
    /// Findings the event raises on its own.
    pub findings: Vec<Finding>,
    /// What stateful detections carry to the ordered stage (detector
    /// index, carry).
    pub carries: Vec<(usize, AnyCarry)>,
}

impl Observed {
    /// True when nothing was found or carried: the event can be dropped.
    pub fn is_empty(&self) -> bool {
        self.findings.is_empty() && self.carries.is_empty()
    }
}

impl std::fmt::Debug for Detectors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.list.iter().map(|d| d.name()))
            .finish()
    }
}

impl Detectors {
    /// No detectors yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a detector (run after those added before it).
    pub fn with(mut self, d: impl Detector) -> Self {
        self.list.push(Box::new(d));
        self
    }

    /// The detectors' names, in order.
    pub fn names(&self) -> Vec<&'static str> {
        self.list.iter().map(|d| d.name()).collect()
    }

    /// Buffers for one worker thread.
    pub fn workers(&self) -> Workers {
        Workers(self.list.iter().map(|d| d.worker()).collect())
    }

    /// The parallel stage: every interested detector looks at `ev`.
    pub fn observe(&self, w: &mut Workers, ev: &Event) -> Observed {
        let mut out = Observed::default();
        for (i, (d, w)) in self.list.iter().zip(w.0.iter_mut()).enumerate() {
            if !d.interested(ev) {
                continue;
            }
            if let Some(c) = d.observe(w, ev, &mut out.findings) {
                out.carries.push((i, c));
            }
        }
        out
    }

    /// The ordered stage for one event's carries.
    pub fn follow(&mut self, carries: Vec<(usize, AnyCarry)>, out: &mut Vec<Finding>) {
        for (i, c) in carries {
            if let Some(d) = self.list.get_mut(i) {
                d.follow(c, out);
            }
        }
    }

    /// Time passed (event clock `now_ms`).
    pub fn tick(&mut self, now_ms: i64, out: &mut Vec<(Finding, Event)>) {
        for d in &mut self.list {
            d.tick(now_ms, out);
        }
    }

    /// Every detector's readings.
    pub fn readings(&self) -> Vec<crate::Reading> {
        self.list.iter().flat_map(|d| d.readings()).collect()
    }

    /// Every detector's state worth keeping, by name.
    pub fn save(&mut self, now_ms: i64) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        for d in &mut self.list {
            if let Some(v) = d.save(now_ms) {
                m.insert(d.name().to_string(), v);
            }
        }
        serde_json::json!({ "detectors": m })
    }

    /// Brings back what [`Detectors::save`] returned: (detector, what it
    /// did or why it could not) for each detector named in `state`.
    pub fn restore(
        &mut self,
        state: serde_json::Value,
    ) -> Vec<(&'static str, Result<String, String>)> {
        let mut saved = match state {
            serde_json::Value::Object(mut o) => match o.remove("detectors") {
                Some(serde_json::Value::Object(d)) => d,
                _ => {
                    return vec![(
                        "detectors",
                        Err("saved state has no `detectors` object".into()),
                    )];
                }
            },
            _ => return vec![("detectors", Err("saved state is not a JSON object".into()))],
        };
        let mut out = Vec::new();
        for d in &mut self.list {
            if let Some(v) = saved.remove(d.name()) {
                out.push((d.name(), d.restore(v)));
            }
        }
        out
    }
}
