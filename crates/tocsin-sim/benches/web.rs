//! The web-attack detectors on one core: access-log events (parsed
//! beforehand) of generated portal traffic, and of the OWASP CRS attack
//! requests when ../shared/corpus is present. Detection quality and the
//! side-by-side with libinjection are `tocsin bench web`'s.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tocsin_model::Event;
use tocsin_parse::{Format, ParserConfig, Received};
use tocsin_webattack::WebAttackConfig;

fn events(lines: &[String]) -> Vec<Event> {
    let p = ParserConfig::default().build();
    let rx = Received {
        input: "bench",
        at: chrono::Utc::now(),
        peer: None,
    };
    lines
        .iter()
        .map(|l| p.parse(Format::AccessLog, l.as_bytes(), &rx))
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut sets = vec![(
        "portal",
        events(&tocsin_sim::webquality::benign_lines(20_000, 11)),
    )];
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    match tocsin_sim::webquality::load(&corpus, 0) {
        Ok(c) => {
            let lines: Vec<String> = c.crs.into_iter().map(|l| l.line).collect();
            sets.push(("crs", events(&lines)));
        }
        Err(e) => eprintln!("note: no CRS lines ({e}); portal traffic only"),
    }
    let d = WebAttackConfig::default().build();
    let mut g = c.benchmark_group("web_detectors");
    for (name, evs) in &sets {
        g.throughput(Throughput::Elements(evs.len() as u64));
        g.bench_function(*name, |b| {
            let mut w = tocsin_detect::Detector::worker(&d);
            let mut out = Vec::new();
            b.iter(|| {
                for ev in evs {
                    out.clear();
                    d.findings(&mut w, ev, &mut out);
                }
                out.len()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
