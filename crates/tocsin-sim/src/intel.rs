//! The demo's threat intelligence: a Feodo Tracker-style blocklist naming
//! the botnet controllers the simulated devices call (and others they do
//! not), an allowlist of the province's own services, and a national
//! center's list of agency addresses seen in botnets, in Vietnamese.

use std::fmt::Write as _;

use chrono::{Duration, Utc};
use tocsin_model::Inventory;

use crate::traffic::C2;

/// The family each simulated controller belongs to (same order as [`C2`]).
const FAMILIES: &[&str] = &["Dridex", "Emotet", "QakBot", "CobaltStrike"];

/// Controllers listed that no simulated device calls: a real list is
/// mostly addresses the province never sees.
const QUIET: &[(&str, &str, &str)] = &[
    ("192.9.135.73", "1194", "Pikabot"),
    ("85.239.243.155", "5000", "Pikabot"),
    ("37.60.242.85", "9785", "Pikabot"),
    ("178.18.246.136", "2078", "Pikabot"),
    ("45.155.205.233", "4782", "QuasarRAT"),
    ("103.82.243.5", "13785", "Pikabot"),
    ("154.12.248.41", "5000", "Pikabot"),
    ("91.92.241.12", "443", "AsyncRAT"),
];

/// A blocklist in Feodo Tracker's CSV form (its quoted, uncommented
/// header row included).
pub fn feodo_csv() -> String {
    let now = Utc::now();
    let mut s = String::from(
        "################################################################\n\
         # abuse.ch Feodo Tracker Botnet C2 IP Blocklist (CSV) — demo copy #\n\
         ################################################################\n\
         #\n\
         \"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n",
    );
    let day = |d: i64| (now - Duration::days(d)).format("%Y-%m-%d").to_string();
    for (i, (ip, _)) in C2.iter().enumerate() {
        let _ = writeln!(
            s,
            "\"{} 08:1{i}:00\",\"{ip}\",\"443\",\"online\",\"{}\",\"{}\"",
            day(40 + i as i64),
            day(0),
            FAMILIES.get(i).unwrap_or(&"Emotet")
        );
    }
    for (i, (ip, port, family)) in QUIET.iter().enumerate() {
        let _ = writeln!(
            s,
            "\"{} 1{i}:30:00\",\"{ip}\",\"{port}\",\"offline\",\"{}\",\"{family}\"",
            day(90 + i as i64),
            day(20 + i as i64),
        );
    }
    let _ = writeln!(s, "# END {} entries", C2.len() + QUIET.len());
    s
}

/// Addresses never to alert on: the national public-service portal and
/// well-known resolvers the agencies use.
pub fn allowlist() -> String {
    "# Dịch vụ của tỉnh và máy chủ phân giải tên miền tin cậy\n\
     203.162.4.191   # Cổng Dịch vụ công quốc gia\n\
     8.8.8.8\n1.1.1.1\n\
     dichvucong.gov.vn\n"
        .to_string()
}

/// The national center's list of the province's addresses seen in
/// botnets, as its spreadsheet is saved to CSV (Vietnamese headers, day
/// first): one address per agency LAN of the first `n` agencies.
pub fn national_csv(inv: &Inventory, n: usize) -> String {
    let mut s = String::from("STT,Địa chỉ IP,Thời gian phát hiện,Tên mạng botnet,Cổng,Tên miền\n");
    let families = ["Mirai", "Conficker", "Sality", "Necurs", "Avalanche"];
    let now = Utc::now() + Duration::hours(7);
    let mut k = 0;
    for a in &inv.agencies {
        let Some(r) = a
            .ranges
            .iter()
            .find(|r| r.is_ipv4() && r.prefix_len() == 24)
        else {
            continue;
        };
        let base = r.addr().to_string();
        let Some((prefix, _)) = base.rsplit_once('.') else {
            continue;
        };
        k += 1;
        let when = (now - Duration::days(k as i64 % 20)).format("%d/%m/%Y %H:%M:%S");
        let family = families[k % families.len()];
        let (port, domain) = if family == "Conficker" {
            ("", "trafficconverter.biz")
        } else {
            ("23", "")
        };
        let _ = writeln!(
            s,
            "{k},{prefix}.{},{when},{family},{port},{domain}",
            30 + k % 200
        );
        if k >= n {
            break;
        }
    }
    s
}

/// A plain feed of `n` indicators in the mix of issue 14's benchmark:
/// 60 % IPv4 addresses, 25 % domains, 10 % URLs, 5 % SHA-256 hashes, all
/// distinct, none of them an address or name the simulation uses.
pub fn bulk_feed(n: usize) -> String {
    let mut s = String::with_capacity(n * 40);
    let mut x: u64 = 0x5eed;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in 0..n {
        match i % 20 {
            0..12 => {
                // Spread over the public space, away from 10/8.
                let a = (i as u32).wrapping_mul(2_654_435_761) | 0x0100_0000;
                let _ = writeln!(s, "{}", std::net::Ipv4Addr::from(a ^ 0x8000_0000));
            }
            12..17 => {
                let _ = writeln!(s, "c2-{:x}.bench-{}.example", next() >> 20, i % 97);
            }
            17..19 => {
                let _ = writeln!(s, "http://dl{}.bench.example/p/{:x}.exe", i % 1000, next());
            }
            _ => {
                let _ = writeln!(s, "{:016x}{:016x}{:016x}{:016x}", next(), next(), next(), i);
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_lists_name_every_simulated_controller() {
        let csv = feodo_csv();
        for (ip, _) in C2 {
            assert!(csv.contains(ip), "{ip}");
        }
        assert!(csv.contains("\"dst_ip\""));
        let inv = crate::province();
        let nat = national_csv(&inv, 25);
        assert_eq!(nat.lines().count(), 26);
        assert!(nat.starts_with("STT,Địa chỉ IP"));
        let bulk = bulk_feed(1000);
        assert_eq!(bulk.lines().count(), 1000);
        let distinct: std::collections::HashSet<_> = bulk.lines().collect();
        assert_eq!(distinct.len(), 1000);
    }
}
