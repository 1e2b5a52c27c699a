//! The Sigma engine as a detector: rules on the worker threads, their
//! correlations in event order.

use std::sync::Arc;

use tocsin_model::{AlertKind, AttackClass, Event, Finding, Level};
use tocsin_sigma::{CorrelationInput, Correlator, CorrelatorConfig, Engine, RuleMeta, Scratch};

use crate::Detector;

/// How many correlation matches a save keeps at most (the most recently
/// active groups first): a flood of distinct sources must not make each
/// save as large as the state.
const SAVE_ENTRIES: usize = 200_000;

/// How far past the wall clock the event clock may expire windows when
/// saving: a sender whose clock runs ahead must not expire every window.
const CLOCK_SLACK_MS: i64 = 300_000;

/// Sigma rules and correlations.
pub struct SigmaDetector {
    engine: Arc<Engine>,
    correlator: Correlator,
    /// Per rule: whether its own match is a finding (level at least the
    /// minimum, not suppressed by a `generate: false` correlation).
    alerting: Vec<bool>,
    /// The latest event time fed to the correlator (ms).
    latest_ms: i64,
}

/// What a Sigma match carries to the correlator.
pub struct SigmaCarry {
    ts_ms: i64,
    inputs: Vec<CorrelationInput>,
}

impl SigmaDetector {
    /// Rule matches below `min_level` only feed correlations (a failed
    /// password is not an alert; fifteen of them are).
    pub fn new(engine: Arc<Engine>, min_level: Level, correlation: CorrelatorConfig) -> Self {
        let correlator = Correlator::new(&engine, correlation);
        let alerting = engine
            .rules()
            .iter()
            .enumerate()
            .map(|(i, r)| r.meta.level >= min_level && !correlator.suppressed(i))
            .collect();
        SigmaDetector {
            engine,
            correlator,
            alerting,
            latest_ms: i64::MIN,
        }
    }

    /// The engine.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }
}

fn finding(meta: &RuleMeta, kind: AlertKind) -> Finding {
    Finding {
        rule_id: meta.key().to_string(),
        title: meta.title.clone(),
        level: meta.level,
        kind,
        class: class_of(meta),
        tags: meta.tags.clone(),
        entity: None,
        summary: None,
        intel: None,
        repeat: false,
    }
}

/// A rule's class: what its tags say; a web-server rule without one is a
/// web attack.
pub fn class_of(meta: &RuleMeta) -> AttackClass {
    match AttackClass::from_tags(&meta.tags) {
        AttackClass::Other if meta.logsource.category.as_deref() == Some("webserver") => {
            AttackClass::WebAttack
        }
        c => c,
    }
}

impl Detector for SigmaDetector {
    type Worker = Scratch;
    type Carry = SigmaCarry;

    fn name(&self) -> &'static str {
        "sigma"
    }

    fn worker(&self) -> Scratch {
        self.engine.scratch()
    }

    fn observe(&self, s: &mut Scratch, ev: &Event, out: &mut Vec<Finding>) -> Option<SigmaCarry> {
        let matched = self.engine.eval_event(ev, s);
        if matched.is_empty() {
            return None;
        }
        let rules = self.engine.rules();
        let mut feeds = false;
        for &r in matched {
            let r = r as usize;
            if self.alerting[r] {
                out.push(finding(&rules[r].meta, AlertKind::Rule));
            }
            feeds |= self.correlator.feeds(r);
        }
        if !feeds {
            return None;
        }
        let matched = matched.to_vec();
        let inputs = Correlator::extract(&self.engine, &s.record, &matched);
        (!inputs.is_empty()).then(|| SigmaCarry {
            ts_ms: ev.timestamp.utc.timestamp_millis(),
            inputs,
        })
    }

    fn follow(&mut self, c: SigmaCarry, out: &mut Vec<Finding>) {
        self.latest_ms = self.latest_ms.max(c.ts_ms);
        for m in self.correlator.feed(&self.engine, c.inputs, c.ts_ms) {
            let def = &self.engine.correlations()[m.correlation];
            let group: Vec<String> = m.group.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let mut f = finding(&def.meta, AlertKind::Correlation);
            f.summary = Some(format!(
                "{} events in the window; {}",
                m.events,
                group.join(", ")
            ));
            out.push(f);
        }
    }

    fn save(&mut self, now_ms: i64) -> Option<serde_json::Value> {
        // Windows that have passed are dropped first (memory, and the copy).
        if self.latest_ms > i64::MIN {
            self.correlator
                .expire(&self.engine, self.latest_ms.min(now_ms + CLOCK_SLACK_MS));
        }
        let snap = self.correlator.snapshot(&self.engine, SAVE_ENTRIES);
        serde_json::to_value(&snap).ok()
    }

    fn readings(&self) -> Vec<crate::Reading> {
        let s = self.correlator.stats();
        let r = |name, help, value, total| crate::Reading {
            name,
            help,
            value,
            total,
        };
        vec![
            r(
                "tocsin_correlation_groups",
                "Correlation groups (windows in progress) held now.",
                s.groups as u64,
                false,
            ),
            r(
                "tocsin_correlation_bytes",
                "Bytes of correlation state held now (bounded by max_bytes).",
                s.bytes as u64,
                false,
            ),
            r(
                "tocsin_correlation_groups_dropped_total",
                "New correlation groups refused: max_groups or max_bytes reached (a correlation may have missed an attack).",
                s.groups_dropped,
                true,
            ),
            r(
                "tocsin_correlation_events_dropped_total",
                "Matches dropped from full correlation groups (max_events_per_group).",
                s.events_dropped,
                true,
            ),
        ]
    }

    fn restore(&mut self, state: serde_json::Value) -> Result<String, String> {
        let snap = serde_json::from_value(state).map_err(|e| e.to_string())?;
        let r = self.correlator.restore(&self.engine, snap);
        Ok(format!(
            "{} correlation groups restored, {} dropped",
            r.groups, r.dropped
        ))
    }
}
