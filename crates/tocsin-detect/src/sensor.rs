//! A sensor's own alerts (Suricata, a firewall's IPS) as findings.

use tocsin_model::{AlertKind, AttackClass, Event, EventKind, Finding, Level};

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
        let class = class_of(&sig, ev.fields.get_str("rule.category").unwrap_or(""));
        out.push(Finding {
            rule_id,
            title: sig,
            level,
            kind: AlertKind::Sensor,
            class,
            tags: vec![module.to_string()],
            entity: None,
            summary: None,
            intel: None,
            repeat: false,
        });
        None
    }
}

/// The class of a sensor's signature, from its category (Suricata's
/// classification, `Web Application Attack`) or the ruleset's prefix in
/// its name (`ET MALWARE`, `ET SCAN`).
fn class_of(sig: &str, category: &str) -> AttackClass {
    let c = category.to_ascii_lowercase();
    let s = sig.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| c.contains(w) || s.contains(w));
    if has(&["denial of service", " dos ", "et dos", "flood"]) {
        AttackClass::Dos
    } else if has(&["cnc", "c2 ", "botnet", "command and control"]) {
        AttackClass::Botnet
    } else if has(&[
        "trojan",
        "malware",
        "ransomware",
        "et exploit_kit",
        "coinminer",
    ]) {
        AttackClass::Malware
    } else if has(&[
        "web application",
        "web_server",
        "web_specific",
        "sql injection",
        "xss",
    ]) {
        AttackClass::WebAttack
    } else if has(&[
        "administrator privilege",
        "user privilege",
        "brute",
        "credential",
    ]) {
        AttackClass::PrivilegeTakeover
    } else if has(&[
        "scan",
        "reconnaissance",
        "information leak",
        "attempted-recon",
    ]) {
        AttackClass::Recon
    } else {
        AttackClass::Other
    }
}

#[cfg(test)]
mod class_tests {
    use super::*;

    #[test]
    fn signatures_are_classed_by_category_then_name() {
        assert_eq!(
            class_of("ET MALWARE Emotet CnC Beacon", ""),
            AttackClass::Botnet
        );
        assert_eq!(class_of("ET TROJAN Agent Tesla", ""), AttackClass::Malware);
        assert_eq!(
            class_of("x", "Web Application Attack"),
            AttackClass::WebAttack
        );
        assert_eq!(
            class_of("ET SCAN Nmap", "Detection of a Network Scan"),
            AttackClass::Recon
        );
        assert_eq!(
            class_of("GPL ATTACK", "Attempted Denial of Service"),
            AttackClass::Dos
        );
        assert_eq!(
            class_of("ET POLICY", "Successful Administrator Privilege Gain"),
            AttackClass::PrivilegeTakeover
        );
        assert_eq!(
            class_of("ET INFO Dropbox", "Misc activity"),
            AttackClass::Other
        );
    }
}
