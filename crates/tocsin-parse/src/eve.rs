//! Suricata EVE JSON: alert, http, dns, tls, flow, fileinfo (and any other
//! event type, flattened). Every original key is kept under `suricata.eve.`
//! beside the ECS names.

use serde_json::{Map, Value as J};
use tocsin_model::{Category, Event, EventKind};

use crate::json::{get_text, set_time};
use crate::text::{set_ip, set_num};
use crate::{PResult, Parser};

pub fn looks_like(o: &Map<String, J>) -> bool {
    o.contains_key("event_type") && (o.contains_key("src_ip") || o.contains_key("flow_id"))
}

pub fn parse(p: &Parser, o: &Map<String, J>, ev: &mut Event) -> PResult<()> {
    let etype = get_text(o, "event_type").ok_or("suricata: no `event_type`")?;
    crate::json::flatten(p, o, "suricata.eve.", ev);
    set_time(p, o, ev, &["timestamp"]);
    ev.fields.insert("event.module", "suricata");
    ev.fields
        .insert("event.dataset", format!("suricata.{etype}"));
    ev.fields.insert("event.type", etype.as_str());
    for (from, to) in [("src_ip", "source.ip"), ("dest_ip", "destination.ip")] {
        if let Some(v) = get_text(o, from) {
            set_ip(ev, to, &v);
        }
    }
    for (from, to) in [
        ("src_port", "source.port"),
        ("dest_port", "destination.port"),
        ("flow_id", "suricata.flow_id"),
    ] {
        if let Some(v) = get_text(o, from) {
            set_num(ev, to, &v);
        }
    }
    if let Some(proto) = get_text(o, "proto") {
        ev.fields
            .insert("network.transport", proto.to_ascii_lowercase());
    }
    if let Some(h) = get_text(o, "host") {
        ev.observer.host = Some(h.clone());
        ev.fields.insert("observer.hostname", h);
    }
    ev.category = Category::Network;
    match etype.as_str() {
        "alert" => {
            ev.kind = EventKind::Alert;
            ev.category = Category::IntrusionDetection;
            for (from, to) in [
                ("alert.signature", "rule.name"),
                ("alert.category", "rule.category"),
                ("alert.action", "event.action"),
            ] {
                if let Some(v) = get_text(o, from) {
                    ev.fields.insert(to, v);
                }
            }
            for (from, to) in [
                ("alert.signature_id", "rule.id"),
                ("alert.severity", "event.severity"),
            ] {
                if let Some(v) = get_text(o, from) {
                    set_num(ev, to, &v);
                }
            }
            http(o, ev);
        }
        "http" => {
            ev.category = Category::Web;
            http(o, ev);
        }
        "dns" => {
            // EVE v1 (`dns.rrname`) and v2/v3 (`dns.queries[0].rrname`).
            let name = get_text(o, "dns.rrname").or_else(|| first_in(o, "dns.queries", "rrname"));
            if let Some(n) = name {
                ev.fields.insert("dns.question.name", n);
            }
            let ty = get_text(o, "dns.rrtype").or_else(|| first_in(o, "dns.queries", "rrtype"));
            if let Some(t) = ty {
                ev.fields.insert("dns.question.type", t);
            }
            if let Some(t) = get_text(o, "dns.type") {
                ev.fields.insert("dns.type", t);
            }
            if let Some(r) = get_text(o, "dns.rcode") {
                ev.fields.insert("dns.response_code", r);
            }
        }
        "tls" => {
            for (from, to) in [
                ("tls.sni", "tls.client.server_name"),
                ("tls.subject", "tls.server.subject"),
                ("tls.issuerdn", "tls.server.issuer"),
                ("tls.version", "tls.version"),
                ("tls.ja3.hash", "tls.client.ja3"),
            ] {
                if let Some(v) = get_text(o, from) {
                    ev.fields.insert(to, v);
                }
            }
        }
        "flow" => {
            for (from, to) in [
                ("flow.bytes_toserver", "source.bytes"),
                ("flow.bytes_toclient", "destination.bytes"),
                ("flow.pkts_toserver", "source.packets"),
                ("flow.pkts_toclient", "destination.packets"),
            ] {
                if let Some(v) = get_text(o, from) {
                    set_num(ev, to, &v);
                }
            }
            if let Some(s) = get_text(o, "flow.state") {
                ev.fields.insert("network.state", s);
            }
        }
        "fileinfo" => {
            ev.category = Category::File;
            for (from, to) in [
                ("fileinfo.filename", "file.name"),
                ("fileinfo.magic", "file.type"),
                ("fileinfo.sha256", "file.hash.sha256"),
                ("fileinfo.md5", "file.hash.md5"),
            ] {
                if let Some(v) = get_text(o, from) {
                    ev.fields.insert(to, v);
                }
            }
            if let Some(v) = get_text(o, "fileinfo.size") {
                set_num(ev, "file.size", &v);
            }
            http(o, ev);
        }
        _ => {}
    }
    Ok(())
}

fn http(o: &Map<String, J>, ev: &mut Event) {
    for (from, to) in [
        ("http.hostname", "url.domain"),
        ("http.url", "url.original"),
        ("http.http_method", "http.request.method"),
        ("http.http_user_agent", "user_agent.original"),
        ("http.http_refer", "http.request.referrer"),
    ] {
        if let Some(v) = get_text(o, from) {
            ev.fields.insert(to, v);
        }
    }
    if let Some(u) = get_text(o, "http.url") {
        ev.fields
            .insert("url.decoded", crate::percent_decode(&u, true).into_owned());
    }
    if let Some(v) = get_text(o, "http.status") {
        set_num(ev, "http.response.status_code", &v);
    }
}

fn first_in(o: &Map<String, J>, array: &str, key: &str) -> Option<String> {
    match crate::json::get(o, array)? {
        J::Array(a) => a.first().and_then(|x| match x.get(key)? {
            J::String(s) => Some(s.clone()),
            _ => None,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::Format;
    use crate::testutil::*;
    use tocsin_model::{Category, EventKind};

    #[test]
    fn alert_record() {
        let ev = parse(
            Format::SuricataEve,
            r#"{"timestamp":"2026-11-24T10:00:00.123456+0700","flow_id":1234,"in_iface":"eth0","event_type":"alert","src_ip":"10.36.12.7","src_port":49152,"dest_ip":"185.220.101.4","dest_port":443,"proto":"TCP","alert":{"action":"allowed","gid":1,"signature_id":2013028,"rev":7,"signature":"ET POLICY curl User-Agent Outbound","category":"Attempted Information Leak","severity":2},"http":{"hostname":"evil.example","url":"/gate.php?id=%41","http_user_agent":"curl/8","http_method":"POST","status":200}}"#,
        );
        assert_eq!(ev.kind, EventKind::Alert, "{:?}", ev.parse_error);
        assert_eq!(ev.category, Category::IntrusionDetection);
        assert_eq!(s(&ev, "rule.name"), "ET POLICY curl User-Agent Outbound");
        assert_eq!(
            ev.fields.get("rule.id").and_then(|v| v.as_i64()),
            Some(2013028)
        );
        assert_eq!(s(&ev, "source.ip"), "10.36.12.7");
        assert_eq!(s(&ev, "destination.ip"), "185.220.101.4");
        assert_eq!(s(&ev, "network.transport"), "tcp");
        assert_eq!(s(&ev, "url.domain"), "evil.example");
        assert_eq!(s(&ev, "url.decoded"), "/gate.php?id=A");
        assert_eq!(
            s(&ev, "suricata.eve.alert.category"),
            "Attempted Information Leak"
        );
        assert_eq!(
            ev.timestamp.utc.to_rfc3339(),
            "2026-11-24T03:00:00.123456+00:00"
        );
    }

    #[test]
    fn dns_tls_flow_fileinfo() {
        let ev = parse(
            Format::SuricataEve,
            r#"{"timestamp":"2026-11-24T10:00:00+0700","event_type":"dns","src_ip":"10.1.1.1","dest_ip":"8.8.8.8","dns":{"type":"query","queries":[{"rrname":"c2.example","rrtype":"A"}]}}"#,
        );
        assert_eq!(s(&ev, "dns.question.name"), "c2.example");
        assert_eq!(s(&ev, "dns.question.type"), "A");
        let ev = parse(
            Format::SuricataEve,
            r#"{"timestamp":"2026-11-24T10:00:00+0700","event_type":"tls","src_ip":"10.1.1.1","dest_ip":"1.1.1.1","tls":{"sni":"portal.ngocson.gov.vn","version":"TLS 1.3"}}"#,
        );
        assert_eq!(s(&ev, "tls.client.server_name"), "portal.ngocson.gov.vn");
        let ev = parse(
            Format::SuricataEve,
            r#"{"timestamp":"2026-11-24T10:00:00+0700","event_type":"flow","src_ip":"10.1.1.1","dest_ip":"1.1.1.1","flow":{"bytes_toserver":100,"bytes_toclient":2000,"state":"closed"}}"#,
        );
        assert_eq!(
            ev.fields.get("destination.bytes").and_then(|v| v.as_i64()),
            Some(2000)
        );
        let ev = parse(
            Format::SuricataEve,
            r#"{"timestamp":"2026-11-24T10:00:00+0700","event_type":"fileinfo","src_ip":"1.1.1.1","dest_ip":"10.1.1.1","fileinfo":{"filename":"/a.exe","sha256":"ab","size":10}}"#,
        );
        assert_eq!(ev.category, Category::File);
        assert_eq!(s(&ev, "file.name"), "/a.exe");
        let ev = parse(Format::SuricataEve, r#"{"src_ip":"1.1.1.1"}"#);
        assert_eq!(ev.parse_error.as_deref(), Some("suricata: no `event_type`"));
    }
}
