//! STIX 2.1 bundles: `indicator` objects whose pattern is one comparison
//! or several ORed (`[ipv4-addr:value = '…'] OR [domain-name:value =
//! '…']`). Anything else a pattern can say (AND, FOLLOWEDBY, MATCHES,
//! other properties) is reported, not guessed. The family comes from
//! `indicates` relationships to `malware` objects, else the indicator's
//! name.

use std::collections::HashMap;

use tocsin_model::{IndicatorKind, Threat};

use super::abusech::short;
use super::time::{parse as time, utc};
use super::{FeedDefaults, FeedError, FeedFormat, Parsed};
use crate::indicator::Indicator;

/// Splits a pattern at `OR` outside quotes, each part one `[…]`.
fn comparisons(pattern: &str) -> Result<Vec<(String, String)>, String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut depth = 0i32;
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if quoted => {
                if let Some(n) = chars.next() {
                    cur.push('\\');
                    cur.push(n);
                }
            }
            '\'' => {
                quoted = !quoted;
                cur.push(c);
            }
            '[' if !quoted => {
                depth += 1;
                cur.push(c);
            }
            ']' if !quoted => {
                depth -= 1;
                cur.push(c);
            }
            _ => cur.push(c),
        }
        if !quoted && depth == 0 {
            let t = cur.trim();
            if let Some(rest) = t.strip_suffix("OR").map(str::trim) {
                if !rest.is_empty() {
                    parts.push(rest.to_string());
                }
                cur.clear();
            }
        }
    }
    if quoted || depth != 0 {
        return Err("unbalanced quotes or brackets".into());
    }
    parts.push(cur.trim().to_string());
    let mut out = Vec::new();
    for p in parts {
        let inner = p
            .strip_prefix('[')
            .and_then(|p| p.strip_suffix(']'))
            .ok_or_else(|| format!("not one comparison: {}", short(&p)))?;
        // One comparison inside: `path = 'value'`, nothing ANDed.
        let (path, value) = inner
            .split_once('=')
            .ok_or_else(|| format!("not an equality: {}", short(inner)))?;
        let value = value.trim();
        let v = value
            .strip_prefix('\'')
            .and_then(|v| v.strip_suffix('\''))
            .ok_or_else(|| format!("value not quoted: {}", short(value)))?;
        // A quote left inside the value means a second comparison (AND,
        // FOLLOWEDBY…) shares the brackets.
        if v.replace("\\'", "").contains('\'') {
            return Err(format!("not a simple comparison: {}", short(inner)));
        }
        let path = path.trim();
        if path.ends_with('!') || path.ends_with('<') || path.ends_with('>') {
            return Err(format!("not an equality: {}", short(inner)));
        }
        out.push((
            path.to_string(),
            v.replace("\\'", "'").replace("\\\\", "\\"),
        ));
    }
    Ok(out)
}

fn kind_of(path: &str) -> Option<IndicatorKind> {
    Some(match path {
        "ipv4-addr:value" | "ipv6-addr:value" | "network-traffic:dst_ref.value" => {
            IndicatorKind::Ip
        }
        "domain-name:value" => IndicatorKind::Domain,
        "url:value" => IndicatorKind::Url,
        "file:hashes.MD5" | "file:hashes.'MD5'" => IndicatorKind::Md5,
        "file:hashes.'SHA-1'" | "file:hashes.SHA1" | "file:hashes.'SHA1'" => IndicatorKind::Sha1,
        "file:hashes.'SHA-256'" | "file:hashes.SHA256" | "file:hashes.'SHA256'" => {
            IndicatorKind::Sha256
        }
        _ => return None,
    })
}

pub(super) fn parse(bytes: &[u8], d: &FeedDefaults) -> Result<Parsed, FeedError> {
    let bad = |reason: String| FeedError::Format {
        format: FeedFormat::Stix,
        reason,
    };
    let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
    let objects = v
        .get("objects")
        .and_then(|o| o.as_array())
        .ok_or_else(|| bad("not a bundle: no objects".into()))?;
    let id = |o: &serde_json::Value| o.get("id").and_then(|i| i.as_str()).map(str::to_string);
    let mut malware: HashMap<String, String> = HashMap::new();
    for o in objects {
        if o.get("type").and_then(|t| t.as_str()) == Some("malware")
            && let (Some(i), Some(n)) = (id(o), o.get("name").and_then(|n| n.as_str()))
        {
            malware.insert(i, n.to_string());
        }
    }
    let mut family_of: HashMap<String, String> = HashMap::new();
    for o in objects {
        let s = |f: &str| o.get(f).and_then(|v| v.as_str());
        if s("type") == Some("relationship")
            && s("relationship_type") == Some("indicates")
            && let (Some(src), Some(name)) = (
                s("source_ref"),
                s("target_ref").and_then(|t| malware.get(t)),
            )
        {
            family_of.insert(src.to_string(), name.clone());
        }
    }
    let mut p = Parsed::default();
    for (k, o) in objects.iter().enumerate() {
        let n = k as u64 + 1;
        let s = |f: &str| o.get(f).and_then(|v| v.as_str());
        if s("type") != Some("indicator") {
            continue;
        }
        if s("pattern_type").is_some_and(|t| t != "stix") {
            p.problem(
                n,
                Some("pattern_type"),
                format!(
                    "{:?} patterns are not read",
                    s("pattern_type").unwrap_or("")
                ),
            );
            continue;
        }
        let Some(pattern) = s("pattern") else {
            p.problem(n, Some("pattern"), "missing");
            continue;
        };
        let parts = match comparisons(pattern) {
            Ok(c) => c,
            Err(e) => {
                p.problem(n, Some("pattern"), e);
                continue;
            }
        };
        let types: Vec<&str> = o
            .get("indicator_types")
            .or_else(|| o.get("labels"))
            .and_then(|t| t.as_array())
            .map(|t| t.iter().filter_map(|x| x.as_str()).collect())
            .unwrap_or_default();
        let threat = if types
            .iter()
            .any(|t| t.contains("command-and-control") || t.contains("botnet"))
        {
            Threat::BotnetCc
        } else if types.contains(&"malicious-activity") || types.contains(&"compromised") {
            d.threat
        } else if types.contains(&"attribution") || types.contains(&"anomalous-activity") {
            Threat::Other
        } else {
            d.threat
        };
        let family = id(o)
            .and_then(|i| family_of.get(&i).cloned())
            .or_else(|| d.family.clone());
        let confidence = o
            .get("confidence")
            .and_then(|c| c.as_u64())
            .map_or(d.confidence, |c| c.min(100) as u8);
        for (path, value) in parts {
            let Some(mut kind) = kind_of(&path) else {
                p.problem(n, Some("pattern"), format!("{path} is not read"));
                continue;
            };
            if kind == IndicatorKind::Ip && value.contains('/') {
                kind = IndicatorKind::Cidr;
            }
            let threat = if matches!(
                kind,
                IndicatorKind::Md5 | IndicatorKind::Sha1 | IndicatorKind::Sha256
            ) {
                Threat::Payload
            } else {
                threat
            };
            let Some(mut i) = Indicator::new(kind, &value, threat) else {
                p.problem(
                    n,
                    Some("pattern"),
                    format!("not a valid {kind}: {:?}", short(&value)),
                );
                continue;
            };
            i.family = family.clone();
            i.confidence = confidence;
            i.first_seen = s("valid_from").and_then(|t| time(t, utc()));
            i.expires = s("valid_until").and_then(|t| time(t, utc()));
            p.indicators.push(i);
        }
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::comparisons;

    #[test]
    fn ored_comparisons_and_what_is_refused() {
        let c = comparisons(
            "[ipv4-addr:value = '198.51.100.1'] OR [domain-name:value = 'o\\'neil.example']",
        )
        .unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[1].1, "o'neil.example");
        assert!(
            comparisons("[ipv4-addr:value = '1.2.3.4' AND ipv4-addr:value = '1.2.3.5']").is_err()
        );
        assert!(comparisons("[ipv4-addr:value != '1.2.3.4']").is_err());
        assert!(comparisons("[ipv4-addr:value = '1.2.3.4'").is_err());
        assert!(comparisons("[a:b = 'x'] FOLLOWEDBY [c:d = 'y']").is_err());
    }
}
