//! Attribution lookup with 10,000 agency ranges: Tocsin's flattened interval
//! table against the `prefix-trie` crate's longest-prefix match, same ranges,
//! same addresses, same run.

#![allow(clippy::unwrap_used)] // tests fail loudly on bad fixtures

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{Criterion, criterion_group, criterion_main};
use tocsin_model::{Agency, AgencyKind, Attributor, Cidr, Inventory};

fn province(n: usize) -> Inventory {
    // 10.0.0.0/8 cut into /24s for units, some /26 sub-blocks nested inside.
    let mut inv = Inventory::default();
    for i in 0..n {
        let mut a = Agency::new(&format!("A{i}"), "x", AgencyKind::Commune);
        let base = 0x0a00_0000u32 + ((i as u32 * 7919) % 65_536) * 256;
        let (addr, len) = if i % 5 == 0 {
            (base + 64, 26)
        } else {
            (base, 24)
        };
        a.ranges
            .push(Cidr::new(IpAddr::V4(Ipv4Addr::from(addr)), len).expect("aligned"));
        inv.agencies.push(a);
    }
    inv
}

fn addresses(n: usize) -> Vec<IpAddr> {
    let mut s = 0x9e37_79b9u32;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | (s & 0x00ff_ffff)))
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let inv = province(10_000);
    let ips = addresses(4096);
    let at = Attributor::build(&inv);

    let mut trie = prefix_trie::PrefixMap::<(u32, u8), usize>::new();
    for (i, a) in inv.agencies.iter().enumerate() {
        let c = a.ranges[0];
        if let IpAddr::V4(v4) = c.addr() {
            trie.insert((u32::from(v4), c.prefix_len()), i);
        }
    }

    let mut g = c.benchmark_group("attribution_10k_ranges");
    g.throughput(criterion::Throughput::Elements(ips.len() as u64));
    g.bench_function("tocsin_interval_table", |b| {
        b.iter(|| {
            let mut hits = 0usize;
            for ip in &ips {
                hits += at.lookup(black_box(*ip)).agency.unwrap_or(0);
            }
            hits
        })
    });
    g.bench_function("prefix_trie_lpm", |b| {
        b.iter(|| {
            let mut hits = 0usize;
            for ip in &ips {
                if let IpAddr::V4(v4) = black_box(*ip) {
                    hits += trie
                        .get_lpm(&(u32::from(v4), 32))
                        .map(|(_, v)| *v)
                        .unwrap_or(0);
                }
            }
            hits
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
