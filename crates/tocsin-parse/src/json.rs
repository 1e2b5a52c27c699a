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
/// (`{"a":{"b":1}}` → `a.b = 1`). Arrays of scalars become lists.
pub fn flatten(o: &Map<String, J>, ev: &mut Event) {
    let mut key = String::new();
    for (k, v) in o {
        key.clear();
        key.push_str(k);
        flatten_value(&mut key, v, ev);
    }
}

fn flatten_value(key: &mut String, v: &J, ev: &mut Event) {
    match v {
        J::Object(o) => {
            let len = key.len();
            for (k, v) in o {
                key.truncate(len);
                key.push('.');
                key.push_str(k);
                flatten_value(key, v, ev);
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
                flatten_value(key, x, ev);
            }
            key.truncate(len);
        }
        other => {
            if let Some(val) = scalar(other) {
                ev.fields.insert(key.clone(), val);
            }
        }
    }
}

fn scalar(v: &J) -> Option<Value> {
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
    flatten(o, ev);
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

    #[test]
    fn non_object_json_is_an_error() {
        let ev = parse(Format::Json, "[1,2]");
        assert_eq!(
            ev.parse_error.as_deref(),
            Some("JSON value is not an object")
        );
    }
}
