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
    Cow::Owned(
        String::from_utf8(out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
    )
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

/// `HH:MM:SS` read by hand: every syslog line carries one, and chrono's
/// format parser reads its format string again each time. `None` for
/// anything else (the caller falls back to the general parser).
pub(crate) fn hms(s: &str) -> Option<chrono::NaiveTime> {
    let b = s.as_bytes();
    if b.len() != 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    chrono::NaiveTime::from_hms_opt(digits(&b[0..2])?, digits(&b[3..5])?, digits(&b[6..8])?)
}

/// ASCII digits as a number; `None` if any byte is not a digit.
fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |n, c| {
        c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
    })
}

/// English month abbreviations, as syslog and access logs write them.
pub(crate) const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The common log format's time, `30/Nov/2026:23:31:02 +0700`, read by
/// hand (half of a province's lines are access logs); `None` for anything
/// else, which the caller reads with chrono's general parser.
pub(crate) fn clf_time(s: &str) -> Option<DateTime<FixedOffset>> {
    let b = s.as_bytes();
    if b.len() != 26 || b[2] != b'/' || b[6] != b'/' || b[11] != b':' || b[20] != b' ' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| digits(&b[r]);
    let month = MONTHS.iter().position(|m| m.as_bytes() == &b[3..6])? as u32 + 1;
    let date = chrono::NaiveDate::from_ymd_opt(num(7..11)? as i32, month, num(0..2)?)?;
    let time = hms(s.get(12..20)?)?;
    let sign = match b[21] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let secs = sign * (num(22..24)? * 3600 + num(24..26)? * 60) as i32;
    let off = FixedOffset::east_opt(secs)?;
    off.from_local_datetime(&date.and_time(time)).single()
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

    #[test]
    fn hand_read_times_agree_with_chrono() {
        for t in [
            "00:00:00",
            "23:59:59",
            "12:34:56",
            "24:00:00",
            "1:02:03",
            "12:34:5x",
            "ăă:00:00",
        ] {
            assert_eq!(
                super::hms(t),
                chrono::NaiveTime::parse_from_str(t, "%H:%M:%S")
                    .ok()
                    .filter(|_| t.len() == 8),
                "{t}"
            );
        }
        for t in [
            "30/Nov/2026:23:31:02 +0700",
            "01/Jan/2000:00:00:00 -0530",
            "29/Feb/2024:12:00:00 +0000",
            "29/Feb/2023:12:00:00 +0000",
            "31/Xyz/2026:23:31:02 +0700",
            "30/Nov/2026:23:31:02 0700",
            "30/Nov/2026:23:61:02 +0700",
        ] {
            assert_eq!(
                super::clf_time(t),
                DateTime::parse_from_str(t, "%d/%b/%Y:%H:%M:%S %z").ok(),
                "{t}"
            );
        }
    }
}
