//! Sharing what the province saw: the indicators sighted here, with their
//! sightings, as a STIX 2.1 bundle and as a MISP event — for the national
//! center and neighbouring provinces.
//!
//! Identifiers are derived from the values (the same indicator always has
//! the same id), so a receiver that imports two exports updates rather
//! than duplicates.

use std::collections::BTreeMap;
use std::hash::Hasher;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use tocsin_model::{IndicatorKind, Threat};

use crate::set::Mix;

/// One indicator's sightings in one agency (the store's rows).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    /// The indicator, normalised.
    pub indicator: String,
    /// Its kind.
    pub kind: IndicatorKind,
    /// What it points at.
    pub threat: Threat,
    /// Its family.
    pub family: Option<String>,
    /// The feed that listed it.
    pub source: String,
    /// Matches counted.
    pub count: i64,
    /// First match.
    pub first_seen: DateTime<Utc>,
    /// Last match.
    pub last_seen: DateTime<Utc>,
    /// The agency ("" when not attributed).
    pub agency: String,
}

/// Who shares: the center's name and its STIX identity.
#[derive(Clone, Debug)]
pub struct Sharer {
    /// The organisation's name.
    pub name: String,
    /// When the export is made.
    pub now: DateTime<Utc>,
}

/// A UUID-shaped id derived from `parts` (version 5 bits set, so tools
/// that check the shape accept it).
fn derived_uuid(parts: &[&str]) -> String {
    let mut a = Mix::default();
    let mut b = Mix::default();
    b.write_u64(0x7c0c_5170_0000_0001);
    for p in parts {
        a.write(p.as_bytes());
        a.write_u8(0xff);
        b.write(p.as_bytes());
        b.write_u8(0xfe);
    }
    let (x, y) = (a.finish(), b.finish());
    let bytes: Vec<u8> = x.to_be_bytes().into_iter().chain(y.to_be_bytes()).collect();
    let mut u = [0u8; 16];
    u.copy_from_slice(&bytes);
    u[6] = (u[6] & 0x0f) | 0x50;
    u[8] = (u[8] & 0x3f) | 0x80;
    let h: String = u.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A STIX pattern for one indicator (quotes and backslashes escaped).
fn pattern(kind: IndicatorKind, v: &str) -> String {
    let e = v.replace('\\', "\\\\").replace('\'', "\\'");
    match kind {
        IndicatorKind::Ip | IndicatorKind::Cidr if v.contains(':') => {
            format!("[ipv6-addr:value = '{e}']")
        }
        IndicatorKind::Ip | IndicatorKind::Cidr => format!("[ipv4-addr:value = '{e}']"),
        IndicatorKind::IpPort => match crate::indicator::parse_ip_port(v) {
            Some((ip, port)) => {
                let t = if ip.is_ipv4() {
                    "ipv4-addr"
                } else {
                    "ipv6-addr"
                };
                format!(
                    "[network-traffic:dst_ref.type = '{t}' AND network-traffic:dst_ref.value = '{ip}' AND network-traffic:dst_port = {port}]"
                )
            }
            None => format!("[url:value = '{e}']"),
        },
        IndicatorKind::Domain => format!("[domain-name:value = '{e}']"),
        IndicatorKind::Url => format!("[url:value = '{e}']"),
        IndicatorKind::Md5 => format!("[file:hashes.MD5 = '{e}']"),
        IndicatorKind::Sha1 => format!("[file:hashes.'SHA-1' = '{e}']"),
        IndicatorKind::Sha256 => format!("[file:hashes.'SHA-256' = '{e}']"),
    }
}

/// The rows grouped per indicator: (kind, value) → rows.
fn grouped(rows: &[Seen]) -> BTreeMap<(IndicatorKind, &str), Vec<&Seen>> {
    let mut m: BTreeMap<(IndicatorKind, &str), Vec<&Seen>> = BTreeMap::new();
    for r in rows {
        m.entry((r.kind, r.indicator.as_str())).or_default().push(r);
    }
    m
}

/// A STIX 2.1 bundle: the sharer's identity, one identity per agency
/// (named by its code: which agency is a matter for whoever receives), and
/// per indicator an `indicator` object and a `sighting` of it.
pub fn stix_bundle(rows: &[Seen], by: &Sharer) -> Value {
    let me = format!("identity--{}", derived_uuid(&["tocsin-identity", &by.name]));
    let now = ts(by.now);
    let mut objects = vec![json!({
        "type": "identity", "spec_version": "2.1", "id": me,
        "created": now, "modified": now,
        "name": by.name, "identity_class": "organization", "sectors": ["government"],
    })];
    let mut agencies: BTreeMap<&str, String> = BTreeMap::new();
    for r in rows {
        if !r.agency.is_empty() {
            agencies.entry(r.agency.as_str()).or_insert_with(|| {
                format!(
                    "identity--{}",
                    derived_uuid(&["tocsin-agency", &by.name, &r.agency])
                )
            });
        }
    }
    for (code, id) in &agencies {
        objects.push(json!({
            "type": "identity", "spec_version": "2.1", "id": id,
            "created": now, "modified": now, "created_by_ref": me,
            "name": code, "identity_class": "organization", "sectors": ["government"],
        }));
    }
    for ((kind, value), rs) in grouped(rows) {
        let id = format!(
            "indicator--{}",
            derived_uuid(&["tocsin-indicator", kind.as_str(), value])
        );
        let first = rs.iter().map(|r| r.first_seen).min().unwrap_or(by.now);
        let last = rs.iter().map(|r| r.last_seen).max().unwrap_or(by.now);
        let count: i64 = rs.iter().map(|r| r.count).sum();
        let r0 = rs[0];
        let mut types = vec!["malicious-activity"];
        if r0.threat.is_botnet() {
            types.push("compromised");
        }
        let mut labels = vec![format!("source:{}", r0.source)];
        if let Some(f) = &r0.family {
            labels.push(format!("family:{f}"));
        }
        objects.push(json!({
            "type": "indicator", "spec_version": "2.1", "id": id,
            "created": ts(first), "modified": now, "created_by_ref": me,
            "name": r0.family.clone().unwrap_or_else(|| value.to_string()),
            "indicator_types": types, "labels": labels,
            "pattern": pattern(kind, value), "pattern_type": "stix",
            "valid_from": ts(first),
        }));
        let where_: Vec<&String> = rs
            .iter()
            .filter_map(|r| agencies.get(r.agency.as_str()))
            .collect();
        let mut sighting = json!({
            "type": "sighting", "spec_version": "2.1",
            "id": format!("sighting--{}", derived_uuid(&["tocsin-sighting", &by.name, kind.as_str(), value])),
            "created": now, "modified": now, "created_by_ref": me,
            "sighting_of_ref": id,
            "first_seen": ts(first), "last_seen": ts(last),
            "count": count.clamp(0, 999_999_999),
        });
        if !where_.is_empty() {
            sighting["where_sighted_refs"] = json!(where_);
        }
        objects.push(sighting);
    }
    json!({
        "type": "bundle",
        "id": format!("bundle--{}", derived_uuid(&["tocsin-bundle", &by.name, &now])),
        "objects": objects,
    })
}

/// The MISP attribute type and category of an indicator.
fn misp_type(kind: IndicatorKind) -> (&'static str, &'static str) {
    match kind {
        IndicatorKind::Ip | IndicatorKind::Cidr => ("ip-dst", "Network activity"),
        IndicatorKind::IpPort => ("ip-dst|port", "Network activity"),
        IndicatorKind::Domain => ("domain", "Network activity"),
        IndicatorKind::Url => ("url", "Network activity"),
        IndicatorKind::Md5 => ("md5", "Payload delivery"),
        IndicatorKind::Sha1 => ("sha1", "Payload delivery"),
        IndicatorKind::Sha256 => ("sha256", "Payload delivery"),
    }
}

/// A MISP event (`{"Event": …}`) holding one attribute per sighted
/// indicator, its sightings said in the comment and first/last seen.
pub fn misp_event(rows: &[Seen], by: &Sharer, info: &str) -> Value {
    let mut attrs = Vec::new();
    for ((kind, value), rs) in grouped(rows) {
        let (ty, category) = misp_type(kind);
        let value = if kind == IndicatorKind::IpPort {
            crate::indicator::parse_ip_port(value)
                .map_or_else(|| value.to_string(), |(ip, p)| format!("{ip}|{p}"))
        } else {
            value.to_string()
        };
        let first = rs.iter().map(|r| r.first_seen).min().unwrap_or(by.now);
        let last = rs.iter().map(|r| r.last_seen).max().unwrap_or(by.now);
        let count: i64 = rs.iter().map(|r| r.count).sum();
        let agencies = rs.iter().filter(|r| !r.agency.is_empty()).count();
        let r0 = rs[0];
        attrs.push(json!({
            "uuid": derived_uuid(&["tocsin-misp-attr", kind.as_str(), &value]),
            "type": ty, "category": category, "value": value, "to_ids": true,
            "first_seen": ts(first), "last_seen": ts(last),
            "comment": format!(
                "seen {count} times in {agencies} agencies; source {}{}",
                r0.source,
                r0.family.as_deref().map(|f| format!(", family {f}")).unwrap_or_default()
            ),
        }));
    }
    json!({
        "Event": {
            "uuid": derived_uuid(&["tocsin-misp-event", &by.name, &ts(by.now)]),
            "info": info,
            "date": by.now.format("%Y-%m-%d").to_string(),
            "timestamp": by.now.timestamp().to_string(),
            "threat_level_id": "2",
            "analysis": "2",
            "distribution": "1",
            "Orgc": {"name": by.name},
            "Tag": [{"name": "tlp:amber"}],
            "Attribute": attrs,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feeds::{FeedDefaults, FeedFormat, parse};

    fn rows() -> Vec<Seen> {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let seen = |i: &str, k, a: &str, n| Seen {
            indicator: i.into(),
            kind: k,
            threat: Threat::BotnetCc,
            family: Some("Pikabot".into()),
            source: "feodo".into(),
            count: n,
            first_seen: t("2026-11-01T00:00:00Z"),
            last_seen: t("2026-11-20T00:00:00Z"),
            agency: a.into(),
        };
        vec![
            seen("192.0.2.7", IndicatorKind::Ip, "STC", 3),
            seen("192.0.2.7", IndicatorKind::Ip, "SYT", 4),
            seen("c2.evil.example", IndicatorKind::Domain, "", 1),
            seen("192.0.2.8:443", IndicatorKind::IpPort, "SYT", 2),
        ]
    }

    fn sharer() -> Sharer {
        Sharer {
            name: "Trung tâm Giám sát An toàn thông tin tỉnh Ngọc Sơn".into(),
            now: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
        }
    }

    #[test]
    fn a_stix_export_reads_back_as_the_same_indicators() {
        let b = stix_bundle(&rows(), &sharer());
        let objs = b["objects"].as_array().unwrap();
        let sightings: Vec<_> = objs.iter().filter(|o| o["type"] == "sighting").collect();
        assert_eq!(sightings.len(), 3, "one per indicator, agencies merged");
        let ip = sightings
            .iter()
            .find(|s| s["count"] == 7)
            .expect("3 + 4 sightings of 192.0.2.7");
        assert_eq!(ip["where_sighted_refs"].as_array().unwrap().len(), 2);
        // Our own reader takes the simple patterns back.
        let back = parse(
            FeedFormat::Stix,
            b.to_string().as_bytes(),
            &FeedDefaults::default(),
        )
        .unwrap();
        let mut vals: Vec<_> = back.indicators.iter().map(|i| i.value.clone()).collect();
        vals.sort();
        assert_eq!(vals, ["192.0.2.7", "c2.evil.example"]);
        assert_eq!(
            back.rejected, 1,
            "address:port is an AND pattern, which our reader refuses"
        );
        // Same input, same ids.
        assert_eq!(b, stix_bundle(&rows(), &sharer()));
    }

    #[test]
    fn a_misp_export_reads_back() {
        let e = misp_event(&rows(), &sharer(), "Chỉ báo ghi nhận tại tỉnh Ngọc Sơn");
        let back = parse(
            FeedFormat::Misp,
            e.to_string().as_bytes(),
            &FeedDefaults::default(),
        )
        .unwrap();
        let mut vals: Vec<_> = back.indicators.iter().map(|i| i.value.clone()).collect();
        vals.sort();
        assert_eq!(vals, ["192.0.2.7", "192.0.2.8:443", "c2.evil.example"]);
        let attrs = e["Event"]["Attribute"].as_array().unwrap();
        assert!(attrs.iter().any(|a| {
            a["comment"]
                .as_str()
                .unwrap()
                .starts_with("seen 7 times in 2 agencies")
        }));
    }
}
