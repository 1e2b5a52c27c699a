//! One value per line: addresses, networks, domains, URLs or hashes,
//! mixed; `#` and `;` start comments (Spamhaus DROP writes
//! `192.0.2.0/24 ; SBL123`).

use super::abusech::short;
use super::{FeedDefaults, Parsed, lines};
use crate::indicator::{Indicator, guess_kind};

pub(super) fn parse(bytes: &[u8], d: &FeedDefaults) -> Parsed {
    let mut p = Parsed::default();
    for (n, line) in lines(bytes, &mut p) {
        let value = line
            .split(['#', ';'])
            .next()
            .unwrap_or("")
            .split_whitespace()
            .next()
            .unwrap_or("");
        if value.is_empty() {
            continue;
        }
        let Some(kind) = guess_kind(value) else {
            p.problem(
                n,
                None,
                format!(
                    "not an address, network, domain, URL or hash: {:?}",
                    short(value)
                ),
            );
            continue;
        };
        match Indicator::new(kind, value, d.threat) {
            Some(mut i) => {
                i.family = d.family.clone();
                i.confidence = d.confidence;
                p.indicators.push(i);
            }
            None => p.problem(n, None, format!("not a valid {kind}: {:?}", short(value))),
        }
    }
    p
}
