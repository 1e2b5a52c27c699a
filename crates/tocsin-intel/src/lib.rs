//! Tocsin's threat intelligence, in the detection layer (synchronous: no
//! tokio, no SQL). Feeds become one compact [`IndicatorSet`]; every event's
//! observables are looked up in it on the pipeline's workers; a match is a
//! finding of kind `intel` naming the indicator, its source and family and
//! the agency's device — which the store turns into sightings and
//! infected-device records.
//!
//! ```text
//! feed bytes ─► feeds::parse (Feodo, URLhaus, ThreatFox, plain, MISP, STIX)
//!            ─► Indicators + Problems (line, field, reason)
//! all feeds  ─► SetBuilder::add per source ─► IndicatorSet ─► IntelHandle::swap
//! event      ─► observables (addresses+ports, DNS names, HTTP hosts, URLs,
//!               SNI, hashes) ─► IndicatorSet::lookup_* ─► Finding{intel}
//!            ─► IntelDetector::follow folds repeats (device, indicator)
//! ```
//!
//! [`export`] turns what the province saw into a STIX 2.1 bundle or a MISP
//! event for sharing.
//!
//! The national center's list of the province's botnet addresses is read
//! by [`feeds::parse_national`] into sightings directly: it names the
//! agencies' own addresses, not indicators to watch for.
//!
//! ```
//! use tocsin_intel::{feeds, SetBuilder, Source};
//!
//! let feed = b"\"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n\
//!              \"2024-03-26 23:30:07\",\"213.199.41.33\",\"13721\",\"online\",\"2024-04-04\",\"Pikabot\"\n";
//! let parsed = feeds::parse(feeds::FeedFormat::FeodoCsv, feed, &Default::default()).unwrap();
//! let mut b = SetBuilder::new();
//! b.add(Source { name: "feodo".into(), allow: false }, &parsed.indicators);
//! let set = b.build();
//! let mut out = Vec::new();
//! set.lookup_ip("213.199.41.33".parse().unwrap(), Some(13721), 0, &mut out);
//! assert_eq!(out[0].family(), Some("Pikabot"));
//! ```

mod detector;
pub mod export;
pub mod feeds;
mod indicator;
mod observe;
mod set;

pub use detector::{IntelConfig, IntelDetector, IntelHandle, findings_of};
pub use indicator::{
    Indicator, guess_kind, normalize, normalize_domain, normalize_url, parse_ip_port,
};
pub use observe::{Direction, Observable, Wanted, device_of, observables, observables_of};
pub use set::{IndicatorSet, Match, Matches, SetBuilder, Source};
