//! `tocsin hunt` end to end against rsigma's bare evaluation (issue 11).
//!
//! The events: the first 100,000 JSON lines of the OTRF Windows recordings
//! (sorted by name), written to one `.jsonl` file. The rules: all SigmaHQ
//! rules of ../shared/corpus/sigma. Then, on one core:
//!
//! * rsigma (`rsigma-eval`, the peer): each line parsed by serde_json and
//!   evaluated — evaluation only, its engine built beforehand, nothing
//!   read from disk or written;
//! * `tocsin hunt --no-routing -o jsonl FILE` and the same with `-o csv`,
//!   as a user runs it (`taskset -c 0`): the whole command — loading the
//!   rules, reading, decoding, evaluating and writing every match with its
//!   event — and the same command over an empty file, whose time is the
//!   rule loading alone. The output goes to `/dev/null`, so the disk's
//!   speed is not measured (one more run writes a file, for comparison).
//!   Peak memory is the command's high-water mark (`VmHWM`).
//!
//! Routing is off on both sides (rsigma has none), so both find the same
//! matches; `tocsin hunt` with routing (its default) is measured too.
//!
//! This machine's timings vary by a quarter from run to run: each command
//! is run three times and rsigma twice, and the fastest run is kept.
//!
//! Run: `cargo bench -p tocsin --bench hunt_vs_rsigma`
//! (`TOCSIN_BENCH_EVENTS=n` for another number of events).

#![allow(clippy::unwrap_used, missing_docs)]

#[path = "../../tocsin-sigma/tests/support/mod.rs"]
mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One run of the command: wall time, peak memory, matches it reported.
struct Ran {
    wall: Duration,
    peak_mib: f64,
    matches: u64,
}

/// The fastest of three runs (with the highest peak memory of the three).
fn best_of_3(rules: &[PathBuf], file: &Path, args: &[&str], out: &Path) -> Ran {
    let mut runs: Vec<Ran> = (0..3).map(|_| hunt(rules, file, args, out)).collect();
    let peak = runs.iter().map(|r| r.peak_mib).fold(0.0, f64::max);
    runs.sort_by_key(|r| r.wall);
    let mut best = runs.swap_remove(0);
    best.peak_mib = peak;
    best
}

/// Runs `tocsin hunt` pinned to CPU 0, stdout to `out`.
fn hunt(rules: &[PathBuf], file: &Path, args: &[&str], out: &Path) -> Ran {
    let exe = env!("CARGO_BIN_EXE_tocsin");
    let pin = Path::new("/usr/bin/taskset").exists();
    let mut cmd = if pin {
        let mut c = Command::new("/usr/bin/taskset");
        c.args(["-c", "0", exe]);
        c
    } else {
        Command::new(exe)
    };
    cmd.arg("hunt").arg("--quiet").args(args);
    for r in rules {
        cmd.arg("--rules").arg(r);
    }
    let sink = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(out)
        .unwrap();
    let errors = tempfile::tempfile().unwrap();
    cmd.arg(file)
        .stdout(sink)
        .stderr(errors.try_clone().unwrap())
        // No configuration file of the machine's, no database to attribute with.
        .env("TOCSIN_DATABASE", "sqlite::memory:")
        .env_remove("TOCSIN_CONFIG");
    let t = Instant::now();
    let mut child = cmd.spawn().unwrap();
    let status = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0u64;
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            assert!(s.success(), "tocsin hunt failed: {s}");
            break;
        }
        // The high-water mark only grows; the last reading before the exit
        // is the peak, but for what the last millisecond may add.
        if let Ok(text) = std::fs::read_to_string(&status)
            && let Some(kib) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
        {
            peak_kib = peak_kib.max(kib);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let wall = t.elapsed();
    // "1 files, 100000 records, 179579 matches; …"
    let said =
        std::fs::read_to_string(format!("/proc/self/fd/{}", fd(&errors))).unwrap_or_default();
    let matches = said
        .lines()
        .find_map(|l| {
            let (_, rest) = l.split_once(" records, ")?;
            rest.split_once(" matches")?.0.parse().ok()
        })
        .unwrap_or_else(|| panic!("no summary in: {said}"));
    Ran {
        wall,
        peak_mib: peak_kib as f64 / 1024.0,
        matches,
    }
}

fn fd(f: &std::fs::File) -> i32 {
    use std::os::fd::AsRawFd;
    f.as_raw_fd()
}

/// Pins this thread to CPU 0 as `taskset` pins the command.
fn pin_self() {
    if Path::new("/usr/bin/taskset").exists() {
        let tid = std::fs::read_link("/proc/thread-self")
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
        if let Some(tid) = tid {
            let _ = Command::new("/usr/bin/taskset")
                .args(["-p", "-c", "0", &tid])
                .stdout(Stdio::null())
                .status();
        }
    }
}

fn main() {
    let Some(corpus) = support::corpus() else {
        eprintln!("note: ../shared/corpus is absent; benchmark skipped");
        return;
    };
    let n: usize = std::env::var("TOCSIN_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("otrf.jsonl");
    let mut lines: Vec<Vec<u8>> = Vec::with_capacity(n);
    'zips: for z in support::otrf_zips(&corpus) {
        let buf = support::otrf_lines(&z);
        for l in support::lines(&buf) {
            lines.push(l.trim_ascii().to_vec());
            if lines.len() == n {
                break 'zips;
            }
        }
    }
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
        for l in &lines {
            w.write_all(l).unwrap();
            w.write_all(b"\n").unwrap();
        }
    }
    let bytes = std::fs::metadata(&file).unwrap().len();
    let empty = dir.path().join("empty.jsonl");
    std::fs::write(&empty, "").unwrap();
    let rules: Vec<PathBuf> = ["rules", "rules-emerging-threats", "rules-threat-hunting"]
        .iter()
        .map(|d| corpus.join("sigma").join(d))
        .collect();
    eprintln!(
        "{} events, {:.0} MiB of JSON lines",
        lines.len(),
        bytes as f64 / 1048576.0
    );

    // The peer: rsigma's evaluation of the same lines on one core.
    pin_self();
    let texts = support::rule_texts(&corpus);
    let rs = support::rsigma_engine(&texts);
    let mut rs_eval = Duration::MAX;
    let mut rs_matches = 0u64;
    for _ in 0..2 {
        let t = Instant::now();
        rs_matches = 0;
        for l in &lines {
            if let Ok(v) = serde_json::from_slice::<serde_json::Value>(l) {
                rs_matches += rs
                    .evaluate(&rsigma_eval::event::JsonEvent::borrow(&v))
                    .len() as u64;
            }
        }
        rs_eval = rs_eval.min(t.elapsed());
    }
    drop(rs);
    let rs_eps = lines.len() as f64 / rs_eval.as_secs_f64();
    eprintln!(
        "rsigma: {:.2} s, {rs_eps:.0} events/s, {rs_matches} matches",
        rs_eval.as_secs_f64()
    );

    let null = Path::new("/dev/null");
    let to_file = dir.path().join("out.jsonl");
    let mut rows = Vec::new();
    for (name, args, out) in [
        (
            "tocsin hunt --no-routing -o jsonl",
            &["--no-routing", "-o", "jsonl"][..],
            null,
        ),
        (
            "tocsin hunt --no-routing -o csv",
            &["--no-routing", "-o", "csv"][..],
            null,
        ),
        ("tocsin hunt -o jsonl (routing)", &["-o", "jsonl"][..], null),
        (
            "tocsin hunt --no-routing -o jsonl > file",
            &["--no-routing", "-o", "jsonl"][..],
            to_file.as_path(),
        ),
    ] {
        let start = best_of_3(&rules, &empty, args, out);
        let full = best_of_3(&rules, &file, args, out);
        let work = full.wall.saturating_sub(start.wall);
        eprintln!(
            "{name}: {:.2} s ({:.2} s loading rules), peak {:.0} MiB, {} matches",
            full.wall.as_secs_f64(),
            start.wall.as_secs_f64(),
            full.peak_mib,
            full.matches
        );
        rows.push((name, full, start, work));
    }
    println!(
        "| command | whole command | rule loading | reading to writing | events/s (reading to writing) | ratio to rsigma's evaluation | ratio, whole command | peak memory | matches |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    println!(
        "| rsigma evaluation only | | | {:.2} s | {rs_eps:.0} | 1.0× | | | {rs_matches} |",
        rs_eval.as_secs_f64()
    );
    for (name, full, start, work) in rows {
        let eps = lines.len() as f64 / work.as_secs_f64();
        println!(
            "| `{name}` | {:.2} s | {:.2} s | {:.2} s | {eps:.0} | **{:.1}×** | {:.1}× | {:.0} MiB | {} |",
            full.wall.as_secs_f64(),
            start.wall.as_secs_f64(),
            work.as_secs_f64(),
            eps / rs_eps,
            rs_eval.as_secs_f64() / full.wall.as_secs_f64(),
            full.peak_mib,
            full.matches,
        );
    }
}
