//! Differential test against rsigma (the `rsigma-eval` crate): over every
//! event of the shared corpora, the set of (rule, event) matches of Tocsin
//! and rsigma must be identical — no logsource routing on either side, the
//! same 3,754 rules. Every known difference is listed in `EXPECTED` with the
//! reason; the test fails on any difference not listed, and on any listed
//! difference that no longer occurs.

#![allow(clippy::unwrap_used)] // tests fail loudly on bad fixtures

mod support;

use std::collections::{BTreeMap, BTreeSet, HashMap};

/// (rule id, side that matched alone) → why Tocsin differs, following the
/// Sigma specification where rsigma does not.
const EXPECTED: &[(&str, &str, &str)] = &[
    (
        "550d3350-bb8a-4ff3-9533-2ba533f4a1c0",
        "tocsin",
        "field-less `'|all':` keyword list (Sigma 2.1: modifiers on keywords); rsigma does not apply it, the event holds every keyword",
    ),
    (
        "9db37458-4df2-46a5-95ab-307e7f29e675",
        "tocsin",
        "field-less `'|all':` keyword list, as above",
    ),
];

#[test]
fn same_matches_as_rsigma_on_every_corpus_event() {
    let Some(corpus) = support::corpus() else {
        eprintln!("note: ../shared/corpus is absent; differential test skipped");
        return;
    };
    let texts = support::rule_texts(&corpus);
    let ours = support::tocsin_engine(&texts, false);
    let theirs = support::rsigma_engine(&texts);
    let ids: Vec<String> = ours
        .rules()
        .iter()
        .map(|r| r.meta.id.clone().unwrap())
        .collect();
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(
        unique.len(),
        ids.len(),
        "rule ids must be unique for the comparison"
    );
    let mut scratch = ours.scratch();
    // (rule id, side) → (count, first example)
    let mut diffs: BTreeMap<(String, &'static str), (u64, String)> = BTreeMap::new();
    let mut events = 0u64;
    let mut bad = 0u64;
    let mut matches = 0u64;
    for zip in support::otrf_zips(&corpus) {
        let buf = support::otrf_lines(&zip);
        let name = zip.file_name().unwrap().to_string_lossy().to_string();
        for (n, line) in support::lines(&buf).enumerate() {
            events += 1;
            let parsed = serde_json::from_slice::<serde_json::Value>(line);
            let a = ours.eval_json(line, &mut scratch);
            // Both decoders must agree on what is JSON.
            assert_eq!(
                a.is_ok(),
                parsed.is_ok(),
                "{name} line {}: {:?}",
                n + 1,
                a.err()
            );
            let (Ok(a), Ok(v)) = (a, parsed) else {
                bad += 1;
                continue;
            };
            let a: BTreeSet<&str> = a.iter().map(|r| ids[*r as usize].as_str()).collect();
            let res = theirs.evaluate(&rsigma_eval::event::JsonEvent::borrow(&v));
            let b: BTreeSet<String> = res
                .iter()
                .filter_map(|r| r.header.rule_id.clone())
                .collect();
            let b: BTreeSet<&str> = b.iter().map(String::as_str).collect();
            matches += a.len() as u64;
            for id in a.difference(&b) {
                let e = diffs
                    .entry((id.to_string(), "tocsin"))
                    .or_insert((0, format!("{name} line {}", n + 1)));
                e.0 += 1;
            }
            for id in b.difference(&a) {
                let e = diffs
                    .entry((id.to_string(), "rsigma"))
                    .or_insert((0, format!("{name} line {}", n + 1)));
                e.0 += 1;
            }
        }
    }
    eprintln!("{events} events ({bad} not JSON for either side), {matches} matches by Tocsin");
    assert!(events > 600_000, "only {events} events read");
    let expected: HashMap<(String, &str), &str> = EXPECTED
        .iter()
        .map(|(id, side, why)| ((id.to_string(), *side), *why))
        .collect();
    let mut report = Vec::new();
    for ((id, side), (count, example)) in &diffs {
        if !expected.contains_key(&(id.clone(), *side)) {
            report.push(format!(
                "unexpected: rule {id} matched only by {side} on {count} events (first: {example})"
            ));
        }
    }
    for (id, side) in expected.keys() {
        if !diffs.contains_key(&(id.clone(), *side)) {
            report.push(format!(
                "listed difference no longer occurs: rule {id}, {side}"
            ));
        }
    }
    assert!(report.is_empty(), "{}", report.join("\n"));
}
