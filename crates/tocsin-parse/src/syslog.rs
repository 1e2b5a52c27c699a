//! Syslog records: RFC 5424, RFC 3164 (BSD) and the ISO-dated BSD variant
//! rsyslog writes, with or without the `<PRI>` part (files such as auth.log
//! have none). The message is handed on to the program's own parser.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use tocsin_model::{Event, TimeOrigin, Timestamp};

use crate::text::{MONTHS, set_num, timestamp};
use crate::{PResult, Parser, Received};

/// The BSD timestamp a line starts with (`Nov 24 10:00:00`): its first 15
/// bytes, when they are ASCII and shaped like one. Checked byte by byte
/// before any slicing, so text in any script can follow (or stand in) it.
fn bsd_prefix(t: &str) -> Option<&str> {
    let b = t.as_bytes();
    let shaped = b.len() > 16
        && b[..15].is_ascii()
        && b[3] == b' '
        && b[6] == b' '
        && b[9] == b':'
        && b[12] == b':';
    // The 15 bytes are ASCII, so 15 is a character boundary.
    let head = t.get(..15).filter(|_| shaped)?;
    MONTHS.contains(&&head[..3]).then_some(head)
}

/// True when the line starts like a BSD syslog record without `<PRI>`
/// (`Nov 24 10:00:00 host …`).
pub fn looks_like_bsd(t: &str) -> bool {
    bsd_prefix(t).is_some()
}

pub fn parse(p: &Parser, text: &str, rx: &Received, ev: &mut Event) -> PResult<()> {
    let mut rest = text.trim_start_matches('\u{feff}');
    if let Some(r) = rest.strip_prefix('<') {
        let end = r
            .find('>')
            .filter(|&e| (1..=3).contains(&e))
            .ok_or("syslog: `<` not followed by a priority of 1-3 digits and `>`")?;
        let pri: u16 = r[..end]
            .parse()
            .map_err(|_| "syslog: priority is not a number")?;
        if pri > 191 {
            return Err(format!("syslog: priority {pri} is above 191").into());
        }
        ev.fields.insert("log.syslog.priority", i64::from(pri));
        ev.fields
            .insert("log.syslog.facility.code", i64::from(pri / 8));
        ev.fields
            .insert("log.syslog.severity.code", i64::from(pri % 8));
        rest = &r[end + 1..];
    }
    ev.fields.insert("event.module", "syslog");
    let msg = if let Some(r) = rest.strip_prefix("1 ") {
        rfc5424(p, r, ev)?
    } else {
        rfc3164(p, rest, rx, ev)?
    };
    let msg = msg.trim_start_matches('\u{feff}');
    ev.fields.insert("message", msg);
    crate::message::dispatch(p, msg, ev)
}

/// `TIMESTAMP HOST APP PROCID MSGID [SD…] MSG`, `-` for nil.
fn rfc5424<'t>(p: &Parser, s: &'t str, ev: &mut Event) -> PResult<&'t str> {
    ev.fields.insert("log.syslog.version", 1i64);
    let mut it = Fields5424 { s };
    let ts = it.next().ok_or("syslog 5424: missing timestamp")?;
    if ts != "-" {
        ev.timestamp = timestamp(ts, p.offset())
            .ok_or_else(|| format!("syslog 5424: cannot read timestamp `{ts}`"))?;
    }
    let host = it.next().ok_or("syslog 5424: missing hostname")?;
    let app = it.next().ok_or("syslog 5424: missing app-name")?;
    let pid = it.next().ok_or("syslog 5424: missing procid")?;
    let msgid = it.next().ok_or("syslog 5424: missing msgid")?;
    set_host(ev, host);
    if app != "-" {
        ev.fields.insert("process.name", app);
        ev.fields.insert("log.syslog.appname", app);
    }
    if pid != "-" {
        set_num(ev, "process.pid", pid);
    }
    if msgid != "-" {
        ev.fields.insert("log.syslog.msgid", msgid);
    }
    let rest = it.s;
    let rest = structured_data(rest, ev)?;
    Ok(rest.strip_prefix(' ').unwrap_or(rest))
}

struct Fields5424<'t> {
    s: &'t str,
}

impl<'t> Fields5424<'t> {
    fn next(&mut self) -> Option<&'t str> {
        if self.s.is_empty() {
            return None;
        }
        let (f, rest) = self.s.split_once(' ').unwrap_or((self.s, ""));
        self.s = rest;
        Some(f)
    }
}

/// `-` or one or more `[id k="v" …]`; returns what follows.
fn structured_data<'t>(s: &'t str, ev: &mut Event) -> PResult<&'t str> {
    if let Some(r) = s.strip_prefix('-') {
        return Ok(r);
    }
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && b[i] == b'[' {
        i += 1;
        let id_end = s[i..]
            .find([' ', ']'])
            .map(|e| i + e)
            .ok_or("syslog 5424: unterminated structured data")?;
        let id = &s[i..id_end];
        i = id_end;
        loop {
            match b.get(i) {
                Some(b']') => {
                    i += 1;
                    break;
                }
                Some(b' ') => i += 1,
                Some(_) => {
                    let eq = s[i..]
                        .find('=')
                        .map(|e| i + e)
                        .ok_or("syslog 5424: structured data parameter without `=`")?;
                    let name = &s[i..eq];
                    if b.get(eq + 1) != Some(&b'"') {
                        return Err(format!(
                            "syslog 5424: value of `{id}.{name}` does not start with `\"`"
                        )
                        .into());
                    }
                    let mut val = String::new();
                    let mut j = eq + 2;
                    loop {
                        match b.get(j) {
                            None => {
                                return Err(
                                    "syslog 5424: unterminated structured data value".into()
                                );
                            }
                            Some(b'\\') if matches!(b.get(j + 1), Some(b'"' | b'\\' | b']')) => {
                                val.push(b[j + 1] as char);
                                j += 2;
                            }
                            Some(b'"') => break,
                            Some(_) => {
                                let ch = s[j..].chars().next().unwrap_or('\u{fffd}');
                                val.push(ch);
                                j += ch.len_utf8();
                            }
                        }
                    }
                    ev.fields
                        .insert(format!("log.syslog.structured_data.{id}.{name}"), val);
                    i = j + 1;
                }
                None => return Err("syslog 5424: unterminated structured data".into()),
            }
        }
    }
    Ok(&s[i..])
}

/// `Mmm dd hh:mm:ss HOST TAG: MSG` or `ISO-TIME HOST TAG: MSG`; the
/// host is optional in practice (some devices omit it).
fn rfc3164<'t>(p: &Parser, s: &'t str, rx: &Received, ev: &mut Event) -> PResult<&'t str> {
    let mut rest = s;
    if let Some(head) = bsd_prefix(s) {
        ev.timestamp = bsd_time(p, head, rx.at)
            .ok_or_else(|| format!("syslog: cannot read timestamp `{head}`"))?;
        rest = &s[head.len()..];
    } else if s.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        let (ts, r) = s.split_once(' ').unwrap_or((s, ""));
        if let Some(t) = timestamp(ts, p.offset()) {
            ev.timestamp = t;
            rest = r;
        }
    }
    let rest = rest.trim_start();
    // HOST then TAG, unless the first word is already the tag (`sshd[1]:`).
    let (first, after) = rest.split_once(' ').unwrap_or((rest, ""));
    let (tag_part, msg) = if is_tag(first) {
        (first, after)
    } else {
        set_host(ev, first);
        let (t, m) = after.split_once(' ').unwrap_or((after, ""));
        if is_tag(t) {
            (t, m)
        } else {
            return Ok(after);
        }
    };
    let tag = tag_part.trim_end_matches(':');
    let (name, pid) = match tag.split_once('[') {
        Some((n, p)) => (n, Some(p.trim_end_matches(']'))),
        None => (tag, None),
    };
    ev.fields.insert("process.name", name);
    ev.fields.insert("log.syslog.appname", name);
    if let Some(pid) = pid {
        set_num(ev, "process.pid", pid);
    }
    Ok(msg)
}

fn is_tag(w: &str) -> bool {
    // Bytes, not characters: the ':' it ends with is one byte.
    w.len() > 1
        && w.ends_with(':')
        && w.as_bytes()[..w.len() - 1]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || b"-_./[]()".contains(c))
}

fn set_host(ev: &mut Event, host: &str) {
    if host != "-" && !host.is_empty() {
        ev.fields.insert("host.name", host);
        ev.observer.host = Some(host.to_string());
    }
}

/// `Nov 24 10:00:00` has no year and no zone: the year is the receipt's
/// (the previous one when that would put the record in the future), the
/// zone the configured one. `s` is [`bsd_prefix`]'s ASCII head; `get`
/// keeps it safe for any other text too.
fn bsd_time(p: &Parser, s: &str, now: DateTime<Utc>) -> Option<Timestamp> {
    let month = MONTHS.iter().position(|m| Some(*m) == s.get(..3))? as u32 + 1;
    let day: u32 = s.get(4..6)?.trim().parse().ok()?;
    let hms = s.get(7..15)?;
    // By hand first; chrono for the rest (a leap second, `23:59:60`).
    let time = crate::text::hms(hms)
        .or_else(|| chrono::NaiveTime::parse_from_str(hms, "%H:%M:%S").ok())?;
    let local_now = now.with_timezone(&p.offset());
    let mut year = local_now.year();
    let make = |y: i32| {
        NaiveDate::from_ymd_opt(y, month, day)
            .map(|d| d.and_time(time))
            .and_then(|n| p.offset().from_local_datetime(&n).single())
    };
    let mut dt = make(year)?;
    if dt > local_now + chrono::Duration::days(1) {
        year -= 1;
        dt = make(year)?;
    }
    Some(Timestamp::from_fixed(dt, TimeOrigin::AssumedZone))
}

#[cfg(test)]
mod tests {
    use crate::Format;
    use crate::testutil::*;
    use tocsin_model::{EventKind, TimeOrigin};

    #[test]
    fn rfc3164_with_priority() {
        let ev = parse(
            Format::Syslog,
            "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
        );
        assert_eq!(ev.kind, EventKind::Event, "{:?}", ev.parse_error);
        assert_eq!(
            ev.fields
                .get("log.syslog.facility.code")
                .and_then(|v| v.as_i64()),
            Some(4)
        );
        assert_eq!(
            ev.fields
                .get("log.syslog.severity.code")
                .and_then(|v| v.as_i64()),
            Some(2)
        );
        assert_eq!(s(&ev, "host.name"), "mymachine");
        assert_eq!(s(&ev, "process.name"), "su");
        assert_eq!(
            s(&ev, "message"),
            "'su root' failed for lonvick on /dev/pts/8"
        );
        // Received 2026-11-24: October is in the past, same year, +07:00.
        assert_eq!(ev.timestamp.utc.to_rfc3339(), "2026-10-11T15:14:15+00:00");
        assert_eq!(ev.timestamp.origin, TimeOrigin::AssumedZone);
    }

    #[test]
    fn bsd_date_in_the_future_is_last_year() {
        let ev = parse(Format::Syslog, "Dec 31 23:59:59 h cron[1]: x");
        assert_eq!(ev.timestamp.utc.to_rfc3339(), "2025-12-31T16:59:59+00:00");
        assert_eq!(
            ev.fields.get("process.pid").and_then(|v| v.as_i64()),
            Some(1)
        );
    }

    #[test]
    fn rfc5424_with_structured_data() {
        let ev = parse(
            Format::Syslog,
            r#"<165>1 2026-11-24T10:14:15.003+07:00 mymachine.example.com evntslog 77 ID47 [exampleSDID@32473 iut="3" eventSource="Appl\"ic\]ation"][x@1 a="b"] BOMAn application event"#,
        );
        assert_eq!(ev.kind, EventKind::Event, "{:?}", ev.parse_error);
        assert_eq!(s(&ev, "process.name"), "evntslog");
        assert_eq!(s(&ev, "log.syslog.msgid"), "ID47");
        assert_eq!(
            s(
                &ev,
                "log.syslog.structured_data.exampleSDID@32473.eventSource"
            ),
            "Appl\"ic]ation"
        );
        assert_eq!(s(&ev, "log.syslog.structured_data.x@1.a"), "b");
        assert_eq!(s(&ev, "message"), "BOMAn application event");
        assert_eq!(
            ev.timestamp.utc.to_rfc3339(),
            "2026-11-24T03:14:15.003+00:00"
        );
    }

    #[test]
    fn rfc5424_nil_values() {
        let ev = parse(Format::Syslog, "<13>1 - - - - - - hello");
        assert_eq!(ev.kind, EventKind::Event, "{:?}", ev.parse_error);
        assert_eq!(s(&ev, "message"), "hello");
        assert_eq!(ev.timestamp.origin, TimeOrigin::Received);
    }

    #[test]
    fn iso_dated_bsd_and_missing_priority() {
        let ev = parse(
            Format::Syslog,
            "2026-11-24T10:00:00+07:00 web01 nginx: started",
        );
        assert_eq!(s(&ev, "host.name"), "web01");
        assert_eq!(ev.timestamp.origin, TimeOrigin::Explicit);
        let ev = parse(Format::Syslog, "<13>sshd[42]: Server listening");
        assert_eq!(s(&ev, "process.name"), "sshd");
    }

    #[test]
    fn broken_records_report_why() {
        for (raw, why) in [
            ("<999>x", "priority 999"),
            ("<ab>x", "priority"),
            (
                "<13>1 2026-99-99T00:00:00Z h a p m - x",
                "cannot read timestamp",
            ),
            (r#"<13>1 - h a p m [id k=v] x"#, "does not start with"),
            (r#"<13>1 - h a p m [id k="v"#, "unterminated"),
        ] {
            let ev = parse(Format::Syslog, raw);
            assert_eq!(ev.kind, EventKind::PipelineError, "{raw}");
            let e = ev.parse_error.unwrap_or_default();
            assert!(e.contains(why), "{raw}: {e}");
        }
    }
}
