//! JSON objects: decoding, flattening to dotted names, and the generic
//! parser for JSON of unknown shape.

use serde_json::{Map, Value as J};
use tocsin_model::{Category, Event, Value};

use crate::text::{set_ip, timestamp};
use crate::{PResult, Parser};

/// The keys a generic JSON record may carry its time in, by preference.
const TIME_KEYS: &[&str] = &["@timestamp", "timestamp", "time", "EventTime", "ts", "date"];

/// Source address keys seen in the wild, by preference.
const SOURCE_IP_KEYS: &[&str] = &[
    "source.ip",
    "src_ip",
    "client.ip",
    "client_ip",
    "remote_addr",
    "src",
];

/// Decodes one JSON object.
pub fn object(text: &str) -> PResult<Map<String, J>> {
    match serde_json::from_str::<J>(text) {
        Ok(J::Object(o)) => Ok(o),
        Ok(_) => Err("JSON value is not an object".into()),
        Err(e) => Err(format!("malformed JSON at column {}: {e}", e.column()).into()),
    }
}

/// Copies every leaf of `o` into the event's fields under dotted names
/// (`{"a":{"b":1}}` → `a.b = 1`), prefixed with `prefix`. Arrays of scalars
/// become lists. Within the parser's [`crate::ParseLimits`]: past a limit
/// the rest is left out, the limit counted and named in `tocsin.limits`.
pub fn flatten(p: &Parser, o: &Map<String, J>, prefix: &str, ev: &mut Event) {
    let mut f = Flat {
        lim: &p.cfg.limits,
        out: Vec::new(),
        bytes: 0,
        hit: Hit::default(),
    };
    let mut key = String::from(prefix);
    for (k, v) in o {
        key.truncate(prefix.len());
        key.push_str(k);
        f.value(&mut key, v, 1);
    }
    let Flat { out, hit, .. } = f;
    ev.fields.extend_unsorted(out);
    p.hits.record(&hit, ev);
}

/// Which limits one record met.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Hit {
    pub(crate) fields: bool,
    pub(crate) field_name: bool,
    pub(crate) flat_bytes: bool,
    pub(crate) depth: bool,
}

/// A flattening in progress.
struct Flat<'l> {
    lim: &'l crate::ParseLimits,
    out: Vec<(std::borrow::Cow<'static, str>, Value)>,
    /// Names and text kept so far.
    bytes: usize,
    hit: Hit,
}

impl Flat<'_> {
    fn value(&mut self, key: &mut String, v: &J, depth: usize) {
        if depth > self.lim.max_depth {
            self.hit.depth = true;
            return;
        }
        match v {
            J::Object(o) => {
                let len = key.len();
                for (k, v) in o {
                    key.truncate(len);
                    key.push('.');
                    key.push_str(k);
                    self.value(key, v, depth + 1);
                }
                key.truncate(len);
            }
            J::Array(a) if a.iter().any(|x| x.is_object()) => {
                // Arrays of objects: index them (`answers.0.rdata`).
                let len = key.len();
                for (i, x) in a.iter().enumerate() {
                    key.truncate(len);
                    key.push('.');
                    key.push_str(&i.to_string());
                    self.value(key, x, depth + 1);
                }
                key.truncate(len);
            }
            other => {
                if self.out.len() >= self.lim.max_fields {
                    self.hit.fields = true;
                    return;
                }
                if key.len() > self.lim.max_field_name {
                    self.hit.field_name = true;
                    return;
                }
                let Some(val) = scalar(other) else { return };
                let size = key.len() + text_len(&val);
                if self.bytes + size > self.lim.max_flat_bytes {
                    self.hit.flat_bytes = true;
                    return;
                }
                self.bytes += size;
                self.out.push((key.clone().into(), val));
            }
        }
    }
}

/// The text a value holds (what the flattened-size limit weighs).
fn text_len(v: &Value) -> usize {
    match v {
        Value::Str(s) => s.len(),
        Value::List(l) => l.iter().map(text_len).sum(),
        _ => 8,
    }
}

/// A JSON value as a field value: scalars as themselves, arrays as lists
/// of their convertible items; objects are not a field value (`None`).
pub fn scalar(v: &J) -> Option<Value> {
    Some(match v {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => Value::Str(s.as_str().into()),
        J::Array(a) => Value::List(a.iter().filter_map(scalar).collect()),
        J::Object(_) => return None,
    })
}

/// A string at a dotted path, following nested objects
/// (`get_str(o, "winlog.event_data.IpAddress")`) or a literal dotted key.
pub fn get<'a>(o: &'a Map<String, J>, path: &str) -> Option<&'a J> {
    if let Some(v) = o.get(path) {
        return Some(v);
    }
    let (head, rest) = path.split_once('.')?;
    match o.get(head)? {
        J::Object(inner) => get(inner, rest),
        _ => None,
    }
}

/// A string (or number, as text) at a dotted path.
pub fn get_text(o: &Map<String, J>, path: &str) -> Option<String> {
    match get(o, path)? {
        J::String(s) => Some(s.clone()),
        J::Number(n) => Some(n.to_string()),
        J::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Any JSON object: flattened, with the time, source address and host
/// picked from the usual keys.
pub fn generic(p: &Parser, o: &Map<String, J>, ev: &mut Event) -> PResult<()> {
    flatten(p, o, "", ev);
    ev.fields.insert("event.module", "json");
    set_time(p, o, ev, TIME_KEYS);
    if ev.fields.get("source.ip").is_none()
        && let Some(ip) = SOURCE_IP_KEYS.iter().find_map(|k| get_text(o, k))
    {
        set_ip(ev, "source.ip", &ip);
    }
    if let Some(h) = get_text(o, "host.name").or_else(|| get_text(o, "hostname")) {
        ev.observer.host = Some(h);
    }
    ev.category = Category::Other;
    Ok(())
}

/// Sets the event time from the first of `keys` that reads as a time.
pub fn set_time(p: &Parser, o: &Map<String, J>, ev: &mut Event, keys: &[&str]) {
    for k in keys {
        if let Some(t) = get_text(o, k).and_then(|s| timestamp(&s, p.offset())) {
            ev.timestamp = t;
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::Format;
    use crate::testutil::*;

    fn rx() -> crate::Received<'static> {
        crate::testutil::rx()
    }

    #[test]
    fn flattens_nested_objects_and_arrays() {
        let ev = parse(
            Format::Json,
            r#"{"@timestamp":"2026-11-24T10:00:00+07:00","a":{"b":1,"c":[1,2]},"d":[{"e":"x"}],"src_ip":"::ffff:10.2.3.4"}"#,
        );
        assert_eq!(ev.fields.get("a.b").and_then(|v| v.as_i64()), Some(1));
        assert_eq!(s(&ev, "d.0.e"), "x");
        assert_eq!(s(&ev, "source.ip"), "10.2.3.4");
        assert_eq!(ev.timestamp.utc.to_rfc3339(), "2026-11-24T03:00:00+00:00");
        assert!(matches!(ev.fields.get("a.c"), Some(tocsin_model::Value::List(l)) if l.len() == 2));
    }

    /// Issue 11: a record cannot become unbounded fields: each limit cuts
    /// what is past it, counted and named on the event.
    #[test]
    fn limits_bound_what_a_record_becomes() {
        let p = crate::ParserConfig {
            limits: crate::ParseLimits {
                max_fields: 5,
                max_field_name: 12,
                max_flat_bytes: 64,
                max_depth: 3,
            },
            ..Default::default()
        }
        .build();
        let many: Vec<String> = (0..50).map(|i| format!("\"k{i}\":{i}")).collect();
        let ev = p.parse(
            Format::Json,
            format!("{{{}}}", many.join(",")).as_bytes(),
            &rx(),
        );
        assert_eq!(
            ev.fields.iter().filter(|(k, _)| k.starts_with('k')).count(),
            5
        );
        assert_eq!(s(&ev, "tocsin.limits"), "fields");
        let ev = p.parse(Format::Json, br#"{"a":{"b":{"c":{"d":1}}},"x":2}"#, &rx());
        assert!(ev.fields.get("a.b.c.d").is_none());
        assert_eq!(ev.fields.get("x").and_then(|v| v.as_i64()), Some(2));
        assert_eq!(s(&ev, "tocsin.limits"), "depth");
        let ev = p.parse(Format::Json, br#"{"a_very_long_field_name":1,"big":"0123456789012345678901234567890123456789012345678901234567890123456789"}"#, &rx());
        assert_eq!(s(&ev, "tocsin.limits"), "field_name flat_bytes");
        let h = p.limit_hits();
        assert_eq!(
            (h.fields, h.depth, h.field_name, h.flat_bytes),
            (1, 1, 1, 1)
        );
    }

    #[test]
    fn non_object_json_is_an_error() {
        let ev = parse(Format::Json, "[1,2]");
        assert_eq!(
            ev.parse_error.as_deref(),
            Some("JSON value is not an object")
        );
    }
}
