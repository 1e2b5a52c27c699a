//! The web-attack detectors against the shared corpus, as `tocsin bench
//! web` measures them (without the peer): the rates docs/detection-quality.md
//! reports are floors here, so a change that loses detections or adds false
//! positives fails. Skips with a notice when ../shared/corpus is absent.

#![allow(clippy::unwrap_used)] // tests fail loudly

use std::path::Path;

use tocsin_sim::webquality::{self, Class};

#[test]
fn detection_and_false_positive_floors_hold() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    if !corpus.join("crs").is_dir() {
        eprintln!("SKIPPED: {} is absent", corpus.display());
        return;
    }
    let c = webquality::load(&corpus, 20_000).unwrap();
    let q = webquality::evaluate(&c, None, Path::new("-"));
    println!("{}", webquality::report(&q));
    let rate = |k: Class| q.classes[&k].ours_rate();
    // Measured 2026-12-06 (docs/detection-quality.md), less a little room.
    let floors = [
        (Class::Sqli, 0.80),
        (Class::Xss, 0.92),
        (Class::Traversal, 0.60),
        (Class::Cmdi, 0.70),
        (Class::Scanner, 1.0),
    ];
    for (k, floor) in floors {
        assert!(rate(k) >= floor, "{k:?}: {:.3} < {floor}", rate(k));
    }
    assert_eq!(
        q.benign.1, 0,
        "portal requests flagged: {:?}",
        q.benign_flagged
    );
    assert!(
        q.libinjection_fp.1 <= 7,
        "libinjection's false-positive inputs flagged: {} ({:?})",
        q.libinjection_fp.1,
        q.benign_flagged
    );
    // Lines whose payload is not in the log are left out, not counted
    // as misses, and there are few.
    assert!(q.classes[&Class::Sqli].unloggable <= 10);
}
