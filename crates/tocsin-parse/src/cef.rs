//! ArcSight Common Event Format, as firewalls and UTMs send it:
//! `CEF:0|Vendor|Product|Version|SignatureID|Name|Severity|k=v k=v …`,
//! alone or after a syslog header. Header fields escape `|` and `\`;
//! extension values escape `=`, `\` and newlines and may contain spaces.

use tocsin_model::{Category, Event};

use crate::text::{set_ip, set_num, timestamp};
use crate::{PResult, Parser};

/// Where the CEF payload starts: 0 for a bare record, later after a syslog
/// header (which the caller reads first).
pub fn payload_start(text: &str) -> PResult<usize> {
    Ok(text
        .find("CEF:")
        .ok_or("cef: no `CEF:` marker in the record")?)
}

/// `text` starts at `CEF:`.
pub fn parse_payload(p: &Parser, text: &str, ev: &mut Event) -> PResult<()> {
    let body = &text[4..];
    let mut header: Vec<String> = Vec::with_capacity(7);
    let mut cur = String::new();
    let mut it = body.char_indices();
    let mut ext_start = None;
    while let Some((i, c)) = it.next() {
        match c {
            '\\' => match it.next() {
                Some((_, n)) => cur.push(n),
                None => cur.push('\\'),
            },
            '|' => {
                header.push(std::mem::take(&mut cur));
                if header.len() == 7 {
                    ext_start = Some(i + 1);
                    break;
                }
            }
            c => cur.push(c),
        }
    }
    let ext_start = ext_start.ok_or_else(|| {
        format!(
            "cef: header has {} of the 7 `|`-separated fields",
            header.len() + usize::from(!cur.is_empty())
        )
    })?;
    let [version, vendor, product, dversion, sig, name, severity] = &header[..] else {
        return Err("cef: malformed header".into());
    };
    ev.fields.insert("event.module", "cef");
    ev.fields.insert("cef.version", version.as_str());
    ev.fields.insert("observer.vendor", vendor.as_str());
    ev.fields.insert("observer.product", product.as_str());
    ev.fields.insert("observer.version", dversion.as_str());
    ev.fields.insert("rule.id", sig.as_str());
    ev.fields.insert("rule.name", name.as_str());
    ev.fields.insert(
        "event.dataset",
        format!("cef.{}", product.to_ascii_lowercase()),
    );
    set_num(ev, "event.severity", severity);
    ev.category = Category::Network;
    let ext = extension(&body[ext_start..]);
    let mut labels: Vec<(String, String)> = Vec::new();
    for (k, v) in &ext {
        if let Some(n) = k.strip_suffix("Label") {
            labels.push((n.to_string(), v.clone()));
        }
    }
    for (k, v) in &ext {
        ev.fields.insert(format!("cef.extensions.{k}"), v.as_str());
        match k.as_str() {
            "src" | "c6a2" => set_ip(ev, "source.ip", v),
            "dst" | "c6a3" => set_ip(ev, "destination.ip", v),
            "spt" => set_num(ev, "source.port", v),
            "dpt" => set_num(ev, "destination.port", v),
            "suser" => ev.fields.insert("source.user.name", v.as_str()),
            "duser" => ev.fields.insert("user.name", v.as_str()),
            "act" => ev.fields.insert("event.action", v.as_str()),
            "outcome" => ev.fields.insert("event.outcome", v.to_ascii_lowercase()),
            "proto" => ev
                .fields
                .insert("network.transport", v.to_ascii_lowercase()),
            "request" => ev.fields.insert("url.original", v.as_str()),
            "requestMethod" => ev.fields.insert("http.request.method", v.as_str()),
            "dhost" => ev.fields.insert("destination.domain", v.as_str()),
            "shost" => ev.fields.insert("source.domain", v.as_str()),
            "msg" => ev.fields.insert("message", v.as_str()),
            "in" => set_num(ev, "source.bytes", v),
            "out" => set_num(ev, "destination.bytes", v),
            "rt" | "end" => {
                if let Some(t) = timestamp(v, p.offset()) {
                    ev.timestamp = t;
                }
            }
            _ => {}
        }
        // Custom strings by their labels: cs1Label=policy cs1=x → cef.policy.
        if let Some((_, label)) = labels.iter().find(|(n, _)| n == k) {
            ev.fields.insert(format!("cef.{label}"), v.as_str());
        }
    }
    Ok(())
}

/// `k=v k2=v with spaces k3=v\=x`: a value runs until the space before the
/// next `key=`.
fn extension(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    // Positions of every unescaped `=` with the key before it.
    let mut keys: Vec<(usize, usize, usize)> = Vec::new(); // (key start, eq, value start)
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'=' => {
                let mut k = i;
                while k > 0 && (b[k - 1].is_ascii_alphanumeric() || b[k - 1] == b'_') {
                    k -= 1;
                }
                if k < i && (k == 0 || b[k - 1] == b' ') {
                    keys.push((k, i, i + 1));
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    for (n, &(ks, eq, vs)) in keys.iter().enumerate() {
        let end = keys.get(n + 1).map(|k| k.0).unwrap_or(b.len());
        let raw = s[vs..end].trim_end();
        out.push((s[ks..eq].to_string(), unescape_value(raw)));
    }
    out
}

fn unescape_value(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some(n) => out.push(n),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::Format;
    use crate::testutil::*;

    #[test]
    fn header_and_extensions() {
        let ev = parse(
            Format::Cef,
            r"CEF:0|Fortinet|Forti\|Gate|7.2|0000000013|traffic: forward deny|5|src=10.36.12.7 spt=51000 dst=185.220.101.4 dpt=443 act=deny msg=blocked by policy a\=b cs1Label=policy cs1=Block C2 rt=1795996800000",
        );
        assert_eq!(ev.parse_error, None);
        assert_eq!(s(&ev, "observer.product"), "Forti|Gate");
        assert_eq!(s(&ev, "rule.name"), "traffic: forward deny");
        assert_eq!(s(&ev, "source.ip"), "10.36.12.7");
        assert_eq!(
            ev.fields.get("destination.port").and_then(|v| v.as_i64()),
            Some(443)
        );
        assert_eq!(s(&ev, "message"), "blocked by policy a=b");
        assert_eq!(s(&ev, "cef.policy"), "Block C2");
        assert_eq!(ev.timestamp.utc.timestamp_millis(), 1_795_996_800_000);
    }

    #[test]
    fn short_header_is_reported() {
        let ev = parse(Format::Cef, "CEF:0|a|b|c");
        assert!(ev.parse_error.unwrap_or_default().contains("4 of the 7"));
    }
}
