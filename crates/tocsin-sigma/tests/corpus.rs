//! Every SigmaHQ rule in the shared corpus loads.

#![allow(clippy::unwrap_used)] // tests fail loudly on bad fixtures

use std::path::PathBuf;

use tocsin_sigma::{EngineBuilder, EngineConfig};

fn corpus() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/sigma");
    if p.exists() {
        Some(p)
    } else {
        eprintln!("note: ../shared/corpus is absent; corpus test skipped");
        None
    }
}

#[test]
fn every_corpus_rule_loads() {
    let Some(root) = corpus() else { return };
    for routing in [false, true] {
        let mut b = EngineBuilder::new(EngineConfig {
            routing,
            ..Default::default()
        });
        for d in ["rules", "rules-emerging-threats", "rules-threat-hunting"] {
            b.add_path(&root.join(d));
        }
        let (engine, report) = b.build();
        for e in &report.errors {
            eprintln!("{e}");
        }
        assert!(
            report.errors.is_empty(),
            "{} rules did not load",
            report.errors.len()
        );
        assert_eq!(report.rules, 3754);
        assert_eq!(engine.rules().len(), 3754);
        let (atoms, unguarded) = engine.prefilter_stats();
        eprintln!(
            "routing={routing}: {atoms} prefilter needles, {unguarded} unguarded rules, {} warnings",
            report.warnings.len()
        );
    }
}
