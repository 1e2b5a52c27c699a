//! Tocsin's own rule pack, rule by rule: every rule and correlation of
//! `rules/` has records in `rules/examples.toml` that must fire it and
//! records that must not, and a Vietnamese title. The records go through
//! the real parser and detectors, as the pipeline runs them.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use tocsin_detect::{Detectors, SigmaDetector};
use tocsin_model::Level;
use tocsin_parse::{Format, ParserConfig, Received};
use tocsin_sigma::{CorrelatorConfig, Engine, EngineConfig};

#[derive(serde::Deserialize)]
struct Examples {
    example: Vec<Example>,
}

#[derive(serde::Deserialize)]
struct Example {
    rule: String,
    fire: Vec<Entry>,
    quiet: Vec<Entry>,
}

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum Entry {
    Line(String),
    Repeat { line: String, times: usize },
}

fn records(entries: &[Entry]) -> Vec<String> {
    entries
        .iter()
        .flat_map(|e| match e {
            Entry::Line(l) => vec![l.clone()],
            Entry::Repeat { line, times } => (0..*times)
                .map(|i| {
                    line.replace("{i}", &i.to_string())
                        .replace("{s}", &format!("{:02}", i % 60))
                })
                .collect(),
        })
        .collect()
}

/// The rule keys `lines` raise, run in order through a fresh pipeline's
/// parser and detectors, with every level alerting.
fn fired(engine: &Arc<Engine>, lines: &[String]) -> BTreeSet<String> {
    let parser = ParserConfig::default().build();
    let rx = Received {
        input: "rule-pack",
        at: chrono::Utc::now(),
        peer: None,
    };
    let mut d = Detectors::new().with(SigmaDetector::new(
        engine.clone(),
        Level::Informational,
        CorrelatorConfig::default(),
    ));
    let mut w = d.workers();
    let mut scratch = engine.scratch();
    let mut out = BTreeSet::new();
    for l in lines {
        let ev = parser.parse(Format::Auto, l.as_bytes(), &rx);
        // Rules that only feed a correlation raise no alert of their own:
        // their matches are read from the engine.
        for &r in engine.eval_event(&ev, &mut scratch) {
            out.insert(engine.rules()[r as usize].meta.key().to_string());
        }
        let o = d.observe(&mut w, &ev);
        out.extend(o.findings.iter().map(|f| f.rule_id.clone()));
        let mut later = Vec::new();
        d.follow(o.carries, &mut later);
        out.extend(later.iter().map(|f| f.rule_id.clone()));
    }
    out
}

#[test]
fn every_rule_fires_on_its_example_and_stays_quiet_on_the_other() {
    let (engine, report) = tocsin_app::rules::build_engine(&[], EngineConfig::default());
    assert!(
        report.errors.is_empty(),
        "the pack loads cleanly: {:?}",
        report.errors
    );
    let engine = Arc::new(engine);
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules/examples.toml"),
    )
    .unwrap();
    let ex: Examples = toml::from_str(&text).unwrap();

    let metas: Vec<&tocsin_sigma::RuleMeta> = engine
        .rules()
        .iter()
        .map(|r| &r.meta)
        .chain(engine.correlations().iter().map(|c| &c.meta))
        .collect();
    let mut problems = Vec::new();
    for m in &metas {
        let id = m.key().to_string();
        if m.vi.is_none() {
            problems.push(format!(
                "{id} ({}) has no Vietnamese title (tocsin.vi.title)",
                m.title
            ));
        }
        let Some(e) = ex.example.iter().find(|e| e.rule == id) else {
            problems.push(format!(
                "{id} ({}) has no example in rules/examples.toml",
                m.title
            ));
            continue;
        };
        if e.fire.is_empty() || e.quiet.is_empty() {
            problems.push(format!("{id}: needs both `fire` and `quiet` records"));
            continue;
        }
        if !fired(&engine, &records(&e.fire)).contains(&id) {
            problems.push(format!(
                "{id} ({}) did not fire on its `fire` records",
                m.title
            ));
        }
        if fired(&engine, &records(&e.quiet)).contains(&id) {
            problems.push(format!("{id} ({}) fired on its `quiet` records", m.title));
        }
    }
    for e in &ex.example {
        if !metas.iter().any(|m| m.key() == e.rule) {
            problems.push(format!(
                "example for {}, which is no rule of the pack",
                e.rule
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(metas.len() >= 23, "the pack holds {} rules", metas.len());
}
