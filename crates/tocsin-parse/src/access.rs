//! Apache and nginx access logs, combined and common formats:
//! `IP IDENT USER [TIME] "METHOD URL PROTO" STATUS BYTES ["REFERER" "AGENT"]`.
//! The URL is kept as sent (`url.original`) with its decoded form beside
//! it (`url.decoded`), since attacks hide behind percent-encoding.

use chrono::DateTime;
use tocsin_model::{Category, Event, TimeOrigin, Timestamp};

use crate::text::{percent_decode, set_ip, set_num};
use crate::{PResult, Parser};

/// True when the line has the access-log shape (`… [..] "…" `).
pub fn looks_like(t: &str) -> bool {
    match (t.find(" ["), t.find("] \"")) {
        (Some(a), Some(b)) => a < b && b - a <= 40,
        _ => false,
    }
}

pub fn parse(_p: &Parser, line: &str, ev: &mut Event) -> PResult<()> {
    let mut c = Cursor {
        s: line.trim_start(),
    };
    let client = c.word().ok_or("access log: empty line")?;
    let _ident = c.word().ok_or("access log: missing ident field")?;
    let user = c.word().ok_or("access log: missing user field")?;
    let time = c
        .bracketed()
        .ok_or("access log: missing [time] after the user field")?;
    let request = c
        .request()
        .ok_or("access log: missing quoted request after the time")?;
    let status = c.word().ok_or("access log: missing status")?;
    let bytes = c.word().ok_or("access log: missing size")?;
    let referrer = c.quoted();
    let agent = c.quoted();

    let dt = crate::text::clf_time(time)
        .or_else(|| DateTime::parse_from_str(time, "%d/%b/%Y:%H:%M:%S %z").ok())
        .ok_or_else(|| format!("access log: cannot read time `{time}`"))?;
    ev.timestamp = Timestamp::from_fixed(dt, TimeOrigin::Explicit);
    if status.parse::<u16>().is_err() {
        return Err(format!("access log: status `{status}` is not a number").into());
    }
    ev.category = Category::Web;
    ev.fields.insert("event.module", "web");
    ev.fields.insert("event.dataset", "web.access");
    ev.fields.insert("event.category", "web");
    set_ip(ev, "source.ip", client);
    if ev.fields.get("source.ip").is_none() {
        ev.fields.insert("source.address", client);
    }
    if user != "-" {
        ev.fields.insert("user.name", user);
    }
    set_num(ev, "http.response.status_code", status);
    set_num(ev, "http.response.body.bytes", bytes);
    request_line(request, ev);
    if let Some(r) = referrer.filter(|r| *r != "-") {
        ev.fields.insert("http.request.referrer", unescape(r));
    }
    if let Some(a) = agent.filter(|a| *a != "-") {
        ev.fields.insert("user_agent.original", unescape(a));
    }
    Ok(())
}

/// `GET /a?b HTTP/1.1`; anything else (a TLS handshake sent to a plain
/// port, `-`) is kept whole in `http.request.line`.
fn request_line(request: &str, ev: &mut Event) {
    let request = unescape(request);
    let mut parts = request.splitn(3, ' ');
    let (m, u, v) = (parts.next(), parts.next(), parts.next());
    match (m, u) {
        (Some(m), Some(u)) if !m.is_empty() && m.bytes().all(|c| c.is_ascii_uppercase()) => {
            ev.fields.insert("http.request.method", m);
            ev.fields.insert("url.original", u);
            let (path, query) = match u.split_once('?') {
                Some((p, q)) => (p, Some(q)),
                None => (u, None),
            };
            ev.fields.insert("url.path", path);
            let mut decoded = percent_decode(path, false).into_owned();
            if let Some(q) = query {
                ev.fields.insert("url.query", q);
                decoded.push('?');
                decoded.push_str(&percent_decode(q, true));
            }
            ev.fields.insert("url.decoded", decoded);
            if let Some(v) = v.and_then(|v| v.strip_prefix("HTTP/")) {
                ev.fields.insert("http.version", v);
            }
        }
        _ => ev.fields.insert("http.request.line", request.as_str()),
    }
}

/// Undoes the `\"` and `\\` escapes servers write inside quoted fields;
/// `\xHH` stays as written (it is what the client sent).
fn unescape(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\\'
            && let Some(&n) = it.peek()
            && (n == '"' || n == '\\')
        {
            out.push(n);
            it.next();
        } else {
            out.push(c);
        }
    }
    out
}

struct Cursor<'t> {
    s: &'t str,
}

impl<'t> Cursor<'t> {
    fn word(&mut self) -> Option<&'t str> {
        let s = self.s.trim_start();
        if s.is_empty() {
            return None;
        }
        let end = s.find(' ').unwrap_or(s.len());
        self.s = &s[end..];
        Some(&s[..end])
    }

    fn bracketed(&mut self) -> Option<&'t str> {
        let s = self.s.trim_start().strip_prefix('[')?;
        let end = s.find(']')?;
        self.s = &s[end + 1..];
        Some(&s[..end])
    }

    /// The quoted request line. Clients send raw `"` that some servers do
    /// not escape, so the field ends at the `"` followed by a status code.
    fn request(&mut self) -> Option<&'t str> {
        let s = self.s.trim_start().strip_prefix('"')?;
        let b = s.as_bytes();
        let mut from = 0;
        while let Some(i) = memchr::memchr(b'"', &b[from..]).map(|i| i + from) {
            let after = &b[i + 1..];
            if after.len() >= 4
                && after[0] == b' '
                && after[1..4].iter().all(u8::is_ascii_digit)
                && after.get(4).is_none_or(|c| *c == b' ')
            {
                self.s = &s[i + 1..];
                return Some(&s[..i]);
            }
            from = i + 1;
        }
        self.quoted_rest(s)
    }

    /// A `"…"` field; `\"` inside does not end it.
    fn quoted(&mut self) -> Option<&'t str> {
        let s = self.s.trim_start().strip_prefix('"')?;
        self.quoted_rest(s)
    }

    fn quoted_rest(&mut self, s: &'t str) -> Option<&'t str> {
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'\\' => i += 2,
                b'"' => {
                    self.s = &s[i + 1..];
                    return Some(&s[..i]);
                }
                _ => i += 1,
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use crate::Format;
    use crate::testutil::*;
    use tocsin_model::{Category, EventKind};

    #[test]
    fn combined_format() {
        let ev = parse(
            Format::AccessLog,
            r#"203.0.113.9 - frank [24/Nov/2026:10:00:00 +0700] "GET /search.php?q=%3Cscript%3E+x&a=1 HTTP/1.1" 404 153 "https://x.vn/a \"b\"" "Mozilla/5.0""#,
        );
        assert_eq!(ev.kind, EventKind::Event, "{:?}", ev.parse_error);
        assert_eq!(ev.category, Category::Web);
        assert_eq!(s(&ev, "source.ip"), "203.0.113.9");
        assert_eq!(s(&ev, "user.name"), "frank");
        assert_eq!(s(&ev, "http.request.method"), "GET");
        assert_eq!(s(&ev, "url.original"), "/search.php?q=%3Cscript%3E+x&a=1");
        assert_eq!(s(&ev, "url.path"), "/search.php");
        assert_eq!(s(&ev, "url.query"), "q=%3Cscript%3E+x&a=1");
        assert_eq!(s(&ev, "url.decoded"), "/search.php?q=<script> x&a=1");
        assert_eq!(s(&ev, "http.version"), "1.1");
        assert_eq!(
            ev.fields
                .get("http.response.status_code")
                .and_then(|v| v.as_i64()),
            Some(404)
        );
        assert_eq!(s(&ev, "http.request.referrer"), "https://x.vn/a \"b\"");
        assert_eq!(s(&ev, "user_agent.original"), "Mozilla/5.0");
        assert_eq!(ev.timestamp.utc.to_rfc3339(), "2026-11-24T03:00:00+00:00");
    }

    #[test]
    fn common_format_and_odd_requests() {
        let ev = parse(
            Format::AccessLog,
            r#"::1 - - [24/Nov/2026:10:00:00 +0000] "\x16\x03\x01" 400 0"#,
        );
        assert_eq!(ev.kind, EventKind::Event, "{:?}", ev.parse_error);
        assert_eq!(s(&ev, "http.request.line"), r"\x16\x03\x01");
        assert_eq!(s(&ev, "source.ip"), "::1");
        assert!(ev.fields.get("user_agent.original").is_none());
    }

    #[test]
    fn broken_lines_say_which_field() {
        for (raw, why) in [
            ("1.2.3.4 - -", "missing [time]"),
            (
                r#"1.2.3.4 - - [bad] "GET / HTTP/1.1" 200 1"#,
                "cannot read time",
            ),
            (
                r#"1.2.3.4 - - [24/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" OK 1"#,
                "status `OK`",
            ),
            (
                r#"1.2.3.4 - - [24/Nov/2026:10:00:00 +0000] "GET /"#,
                "missing quoted request",
            ),
        ] {
            let ev = parse(Format::AccessLog, raw);
            let e = ev.parse_error.unwrap_or_default();
            assert!(e.contains(why), "{raw}: {e}");
        }
    }

    #[test]
    fn crs_corpus_lines_all_parse() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/corpus/crs/crs_get_tests_combined.log");
        let Ok(text) = std::fs::read_to_string(&path) else {
            eprintln!("skipped: {} not present", path.display());
            return;
        };
        let mut n = 0;
        for line in text.lines() {
            let ev = parse(Format::AccessLog, line);
            assert_eq!(ev.kind, EventKind::Event, "{line}: {:?}", ev.parse_error);
            n += 1;
        }
        assert!(n > 100, "only {n} lines");
    }
}
