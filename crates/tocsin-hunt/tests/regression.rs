//! SigmaHQ's regression data: for every test, the rule named in its
//! info.yml fires on its own .evtx and on its .json — with all corpus rules
//! loaded and logsource routing on, as `tocsin hunt` runs by default.

#![allow(clippy::unwrap_used)] // tests fail loudly on bad fixtures

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use tocsin_hunt::{Hit, HitKind, Hunt, Problem, Sink};
use tocsin_sigma::{Engine, EngineBuilder, EngineConfig};

fn corpus() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/sigma");
    if p.exists() {
        Some(p)
    } else {
        eprintln!("note: ../shared/corpus is absent; regression test skipped");
        None
    }
}

#[derive(Default)]
struct Count {
    hits: HashMap<usize, usize>,
    problems: Vec<Problem>,
}

impl Sink for Count {
    fn hit(&mut self, h: &Hit<'_>) {
        if let HitKind::Rule(r) = h.what {
            *self.hits.entry(r).or_default() += 1;
        }
    }
    fn problem(&mut self, p: &Problem) {
        self.problems.push(p.clone());
    }
}

fn engine(root: &Path, routing: bool) -> Engine {
    let mut b = EngineBuilder::new(EngineConfig {
        routing,
        ..Default::default()
    });
    for d in ["rules", "rules-emerging-threats", "rules-threat-hunting"] {
        b.add_path(&root.join(d));
    }
    let (e, report) = b.build();
    assert!(report.errors.is_empty());
    e
}

fn infos(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            infos(&p, out);
        } else if p.file_name().is_some_and(|n| n == "info.yml") {
            out.push(p);
        }
    }
}

#[test]
fn every_regression_test_fires_on_evtx_and_json() {
    let Some(root) = corpus() else { return };
    let mut tests = Vec::new();
    infos(&root.join("regression_data"), &mut tests);
    tests.sort();
    assert_eq!(tests.len(), 96);
    for routing in [true, false] {
        let engine = engine(&root, routing);
        let mut failures = Vec::new();
        for info in &tests {
            let y: yaml_serde::Value =
                yaml_serde::from_str(&std::fs::read_to_string(info).unwrap()).unwrap();
            let rule_id = y["rule_metadata"][0]["id"].as_str().unwrap().to_string();
            let want = y["regression_tests_info"][0]["match_count"]
                .as_u64()
                .unwrap_or(1) as usize;
            let r = engine
                .rules()
                .iter()
                .position(|r| r.meta.id.as_deref() == Some(&rule_id))
                .unwrap();
            let dir = info.parent().unwrap();
            for ext in ["evtx", "json"] {
                let file = dir.join(format!("{rule_id}.{ext}"));
                let mut sink = Count::default();
                Hunt::new(&engine).file(&file, &mut sink);
                assert!(
                    sink.problems.is_empty(),
                    "{}: {:?}",
                    file.display(),
                    sink.problems
                );
                let got = sink.hits.get(&r).copied().unwrap_or(0);
                if got < want {
                    failures.push(format!(
                        "{} ({}): {got} < {want} matches",
                        file.display(),
                        engine.rules()[r].meta.title
                    ));
                }
            }
        }
        assert!(
            failures.is_empty(),
            "routing={routing}:\n{}",
            failures.join("\n")
        );
    }
}
