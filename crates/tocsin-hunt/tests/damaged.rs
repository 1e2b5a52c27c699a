//! Damaged evidence is counted and reported; the rest of the hunt goes on.

#![allow(clippy::unwrap_used)] // tests fail loudly on bad fixtures

use std::path::{Path, PathBuf};

use tocsin_hunt::{Hit, Hunt, Problem, Sink};
use tocsin_sigma::{EngineBuilder, EngineConfig};

#[derive(Default)]
struct Collect {
    hits: usize,
    problems: Vec<Problem>,
}

impl Sink for Collect {
    fn hit(&mut self, _h: &Hit<'_>) {
        self.hits += 1;
    }
    fn problem(&mut self, p: &Problem) {
        self.problems.push(p.clone());
    }
}

fn engine() -> tocsin_sigma::Engine {
    let mut b = EngineBuilder::new(EngineConfig::default());
    b.add_text(
        "title: Whoami\nlogsource: {product: windows}\ndetection:\n  sel: {CommandLine|contains: whoami}\n  condition: sel\n",
        Path::new("w.yml"),
    );
    b.build().0
}

#[test]
fn garbage_truncated_and_missing_files_do_not_stop_the_hunt() {
    let dir = tempfile_dir();
    std::fs::write(dir.join("garbage.evtx"), b"this is not an event log at all").unwrap();
    std::fs::write(
        dir.join("events.jsonl"),
        "{\"CommandLine\":\"whoami\"}\nnot json\n{\"CommandLine\":\"cmd /c whoami\"}\n",
    )
    .unwrap();
    std::fs::write(dir.join("broken.json.gz"), b"\x1f\x8b\x08\x00garbage").unwrap();
    let engine = engine();
    let mut sink = Collect::default();
    let mut hunt = Hunt::new(&engine);
    hunt.run(&[dir.clone(), dir.join("missing.evtx")], &mut sink);
    assert_eq!(sink.hits, 2, "both good lines of events.jsonl matched");
    assert_eq!(hunt.stats.records, 2);
    assert_eq!(hunt.stats.bad_records, 1, "{:?}", sink.problems);
    assert_eq!(hunt.stats.bad_files, 3, "{:?}", sink.problems);
    let text: Vec<String> = sink.problems.iter().map(ToString::to_string).collect();
    assert!(
        text.iter()
            .any(|p| p.contains("garbage.evtx: file: not a readable EVTX file")),
        "{text:#?}"
    );
    assert!(
        text.iter()
            .any(|p| p.contains("events.jsonl: line 2: invalid JSON at byte 0")),
        "{text:#?}"
    );
    assert!(
        text.iter()
            .any(|p| p.contains("broken.json.gz: file: gzip")),
        "{text:#?}"
    );
    assert!(
        text.iter()
            .any(|p| p.contains("missing.evtx: path: no such file")),
        "{text:#?}"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn truncated_evtx_is_reported_not_fatal() {
    let corpus =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/sigma/regression_data");
    if !corpus.exists() {
        eprintln!("note: ../shared/corpus is absent; test skipped");
        return;
    }
    let src = find_evtx(&corpus).unwrap();
    let data = std::fs::read(&src).unwrap();
    let dir = tempfile_dir();
    // Header and half of the first chunk.
    std::fs::write(dir.join("cut.evtx"), &data[..4096 + 30_000]).unwrap();
    std::fs::write(dir.join("after.jsonl"), "{\"CommandLine\":\"whoami\"}\n").unwrap();
    let engine = engine();
    let mut sink = Collect::default();
    let mut hunt = Hunt::new(&engine);
    hunt.run(std::slice::from_ref(&dir), &mut sink);
    assert_eq!(
        sink.hits, 1,
        "the file after the damaged one was still hunted"
    );
    assert!(!sink.problems.is_empty(), "the damage is reported");
    assert!(
        sink.problems.iter().all(|p| p.file.ends_with("cut.evtx")),
        "{:?}",
        sink.problems
    );
    std::fs::remove_dir_all(dir).ok();
}

fn find_evtx(dir: &Path) -> Option<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            if let Some(f) = find_evtx(&p) {
                return Some(f);
            }
        } else if p.extension().is_some_and(|x| x == "evtx") {
            return Some(p);
        }
    }
    None
}

fn tempfile_dir() -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let d = std::env::temp_dir().join(format!(
        "tocsin-hunt-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}
