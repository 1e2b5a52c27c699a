//! Tocsin's Sigma engine against rsigma (`rsigma-eval` 0.23), same run, same
//! machine: all 3,754 SigmaHQ rules of ../shared/corpus/sigma over every JSON
//! line of the OTRF Windows recordings, no logsource routing on either side,
//! each engine starting from the JSON text (rsigma parses with serde_json,
//! Tocsin with its own decoder). One thread each, then two.
//!
//! Run: `cargo bench -p tocsin-sigma --bench sigma_vs_rsigma`
//! (`-- --quick` evaluates every 8th recording only).

#![allow(clippy::unwrap_used, missing_docs, unsafe_code)] // a measuring program with a counting allocator

#[path = "../tests/support/mod.rs"]
mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(l.size(), Relaxed) + l.size();
            PEAK.fetch_max(now, Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        CURRENT.fetch_sub(l.size(), Relaxed);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

struct Run {
    events: u64,
    matches: u64,
    eval: Duration,
    /// Bytes the built engine keeps.
    engine_bytes: usize,
    /// Highest transient use above the engine and the input buffer while evaluating.
    eval_peak: usize,
    build: Duration,
}

/// Evaluates a batch of JSON lines as worker `n`, returning the match count.
/// Worker `n` is the same thread slot for the whole run, as a long-lived
/// worker of `tocsin hunt` or the ingest pipeline would be.
type EvalFn = Box<dyn Fn(usize, &[&[u8]]) -> u64 + Sync>;

fn mib(b: usize) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

fn run(name: &str, zips: &[std::path::PathBuf], threads: usize, build: &dyn Fn() -> EvalFn) -> Run {
    let before = CURRENT.load(Relaxed);
    let t = Instant::now();
    let eval_fn = build();
    let build_time = t.elapsed();
    let engine_bytes = CURRENT.load(Relaxed).saturating_sub(before);
    let mut r = Run {
        events: 0,
        matches: 0,
        eval: Duration::ZERO,
        engine_bytes,
        eval_peak: 0,
        build: build_time,
    };
    for z in zips {
        let buf = support::otrf_lines(z);
        let lines: Vec<&[u8]> = support::lines(&buf).collect();
        let base = CURRENT.load(Relaxed);
        PEAK.store(base, Relaxed);
        let t = Instant::now();
        let chunk = lines.len().div_ceil(threads.max(1)).max(1);
        let counts: Vec<u64> = std::thread::scope(|s| {
            let handles: Vec<_> = lines
                .chunks(chunk)
                .enumerate()
                .map(|(n, part)| {
                    let f = &eval_fn;
                    s.spawn(move || f(n, part))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        r.eval += t.elapsed();
        r.eval_peak = r.eval_peak.max(PEAK.load(Relaxed).saturating_sub(base));
        r.events += lines.len() as u64;
        r.matches += counts.iter().sum::<u64>();
    }
    eprintln!(
        "{name:<8} threads={threads}: {} events in {:.2}s = {:>9.0} events/s, {} matches; build {:.2}s, engine {:.1} MiB, evaluation peak +{:.1} MiB",
        r.events,
        r.eval.as_secs_f64(),
        r.events as f64 / r.eval.as_secs_f64(),
        r.matches,
        r.build.as_secs_f64(),
        mib(r.engine_bytes),
        mib(r.eval_peak)
    );
    r
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let Some(corpus) = support::corpus() else {
        eprintln!("note: ../shared/corpus is absent; benchmark skipped");
        return;
    };
    let texts = support::rule_texts(&corpus);
    let mut zips = support::otrf_zips(&corpus);
    if quick {
        zips = zips.into_iter().step_by(8).collect();
    }
    eprintln!(
        "{} rule files, {} recordings{}",
        texts.len(),
        zips.len(),
        if quick { " (quick)" } else { "" }
    );

    let tocsin = |threads| {
        run("tocsin", &zips, threads, &|| {
            let e = support::tocsin_engine(&texts, false);
            // One scratch per worker, kept for the whole run.
            let pool: Vec<std::sync::Mutex<tocsin_sigma::Scratch>> = (0..threads)
                .map(|_| std::sync::Mutex::new(e.scratch()))
                .collect();
            Box::new(move |n: usize, lines: &[&[u8]]| {
                let mut s = pool[n].lock().unwrap();
                let mut m = 0u64;
                for l in lines {
                    m += e.eval_json(l, &mut s).map_or(0, |h| h.len() as u64);
                }
                if std::env::var_os("TOCSIN_BENCH_CACHE_STATS").is_some() {
                    eprintln!("worker {n}: {:?}", e.scan_cache_stats(&s));
                }
                m
            })
        })
    };
    let rsigma = |threads| {
        run("rsigma", &zips, threads, &|| {
            let e = support::rsigma_engine(&texts);
            Box::new(move |_n: usize, lines: &[&[u8]]| {
                let mut m = 0u64;
                for l in lines {
                    // A line that is not JSON counts for neither engine.
                    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(l) {
                        m += e.evaluate(&rsigma_eval::event::JsonEvent::borrow(&v)).len() as u64;
                    }
                }
                m
            })
        })
    };
    if std::env::var("TOCSIN_BENCH_ONLY").as_deref() == Ok("tocsin") {
        // For profiling Tocsin alone.
        tocsin(1);
        return;
    }
    let t1 = tocsin(1);
    let r1 = rsigma(1);
    let t2 = tocsin(2);
    let r2 = rsigma(2);
    let eps = |r: &Run| r.events as f64 / r.eval.as_secs_f64();
    println!(
        "| engine | threads | events/s | ratio to rsigma | matches | engine memory | evaluation peak |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (name, threads, r, peer) in [
        ("Tocsin", 1, &t1, &r1),
        ("rsigma", 1, &r1, &r1),
        ("Tocsin", 2, &t2, &r2),
        ("rsigma", 2, &r2, &r2),
    ] {
        println!(
            "| {name} | {threads} | {:.0} | {:.1}× | {} | {:.1} MiB | +{:.1} MiB |",
            eps(r),
            eps(r) / eps(peer),
            r.matches,
            mib(r.engine_bytes),
            mib(r.eval_peak)
        );
    }
    println!(
        "Tocsin 2-thread scaling: {:.2}×; rsigma: {:.2}×",
        eps(&t2) / eps(&t1),
        eps(&r2) / eps(&r1)
    );
    if t1.matches != r1.matches {
        println!(
            "note: match counts differ ({} vs {}); see tests/differential.rs for the listed differences",
            t1.matches, r1.matches
        );
    }
}
