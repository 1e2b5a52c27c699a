//! abuse.ch's feeds as they are really written: Feodo Tracker's CSV has a
//! quoted header row that is not commented; URLhaus comments its header
//! and puts all tags in one quoted field; ThreatFox separates with `", "`,
//! writes nulls as `None`, and older exports have 14 columns.

use tocsin_model::{IndicatorKind, Threat};

use super::time::{parse as time, utc};
use super::{FeedError, FeedFormat, Parsed, lines};
use crate::indicator::{Indicator, normalize_url, parse_ip_port, url_host};

/// Splits a comma-separated line with optional double quotes (no quote
/// inside a quoted field but doubled ones).
pub(crate) fn split_csv(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// The column positions named by a header row.
fn columns(header: &[String]) -> impl Fn(&str) -> Option<usize> + '_ {
    move |name: &str| {
        header
            .iter()
            .position(|h| h.trim().trim_matches('"').eq_ignore_ascii_case(name))
    }
}

pub(super) fn feodo_csv(bytes: &[u8]) -> Parsed {
    let mut p = Parsed::default();
    let mut header: Option<Vec<String>> = None;
    for (n, line) in lines(bytes, &mut p) {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cells = split_csv(line);
        let h = match &header {
            Some(h) => h,
            None if cells.iter().any(|c| c.eq_ignore_ascii_case("dst_ip")) => {
                header = Some(cells);
                continue;
            }
            // No header: the columns Feodo has always used.
            None => header.insert(
                [
                    "first_seen_utc",
                    "dst_ip",
                    "dst_port",
                    "c2_status",
                    "last_online",
                    "malware",
                ]
                .map(String::from)
                .to_vec(),
            ),
        };
        feodo_row(&mut p, n, &cells, h);
    }
    p
}

fn feodo_row(p: &mut Parsed, n: u64, cells: &[String], header: &[String]) {
    let col = columns(header);
    let get = |name: &str| col(name).and_then(|i| cells.get(i)).map(String::as_str);
    let Some(ip) = get("dst_ip") else {
        p.problem(n, Some("dst_ip"), "missing");
        return;
    };
    let Some(mut i) = Indicator::new(IndicatorKind::Ip, ip, Threat::BotnetCc) else {
        p.problem(n, Some("dst_ip"), format!("not an address: {ip:?}"));
        return;
    };
    i = i.family(get("malware"));
    i.first_seen = get("first_seen_utc").and_then(|t| time(t, utc()));
    i.last_seen = get("last_online").and_then(|t| time(t, utc()));
    i.confidence = if get("c2_status") == Some("online") {
        90
    } else {
        70
    };
    p.indicators.push(i);
}

pub(super) fn feodo_json(bytes: &[u8]) -> Result<Parsed, FeedError> {
    let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| FeedError::Format {
        format: FeedFormat::FeodoJson,
        reason: e.to_string(),
    })?;
    let Some(items) = v.as_array() else {
        return Err(FeedError::Format {
            format: FeedFormat::FeodoJson,
            reason: "expected a JSON array".into(),
        });
    };
    let mut p = Parsed::default();
    for (k, item) in items.iter().enumerate() {
        let n = k as u64 + 1;
        let s = |f: &str| item.get(f).and_then(|v| v.as_str());
        let Some(ip) = s("ip_address") else {
            p.problem(n, Some("ip_address"), "missing");
            continue;
        };
        let Some(mut i) = Indicator::new(IndicatorKind::Ip, ip, Threat::BotnetCc) else {
            p.problem(n, Some("ip_address"), format!("not an address: {ip:?}"));
            continue;
        };
        i = i.family(s("malware"));
        i.first_seen = s("first_seen").and_then(|t| time(t, utc()));
        i.last_seen = s("last_online").and_then(|t| time(t, utc()));
        i.confidence = if s("status") == Some("online") {
            90
        } else {
            70
        };
        p.indicators.push(i);
    }
    Ok(p)
}

/// Architecture and format tags URLhaus mixes with family names.
const GENERIC_TAGS: &[&str] = &[
    "32-bit",
    "64-bit",
    "elf",
    "exe",
    "dll",
    "arm",
    "mips",
    "mipsel",
    "x86",
    "x86-64",
    "sh4",
    "m68k",
    "powerpc",
    "sparc",
    "zip",
    "rar",
    "doc",
    "xls",
    "js",
    "vbs",
    "hta",
    "ps1",
    "lnk",
    "iso",
    "msi",
    "apk",
    "bat",
    "opendir",
    "ascii",
    "encrypted",
    "geofenced",
    "dropped-by",
];

fn family_from_tags(tags: &str) -> Option<String> {
    tags.split(',')
        .map(str::trim)
        .find(|t| {
            !t.is_empty()
                && *t != "None"
                && !GENERIC_TAGS.iter().any(|g| t.eq_ignore_ascii_case(g))
                && !t.to_ascii_lowercase().starts_with("dropped-by")
        })
        .map(str::to_string)
}

pub(super) fn urlhaus_csv(bytes: &[u8]) -> Parsed {
    let mut p = Parsed::default();
    // The header is the last comment line naming the columns.
    let mut header: Vec<String> = [
        "id",
        "dateadded",
        "url",
        "url_status",
        "last_online",
        "threat",
        "tags",
        "urlhaus_link",
        "reporter",
    ]
    .map(String::from)
    .to_vec();
    for (n, line) in lines(bytes, &mut p) {
        let t = line.trim();
        if let Some(c) = t.strip_prefix('#') {
            let c = c.trim();
            if c.contains("url") && c.contains(',') {
                header = split_csv(c)
                    .into_iter()
                    .map(|h| h.trim().to_string())
                    .collect();
            }
            continue;
        }
        if t.is_empty() {
            continue;
        }
        let cells = split_csv(t);
        let col = columns(&header);
        let get = |name: &str| col(name).and_then(|i| cells.get(i)).map(String::as_str);
        let Some(raw) = get("url") else {
            p.problem(n, Some("url"), "missing");
            continue;
        };
        let Some(url) = normalize_url(raw) else {
            p.problem(n, Some("url"), format!("not a URL: {:?}", short(raw)));
            continue;
        };
        let threat = match get("threat") {
            Some("malware_download") | None => Threat::MalwareDownload,
            Some(_) => Threat::Other,
        };
        let family = get("tags").and_then(family_from_tags);
        let first = get("dateadded").and_then(|t| time(t, utc()));
        let last = get("last_online").and_then(|t| time(t, utc()));
        let confidence = if get("url_status") == Some("online") {
            90
        } else {
            60
        };
        let make = |kind, value: &str| {
            Indicator::new(kind, value, threat).map(|mut i| {
                i.family = family.clone();
                i.first_seen = first;
                i.last_seen = last;
                i.confidence = confidence;
                i
            })
        };
        // Many URLhaus hosts are raw address:port: the address and port
        // are an indicator themselves (the payload path changes).
        if let Some(host) = url_host(&url)
            && parse_ip_port(host).is_some()
            && let Some(i) = make(IndicatorKind::IpPort, host)
        {
            p.indicators.push(i);
        }
        if let Some(i) = make(IndicatorKind::Url, &url) {
            p.indicators.push(i);
        }
    }
    p
}

/// ThreatFox columns of the 14-column exports (no `ioc_id`… in front
/// varies): read by name from the commented header when present.
const THREATFOX_COLUMNS: &[&str] = &[
    "first_seen_utc",
    "ioc_id",
    "ioc_value",
    "ioc_type",
    "threat_type",
    "fk_malware",
    "malware_alias",
    "malware_printable",
    "last_seen_utc",
    "confidence_level",
    "reference",
    "tags",
    "anonymous",
    "reporter",
];

/// A ThreatFox line: fields quoted and separated by `", "`.
fn split_threatfox(line: &str) -> Vec<String> {
    let t = line.trim();
    let t = t.strip_prefix('"').unwrap_or(t);
    let t = t.strip_suffix('"').unwrap_or(t);
    t.split("\", \"").map(str::to_string).collect()
}

pub(super) fn threatfox_csv(bytes: &[u8]) -> Parsed {
    let mut p = Parsed::default();
    let mut header: Vec<String> = THREATFOX_COLUMNS.iter().map(|s| s.to_string()).collect();
    for (n, line) in lines(bytes, &mut p) {
        let t = line.trim();
        if let Some(c) = t.strip_prefix('#') {
            let c = c.trim();
            if c.contains("ioc_value") {
                header = split_threatfox(c);
            }
            continue;
        }
        if t.is_empty() {
            continue;
        }
        let cells = split_threatfox(t);
        if cells.len() < 5 {
            p.problem(
                n,
                None,
                format!("{} columns, expected {}", cells.len(), header.len()),
            );
            continue;
        }
        let col = columns(&header);
        let get = |name: &str| {
            col(name)
                .and_then(|i| cells.get(i))
                .map(String::as_str)
                .filter(|v| *v != "None" && !v.is_empty())
        };
        let (Some(value), Some(ty)) = (get("ioc_value"), get("ioc_type")) else {
            p.problem(n, Some("ioc_value"), "missing");
            continue;
        };
        let kind = match ty {
            "ip:port" => IndicatorKind::IpPort,
            "domain" => IndicatorKind::Domain,
            "url" => IndicatorKind::Url,
            "md5_hash" => IndicatorKind::Md5,
            "sha1_hash" => IndicatorKind::Sha1,
            "sha256_hash" => IndicatorKind::Sha256,
            other => {
                p.problem(n, Some("ioc_type"), format!("unknown type {other:?}"));
                continue;
            }
        };
        let threat = match get("threat_type") {
            Some("botnet_cc") => Threat::BotnetCc,
            Some("payload_delivery") => Threat::MalwareDownload,
            Some("payload") => Threat::Payload,
            _ => Threat::Other,
        };
        let Some(mut i) = Indicator::new(kind, value, threat) else {
            p.problem(
                n,
                Some("ioc_value"),
                format!("not a {kind}: {:?}", short(value)),
            );
            continue;
        };
        i = i.family(get("malware_printable").or(get("fk_malware")));
        i.first_seen = get("first_seen_utc").and_then(|t| time(t, utc()));
        i.last_seen = get("last_seen_utc").and_then(|t| time(t, utc()));
        i.confidence = get("confidence_level")
            .and_then(|c| c.parse::<u8>().ok())
            .map_or(75, |c| c.min(100));
        p.indicators.push(i);
    }
    p
}

/// A value cut for an error message.
pub(crate) fn short(s: &str) -> String {
    s.chars().take(80).collect()
}
