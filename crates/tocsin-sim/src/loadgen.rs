//! The load generator behind `tocsin bench ingest`: syslog over TCP
//! (newline framing), the [`Traffic`] generator's mix of the province's
//! records — sshd, sudo, nginx access logs, firewall CEF, and an attack
//! every so often so alerts are raised — on plain threads so it does not
//! share the server's runtime. Also the "ceiling": a reader that only
//! discards what it receives.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::traffic::Traffic;

/// What to send.
#[derive(Clone, Debug)]
pub struct LoadConfig {
    /// The syslog TCP input.
    pub target: SocketAddr,
    /// Parallel connections.
    pub connections: usize,
    /// How long to send.
    pub duration: Duration,
    /// One line in this many is an attack that raises an alert.
    pub attack_every: u64,
    /// Events per second over all connections; `None`: as fast as the
    /// receiver takes them.
    pub rate: Option<u64>,
}

/// What was sent.
#[derive(Clone, Copy, Debug, Default)]
pub struct LoadReport {
    /// Lines written (all of them accepted by the socket).
    pub events: u64,
    /// Bytes written.
    pub bytes: u64,
    /// From the first write to the last.
    pub elapsed: Duration,
}

impl LoadReport {
    /// Events per second.
    pub fn rate(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Sends for `cfg.duration` and reports.
pub fn run(cfg: &LoadConfig) -> std::io::Result<LoadReport> {
    let start = Instant::now();
    let province = crate::province();
    let mut handles = Vec::new();
    for c in 0..cfg.connections.max(1) {
        let cfg = cfg.clone();
        let traffic = Traffic::new(&province, 0x10ad + c as u64);
        handles.push(std::thread::spawn(move || connection(&cfg, traffic)));
    }
    let mut total = LoadReport::default();
    for h in handles {
        let r = h
            .join()
            .map_err(|_| std::io::Error::other("generator thread panicked"))??;
        total.events += r.events;
        total.bytes += r.bytes;
    }
    total.elapsed = start.elapsed();
    Ok(total)
}

fn connection(cfg: &LoadConfig, mut traffic: Traffic) -> std::io::Result<LoadReport> {
    let mut s = TcpStream::connect(cfg.target)?;
    s.set_nodelay(true)?;
    let mut buf = String::with_capacity(256 * 1024);
    let mut r = LoadReport::default();
    // Paced senders write small chunks so arrivals are smooth.
    let chunk = if cfg.rate.is_some() {
        16 * 1024
    } else {
        240 * 1024
    };
    let started = Instant::now();
    let deadline = started + cfg.duration;
    let per_conn = cfg.rate.map(|r| r as f64 / cfg.connections.max(1) as f64);
    while Instant::now() < deadline {
        if let Some(rate) = per_conn {
            // Pace: wait until the lines sent so far are due.
            let due = started + Duration::from_secs_f64(r.events as f64 / rate);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
        buf.clear();
        let mut n = 0;
        traffic.refresh_time();
        while buf.len() < chunk {
            traffic.mix_line(cfg.attack_every, &mut buf);
            n += 1;
        }
        s.write_all(buf.as_bytes())?;
        r.events += n;
        r.bytes += buf.len() as u64;
    }
    s.flush()?;
    s.shutdown(std::net::Shutdown::Write)?;
    // Wait for the server to close its side (everything read).
    let mut sink = [0u8; 64];
    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
    let _ = s.read(&mut sink);
    Ok(r)
}

/// A TCP server that reads and discards everything: the ceiling a
/// generator reaches on this machine. Returns its address and the bytes
/// read so far; it runs until the process ends.
pub fn discard_server() -> std::io::Result<(SocketAddr, Arc<AtomicU64>, Arc<AtomicBool>)> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    let addr = l.local_addr()?;
    let bytes = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let (b, st) = (bytes.clone(), stop.clone());
    std::thread::spawn(move || {
        for conn in l.incoming() {
            if st.load(Ordering::Relaxed) {
                return;
            }
            let Ok(mut c) = conn else { continue };
            let b = b.clone();
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 256 * 1024];
                while let Ok(n) = c.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    b.fetch_add(n as u64, Ordering::Relaxed);
                }
            });
        }
    });
    Ok((addr, bytes, stop))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generator_against_the_discard_reader_counts_what_it_sent() {
        let (addr, bytes, _stop) = discard_server().expect("listen");
        let r = run(&LoadConfig {
            target: addr,
            connections: 2,
            duration: Duration::from_millis(200),
            attack_every: 100,
            rate: None,
        })
        .expect("send");
        assert!(r.events > 0);
        assert_eq!(bytes.load(Ordering::Relaxed), r.bytes);
    }
}
