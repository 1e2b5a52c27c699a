//! Small text helpers shared by the parsers.

use std::borrow::Cow;
use std::net::IpAddr;

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone};
use tocsin_model::{Event, TimeOrigin, Timestamp};

/// Decodes `%XX` escapes (and `+` as a space when `plus` is set). Invalid
/// escapes are kept as written; invalid UTF-8 becomes U+FFFD.
pub fn percent_decode(s: &str, plus: bool) -> Cow<'_, str> {
    if !(s.contains('%') || plus && s.contains('+')) {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => match (hex(b.get(i + 1)), hex(b.get(i + 2))) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' if plus => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

fn hex(c: Option<&u8>) -> Option<u8> {
    match c? {
        c @ b'0'..=b'9' => Some(c - b'0'),
        c @ b'a'..=b'f' => Some(c - b'a' + 10),
        c @ b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// An IP address, also in `[v6]` or `::ffff:v4` spellings.
pub fn ip(s: &str) -> Option<IpAddr> {
    let s = s.trim().trim_start_matches('[').trim_end_matches(']');
    let ip: IpAddr = s.parse().ok()?;
    Some(match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    })
}

/// Sets `name` when `s` is an IP address (normalized spelling).
pub fn set_ip(ev: &mut Event, name: &'static str, s: &str) {
    if let Some(a) = ip(s) {
        ev.fields.insert(name, a.to_string());
    }
}

/// Sets `name` to an integer when `s` is one, else to the text.
pub fn set_num(ev: &mut Event, name: &'static str, s: &str) {
    match s.parse::<i64>() {
        Ok(n) => ev.fields.insert(name, n),
        Err(_) if !s.is_empty() && s != "-" => ev.fields.insert(name, s),
        Err(_) => {}
    }
}

/// Reads a time with an explicit zone, or in `assume` without one.
pub fn timestamp(s: &str, assume: FixedOffset) -> Option<Timestamp> {
    let s = s.trim();
    if let Ok(t) = Timestamp::parse(s, assume) {
        return Some(t);
    }
    // Suricata and others write `+0700` without the colon.
    for f in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(dt) = DateTime::parse_from_str(s, f) {
            return Some(Timestamp::from_fixed(dt, TimeOrigin::Explicit));
        }
    }
    // Epoch milliseconds (CEF `rt`, some JSON shippers).
    if let Ok(n) = s.parse::<i64>()
        && n > 100_000_000_000
        && let Some(dt) = chrono::Utc.timestamp_millis_opt(n).single()
    {
        return Some(Timestamp::from_fixed(
            dt.fixed_offset(),
            TimeOrigin::Explicit,
        ));
    }
    // `Nov 24 2026 10:00:00` (CEF and firewalls).
    if let Ok(n) = NaiveDateTime::parse_from_str(s, "%b %d %Y %H:%M:%S")
        && let Some(dt) = assume.from_local_datetime(&n).single()
    {
        return Some(Timestamp::from_fixed(dt, TimeOrigin::AssumedZone));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("/a%20b%2F..%2fc", false), "/a b/../c");
        assert_eq!(percent_decode("q=1+union+select", true), "q=1 union select");
        assert_eq!(percent_decode("q=1+1", false), "q=1+1");
        assert_eq!(percent_decode("bad%zz%4", false), "bad%zz%4");
        assert_eq!(percent_decode("%", false), "%");
        assert_eq!(percent_decode("%E1%BB%87", false), "ệ");
    }

    #[test]
    fn ip_spellings() {
        assert_eq!(
            ip("::ffff:10.0.0.1").map(|a| a.to_string()).as_deref(),
            Some("10.0.0.1")
        );
        assert_eq!(
            ip("[2001:db8::1]").map(|a| a.to_string()).as_deref(),
            Some("2001:db8::1")
        );
        assert_eq!(ip("host"), None);
    }

    #[test]
    fn time_spellings() {
        let vn = tocsin_model::vietnam_offset();
        let t = timestamp("2026-11-24T10:00:00.123456+0700", vn).expect("suricata time");
        assert_eq!(t.utc.to_rfc3339(), "2026-11-24T03:00:00.123456+00:00");
        let t = timestamp("2026-11-24 10:00:00", vn).expect("zone-less");
        assert_eq!(t.origin, TimeOrigin::AssumedZone);
        assert_eq!(t.utc.to_rfc3339(), "2026-11-24T03:00:00+00:00");
        assert!(timestamp("1795996800000", vn).is_some());
        assert!(timestamp("yesterday", vn).is_none());
    }
}
