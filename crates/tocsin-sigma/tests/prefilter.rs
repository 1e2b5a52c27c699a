//! The prefilter may hand extra rules to full evaluation, never drop one:
//! for a sample of corpus events, the prefiltered result equals evaluating
//! every rule, with routing on and off.

#![allow(clippy::unwrap_used)] // tests fail loudly on bad fixtures

mod support;

#[test]
fn prefilter_never_loses_a_match() {
    let Some(corpus) = support::corpus() else {
        eprintln!("note: ../shared/corpus is absent; prefilter test skipped");
        return;
    };
    let texts = support::rule_texts(&corpus);
    let zips = support::otrf_zips(&corpus);
    for routing in [false, true] {
        let engine = support::tocsin_engine(&texts, routing);
        let mut s = engine.scratch();
        let (mut events, mut matches) = (0u64, 0u64);
        for z in &zips {
            let buf = support::otrf_lines(z);
            // Every 80th event of every recording: ~8,000 events (full
            // evaluation of 3,754 rules per event is the slow reference).
            for line in support::lines(&buf).step_by(80) {
                let fast = engine.eval_json(line, &mut s).unwrap().to_vec();
                let full = engine.eval_all(&mut s).to_vec();
                assert_eq!(
                    fast,
                    full,
                    "{}: {}",
                    z.display(),
                    String::from_utf8_lossy(line)
                );
                events += 1;
                matches += fast.len() as u64;
            }
        }
        eprintln!(
            "routing={routing}: {events} events, {matches} matches, prefilter and full evaluation agree"
        );
        assert!(events > 7_000 && matches > 1_000);
    }
}

/// The scan cache remembers what each line of text held: answers must not
/// change when a line comes back, under another field, inside a longer
/// value, or after the cache was emptied for space.
#[test]
fn scan_cache_answers_like_a_fresh_scan() {
    use tocsin_sigma::{EngineBuilder, EngineConfig};
    let rules = r#"
title: Field needle on any line
id: 00000000-0000-0000-0000-000000000001
logsource: {product: windows}
detection:
  sel: {CommandLine|contains: mimikatz}
  condition: sel
---
title: Keyword
id: 00000000-0000-0000-0000-000000000002
logsource: {product: linux}
detection:
  keywords: ['session opened for user root']
  condition: keywords
---
title: Needle across a line break
id: 00000000-0000-0000-0000-000000000003
logsource: {product: windows}
detection:
  sel: {Payload|contains: "first\nsecond"}
  condition: sel
---
title: Short suffix
id: 00000000-0000-0000-0000-000000000004
logsource: {product: macos}
detection:
  sel: {Image|endswith: /w}
  condition: sel
"#;
    let events = [
        r#"{"CommandLine":"cmd.exe /c whoami\nmimikatz.exe sekurlsa::logonpasswords"}"#,
        r#"{"CommandLine":"mimikatz.exe sekurlsa::logonpasswords"}"#,
        r#"{"Other":"mimikatz.exe sekurlsa::logonpasswords"}"#,
        r#"{"Message":"pam_unix(sshd:session): session opened for user root by (uid=0)"}"#,
        r#"{"CommandLine":"pam_unix(sshd:session): session opened for user root by (uid=0)"}"#,
        r#"{"Payload":"first\nsecond"}"#,
        r#"{"Payload":"first"}"#,
        r#"{"Payload":"second"}"#,
        r#"{"Image":"/usr/bin/w"}"#,
        r#"{"Image":"C:\\Windows\\w.exe"}"#,
        r#"{"CommandLine":"MIMIKATZ"}"#,
    ];
    for cache_mib in [0, 1, 16] {
        let mut b = EngineBuilder::new(EngineConfig {
            scan_cache_mib: cache_mib,
            ..Default::default()
        });
        b.add_text(rules, std::path::Path::new("cache.yml"));
        let (engine, report) = b.build();
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        let mut s = engine.scratch();
        // Three rounds in changing order: later rounds hit the cache.
        for round in 0..3 {
            for i in 0..events.len() {
                let line = events[(i * (round + 1)) % events.len()];
                let fast = engine.eval_json(line.as_bytes(), &mut s).unwrap().to_vec();
                let full = engine.eval_all(&mut s).to_vec();
                assert_eq!(fast, full, "cache {cache_mib} MiB, round {round}: {line}");
            }
        }
        let st = engine.scan_cache_stats(&s);
        if cache_mib == 0 {
            assert_eq!(
                st.lookups, st.misses,
                "nothing is remembered without memory"
            );
        } else {
            assert!(st.misses < st.lookups, "{st:?}");
        }
    }
    // And the expected answers themselves.
    let mut b = EngineBuilder::new(EngineConfig::default());
    b.add_text(rules, std::path::Path::new("cache.yml"));
    let (engine, _) = b.build();
    let mut s = engine.scratch();
    let hits: Vec<usize> = events
        .iter()
        .map(|e| engine.eval_json(e.as_bytes(), &mut s).unwrap().len())
        .collect();
    assert_eq!(hits, [1, 1, 0, 1, 1, 1, 0, 0, 1, 0, 1]);
}
