//! One indicator as a feed gives it, and the normal forms both sides of a
//! match are put in (so `HTTP://Evil.COM:80/a#x` in a feed matches
//! `http://evil.com/a` in a log).

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use tocsin_model::{IndicatorKind, Threat};

/// An indicator read from a feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Indicator {
    /// What kind of value it is.
    pub kind: IndicatorKind,
    /// The value in its normal form (see [`normalize`]).
    pub value: String,
    /// What it points at.
    pub threat: Threat,
    /// The malware or botnet family.
    pub family: Option<String>,
    /// Confidence, 0–100.
    pub confidence: u8,
    /// When the feed first saw it.
    pub first_seen: Option<DateTime<Utc>>,
    /// When the feed last saw it.
    pub last_seen: Option<DateTime<Utc>>,
    /// After this it no longer matches.
    pub expires: Option<DateTime<Utc>>,
}

impl Indicator {
    /// An indicator of `kind` with `value` normalised; `None` when the
    /// value is not one of that kind.
    pub fn new(kind: IndicatorKind, value: &str, threat: Threat) -> Option<Indicator> {
        Some(Indicator {
            kind,
            value: normalize(kind, value)?,
            threat,
            family: None,
            confidence: 75,
            first_seen: None,
            last_seen: None,
            expires: None,
        })
    }

    /// With a family (blank and `None`/`null` are no family).
    pub fn family(mut self, family: Option<&str>) -> Self {
        self.family = family
            .map(str::trim)
            .filter(|f| !f.is_empty() && !f.eq_ignore_ascii_case("none") && *f != "null")
            .map(|f| f.chars().take(100).collect());
        self
    }
}

/// The kind a bare value is, guessed from its shape (plain lists mix
/// them): an address, a network, address:port, a URL, a hash, else a
/// domain. `None` for what is none of them.
pub fn guess_kind(value: &str) -> Option<IndicatorKind> {
    let v = value.trim();
    if v.parse::<IpAddr>().is_ok() {
        return Some(IndicatorKind::Ip);
    }
    if v.contains('/') && !v.contains("://") && v.parse::<tocsin_model::Cidr>().is_ok() {
        return Some(IndicatorKind::Cidr);
    }
    if v.contains("://") {
        return Some(IndicatorKind::Url);
    }
    if parse_ip_port(v).is_some() {
        return Some(IndicatorKind::IpPort);
    }
    if v.bytes().all(|b| b.is_ascii_hexdigit()) {
        return match v.len() {
            32 => Some(IndicatorKind::Md5),
            40 => Some(IndicatorKind::Sha1),
            64 => Some(IndicatorKind::Sha256),
            _ => None,
        };
    }
    normalize_domain(v).map(|_| IndicatorKind::Domain)
}

/// The longest indicator value kept (a URL of megabytes is no indicator,
/// and the set stores lengths in 16 bits).
pub const MAX_VALUE: usize = 4096;

/// `value` in the normal form of `kind`, or `None` when it is not one.
/// An IPv4 address written as IPv6 (`::ffff:1.2.3.4`) is the IPv4 address.
pub fn normalize(kind: IndicatorKind, value: &str) -> Option<String> {
    let v = value.trim();
    if v.len() > MAX_VALUE {
        return None;
    }
    match kind {
        IndicatorKind::Ip => v
            .parse::<IpAddr>()
            .ok()
            .map(|ip| ip.to_canonical().to_string()),
        IndicatorKind::Cidr => {
            let c = v.parse::<tocsin_model::Cidr>().ok()?;
            // A mapped IPv6 network is the IPv4 network.
            if let IpAddr::V6(a) = c.addr()
                && let Some(v4) = a.to_ipv4_mapped()
                && c.prefix_len() >= 96
            {
                return tocsin_model::Cidr::new(IpAddr::V4(v4), c.prefix_len() - 96)
                    .ok()
                    .map(|c| c.to_string());
            }
            Some(c.to_string())
        }
        IndicatorKind::IpPort => parse_ip_port(v).map(|(ip, port)| match ip.to_canonical() {
            IpAddr::V4(a) => format!("{a}:{port}"),
            IpAddr::V6(a) => format!("[{a}]:{port}"),
        }),
        IndicatorKind::Domain => normalize_domain(v),
        IndicatorKind::Url => normalize_url(v),
        IndicatorKind::Md5 => hex_of_len(v, 32),
        IndicatorKind::Sha1 => hex_of_len(v, 40),
        IndicatorKind::Sha256 => hex_of_len(v, 64),
    }
}

fn hex_of_len(v: &str, n: usize) -> Option<String> {
    (v.len() == n && v.bytes().all(|b| b.is_ascii_hexdigit())).then(|| v.to_ascii_lowercase())
}

/// `1.2.3.4:80` or `[2001:db8::1]:443`.
pub fn parse_ip_port(v: &str) -> Option<(IpAddr, u16)> {
    let (host, port) = v.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    Some((host.parse().ok()?, port))
}

/// A domain lowercased, without a trailing dot or a `*.` in front; at
/// least one dot, labels of letters, digits, `-` and `_` (and any
/// non-ASCII letter: internationalised names are kept as written).
pub fn normalize_domain(v: &str) -> Option<String> {
    let v = v.trim().trim_end_matches('.');
    let v = v.strip_prefix("*.").unwrap_or(v);
    if v.is_empty() || v.len() > 253 || !v.contains('.') {
        return None;
    }
    let ok = v.split('.').all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && l.chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
    });
    if !ok || v.parse::<IpAddr>().is_ok() {
        return None;
    }
    Some(if v.is_ascii() {
        v.to_ascii_lowercase()
    } else {
        v.to_lowercase()
    })
}

/// A URL in normal form: scheme and host lowercase, the default port
/// dropped, no fragment, an empty path written `/`; the path and query
/// kept as written (servers may tell their case apart).
pub fn normalize_url(v: &str) -> Option<String> {
    let v = v.trim();
    let (scheme, rest) = v.split_once("://")?;
    if scheme.is_empty()
        || !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+')
    {
        return None;
    }
    let scheme = scheme.to_ascii_lowercase();
    let rest = rest.split('#').next().unwrap_or("");
    let cut = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(cut);
    // Credentials in a URL are not part of what it points at.
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host_port.is_empty() {
        return None;
    }
    let host_port = host_port.to_lowercase();
    let default = match scheme.as_str() {
        "http" => ":80",
        "https" => ":443",
        "ftp" => ":21",
        _ => "",
    };
    let host_port = match host_port.strip_suffix(default) {
        Some(h) if !default.is_empty() => h.to_string(),
        _ => host_port,
    };
    let path = if path.is_empty() {
        "/".to_string()
    } else if path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_string()
    };
    Some(format!("{scheme}://{host_port}{path}"))
}

/// The host part of a normalised URL (`evil.com`, `1.2.3.4:8080`).
pub fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    Some(&rest[..rest.find('/').unwrap_or(rest.len())])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_normalised_the_same_on_both_sides() {
        assert_eq!(
            normalize_url("HTTP://User:pw@Evil.COM:80/Payload.EXE?a=1#frag").as_deref(),
            Some("http://evil.com/Payload.EXE?a=1")
        );
        assert_eq!(
            normalize_url("https://evil.com:443").as_deref(),
            Some("https://evil.com/")
        );
        assert_eq!(
            normalize_url("http://1.2.3.4:8080/bin.sh").as_deref(),
            Some("http://1.2.3.4:8080/bin.sh")
        );
        assert_eq!(normalize_url("not a url"), None);
        assert_eq!(normalize_url("http://"), None);
    }

    #[test]
    fn kinds_are_guessed_from_shape() {
        use IndicatorKind::*;
        for (v, k) in [
            ("192.0.2.1", Some(Ip)),
            ("2001:db8::1", Some(Ip)),
            ("198.51.100.0/24", Some(Cidr)),
            ("192.0.2.1:8443", Some(IpPort)),
            ("[2001:db8::1]:443", Some(IpPort)),
            ("http://evil.example/x", Some(Url)),
            ("d41d8cd98f00b204e9800998ecf8427e", Some(Md5)),
            ("da39a3ee5e6b4b0d3255bfef95601890afd80709", Some(Sha1)),
            (
                "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
                Some(Sha256),
            ),
            ("Evil.Example.", Some(Domain)),
            ("bộtàichính.vn", Some(Domain)),
            ("localhost", None),
            ("a b.com", None),
            ("", None),
        ] {
            assert_eq!(guess_kind(v), k, "{v}");
        }
        assert_eq!(
            normalize(
                Sha256,
                "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"
            )
            .unwrap(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(normalize(Domain, "*.Evil.Example").unwrap(), "evil.example");
        assert_eq!(normalize(Ip, "::ffff:1.2.3.4").unwrap(), "1.2.3.4");
        assert_eq!(normalize(Cidr, "::ffff:1.2.3.0/120").unwrap(), "1.2.3.0/24");
        assert_eq!(
            normalize(IpPort, "[::ffff:1.2.3.4]:80").unwrap(),
            "1.2.3.4:80"
        );
        assert_eq!(
            normalize(Url, &format!("http://x.example/{}", "a".repeat(5000))),
            None
        );
    }

    #[test]
    fn no_family_is_no_family() {
        let i = Indicator::new(IndicatorKind::Ip, "192.0.2.1", Threat::BotnetCc).unwrap();
        assert_eq!(i.clone().family(Some("None")).family, None);
        assert_eq!(i.clone().family(Some("  ")).family, None);
        assert_eq!(i.family(Some("Pikabot")).family.as_deref(), Some("Pikabot"));
    }
}
