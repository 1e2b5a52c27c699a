//! A sensor's own alerts (Suricata, a firewall's IPS) as findings.

use tocsin_model::{AlertKind, Event, EventKind, Finding, Level};

use crate::Detector;

/// Turns events of kind [`EventKind::Alert`] into findings, with the
/// sensor's signature as the detection and its severity as the level.
#[derive(Clone, Copy, Debug, Default)]
pub struct SensorDetector;

impl Detector for SensorDetector {
    type Worker = ();
    type Carry = ();

    fn name(&self) -> &'static str {
        "sensor"
    }

    fn worker(&self) {}

    fn interested(&self, ev: &Event) -> bool {
        ev.kind == EventKind::Alert
    }

    fn observe(&self, _: &mut (), ev: &Event, out: &mut Vec<Finding>) -> Option<()> {
        if ev.kind != EventKind::Alert {
            return None;
        }
        let sig = ev
            .fields
            .get_str("rule.name")
            .unwrap_or("sensor alert")
            .to_string();
        let rule_id = ev
            .fields
            .get("rule.id")
            .map(|v| format!("sensor:{v}"))
            .unwrap_or_else(|| format!("sensor:{sig}"));
        // Suricata's severities: 1 is the most severe.
        let level = match ev.fields.get("event.severity").and_then(|v| v.as_i64()) {
            Some(1) => Level::High,
            Some(2) => Level::Medium,
            _ => Level::Low,
        };
        let module = ev.fields.get_str("event.module").unwrap_or("sensor");
        out.push(Finding {
            rule_id,
            title: sig,
            level,
            kind: AlertKind::Sensor,
            tags: vec![module.to_string()],
            summary: None,
            intel: None,
            repeat: false,
        });
        None
    }
}
