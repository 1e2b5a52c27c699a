//! Threat intelligence vocabulary: what an indicator is, what a match on
//! one says, and where an infected device stands.
//!
//! The indicator sets themselves (loading feeds, matching) live in
//! `tocsin-intel`; the store keeps sightings and infected devices.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::named_enum;

named_enum!(
    /// What an indicator's value is.
    IndicatorKind {
        /// One IPv4 or IPv6 address.
        Ip => "ip",
        /// A network (`198.51.100.0/24`).
        Cidr => "cidr",
        /// An address and a port (`198.51.100.7:8080`).
        IpPort => "ip_port",
        /// A domain; its subdomains match too.
        Domain => "domain",
        /// A URL, normalised (scheme and host lowercase, no default port,
        /// no fragment).
        Url => "url",
        /// An MD5 file hash.
        Md5 => "md5",
        /// A SHA-1 file hash.
        Sha1 => "sha1",
        /// A SHA-256 file hash.
        Sha256 => "sha256",
    }
);

named_enum!(
    /// What an indicator points at, which decides the class of the alert
    /// a match raises.
    Threat {
        /// A botnet's command-and-control server.
        BotnetCc => "botnet_cc",
        /// Where malware is downloaded from.
        MalwareDownload => "malware_download",
        /// A malware sample (a file hash).
        Payload => "payload",
        /// Phishing.
        Phishing => "phishing",
        /// A scanner or attacker's address.
        Attacker => "attacker",
        /// Anything else a feed lists as bad.
        Other => "other",
    }
);

impl Threat {
    /// Whether a match is about a botnet (the report's "addresses talking
    /// to botnets") rather than malware in general.
    pub fn is_botnet(self) -> bool {
        self == Threat::BotnetCc
    }
}

named_enum!(
    /// Where an infected device stands.
    DeviceStatus {
        /// Seen contacting an indicator; the agency is not told yet.
        Open => "open",
        /// The agency has been told.
        Notified => "notified",
        /// The agency reports it cleaned.
        Cleaned => "cleaned",
        /// Seen again after it was reported cleaned.
        Reinfected => "reinfected",
    }
);

/// A match of an event's observable on an indicator: what the alert and
/// the sighting records carry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntelHit {
    /// The indicator's value as the feed gave it (normalised).
    pub indicator: String,
    /// Its kind.
    pub kind: IndicatorKind,
    /// The feed it came from.
    pub source: String,
    /// What it points at.
    pub threat: Threat,
    /// The malware or botnet family, when the feed names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// The feed's confidence, 0–100.
    pub confidence: u8,
    /// The event field whose value matched (`destination.ip`).
    pub field: String,
    /// The device on the agency's side of the contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<Device>,
}

/// A device on an agency's side of a contact. Its key prefers what
/// survives DHCP: the MAC address, then the host name, then the address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// `mac:…`, `host:…` or `ip:…`.
    pub key: String,
    /// Its address in this contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
    /// Its host name, when the event names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Its MAC address, when the event carries one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
}

impl Device {
    /// The key from what is known, best first.
    pub fn new(ip: Option<IpAddr>, hostname: Option<&str>, mac: Option<&str>) -> Option<Device> {
        let mac = mac
            .map(|m| m.trim().to_ascii_lowercase().replace('-', ":"))
            .filter(|m| !m.is_empty() && m != "00:00:00:00:00:00");
        let hostname = hostname
            .map(|h| h.trim().trim_end_matches('.').to_lowercase())
            .filter(|h| !h.is_empty() && h != "-");
        let key = if let Some(m) = &mac {
            format!("mac:{m}")
        } else if let Some(h) = &hostname {
            format!("host:{h}")
        } else {
            format!("ip:{}", ip?)
        };
        Some(Device {
            key,
            ip,
            hostname,
            mac,
        })
    }
}

/// A sighting to record: one event's match, with when and for whom.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sighting {
    /// The match.
    pub hit: IntelHit,
    /// When the event happened.
    pub at: DateTime<Utc>,
    /// The agency the event is attributed to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency: Option<crate::AgencyCode>,
    /// The asset, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset: Option<crate::AssetCode>,
    /// Whether it was found by searching the archive after the indicator
    /// arrived, rather than live.
    #[serde(default)]
    pub late: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_is_known_by_what_survives_dhcp() {
        let ip: IpAddr = "10.36.12.7".parse().unwrap();
        let d = Device::new(Some(ip), Some("PC-KeToan-01."), Some("AA-BB-CC-00-11-22")).unwrap();
        assert_eq!(d.key, "mac:aa:bb:cc:00:11:22");
        let d = Device::new(Some(ip), Some("PC-KeToan-01"), None).unwrap();
        assert_eq!(d.key, "host:pc-ketoan-01");
        let d = Device::new(Some(ip), Some("-"), Some("00:00:00:00:00:00")).unwrap();
        assert_eq!(d.key, "ip:10.36.12.7");
        assert!(Device::new(None, None, None).is_none());
    }
}
