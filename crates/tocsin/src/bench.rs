//! `tocsin bench ingest`: the end-to-end ingest benchmark of
//! docs/benchmarks.md. Runs the project's load generator twice in one run:
//! against a reader that discards the bytes (the ceiling), then against a
//! real `tocsin serve` child process (default rule pack, SQLite, durable
//! queue), and reports sustained events/s received → detected → committed,
//! the latency from receipt to stored alert, peak memory and loss.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tocsin_ingest::loadgen::{self, LoadConfig};

use crate::cli::BenchIngestArgs;

fn free_addr() -> anyhow::Result<SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

fn http_get(addr: SocketAddr, path: &str) -> anyhow::Result<String> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"
    )?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The bucket bound holding quantile `q` of the latency histogram.
fn histogram_quantile(text: &str, q: f64) -> f64 {
    let name = "tocsin_detection_latency_seconds_bucket{le=\"";
    let buckets: Vec<(f64, f64)> = text
        .lines()
        .filter_map(|l| l.strip_prefix(name))
        .filter_map(|l| {
            let (le, rest) = l.split_once("\"}")?;
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            Some((le, rest.trim().parse().ok()?))
        })
        .collect();
    let total = buckets.last().map_or(0.0, |b| b.1);
    buckets
        .iter()
        .find(|(_, c)| *c >= q * total)
        .map_or(f64::NAN, |b| b.0)
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

pub fn ingest(args: &BenchIngestArgs) -> anyhow::Result<()> {
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

    // 2. tocsin serve, as a child process.
    let dir = tempfile::tempdir()?;
    let (web, tcp) = (free_addr()?, free_addr()?);
    let cfg = format!(
        "[database]\nurl = \"{}\"\n[web]\nlisten = \"{web}\"\n[log]\nlevel = \"warn\"\n[ingest]\nenabled = true\n[[ingest.syslog]]\nname = \"bench-tcp\"\nprotocol = \"tcp\"\nlisten = \"{tcp}\"\n",
        dir.path().join("bench.db").display()
    );
    std::fs::write(dir.path().join("tocsin.toml"), cfg)?;
    let exe = std::env::current_exe()?;
    let child = Child_(
        Command::new(exe)
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
    let start = Instant::now();
    let sent = loadgen::run(&LoadConfig {
        target: tcp,
        connections: args.connections,
        duration,
        attack_every: args.attack_every,
    })?;
    let sent_at = start.elapsed();
    // Wait until every sent event is processed (committed with its alerts).
    let (processed, all_at) = loop {
        let m = http_get(web, "/metrics")?;
        let done = metric(&m, "tocsin_pipeline_events_total") as u64;
        if done >= sent.events {
            break (done, start.elapsed());
        }
        if start.elapsed() > sent_at + Duration::from_secs(300) {
            bail!(
                "only {done} of {} events processed after 5 minutes",
                sent.events
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let m = http_get(web, "/metrics")?;
    let received = metric(&m, "tocsin_input_events_total") as u64;
    let alerts = metric(&m, "tocsin_alerts_total") as u64;
    let failed = metric(&m, "tocsin_parse_failed_total") as u64;
    let p50 = histogram_quantile(&m, 0.5);
    let p99 = histogram_quantile(&m, 0.99);
    let rss = peak_rss_mib(pid);
    drop(child);

    let rate = sent.events as f64 / all_at.as_secs_f64();
    println!(
        "tocsin serve: sent {} events in {:.1} s ({:.0}/s offered); all processed after {:.1} s",
        sent.events,
        sent_at.as_secs_f64(),
        sent.rate(),
        all_at.as_secs_f64()
    );
    println!("  sustained end to end (received → detected → committed): {rate:.0} events/s");
    println!(
        "  received {received}, processed {processed}, lost {}, parse failures {failed}, alerts {alerts}",
        sent.events.saturating_sub(processed)
    );
    println!("  latency receipt → committed (histogram buckets): p50 ≤ {p50} s, p99 ≤ {p99} s");
    if let Some(r) = rss {
        println!("  peak memory (VmHWM) of tocsin serve: {r:.0} MiB");
    }
    println!(
        "  ratio to the ceiling: {:.2} ({rate:.0} / {:.0})",
        rate / ceiling.rate(),
        ceiling.rate()
    );
    if processed != sent.events || received != sent.events {
        bail!(
            "loss: sent {}, received {received}, processed {processed}",
            sent.events
        );
    }
    Ok(())
}
