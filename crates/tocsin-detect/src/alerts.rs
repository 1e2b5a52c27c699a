//! Findings become alerts here, and only here.

use chrono::{DateTime, Utc};
use tocsin_model::{Event, Finding, NewAlert, Sighting};

/// The event a finding is about, and where it came from.
#[derive(Clone, Copy, Debug)]
pub struct Evidence<'a> {
    /// The event.
    pub event: &'a Event,
    /// Its position in the queue stream (or the line in a hunted file).
    pub seq: u64,
    /// When Tocsin received it.
    pub received: DateTime<Utc>,
    /// Where its raw record is archived, when archiving.
    pub archive: Option<&'a str>,
    /// The most evidence (the event as JSON) to store, bytes.
    pub max_bytes: usize,
}

/// The alert for `f` about `e`, and whether its evidence had to be cut to
/// `e.max_bytes`.
pub fn alert(f: Finding, e: Evidence<'_>) -> (NewAlert, bool) {
    let ev = e.event;
    let (event, cut) = evidence(ev, e.max_bytes);
    let a = NewAlert {
        event_time: ev.timestamp.utc,
        received_at: e.received,
        rule_id: f.rule_id,
        rule_title: f.title,
        level: f.level,
        kind: f.kind,
        class: f.class,
        technique: tocsin_model::technique(&f.tags),
        entity: f.entity,
        agency: ev.attribution.agency.clone(),
        asset: ev.attribution.asset.clone(),
        source_ip: ev.fields.get_str("source.ip").and_then(|s| s.parse().ok()),
        host: ev.observer.host.clone(),
        input: ev.observer.name.clone(),
        stream_seq: e.seq,
        archive: e.archive.map(str::to_string),
        summary: f.summary.unwrap_or_else(|| summary(ev)),
        tags: f.tags,
        event,
        intel: f.intel.map(|h| *h),
    };
    (a, cut)
}

/// The sighting a threat-intelligence finding records: the match, when,
/// and for which agency and asset. `None` for other findings.
pub fn sighting(f: &Finding, ev: &Event) -> Option<Sighting> {
    f.intel.as_ref().map(|hit| Sighting {
        hit: (**hit).clone(),
        at: ev.timestamp.utc,
        agency: ev.attribution.agency.clone(),
        asset: ev.attribution.asset.clone(),
        late: false,
    })
}

/// The event as JSON, at most `max` bytes: a larger one keeps what an
/// analyst needs first (time, kind, who, attribution, the original record
/// cut on a character boundary) and says it was cut.
fn evidence(ev: &Event, max: usize) -> (String, bool) {
    let whole = serde_json::to_string(ev).unwrap_or_default();
    if whole.len() <= max {
        return (whole, false);
    }
    let mut end = ev.original.len().min(max / 2);
    while !ev.original.is_char_boundary(end) {
        end -= 1;
    }
    let cut = serde_json::json!({
        "truncated": true,
        "bytes": whole.len(),
        "timestamp": ev.timestamp,
        "observer": ev.observer,
        "kind": ev.kind,
        "category": ev.category,
        "attribution": ev.attribution,
        "original": &ev.original[..end],
    });
    (cut.to_string(), true)
}

/// One line for alert lists: who did what to what.
pub fn summary(ev: &Event) -> String {
    let f = |k: &str| ev.fields.get_str(k);
    let mut parts: Vec<String> = Vec::new();
    if let Some(s) = f("source.ip") {
        parts.push(s.to_string());
    }
    if let Some(u) = f("user.name") {
        parts.push(format!("user {u}"));
    }
    if let Some(m) = f("http.request.method") {
        parts.push(format!("{m} {}", f("url.original").unwrap_or("")));
    } else if let Some(c) = f("process.command_line") {
        parts.push(c.chars().take(160).collect());
    } else if let Some(m) = f("message") {
        parts.push(m.chars().take(160).collect());
    }
    if let Some(h) = &ev.observer.host {
        parts.push(format!("on {h}"));
    }
    parts.join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use tocsin_model::{AlertKind, Level, Observer, Timestamp};

    /// Issue 11: a 64 KiB record once became ~128 MiB of evidence; an
    /// alert's evidence is bounded, and says when it was cut.
    #[test]
    fn evidence_is_bounded() {
        let mut ev = Event::new(
            Timestamp::received(chrono::Utc::now()),
            Observer::default(),
            "Đ".repeat(40_000),
        );
        for i in 0..2000 {
            ev.fields
                .insert(format!("suricata.eve.field.{i}"), "x".repeat(50));
        }
        let f = Finding {
            rule_id: "r".into(),
            title: "t".into(),
            level: Level::High,
            kind: AlertKind::Rule,
            class: tocsin_model::AttackClass::Other,
            tags: vec![],
            entity: None,
            summary: None,
            intel: None,
            repeat: false,
        };
        let e = |max| Evidence {
            event: &ev,
            seq: 1,
            received: chrono::Utc::now(),
            archive: None,
            max_bytes: max,
        };
        let (a, cut) = alert(f.clone(), e(64 << 10));
        assert!(cut);
        assert!(a.event.len() <= 64 << 10, "{}", a.event.len());
        let v: serde_json::Value = serde_json::from_str(&a.event).unwrap();
        assert_eq!(v["truncated"], true);
        assert!(v["original"].as_str().unwrap().starts_with("ĐĐ"));
        let (a, cut) = alert(f, e(usize::MAX));
        assert!(!cut && a.event.len() > 100_000);
    }
}
