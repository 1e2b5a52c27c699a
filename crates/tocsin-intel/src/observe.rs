//! The observables of an event: the fields whose values are looked up,
//! and which side of the contact the agency's device is on.

use std::net::IpAddr;

use tocsin_model::{Device, Event, Value};

use crate::indicator::{normalize_domain, normalize_url};

/// Address fields, each with its port field and whether a match on it
/// means the agency's side reached out (the device is the other end).
pub(crate) const ADDRESSES: &[(&str, &str, Direction)] = &[
    ("destination.ip", "destination.port", Direction::Outbound),
    ("source.ip", "source.port", Direction::Inbound),
    ("server.ip", "server.port", Direction::Outbound),
    ("client.ip", "client.port", Direction::Inbound),
];

/// Names the agency's device asked for (DNS, HTTP Host, TLS SNI).
pub(crate) const DOMAINS: &[&str] = &[
    "dns.question.name",
    "dns.rrname",
    "http.hostname",
    "url.domain",
    "tls.client.server_name",
    "tls.sni",
    "destination.domain",
];

/// Hash fields: ECS's, and Sysmon's `Hashes` list (`SHA256=…,MD5=…`).
pub(crate) const HASHES: &[&str] = &[
    "file.hash.md5",
    "file.hash.sha1",
    "file.hash.sha256",
    "process.hash.md5",
    "process.hash.sha1",
    "process.hash.sha256",
    "hash.md5",
    "hash.sha1",
    "hash.sha256",
    "Hashes",
    "Hash",
    "sha256",
    "md5",
];

/// Which way a contact went, seen from the agency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// The agency's device reached the indicator: an infection sign.
    Outbound,
    /// The indicator reached the agency (a scan, an attack).
    Inbound,
}

/// One value to look up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observable {
    /// An address, with its port when the event gives one.
    Ip(IpAddr, Option<u16>),
    /// A domain, normalised.
    Domain(String),
    /// A URL, normalised.
    Url(String),
    /// A file hash, lowercase hex.
    Hash(String),
}

/// Which kinds of observable are worth extracting: those the set in
/// force holds (a Feodo-only set never pays for normalising URLs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Wanted {
    /// Addresses (and address:port, networks).
    pub ip: bool,
    /// Domains (DNS names, HTTP hosts, SNI).
    pub domain: bool,
    /// URLs.
    pub url: bool,
    /// File hashes.
    pub hash: bool,
}

impl Wanted {
    /// Every kind.
    pub const ALL: Wanted = Wanted {
        ip: true,
        domain: true,
        url: true,
        hash: true,
    };
}

/// Where each interesting field sits in the event, found in one pass over
/// its fields (a lookup per name would cost a binary search each, and
/// events are matched by the hundred thousand a second).
#[derive(Default)]
struct Slots<'e> {
    ips: [Option<&'e str>; 4],
    ports: [Option<&'e Value>; 4],
    domains: [Option<&'e str>; 7],
    urls: [Option<&'e str>; 3],
    scheme: Option<&'e str>,
    hashes: [Option<&'e str>; 13],
}

impl<'e> Slots<'e> {
    fn of(ev: &'e Event, want: Wanted) -> Self {
        let mut s = Slots::default();
        for (name, v) in ev.fields.iter() {
            // The first byte rules out most fields at once.
            if !matches!(
                name.as_bytes().first(),
                Some(b'd' | b's' | b'c' | b'h' | b'u' | b't' | b'f' | b'p' | b'm' | b'H')
            ) {
                continue;
            }
            if want.ip {
                if let Some(i) = ADDRESSES.iter().position(|a| a.0 == name) {
                    s.ips[i] = v.as_str();
                    continue;
                }
                if let Some(i) = ADDRESSES.iter().position(|a| a.1 == name) {
                    s.ports[i] = Some(v);
                    continue;
                }
            }
            if (want.domain || want.url)
                && let Some(i) = DOMAINS.iter().position(|d| *d == name)
            {
                s.domains[i] = v.as_str();
                continue;
            }
            if want.url {
                if let Some(i) = URLS.iter().position(|u| *u == name) {
                    s.urls[i] = v.as_str();
                    continue;
                }
                if name == "url.scheme" {
                    s.scheme = v.as_str();
                    continue;
                }
            }
            if want.hash
                && let Some(i) = HASHES.iter().position(|h| *h == name)
            {
                s.hashes[i] = v.as_str();
            }
        }
        s
    }
}

/// Fields holding a URL a client fetched, best first.
const URLS: &[&str] = &["url.full", "url.original", "http.url"];

/// The observables of `ev`, each with its field and direction, into `out`
/// (cleared first). At most `max` of them: a hostile record with a
/// thousand addresses costs a bounded lookup.
pub fn observables(ev: &Event, max: usize, out: &mut Vec<(&'static str, Observable, Direction)>) {
    observables_of(ev, Wanted::ALL, max, out);
}

/// [`observables`], extracting only the kinds `want` names.
pub fn observables_of(
    ev: &Event,
    want: Wanted,
    max: usize,
    out: &mut Vec<(&'static str, Observable, Direction)>,
) {
    out.clear();
    let s = Slots::of(ev, want);
    for (k, &(field, _, dir)) in ADDRESSES.iter().enumerate() {
        if let Some(ip) = s.ips[k].and_then(|v| v.trim().parse::<IpAddr>().ok()) {
            let port = s.ports[k]
                .and_then(Value::as_i64)
                .and_then(|p| u16::try_from(p).ok());
            out.push((field, Observable::Ip(ip, port), dir));
        }
    }
    if want.domain {
        for (k, &field) in DOMAINS.iter().enumerate() {
            if let Some(d) = s.domains[k].and_then(normalize_domain)
                && !out
                    .iter()
                    .any(|(_, o, _)| matches!(o, Observable::Domain(x) if *x == d))
            {
                out.push((field, Observable::Domain(d), Direction::Outbound));
            }
        }
    }
    if want.url
        && let Some(url) = url_of(&s)
    {
        out.push(("url.full", Observable::Url(url), Direction::Outbound));
    }
    for (k, &field) in HASHES.iter().enumerate() {
        let Some(v) = s.hashes[k] else { continue };
        for part in v.split([',', ';', ' ']) {
            let hex = part.rsplit_once('=').map_or(part, |(_, h)| h).trim();
            if matches!(hex.len(), 32 | 40 | 64) && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                out.push((
                    field,
                    Observable::Hash(hex.to_ascii_lowercase()),
                    Direction::Outbound,
                ));
            }
        }
    }
    out.truncate(max);
}

/// The URL a client fetched: a full URL as logged (proxies), or the host
/// and path of an HTTP request as a sensor saw it.
fn url_of(s: &Slots<'_>) -> Option<String> {
    // DOMAINS[2] is http.hostname, DOMAINS[3] url.domain.
    let host = s.domains[2].or(s.domains[3]);
    for u in s.urls.iter().flatten() {
        if u.contains("://") {
            return normalize_url(u);
        }
        if u.starts_with('/')
            && let Some(host) = host
        {
            let scheme = if s.scheme == Some("https") {
                "https"
            } else {
                "http"
            };
            return normalize_url(&format!("{scheme}://{host}{u}"));
        }
    }
    None
}

/// The agency's device in a contact: the other end of an address match,
/// else the client (or the host that logged it).
pub fn device_of(ev: &Event, matched_field: &str) -> Option<Device> {
    let ip_of = |f: &str| {
        ev.fields
            .get_str(f)
            .and_then(|s| s.trim().parse::<IpAddr>().ok())
    };
    let (ip, mac) = match matched_field {
        "destination.ip" | "server.ip" => (
            ip_of("source.ip").or_else(|| ip_of("client.ip")),
            ev.fields.get_str("source.mac"),
        ),
        "source.ip" | "client.ip" => (
            ip_of("destination.ip").or_else(|| ip_of("server.ip")),
            ev.fields.get_str("destination.mac"),
        ),
        _ => (
            ip_of("source.ip")
                .or_else(|| ip_of("client.ip"))
                .or_else(|| ip_of("host.ip")),
            ev.fields.get_str("source.mac"),
        ),
    };
    // A host name only when the event is about the host itself (a log on
    // the device), not the sensor that saw the traffic.
    let hostname =
        if ev.kind == tocsin_model::EventKind::Alert || ev.fields.get("destination.ip").is_some() {
            ev.fields.get_str("source.hostname")
        } else {
            ev.fields.get_str("host.name")
        };
    Device::new(ip, hostname, mac)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tocsin_model::{Observer, Timestamp};

    fn event(fields: &[(&'static str, &str)]) -> Event {
        let mut ev = Event::new(
            Timestamp::received(chrono::Utc::now()),
            Observer::default(),
            "x",
        );
        for (k, v) in fields {
            ev.fields.insert(*k, *v);
        }
        ev
    }

    #[test]
    fn a_flow_a_dns_query_a_proxy_line_and_a_sysmon_hash() {
        let mut out = Vec::new();
        let ev = event(&[
            ("source.ip", "10.36.12.7"),
            ("destination.ip", "192.0.2.7"),
            ("destination.port", "443"),
            ("dns.question.name", "C2.Evil.Example."),
            ("http.hostname", "dl.example"),
            ("url.original", "/x.exe"),
            (
                "Hashes",
                "SHA1=DA39A3EE5E6B4B0D3255BFEF95601890AFD80709,MD5=D41D8CD98F00B204E9800998ECF8427E,IMPHASH=00",
            ),
        ]);
        observables(&ev, 64, &mut out);
        let obs: Vec<_> = out.iter().map(|(f, o, _)| (*f, o.clone())).collect();
        assert!(obs.contains(&(
            "destination.ip",
            Observable::Ip("192.0.2.7".parse().unwrap(), Some(443))
        )));
        assert!(obs.contains(&(
            "dns.question.name",
            Observable::Domain("c2.evil.example".into())
        )));
        assert!(obs.contains(&(
            "url.full",
            Observable::Url("http://dl.example/x.exe".into())
        )));
        assert!(obs.contains(&(
            "Hashes",
            Observable::Hash("da39a3ee5e6b4b0d3255bfef95601890afd80709".into())
        )));
        assert!(obs.contains(&(
            "Hashes",
            Observable::Hash("d41d8cd98f00b204e9800998ecf8427e".into())
        )));
        let d = device_of(&ev, "destination.ip").unwrap();
        assert_eq!(d.key, "ip:10.36.12.7");
        observables(&ev, 2, &mut out);
        assert_eq!(out.len(), 2, "bounded");
    }

    #[test]
    fn hostile_values_are_not_observables() {
        let mut out = Vec::new();
        let ev = event(&[
            ("destination.ip", "192.0.2.7\u{0}"),
            ("dns.question.name", "Sở Tài chính"),
            ("url.original", "http://"),
            ("Hashes", "SHA256=zz"),
        ]);
        observables(&ev, 64, &mut out);
        assert!(out.is_empty(), "{out:?}");
    }
}
