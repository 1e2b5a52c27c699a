//! Shared by the differential test and the benchmark: the corpora and both
//! engines built from the same rule texts.

#![allow(dead_code, clippy::unwrap_used)] // each user takes what it needs

use std::io::Read;
use std::path::{Path, PathBuf};

/// `../shared/corpus`, when present.
pub fn corpus() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    p.exists().then_some(p)
}

/// Every rule file of the three SigmaHQ folders, with its text.
pub fn rule_texts(corpus: &Path) -> Vec<(PathBuf, String)> {
    fn walk(d: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "yml") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    for d in ["rules", "rules-emerging-threats", "rules-threat-hunting"] {
        walk(&corpus.join("sigma").join(d), &mut files);
    }
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let t = std::fs::read_to_string(&f).unwrap();
            (f, t)
        })
        .collect()
}

/// Tocsin's engine over the texts, routing as asked.
pub fn tocsin_engine(texts: &[(PathBuf, String)], routing: bool) -> tocsin_sigma::Engine {
    let mut b = tocsin_sigma::EngineBuilder::new(tocsin_sigma::EngineConfig {
        routing,
        ..Default::default()
    });
    for (f, t) in texts {
        b.add_text(t, f);
    }
    let (e, report) = b.build();
    assert!(report.errors.is_empty(), "{:?}", report.errors.first());
    e
}

/// rsigma's engine over the same texts (no logsource routing: its default).
pub fn rsigma_engine(texts: &[(PathBuf, String)]) -> rsigma_eval::Engine {
    let mut rules = Vec::new();
    for (f, t) in texts {
        let c = rsigma_parser::parse_sigma_yaml(t)
            .unwrap_or_else(|err| panic!("{}: {err}", f.display()));
        assert!(
            c.filters.is_empty() && c.correlations.is_empty(),
            "{}",
            f.display()
        );
        rules.extend(c.rules);
    }
    let mut e = rsigma_eval::Engine::new();
    // One batch: rsigma rebuilds its indexes after every add_collection.
    let errors = e.add_rules(rules.iter());
    assert!(errors.is_empty(), "rsigma: {:?}", errors.first());
    e
}

/// The OTRF recordings, sorted.
pub fn otrf_zips(corpus: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(corpus.join("otrf/windows-host"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "zip"))
        .collect();
    v.sort();
    v
}

/// The JSON lines of one recording, decompressed.
pub fn otrf_lines(zip_path: &Path) -> Vec<u8> {
    let f = std::fs::File::open(zip_path).unwrap();
    let mut z = zip::ZipArchive::new(f).unwrap();
    let mut out = Vec::new();
    for i in 0..z.len() {
        let mut m = z.by_index(i).unwrap();
        // macOS resource forks (`__MACOSX/._name`) ride along in some archives.
        let name = m.name().unwrap().to_string();
        let junk = name.starts_with("__MACOSX/")
            || name.rsplit('/').next().is_some_and(|b| b.starts_with("._"));
        if !m.is_dir() && !junk {
            m.read_to_end(&mut out).unwrap();
            if !out.ends_with(b"\n") {
                out.push(b'\n');
            }
        }
    }
    out
}

/// Non-empty lines of a buffer.
pub fn lines(buf: &[u8]) -> impl Iterator<Item = &[u8]> {
    buf.split(|b| *b == b'\n')
        .filter(|l| !l.trim_ascii().is_empty())
}
