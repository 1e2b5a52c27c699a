//! Threat-intelligence feeds in every format (the first byte picks it),
//! parsed, built into a set, and every indicator read looked up again: what
//! a feed gave must match (an indicator the set cannot find would be a
//! silent hole in detection).
#![no_main]
use tocsin_intel::feeds::{FeedFormat, parse, parse_national};
use tocsin_intel::{SetBuilder, Source};
use tocsin_model::IndicatorKind;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&pick, feed)) = data.split_first() else {
        return;
    };
    let format = FeedFormat::ALL[usize::from(pick) % FeedFormat::ALL.len()];
    if format == FeedFormat::NationalCsv {
        let _ = parse_national(feed);
        return;
    }
    let Ok(p) = parse(format, feed, &Default::default()) else {
        return;
    };
    let mut b = SetBuilder::new();
    b.add(
        Source {
            name: "fuzz".into(),
            allow: false,
        },
        &p.indicators,
    );
    let set = b.build();
    let mut out = Vec::new();
    for i in &p.indicators {
        out.clear();
        match i.kind {
            IndicatorKind::Ip => set.lookup_ip(i.value.parse().unwrap(), None, 0, &mut out),
            IndicatorKind::Cidr => {
                let c: tocsin_model::Cidr = i.value.parse().unwrap();
                set.lookup_ip(c.addr(), None, 0, &mut out)
            }
            IndicatorKind::IpPort => {
                let (ip, port) = tocsin_intel::parse_ip_port(&i.value).unwrap();
                set.lookup_ip(ip, Some(port), 0, &mut out)
            }
            IndicatorKind::Domain => set.lookup_domain(&i.value, 0, &mut out),
            IndicatorKind::Url => set.lookup_url(&i.value, 0, &mut out),
            _ => set.lookup_hash(&i.value, 0, &mut out),
        }
        assert!(
            out.iter().any(|m| m.kind() == i.kind && m.value() == i.value),
            "{:?} {} read but not found",
            i.kind,
            i.value
        );
    }
});
