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
