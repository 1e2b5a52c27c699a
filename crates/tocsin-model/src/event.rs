//! The normalized event every stage after ingest speaks.
//!
//! # Time
//!
//! An event's instant is stored in UTC ([`Timestamp::utc`]). Beside it,
//! [`Timestamp::offset_secs`] keeps the UTC offset the *source* wrote, so the
//! console can show the wall-clock time the agency's device showed, and
//! [`Timestamp::origin`] says where the instant came from:
//!
//! * [`TimeOrigin::Explicit`] — the record carried a zone (RFC 5424, ISO 8601
//!   with `Z` or `+07:00`, nginx's `%z`, EVTX `SystemTime`);
//! * [`TimeOrigin::AssumedZone`] — the record carried a local time without a
//!   zone (RFC 3164 syslog, many appliance logs); it was read in the zone
//!   configured for that input (Vietnam, UTC+07:00, by default — no daylight
//!   saving, so the reading is never ambiguous);
//! * [`TimeOrigin::Received`] — the record carried no usable time; Tocsin used
//!   the moment it received it.
//!
//! # Fields
//!
//! Fields use ECS-style dotted names (`source.ip`, `url.original`,
//! `process.command_line`). [`Fields`] is a vector sorted by name: reading a
//! field by name is a binary search over borrowed `&str` keys and never
//! allocates.

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// Where an event's instant came from. See the module docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeOrigin {
    /// The record carried a zone or UTC offset.
    Explicit,
    /// Local time read in the input's configured zone.
    AssumedZone,
    /// No time in the record: the receipt time.
    Received,
}

/// An event's instant, with the offset its source used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timestamp {
    /// The instant, in UTC.
    pub utc: DateTime<Utc>,
    /// The source's UTC offset in seconds (east positive), when known.
    pub offset_secs: Option<i32>,
    /// Where the instant came from.
    pub origin: TimeOrigin,
}

/// A timestamp string that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read `{input}` as a timestamp: {reason}")]
pub struct TimestampError {
    /// What was given.
    pub input: String,
    /// Why it failed.
    pub reason: String,
}

impl Timestamp {
    /// The receipt time, for records without one.
    pub fn received(now: DateTime<Utc>) -> Self {
        Timestamp {
            utc: now,
            offset_secs: None,
            origin: TimeOrigin::Received,
        }
    }

    /// Parses RFC 3339 / ISO 8601 with a zone (`2025-03-01T08:15:00+07:00`,
    /// `…Z`); a value without a zone is read in `assume` and marked so.
    pub fn parse(s: &str, assume: FixedOffset) -> Result<Self, TimestampError> {
        let s = s.trim();
        if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
            return Ok(Self::from_fixed(dt, TimeOrigin::Explicit));
        }
        // Space instead of `T`, and zone-less forms.
        let t = s.replacen(' ', "T", 1);
        if let Ok(dt) = DateTime::parse_from_rfc3339(&t) {
            return Ok(Self::from_fixed(dt, TimeOrigin::Explicit));
        }
        for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S"] {
            if let Ok(naive) = chrono::NaiveDateTime::parse_from_str(&t, fmt)
                && let Some(dt) = assume.from_local_datetime(&naive).single()
            {
                return Ok(Self::from_fixed(dt, TimeOrigin::AssumedZone));
            }
        }
        Err(TimestampError {
            input: s.to_string(),
            reason: "expected ISO 8601 such as 2025-03-01T08:15:00+07:00".into(),
        })
    }

    /// From a zoned date-time.
    pub fn from_fixed(dt: DateTime<FixedOffset>, origin: TimeOrigin) -> Self {
        Timestamp {
            utc: dt.with_timezone(&Utc),
            offset_secs: Some(dt.offset().local_minus_utc()),
            origin,
        }
    }

    /// The instant in the source's own offset (UTC when unknown).
    pub fn local(&self) -> DateTime<FixedOffset> {
        let off = self
            .offset_secs
            .and_then(FixedOffset::east_opt)
            .unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero offset is valid"));
        self.utc.with_timezone(&off)
    }
}

/// The ECS `event.kind`: what sort of record this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// Something that happened (a log line).
    Event,
    /// A sensor's own alert (Suricata, an antivirus).
    Alert,
    /// A measurement.
    Metric,
    /// A state report (a monitor's up/down).
    State,
    /// A record Tocsin could not parse, kept raw with the error.
    PipelineError,
}

/// The ECS `event.category`: what the record is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Log-ons, log-offs, password checks.
    Authentication,
    /// Flows, connections, DNS.
    Network,
    /// Process starts and ends.
    Process,
    /// Web requests.
    Web,
    /// File activity.
    File,
    /// Registry activity.
    Registry,
    /// Malware findings.
    Malware,
    /// IDS/IPS findings.
    IntrusionDetection,
    /// Configuration changes.
    Configuration,
    /// Host state.
    Host,
    /// Anything else.
    Other,
}

/// Who saw the event: the sensor or source that reported it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observer {
    /// The input or sensor name from the configuration (`syslog-udp`,
    /// `suricata-dc`).
    pub name: String,
    /// What kind of source (`syslog`, `winlogbeat`, `suricata`, `file`).
    pub kind: String,
    /// The reporting host, when the record names one.
    pub host: Option<String>,
}

/// The agency and asset an event is attributed to (by its addresses).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventAttribution {
    /// The responsible agency's code.
    pub agency: Option<crate::AgencyCode>,
    /// The asset's code.
    pub asset: Option<crate::AssetCode>,
    /// Set when an address of the event belongs to an agency outside what
    /// its input may speak for: that agency. The event stays with the
    /// input's own agency, flagged, rather than moving to another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outside_scope: Option<crate::AgencyCode>,
}

/// A field value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// Explicit null.
    Null,
    /// true / false.
    Bool(bool),
    /// Integers.
    Int(i64),
    /// Floating point numbers.
    Float(f64),
    /// Text.
    Str(Box<str>),
    /// Several values (multi-valued fields).
    List(Vec<Value>),
}

impl Value {
    /// The text, for string values.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, for integer values and integral strings.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Str(s) => s.parse().ok(),
            _ => None,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Str(s) => f.write_str(s),
            Value::List(l) => {
                for (i, v) in l.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                Ok(())
            }
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.into())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s.into_boxed_str())
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

/// An event's fields, sorted by name for allocation-free lookup.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Fields {
    // Names are mostly string literals of the parsers: borrowed, not
    // allocated per event.
    entries: Vec<(Cow<'static, str>, Value)>,
}

impl Fields {
    /// An empty table with room for `n` fields.
    pub fn with_capacity(n: usize) -> Self {
        Fields {
            entries: Vec::with_capacity(n),
        }
    }

    /// Reads a field by name. Never allocates.
    #[inline]
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.entries
            .binary_search_by(|(k, _)| (**k).cmp(name))
            .ok()
            .map(|i| &self.entries[i].1)
    }

    /// The text of a string field.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }

    /// Sets a field, replacing any previous value.
    pub fn insert(&mut self, name: impl Into<Cow<'static, str>>, value: impl Into<Value>) {
        let name = name.into();
        match self.entries.binary_search_by(|(k, _)| (**k).cmp(&*name)) {
            Ok(i) => self.entries[i].1 = value.into(),
            Err(i) => self.entries.insert(i, (name, value.into())),
        }
    }

    /// Adds many fields at once: sorted once, not inserted one by one (an
    /// insert shifts the vector, so a record of thousands of keys in
    /// reverse order would cost quadratic time). A name given twice keeps
    /// its last value, as [`Fields::insert`] would.
    pub fn extend_unsorted(&mut self, items: Vec<(Cow<'static, str>, Value)>) {
        if items.is_empty() {
            return;
        }
        let old = std::mem::take(&mut self.entries);
        let mut all: Vec<(usize, Cow<'static, str>, Value)> = old
            .into_iter()
            .chain(items)
            .enumerate()
            .map(|(i, (k, v))| (i, k, v))
            .collect();
        // By name, later additions last; then the last of each name wins.
        all.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
        let mut out: Vec<(Cow<'static, str>, Value)> = Vec::with_capacity(all.len());
        for (_, k, v) in all {
            match out.last_mut() {
                Some(last) if last.0 == k => last.1 = v,
                _ => out.push((k, v)),
            }
        }
        self.entries = out;
    }

    /// Removes a field, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        match self.entries.binary_search_by(|(k, _)| (**k).cmp(name)) {
            Ok(i) => Some(self.entries.remove(i).1),
            Err(_) => None,
        }
    }

    /// Fields in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(k, v)| (&**k, v))
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no fields.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl Serialize for Fields {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.entries.len()))?;
        for (k, v) in &self.entries {
            m.serialize_entry(&**k, v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = std::collections::BTreeMap::<String, Value>::deserialize(d)?;
        Ok(Fields {
            entries: map.into_iter().map(|(k, v)| (Cow::Owned(k), v)).collect(),
        })
    }
}

/// One normalized record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// When it happened.
    pub timestamp: Timestamp,
    /// Who reported it.
    pub observer: Observer,
    /// What sort of record it is.
    pub kind: EventKind,
    /// What it is about.
    pub category: Category,
    /// ECS-style fields.
    pub fields: Fields,
    /// The record exactly as received.
    pub original: String,
    /// The agency and asset it belongs to.
    pub attribution: EventAttribution,
    /// Why parsing failed, for [`EventKind::PipelineError`] records.
    pub parse_error: Option<String>,
}

impl Event {
    /// A new event with no fields and no attribution.
    pub fn new(timestamp: Timestamp, observer: Observer, original: impl Into<String>) -> Self {
        Event {
            timestamp,
            observer,
            kind: EventKind::Event,
            category: Category::Other,
            fields: Fields::default(),
            original: original.into(),
            attribution: EventAttribution::default(),
            parse_error: None,
        }
    }

    /// Reads a field by name; never allocates.
    #[inline]
    pub fn field(&self, name: &str) -> Option<&Value> {
        self.fields.get(name)
    }
}

/// The UTC offset of Vietnam (Asia/Ho_Chi_Minh), the default assumed zone.
pub fn vietnam_offset() -> FixedOffset {
    FixedOffset::east_opt(7 * 3600).expect("+07:00 is a valid offset")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_lookup_and_replace() {
        let mut f = Fields::default();
        f.insert("source.ip", "10.0.0.1");
        f.insert("destination.port", 443i64);
        f.insert("url.original", "/a");
        f.insert("source.ip", "10.0.0.2");
        assert_eq!(f.len(), 3);
        assert_eq!(f.get_str("source.ip"), Some("10.0.0.2"));
        assert_eq!(f.get("destination.port").and_then(Value::as_i64), Some(443));
        assert!(f.get("user.name").is_none());
        let names: Vec<_> = f.iter().map(|(k, _)| k).collect();
        assert_eq!(names, ["destination.port", "source.ip", "url.original"]);
        assert_eq!(f.remove("url.original"), Some(Value::from("/a")));
    }

    #[test]
    fn many_fields_are_sorted_once_and_the_last_wins() {
        let mut f = Fields::default();
        f.insert("b", "old");
        let items: Vec<_> = (0..60_000)
            .rev()
            .map(|i| (Cow::Owned(format!("k{i:05}")), Value::Int(i)))
            .chain([(Cow::Borrowed("b"), Value::from("new"))])
            .collect();
        f.extend_unsorted(items);
        assert_eq!(f.len(), 60_001);
        assert_eq!(f.get_str("b"), Some("new"));
        assert_eq!(f.get("k00042").and_then(Value::as_i64), Some(42));
        let names: Vec<_> = f.iter().map(|(k, _)| k).collect();
        assert!(names.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn timestamps_keep_origin() {
        let vn = vietnam_offset();
        let t = Timestamp::parse("2025-03-01T08:15:00+07:00", vn).unwrap();
        assert_eq!(t.origin, TimeOrigin::Explicit);
        assert_eq!(t.utc.to_rfc3339(), "2025-03-01T01:15:00+00:00");
        assert_eq!(t.offset_secs, Some(25200));
        let z = Timestamp::parse("2025-03-01 01:15:00.5Z", vn).unwrap();
        assert_eq!(z.origin, TimeOrigin::Explicit);
        let local = Timestamp::parse("2025-03-01 08:15:00", vn).unwrap();
        assert_eq!(local.origin, TimeOrigin::AssumedZone);
        assert_eq!(local.utc, t.utc);
        assert_eq!(local.local().to_rfc3339(), "2025-03-01T08:15:00+07:00");
        assert!(Timestamp::parse("yesterday", vn).is_err());
    }

    #[test]
    fn event_round_trips_json() {
        let ts = Timestamp::parse("2025-03-01T08:15:00+07:00", vietnam_offset()).unwrap();
        let mut e = Event::new(ts, Observer::default(), "raw line");
        e.fields.insert("user.name", "admin");
        let j = serde_json::to_string(&e).unwrap();
        let back: Event = serde_json::from_str(&j).unwrap();
        assert_eq!(back, e);
    }
}
