//! Parsers: the second stage of the live pipeline.
//!
//! ```text
//! inputs (syslog, HTTP, files) ──► queue ──► [tocsin-parse] ──► attribution ──► Sigma ──► alerts
//! ```
//!
//! A [`Parser`] turns one raw record, as an input received it, into the
//! normalized [`tocsin_model::Event`] with ECS-style field names. Parsing never
//! fails: a record no parser understands becomes an event of kind
//! [`tocsin_model::EventKind::PipelineError`] that keeps the raw text and the
//! reason, so nothing is dropped silently. Synchronous and allocation-light;
//! no I/O.
//!
//! Formats: syslog (RFC 3164 and 5424, with the messages of sshd, sudo, su
//! and PAM understood), web-server access logs (combined and common), Suricata
//! EVE JSON, Windows events as Winlogbeat or NXLog ship them, CEF, and any
//! other JSON object (flattened to dotted names).

mod access;
mod auth;
mod cef;
mod eve;
mod json;
mod message;
mod syslog;
mod text;
mod windows;

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use tocsin_model::{Event, EventKind, Observer, Timestamp};

pub use json::scalar as json_value;
pub use text::percent_decode;

/// The record formats an input can declare.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Guess from the record: JSON objects, syslog, CEF, access-log lines.
    #[default]
    Auto,
    /// A syslog record (RFC 3164 or 5424, with or without `<PRI>`); the
    /// message is parsed further when its program is known.
    Syslog,
    /// An Apache or nginx access-log line (combined or common).
    AccessLog,
    /// One Suricata EVE JSON record.
    SuricataEve,
    /// A Windows event as Winlogbeat or NXLog ship it (JSON).
    Windows,
    /// A CEF record (bare, or inside syslog).
    Cef,
    /// A JSON object of any shape.
    Json,
}

impl Format {
    /// The name used in configuration files and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Format::Auto => "auto",
            Format::Syslog => "syslog",
            Format::AccessLog => "access_log",
            Format::SuricataEve => "suricata_eve",
            Format::Windows => "windows",
            Format::Cef => "cef",
            Format::Json => "json",
        }
    }

    /// Its position in [`Format::ALL`] (a stable small code).
    pub fn index(self) -> usize {
        self as usize
    }

    /// Every format, in declaration order (so `ALL[f.index()] == f`).
    pub const ALL: [Format; 7] = [
        Format::Auto,
        Format::Syslog,
        Format::AccessLog,
        Format::SuricataEve,
        Format::Windows,
        Format::Cef,
        Format::Json,
    ];
}

/// How a record arrived: the context every parser gets.
#[derive(Clone, Debug)]
pub struct Received<'a> {
    /// The input's name from the configuration (`syslog-tcp`, `nginx-portal`).
    pub input: &'a str,
    /// When Tocsin received it.
    pub at: DateTime<Utc>,
    /// The sending host's address, when the transport has one.
    pub peer: Option<IpAddr>,
}

/// Parser settings.
#[derive(Clone, Debug, Default)]
pub struct ParserConfig {
    /// The zone assumed for times written without one (Vietnam by default).
    pub assume_offset: Offset,
    /// What one record may become.
    pub limits: ParseLimits,
}

/// The zone assumed for zone-less times; Vietnam's (UTC+07:00) by default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Offset(pub FixedOffset);

impl Default for Offset {
    fn default() -> Self {
        Offset(tocsin_model::vietnam_offset())
    }
}

/// Bounds on what one record may become, so a hostile record cannot make
/// an event (and the evidence an alert stores) unbounded
/// (`[ingest.pipeline.parser]`). A limit that bites leaves the rest of the
/// record out of the fields — the original text is kept whole — names
/// itself in the event's `tocsin.limits` and is counted
/// (`tocsin_parse_limited_total{limit}`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ParseLimits {
    /// Fields one JSON record may become.
    pub max_fields: usize,
    /// Longest dotted field name, bytes.
    pub max_field_name: usize,
    /// Names and text values of one record's fields together, bytes.
    pub max_flat_bytes: usize,
    /// Deepest nesting of objects and arrays followed.
    pub max_depth: usize,
}

impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits {
            max_fields: 1024,
            max_field_name: 256,
            max_flat_bytes: 1 << 20,
            max_depth: 16,
        }
    }
}

/// How many records met each limit, since the parser was built.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LimitHits {
    /// Records with more fields than `max_fields`.
    pub fields: u64,
    /// Records with a field name longer than `max_field_name`.
    pub field_name: u64,
    /// Records whose fields outgrew `max_flat_bytes`.
    pub flat_bytes: u64,
    /// Records nested deeper than `max_depth`.
    pub depth: u64,
}

/// [`LimitHits`], counted by every clone of a parser at once.
#[derive(Debug, Default)]
struct HitCounters([AtomicU64; 4]);

impl HitCounters {
    /// Counts what one record met, and names it on the event.
    fn record(&self, h: &json::Hit, ev: &mut Event) {
        let met = [h.fields, h.field_name, h.flat_bytes, h.depth];
        if !met.contains(&true) {
            return;
        }
        let mut names = Vec::new();
        for (i, (m, name)) in met
            .iter()
            .zip(["fields", "field_name", "flat_bytes", "depth"])
            .enumerate()
        {
            if *m {
                self.0[i].fetch_add(1, Ordering::Relaxed);
                names.push(name);
            }
        }
        ev.fields.insert("tocsin.limits", names.join(" "));
    }
}

impl ParserConfig {
    /// The parser.
    pub fn build(self) -> Parser {
        Parser {
            cfg: self,
            hits: Arc::default(),
        }
    }
}

/// Raw records → normalized events. Cheap to share between threads; clones
/// share their limit counters.
#[derive(Clone, Debug)]
pub struct Parser {
    cfg: ParserConfig,
    hits: Arc<HitCounters>,
}

/// Why a record could not be parsed in its declared format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ParseError(pub String);

impl<T: Into<String>> From<T> for ParseError {
    fn from(s: T) -> Self {
        ParseError(s.into())
    }
}

pub(crate) type PResult<T> = Result<T, ParseError>;

impl Parser {
    /// Parses one record. Never fails: see the crate documentation.
    pub fn parse(&self, format: Format, raw: &[u8], rx: &Received) -> Event {
        // Valid UTF-8 (nearly every record) is checked with SIMD and
        // borrowed; only invalid bytes pay for the lossy copy.
        let text = match simdutf8::basic::from_utf8(raw) {
            Ok(t) => std::borrow::Cow::Borrowed(t),
            Err(_) => String::from_utf8_lossy(raw),
        };
        let text = text.trim_end_matches(['\r', '\n', '\0']);
        let kind = format.name();
        let observer = Observer {
            name: rx.input.to_string(),
            kind: kind.to_string(),
            host: None,
        };
        let mut ev = Event::new(Timestamp::received(rx.at), observer, text);
        let res = match format {
            Format::Auto => self.auto(text, rx, &mut ev),
            Format::Syslog => syslog::parse(self, text, rx, &mut ev),
            Format::AccessLog => access::parse(self, text, &mut ev),
            Format::SuricataEve => json::object(text).and_then(|o| eve::parse(self, &o, &mut ev)),
            Format::Windows => json::object(text).and_then(|o| windows::parse(self, &o, &mut ev)),
            Format::Cef => self.cef(text, rx, &mut ev),
            Format::Json => json::object(text).and_then(|o| self.json(&o, &mut ev)),
        };
        if let Err(ParseError(reason)) = res {
            let original = std::mem::take(&mut ev.original);
            ev = Event::new(Timestamp::received(rx.at), ev.observer, original);
            ev.kind = EventKind::PipelineError;
            ev.fields.insert("error.message", reason.as_str());
            ev.fields.insert("event.original", ev.original.as_str());
            ev.parse_error = Some(reason);
        }
        if let Some(peer) = rx.peer {
            ev.fields.insert("log.source.address", peer.to_string());
        }
        ev
    }

    fn auto(&self, text: &str, rx: &Received, ev: &mut Event) -> PResult<()> {
        let t = text.trim_start();
        if t.starts_with('{') {
            let o = json::object(t)?;
            return self.json(&o, ev);
        }
        if t.starts_with("CEF:") {
            return cef::parse_payload(self, t, ev);
        }
        if t.starts_with('<') || syslog::looks_like_bsd(t) {
            return syslog::parse(self, t, rx, ev);
        }
        if access::looks_like(t) {
            return access::parse(self, t, ev);
        }
        Err("not JSON, syslog, CEF or an access-log line".into())
    }

    /// A CEF record, bare or after a syslog header (syslog reads the header
    /// and hands the payload on).
    fn cef(&self, text: &str, rx: &Received, ev: &mut Event) -> PResult<()> {
        match cef::payload_start(text)? {
            0 => cef::parse_payload(self, text, ev),
            _ => syslog::parse(self, text, rx, ev),
        }
    }

    /// A JSON object whose kind is recognized by its keys.
    fn json(&self, o: &serde_json::Map<String, serde_json::Value>, ev: &mut Event) -> PResult<()> {
        if eve::looks_like(o) {
            eve::parse(self, o, ev)
        } else if windows::looks_like(o) {
            windows::parse(self, o, ev)
        } else {
            json::generic(self, o, ev)
        }
    }

    pub(crate) fn offset(&self) -> FixedOffset {
        self.cfg.assume_offset.0
    }

    /// How many records met each limit so far.
    pub fn limit_hits(&self) -> LimitHits {
        let n = |i: usize| self.hits.0[i].load(Ordering::Relaxed);
        LimitHits {
            fields: n(0),
            field_name: n(1),
            flat_bytes: n(2),
            depth: n(3),
        }
    }
}

#[cfg(test)]
pub(crate) mod testutil {
    use super::*;

    pub fn rx() -> Received<'static> {
        Received {
            input: "test",
            at: DateTime::parse_from_rfc3339("2026-11-24T03:00:00Z")
                .expect("valid")
                .with_timezone(&Utc),
            peer: None,
        }
    }

    pub fn parse(format: Format, raw: &str) -> Event {
        ParserConfig::default()
            .build()
            .parse(format, raw.as_bytes(), &rx())
    }

    pub fn s<'e>(ev: &'e Event, f: &str) -> &'e str {
        ev.fields
            .get_str(f)
            .unwrap_or_else(|| panic!("no field {f} in {:?}", ev.fields))
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::*;
    use super::*;

    #[test]
    fn unparsable_record_is_kept_with_its_error() {
        let ev = parse(Format::Json, "{not json");
        assert_eq!(ev.kind, EventKind::PipelineError);
        assert_eq!(ev.original, "{not json");
        assert!(ev.parse_error.as_deref().unwrap_or("").contains("JSON"));
        assert_eq!(s(&ev, "event.original"), "{not json");
    }

    #[test]
    fn auto_detects_each_format() {
        let cases = [
            (
                "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
                "syslog",
            ),
            (
                r#"127.0.0.1 - - [01/Jan/2024:00:00:01 +0000] "GET /get HTTP/1.1" 200 0 "-" "x""#,
                "web",
            ),
            (
                "CEF:0|Fortinet|FortiGate|7.0|13|deny|5|src=10.0.0.1 dst=8.8.8.8",
                "cef",
            ),
            (
                r#"{"timestamp":"2026-11-24T10:00:00.000000+0700","event_type":"dns","src_ip":"10.1.1.1","dest_ip":"8.8.8.8","dns":{"rrname":"x.vn"}}"#,
                "suricata",
            ),
            (
                r#"{"EventID":4625,"Channel":"Security","Hostname":"DC1","EventTime":"2026-11-24 10:00:00"}"#,
                "windows",
            ),
            (r#"{"msg":"hello"}"#, "json"),
        ];
        for (raw, module) in cases {
            let ev = parse(Format::Auto, raw);
            assert_ne!(
                ev.kind,
                EventKind::PipelineError,
                "{raw}: {:?}",
                ev.parse_error
            );
            assert_eq!(s(&ev, "event.module"), module, "{raw}");
        }
        assert_eq!(
            parse(Format::Auto, "just words").kind,
            EventKind::PipelineError
        );
    }

    #[test]
    fn format_index_is_its_place_in_all() {
        for (i, f) in Format::ALL.iter().enumerate() {
            assert_eq!(f.index(), i);
        }
    }
}
