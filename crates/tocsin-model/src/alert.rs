//! Findings and alerts: what detection reports, and what analysts work on.
//!
//! A detector (a Sigma rule, a correlation, a sensor's own alert) reports a
//! [`Finding`] about an event; the detection stage turns it, with the event
//! and how it arrived, into a [`NewAlert`]; the store keeps it as an
//! [`Alert`] with a number and a [`AlertStatus`].

use std::fmt;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{AgencyCode, AssetCode, AttackClass, Level, named_enum};

/// An alert's number in the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AlertId(pub i64);

impl fmt::Display for AlertId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

named_enum!(
    /// What produced an alert.
    AlertKind {
        /// A Sigma rule matched one event.
        Rule => "rule",
        /// A Sigma correlation fired over several events.
        Correlation => "correlation",
        /// A sensor's own alert (Suricata, a firewall's IPS).
        Sensor => "sensor",
        /// An event's address, name, URL or hash is a threat-intelligence
        /// indicator.
        Intel => "intel",
    }
);

named_enum!(
    /// Where an analyst is with an alert.
    AlertStatus {
        /// Not looked at yet.
        New => "new",
        /// Someone is on it.
        Acknowledged => "acknowledged",
        /// Done with (handled, or a false positive).
        Closed => "closed",
    }
);

/// What a detector reports: which detection fired, how severe it is, and
/// anything the event alone does not say.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    /// The detection's stable key (a rule's id, else its title; a sensor
    /// signature's `sensor:<id>`).
    pub rule_id: String,
    /// The detection's title.
    pub title: String,
    /// How severe.
    pub level: Level,
    /// What produced it.
    pub kind: AlertKind,
    /// What kind of attack it is evidence of.
    pub class: AttackClass,
    /// ATT&CK techniques and other tags.
    pub tags: Vec<String>,
    /// What the repeats of this detection are folded by, besides the
    /// rule, agency and source address: `None` folds by those alone; a
    /// detector that knows its entity better (a website) names it.
    pub entity: Option<String>,
    /// A summary to use instead of the one drawn from the event (a
    /// correlation's count and group).
    pub summary: Option<String>,
    /// The indicator matched, for threat-intelligence findings.
    pub intel: Option<Box<crate::IntelHit>>,
    /// A repeat the detector folds: recorded (an intelligence sighting is
    /// counted) but raises no new alert.
    pub repeat: bool,
}

/// An alert to store: a finding with its evidence and where it came from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewAlert {
    /// When the evidence happened.
    pub event_time: DateTime<Utc>,
    /// When Tocsin received the evidence.
    pub received_at: DateTime<Utc>,
    /// The detection's key.
    pub rule_id: String,
    /// The detection's title.
    pub rule_title: String,
    /// How severe.
    pub level: Level,
    /// What produced it.
    pub kind: AlertKind,
    /// What kind of attack it is evidence of.
    #[serde(default)]
    pub class: AttackClass,
    /// The ATT&CK technique (`T1110.001`), when the detection names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub technique: Option<String>,
    /// The entity repeats are folded by (see [`Finding::entity`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity: Option<String>,
    /// The agency the evidence is attributed to.
    pub agency: Option<AgencyCode>,
    /// The asset.
    pub asset: Option<AssetCode>,
    /// The source address of the evidence.
    pub source_ip: Option<IpAddr>,
    /// The host that reported it.
    pub host: Option<String>,
    /// The input it came through.
    pub input: String,
    /// The queue position of the evidence event (with `rule_id`, unique).
    pub stream_seq: u64,
    /// Where the raw record is archived (`file#seq=N`), when archiving.
    pub archive: Option<String>,
    /// One line for lists.
    pub summary: String,
    /// ATT&CK and other tags.
    pub tags: Vec<String>,
    /// The evidence: the normalized event as JSON.
    pub event: String,
    /// The indicator matched, for threat-intelligence alerts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intel: Option<crate::IntelHit>,
}

/// A stored alert.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Alert {
    /// Its number.
    pub id: AlertId,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
    /// Where an analyst is with it.
    pub status: AlertStatus,
    /// The queue stream its evidence came from.
    pub stream: String,
    /// How many times the detection fired on the same entity while the
    /// alert was open (1: once); repeats fold into the first alert.
    pub repeats: i64,
    /// When the latest repeat happened (the event's time).
    pub last_seen: DateTime<Utc>,
    /// What was stored.
    #[serde(flatten)]
    pub body: NewAlert,
}

/// Events seen in one hour through one input for one agency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EventCount {
    /// The hour (its first instant, UTC).
    pub hour: DateTime<Utc>,
    /// Input name.
    pub input: String,
    /// The agency, when attributed.
    pub agency: Option<AgencyCode>,
    /// Events.
    pub events: i64,
    /// Of which records that did not parse.
    pub errors: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip() {
        for k in AlertKind::ALL {
            assert_eq!(k.as_str().parse::<AlertKind>(), Ok(*k));
        }
        for s in AlertStatus::ALL {
            assert_eq!(s.as_str().parse::<AlertStatus>(), Ok(*s));
            let j = serde_json::to_string(s).unwrap();
            assert_eq!(j, format!("\"{}\"", s.as_str()));
        }
        assert!("open".parse::<AlertStatus>().is_err());
    }
}
