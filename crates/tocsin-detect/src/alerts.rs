//! Findings become alerts here, and only here.

use chrono::{DateTime, Utc};
use tocsin_model::{Event, Finding, NewAlert};

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
}

/// The alert for `f` about `e`.
pub fn alert(f: Finding, e: Evidence<'_>) -> NewAlert {
    let ev = e.event;
    NewAlert {
        event_time: ev.timestamp.utc,
        received_at: e.received,
        rule_id: f.rule_id,
        rule_title: f.title,
        level: f.level,
        kind: f.kind,
        agency: ev.attribution.agency.clone(),
        asset: ev.attribution.asset.clone(),
        source_ip: ev.fields.get_str("source.ip").and_then(|s| s.parse().ok()),
        host: ev.observer.host.clone(),
        input: ev.observer.name.clone(),
        stream_seq: e.seq,
        archive: e.archive.map(str::to_string),
        summary: f.summary.unwrap_or_else(|| summary(ev)),
        tags: f.tags,
        event: serde_json::to_string(ev).unwrap_or_default(),
    }
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
