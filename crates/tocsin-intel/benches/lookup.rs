//! Issue 14's targets: 1,000,000 indicators of mixed kinds (60 % IPv4,
//! 25 % domains, 10 % URLs, 5 % hashes) — lookups per second on one core,
//! bytes per IPv4 indicator, and loading the lot from feed text.
//!
//! The peer in the same run is the straightforward design: one
//! `HashMap<String, Vec<meta>>` keyed by each value's text (what a first
//! version would write), looked up with the same observables.
//!
//! `cargo bench -p tocsin-intel --bench lookup`

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tocsin_intel::feeds::{FeedDefaults, FeedFormat, parse};
use tocsin_intel::{Indicator, IndicatorSet, Observable, SetBuilder, Source};
use tocsin_model::{IndicatorKind, Threat};

const N: usize = 1_000_000;

/// A deterministic generator (xorshift), so every run sees the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn ip_of(n: u64) -> Ipv4Addr {
    // Public-looking addresses spread over the space.
    Ipv4Addr::from((n as u32).wrapping_mul(2_654_435_761) | 0x0100_0000)
}

/// The feed as text: one value per line, the kinds in the mix.
fn feed_text() -> String {
    let mut s = String::with_capacity(N * 40);
    let mut r = Rng(0x5eed);
    for i in 0..N {
        match i % 20 {
            0..12 => s.push_str(&ip_of(i as u64).to_string()),
            12..17 => s.push_str(&format!("c2-{:x}.example-{}.com", r.next() >> 20, i % 97)),
            17..19 => s.push_str(&format!(
                "http://dl{}.example.net/p/{:x}.exe",
                i % 1000,
                r.next()
            )),
            _ => s.push_str(&format!(
                "{:016x}{:016x}{:016x}{:016x}",
                r.next(),
                r.next(),
                r.next(),
                i
            )),
        }
        s.push('\n');
    }
    s
}

fn build(text: &str) -> IndicatorSet {
    let p = parse(
        FeedFormat::Plain,
        text.as_bytes(),
        &FeedDefaults {
            threat: Threat::BotnetCc,
            ..FeedDefaults::default()
        },
    )
    .unwrap();
    assert_eq!(p.indicators.len(), N, "{:?}", p.problems.first());
    let mut b = SetBuilder::new();
    b.reserve(N);
    b.add(
        Source {
            name: "bench".into(),
            allow: false,
        },
        &p.indicators,
    );
    b.build()
}

/// The observables events carry: the same mix, about 5 % of them listed,
/// domains asked with a subdomain in front.
fn observables(set_text: &str) -> Vec<Observable> {
    let listed: Vec<&str> = set_text.lines().collect();
    let mut r = Rng(0xfeed);
    (0..200_000u64)
        .map(|i| {
            let hit = r.next().is_multiple_of(20);
            let v = listed[(r.next() % N as u64) as usize];
            match i % 20 {
                0..12 => {
                    let ip = if hit && v.parse::<IpAddr>().is_ok() {
                        v.parse().unwrap()
                    } else {
                        IpAddr::V4(ip_of(r.next() | (1 << 40)))
                    };
                    Observable::Ip(ip, Some(443))
                }
                12..17 => Observable::Domain(if hit && v.starts_with("c2-") {
                    format!("www.{v}")
                } else {
                    format!("www.site{}.gov.vn", r.next() % 5000)
                }),
                17..19 => Observable::Url(format!("http://portal.gov.vn/a/{}", r.next() % 999)),
                _ => Observable::Hash(format!("{:032x}{:032x}", r.next(), r.next())),
            }
        })
        .collect()
}

fn lookup_all(set: &IndicatorSet, obs: &[Observable]) -> usize {
    let mut out = Vec::new();
    let mut n = 0;
    for o in obs {
        match o {
            Observable::Ip(ip, port) => set.lookup_ip(*ip, *port, 0, &mut out),
            Observable::Domain(d) => set.lookup_domain(d, 0, &mut out),
            Observable::Url(u) => set.lookup_url(u, 0, &mut out),
            Observable::Hash(h) => set.lookup_hash(h, 0, &mut out),
        }
        n += out.len();
        out.clear();
    }
    n
}

/// The peer: every value's text in one map.
fn naive(indicators: &[Indicator]) -> HashMap<String, Vec<(IndicatorKind, u8)>> {
    let mut m: HashMap<String, Vec<(IndicatorKind, u8)>> = HashMap::with_capacity(indicators.len());
    for i in indicators {
        m.entry(i.value.clone())
            .or_default()
            .push((i.kind, i.confidence));
    }
    m
}

fn naive_lookup(m: &HashMap<String, Vec<(IndicatorKind, u8)>>, obs: &[Observable]) -> usize {
    let mut n = 0;
    for o in obs {
        match o {
            Observable::Ip(ip, _) => n += m.get(&ip.to_string()).map_or(0, Vec::len),
            Observable::Domain(d) => {
                let mut d = d.as_str();
                loop {
                    n += m.get(d).map_or(0, Vec::len);
                    match d.find('.') {
                        Some(i) => d = &d[i + 1..],
                        None => break,
                    }
                }
            }
            Observable::Url(u) | Observable::Hash(u) => n += m.get(u.as_str()).map_or(0, Vec::len),
        }
    }
    n
}

fn bench(c: &mut Criterion) {
    let text = feed_text();
    let set = build(&text);
    let obs = observables(&text);
    // Memory: a set of IPv4 addresses alone, per indicator.
    let ips: String = (0..N as u64).map(|i| format!("{}\n", ip_of(i))).collect();
    let p = parse(FeedFormat::Plain, ips.as_bytes(), &FeedDefaults::default()).unwrap();
    let mut b = SetBuilder::new();
    b.add(
        Source {
            name: "v4".into(),
            allow: false,
        },
        &p.indicators,
    );
    let v4 = b.build();
    eprintln!(
        "memory: {} IPv4 indicators hold {} bytes = {:.1} bytes each; the mixed 1M set {} MiB",
        v4.len(),
        v4.heap_bytes(),
        v4.heap_bytes() as f64 / v4.len() as f64,
        set.heap_bytes() >> 20
    );
    let hits = lookup_all(&set, &obs);
    let all = parse(FeedFormat::Plain, text.as_bytes(), &FeedDefaults::default()).unwrap();
    let peer = naive(&all.indicators);
    assert_eq!(
        hits,
        naive_lookup(&peer, &obs),
        "both find the same matches"
    );
    eprintln!("{} of {} observables match", hits, obs.len());

    let mut g = c.benchmark_group("intel");
    g.throughput(Throughput::Elements(obs.len() as u64));
    g.bench_function("lookup 1M mixed (tocsin)", |b| {
        b.iter(|| lookup_all(black_box(&set), &obs))
    });
    g.bench_function("lookup 1M mixed (HashMap<String>)", |b| {
        b.iter(|| naive_lookup(black_box(&peer), &obs))
    });
    g.sample_size(10);
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("load 1M from feed text", |b| {
        b.iter(|| build(black_box(&text)).len())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
