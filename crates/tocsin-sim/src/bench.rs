//! `tocsin bench ingest`: the end-to-end ingest benchmark of
//! docs/benchmarks.md. Runs the project's load generator twice in one run:
//! against a reader that discards the bytes (the ceiling), then against a
//! real `tocsin serve` child process (default rule pack, SQLite, durable
//! queue), and reports sustained events/s received → detected → committed,
//! the latency from receipt to stored alert, peak memory and loss.

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tocsin_telemetry::{histogram_quantile, sum_in_text};

use crate::loadgen::{self, LoadConfig};

/// What `tocsin bench ingest` measures.
#[derive(Clone, Debug)]
pub struct BenchIngest {
    /// The `tocsin` binary to run as the server.
    pub exe: PathBuf,
    /// Seconds the generator sends in each run.
    pub seconds: u64,
    /// Parallel TCP connections.
    pub connections: usize,
    /// One line in N is an attack that raises an alert.
    pub attack_every: u64,
    /// Events per second of the paced run (latency without a backlog).
    pub paced_rate: u64,
    /// Extra configuration appended to the server's `tocsin.toml`.
    pub extra_config: String,
    /// Threat-intelligence indicators the server loads before the load
    /// starts (0: none), of the mix `intel::bulk_feed` writes.
    pub indicators: usize,
}

fn free_addr() -> anyhow::Result<SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

/// A GET on the console with the benchmark's API token.
fn http_get(addr: SocketAddr, path: &str, token: &str) -> anyhow::Result<String> {
    let auth = format!("Bearer {token}");
    Ok(crate::http::request(addr, "GET", path, &[("Authorization", &auth)], "")?.body)
}

/// An analyst and their API token, made with the server binary's command
/// line in the benchmark's directory (the console lets nobody in without).
/// A build older than sign-in has no `user` command and an open console:
/// then no token (`--server` measures older builds too).
fn api_token(exe: &std::path::Path, dir: &std::path::Path) -> anyhow::Result<String> {
    match make_token(exe, dir) {
        Ok(t) => Ok(t),
        Err(e) => {
            eprintln!("note: no API token ({e}); assuming a build without sign-in");
            Ok(String::new())
        }
    }
}

fn make_token(exe: &std::path::Path, dir: &std::path::Path) -> anyhow::Result<String> {
    let run = |args: &[&str]| -> anyhow::Result<String> {
        let out = Command::new(exe)
            .current_dir(dir)
            .env("TOCSIN_CONFIG", dir.join("tocsin.toml"))
            .env_remove("TOCSIN_DATABASE")
            .args(args)
            .stderr(Stdio::null())
            .output()
            .context("cannot run the server binary's `user` command")?;
        if !out.status.success() {
            bail!("`tocsin {}` failed", args.join(" "));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    run(&["user", "add", "bench", "--role", "analyst", "--generate"])?;
    run(&["user", "token", "bench", "--name", "bench"])
}

fn peak_rss_mib(pid: u32) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = s
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

struct Child_(Child);

impl Drop for Child_ {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One run of `tocsin serve` under the generator.
struct ServeRun {
    sent: loadgen::LoadReport,
    /// From the first send until every event was processed.
    all_at: Duration,
    received: u64,
    processed: u64,
    alerts: u64,
    failed: u64,
    p50_bucket: f64,
    p99_bucket: f64,
    /// Receipt → alert stored, from the stored alerts (ms): p50, p99, max.
    alert_latency_ms: Option<(f64, f64, f64)>,
    peak_rss_mib: Option<f64>,
    /// From the console answering to the indicators in force.
    loaded_in: Option<Duration>,
}

impl ServeRun {
    fn rate(&self) -> f64 {
        self.sent.events as f64 / self.all_at.as_secs_f64()
    }
}

fn serve_run(args: &BenchIngest, rate: Option<u64>) -> anyhow::Result<ServeRun> {
    let dir = tempfile::tempdir()?;
    let (web, tcp) = (free_addr()?, free_addr()?);
    let mut cfg = format!(
        "[database]\nurl = \"{}\"\n[web]\nlisten = \"{web}\"\n[log]\nlevel = \"warn\"\n[ingest]\nenabled = true\n[[ingest.syslog]]\nname = \"bench-tcp\"\nprotocol = \"tcp\"\nlisten = \"{tcp}\"\n{}\n",
        dir.path().join("bench.db").display(),
        args.extra_config
    );
    if args.indicators > 0 {
        let feed = dir.path().join("bench-feed.txt");
        std::fs::write(&feed, crate::intel::bulk_feed(args.indicators))?;
        cfg.push_str(&format!(
            "[intel]\n[[intel.feeds]]\nname = \"bench\"\nformat = \"plain\"\npath = \"{}\"\nthreat = \"botnet_cc\"\n",
            feed.display()
        ));
    }
    std::fs::write(dir.path().join("tocsin.toml"), cfg)?;
    let token = api_token(&args.exe, dir.path())?;
    let child = Child_(
        Command::new(&args.exe)
            .current_dir(dir.path())
            .env("TOCSIN_CONFIG", dir.path().join("tocsin.toml"))
            .env_remove("TOCSIN_DATABASE")
            .env_remove("TOCSIN_LISTEN")
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot start tocsin serve")?,
    );
    let pid = child.0.id();
    let t0 = Instant::now();
    while TcpStream::connect(tcp).is_err() || TcpStream::connect(web).is_err() {
        if t0.elapsed() > Duration::from_secs(60) {
            bail!("tocsin serve did not start");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let loaded_in = if args.indicators > 0 {
        // The load starts once the set is in force.
        let want = format!("\"indicators\":{}", args.indicators);
        let t = Instant::now();
        while !http_get(web, "/api/v1/intel/feeds", &token)?.contains(&want) {
            if t.elapsed() > Duration::from_secs(120) {
                bail!("the indicators did not load in 2 minutes");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(t.elapsed())
    } else {
        None
    };
    let start = Instant::now();
    let sent = loadgen::run(&LoadConfig {
        target: tcp,
        connections: args.connections,
        duration: Duration::from_secs(args.seconds.max(1)),
        attack_every: args.attack_every,
        rate,
    })?;
    let sent_at = start.elapsed();
    let (processed, all_at) = loop {
        let m = http_get(web, "/metrics", &token)?;
        let done = sum_in_text(&m, "tocsin_pipeline_events_total") as u64;
        if done >= sent.events {
            break (done, start.elapsed());
        }
        if start.elapsed() > sent_at + Duration::from_secs(600) {
            bail!(
                "only {done} of {} events processed after 10 minutes",
                sent.events
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let m = http_get(web, "/metrics", &token)?;
    let alert_latency_ms = alert_latencies(web, &token)?;
    let run = ServeRun {
        sent,
        all_at,
        received: sum_in_text(&m, "tocsin_input_events_total") as u64,
        processed,
        alerts: sum_in_text(&m, "tocsin_alerts_total") as u64,
        failed: sum_in_text(&m, "tocsin_parse_failed_total") as u64,
        p50_bucket: histogram_quantile(&m, 0.5),
        p99_bucket: histogram_quantile(&m, 0.99),
        alert_latency_ms,
        peak_rss_mib: peak_rss_mib(pid),
        loaded_in,
    };
    drop(child);
    Ok(run)
}

/// p50, p99 and max of (alert stored − event received) over every alert.
fn alert_latencies(web: SocketAddr, token: &str) -> anyhow::Result<Option<(f64, f64, f64)>> {
    let ts = |s: &str| {
        chrono::DateTime::parse_from_rfc3339(s)
            .map(|d| d.timestamp_micros())
            .ok()
    };
    let mut lat: Vec<f64> = Vec::new();
    let mut before = i64::MAX;
    loop {
        let body = http_get(
            web,
            &format!("/api/v1/alerts?limit=1000&before={before}"),
            token,
        )?;
        let (a, b) = (
            body.find('{').unwrap_or(0),
            body.rfind('}').map_or(0, |e| e + 1),
        );
        let v: serde_json::Value = serde_json::from_str(body.get(a..b).unwrap_or("{}"))?;
        let list = v["alerts"].as_array().cloned().unwrap_or_default();
        let Some(last) = list.last() else { break };
        before = last["id"].as_i64().unwrap_or(0);
        for al in &list {
            if let (Some(r), Some(c)) = (
                al["received_at"].as_str().and_then(ts),
                al["created_at"].as_str().and_then(ts),
            ) {
                lat.push((c - r) as f64 / 1000.0);
            }
        }
    }
    if lat.is_empty() {
        return Ok(None);
    }
    lat.sort_by(f64::total_cmp);
    let q = |p: f64| lat[((p * lat.len() as f64).ceil() as usize).clamp(1, lat.len()) - 1];
    Ok(Some((q(0.5), q(0.99), lat[lat.len() - 1])))
}

fn report(label: &str, r: &ServeRun) {
    if let Some(t) = r.loaded_in {
        println!(
            "{label}: indicators in force {:.2} s after the console answered",
            t.as_secs_f64()
        );
    }
    println!(
        "{label}: sent {} events in {:.1} s ({:.0}/s offered); all processed after {:.1} s",
        r.sent.events,
        r.sent.elapsed.as_secs_f64(),
        r.sent.rate(),
        r.all_at.as_secs_f64()
    );
    println!(
        "  end to end (received → detected → committed): {:.0} events/s",
        r.rate()
    );
    println!(
        "  received {}, processed {}, lost {}, parse failures {}, alerts {}",
        r.received,
        r.processed,
        r.sent.events.saturating_sub(r.processed),
        r.failed,
        r.alerts
    );
    println!(
        "  receipt → committed, every event (histogram buckets): p50 ≤ {} s, p99 ≤ {} s",
        r.p50_bucket, r.p99_bucket
    );
    if let Some((p50, p99, max)) = r.alert_latency_ms {
        println!(
            "  receipt → alert stored, every alert: p50 {p50:.0} ms, p99 {p99:.0} ms, max {max:.0} ms"
        );
    }
    if let Some(m) = r.peak_rss_mib {
        println!("  peak memory (VmHWM) of tocsin serve: {m:.0} MiB");
    }
}

/// Runs the benchmark and prints its report.
pub fn ingest(args: &BenchIngest) -> anyhow::Result<()> {
    let duration = Duration::from_secs(args.seconds.max(1));
    println!(
        "tocsin bench ingest: {} s per run, {} connection(s), one attack line in {}",
        duration.as_secs(),
        args.connections,
        args.attack_every
    );
    // 1. The ceiling: the same generator into a reader that discards.
    let (addr, bytes, _stop) = loadgen::discard_server()?;
    let ceiling = loadgen::run(&LoadConfig {
        target: addr,
        connections: args.connections,
        duration,
        attack_every: args.attack_every,
        rate: None,
    })?;
    anyhow::ensure!(
        bytes.load(Ordering::Relaxed) == ceiling.bytes,
        "discard reader lost bytes"
    );
    println!(
        "ceiling (discard reader): {:.0} events/s, {:.0} MiB/s",
        ceiling.rate(),
        ceiling.bytes as f64 / 1048576.0 / ceiling.elapsed.as_secs_f64()
    );
    // 2. As fast as it goes: the queue absorbs the burst, the pipeline drains it.
    let max = serve_run(args, None)?;
    report("tocsin serve, unpaced", &max);
    println!(
        "  ratio to the ceiling: {:.3} ({:.0} / {:.0})",
        max.rate() / ceiling.rate(),
        max.rate(),
        ceiling.rate()
    );
    // 3. Paced at a rate it sustains: latency without a backlog.
    let paced = serve_run(args, Some(args.paced_rate))?;
    report(
        &format!("tocsin serve, paced at {}/s", args.paced_rate),
        &paced,
    );
    for (name, r) in [("unpaced", &max), ("paced", &paced)] {
        if r.processed != r.sent.events || r.received != r.sent.events {
            bail!(
                "{name}: loss: sent {}, received {}, processed {}",
                r.sent.events,
                r.received,
                r.processed
            );
        }
    }
    Ok(())
}
