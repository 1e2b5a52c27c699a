//! A MISP event (`{"Event": {…}}`, as a MISP feed serves each event next
//! to its `manifest.json`): attributes marked `to_ids`, at the top and in
//! objects. The family comes from the event's galaxy tags.

use tocsin_model::{IndicatorKind, Threat};

use super::abusech::short;
use super::time::{parse as time, utc};
use super::{FeedDefaults, FeedError, FeedFormat, Parsed};
use crate::indicator::Indicator;

fn kind_of(ty: &str, value: &str) -> Option<(IndicatorKind, String)> {
    let (ty, value) = match ty.split_once('|') {
        // `filename|sha256`: the hash is the second part; `ip-dst|port`
        // is an address and port.
        Some(("filename", b)) => (b, value.split_once('|').map_or(value, |v| v.1)),
        Some(("ip-dst" | "ip-src", "port")) => {
            let (ip, port) = value.split_once('|')?;
            let v = if ip.contains(':') {
                format!("[{ip}]:{port}")
            } else {
                format!("{ip}:{port}")
            };
            return Some((IndicatorKind::IpPort, v));
        }
        Some(("domain", "ip")) => (ty, value.split_once('|').map_or(value, |v| v.0)),
        _ => (ty, value),
    };
    let kind = match ty {
        "ip-dst" | "ip-src" if value.contains('/') => IndicatorKind::Cidr,
        "ip-dst" | "ip-src" => IndicatorKind::Ip,
        "domain" | "hostname" | "domain|ip" => IndicatorKind::Domain,
        "url" | "uri" if value.contains("://") => IndicatorKind::Url,
        "md5" => IndicatorKind::Md5,
        "sha1" => IndicatorKind::Sha1,
        "sha256" => IndicatorKind::Sha256,
        _ => return None,
    };
    Some((kind, value.to_string()))
}

/// The family a tag names: `misp-galaxy:malpedia="Emotet"`.
fn family_of(tag: &str) -> Option<String> {
    let (k, v) = tag.split_once('=')?;
    (k.contains("malpedia")
        || k.contains("mitre-malware")
        || k.contains("botnet")
        || k.contains("ransomware"))
    .then(|| v.trim_matches('"').to_string())
}

pub(super) fn parse(bytes: &[u8], d: &FeedDefaults) -> Result<Parsed, FeedError> {
    let bad = |reason: String| FeedError::Format {
        format: FeedFormat::Misp,
        reason,
    };
    let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
    let ev = v.get("Event").unwrap_or(&v);
    if !ev.is_object() || ev.get("Attribute").is_none() && ev.get("Object").is_none() {
        return Err(bad("no Event with attributes".into()));
    }
    let tags: Vec<&str> = ev
        .get("Tag")
        .and_then(|t| t.as_array())
        .map(|t| t.iter().filter_map(|t| t.get("name")?.as_str()).collect())
        .unwrap_or_default();
    let family = tags
        .iter()
        .find_map(|t| family_of(t))
        .or_else(|| d.family.clone());
    let botnet = tags.iter().any(|t| {
        let t = t.to_ascii_lowercase();
        t.contains("botnet") || t.contains("command-and-control") || t.contains("c2")
    });
    let mut attrs: Vec<&serde_json::Value> = Vec::new();
    if let Some(a) = ev.get("Attribute").and_then(|a| a.as_array()) {
        attrs.extend(a);
    }
    if let Some(objs) = ev.get("Object").and_then(|o| o.as_array()) {
        for o in objs {
            if let Some(a) = o.get("Attribute").and_then(|a| a.as_array()) {
                attrs.extend(a);
            }
        }
    }
    let mut p = Parsed::default();
    for (k, a) in attrs.into_iter().enumerate() {
        let n = k as u64 + 1;
        let to_ids = match a.get("to_ids") {
            Some(serde_json::Value::Bool(b)) => *b,
            Some(serde_json::Value::String(s)) => s == "1" || s == "true",
            Some(serde_json::Value::Number(x)) => x.as_i64() == Some(1),
            _ => false,
        };
        if !to_ids {
            continue;
        }
        let (Some(ty), Some(value)) = (
            a.get("type").and_then(|t| t.as_str()),
            a.get("value").and_then(|t| t.as_str()),
        ) else {
            p.problem(n, Some("value"), "attribute without type or value");
            continue;
        };
        let Some((kind, value)) = kind_of(ty, value) else {
            // Types that are not network or file observables (text,
            // email subjects…) are not indicators here.
            continue;
        };
        let threat = match kind {
            IndicatorKind::Md5 | IndicatorKind::Sha1 | IndicatorKind::Sha256 => Threat::Payload,
            IndicatorKind::Url
                if a.get("category").and_then(|c| c.as_str()) == Some("Payload delivery") =>
            {
                Threat::MalwareDownload
            }
            _ if botnet => Threat::BotnetCc,
            _ => d.threat,
        };
        let Some(mut i) = Indicator::new(kind, &value, threat) else {
            p.problem(
                n,
                Some("value"),
                format!("not a valid {kind}: {:?}", short(&value)),
            );
            continue;
        };
        i.family = family.clone();
        i.confidence = d.confidence;
        i.last_seen = a
            .get("timestamp")
            .and_then(|t| {
                t.as_str()
                    .map(str::to_string)
                    .or_else(|| t.as_i64().map(|n| n.to_string()))
            })
            .and_then(|t| time(&t, utc()));
        p.indicators.push(i);
    }
    Ok(p)
}
