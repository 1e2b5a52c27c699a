//! The load generator behind `tocsin bench ingest`: syslog over TCP
//! (newline framing), a realistic mix of the province's records — sshd,
//! sudo, nginx access logs, firewall CEF, and an attack every so often so
//! alerts are raised — formatted line by line as a real sender would, on
//! plain threads so it does not share the server's runtime. Also the
//! "ceiling": a reader that only discards what it receives.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

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
    let mut handles = Vec::new();
    for c in 0..cfg.connections.max(1) {
        let cfg = cfg.clone();
        handles.push(std::thread::spawn(move || connection(&cfg, c as u64)));
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

fn connection(cfg: &LoadConfig, c: u64) -> std::io::Result<LoadReport> {
    let mut s = TcpStream::connect(cfg.target)?;
    s.set_nodelay(true)?;
    let mut lines = Lines::new(c, cfg.attack_every);
    let mut buf = Vec::with_capacity(256 * 1024);
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
        lines.refresh_time();
        while buf.len() < chunk {
            lines.next(&mut buf);
            n += 1;
        }
        s.write_all(&buf)?;
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

/// The line factory: templates with counters.
struct Lines {
    n: u64,
    conn: u64,
    attack_every: u64,
    bsd: String,
    clf: String,
}

impl Lines {
    fn new(conn: u64, attack_every: u64) -> Self {
        let mut l = Lines {
            n: 0,
            conn,
            attack_every: attack_every.max(1),
            bsd: String::new(),
            clf: String::new(),
        };
        l.refresh_time();
        l
    }

    fn refresh_time(&mut self) {
        let now = chrono::Utc::now().with_timezone(&tocsin_model::vietnam_offset());
        self.bsd = now.format("%b %e %H:%M:%S").to_string();
        self.clf = now.format("%d/%b/%Y:%H:%M:%S %z").to_string();
    }

    fn next(&mut self, out: &mut Vec<u8>) {
        use std::fmt::Write as _;
        self.n += 1;
        let n = self.n;
        let a = (n * 7 + self.conn * 13) % 250 + 1;
        let b = (n * 31) % 253 + 1;
        let mut s = String::with_capacity(256);
        let t = &self.bsd;
        if n.is_multiple_of(self.attack_every) {
            let _ = write!(
                s,
                "<190>{t} web{}.ngocson.gov.vn nginx: 45.155.205.{a} - - [{}] \"GET /tin-tuc/chi-tiet.php?id={n}%27%20union%20select%201,2,3-- HTTP/1.1\" 403 512 \"-\" \"sqlmap/1.8\"",
                n % 128,
                self.clf
            );
        } else {
            match n % 8 {
                0..=3 => {
                    let _ = write!(
                        s,
                        "<190>{t} web{}.ngocson.gov.vn nginx: 113.160.{a}.{b} - - [{}] \"GET /tin-tuc/bai-{n}.html HTTP/1.1\" 200 {} \"https://ngocson.gov.vn/\" \"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36\"",
                        n % 128,
                        self.clf,
                        4000 + n % 9000
                    );
                }
                4..=5 => {
                    let _ = write!(
                        s,
                        "<38>{t} srv{:02}.dc.ngocson.gov.vn sshd[{}]: Accepted publickey for deploy from 10.36.250.{a} port {} ssh2: ED25519 SHA256:Qm9vdGgK",
                        n % 55,
                        1000 + n % 60000,
                        20000 + n % 40000
                    );
                }
                6 => {
                    let _ = write!(
                        s,
                        "<134>{t} fw-core-01 CEF:0|Fortinet|FortiGate|7.4.3|0000000013|traffic:forward accept|3|src=10.36.{a}.{b} spt={} dst=142.250.{b}.{a} dpt=443 proto=TCP act=accept",
                        40000 + n % 20000
                    );
                }
                _ => {
                    let _ = write!(
                        s,
                        "<85>{t} srv{:02}.dc.ngocson.gov.vn sudo:  quantri : TTY=pts/0 ; PWD=/home/quantri ; USER=root ; COMMAND=/usr/bin/systemctl status nginx",
                        n % 55
                    );
                }
            }
        }
        s.push('\n');
        out.extend_from_slice(s.as_bytes());
    }
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
    fn every_generated_line_parses_and_attacks_come_at_the_rate() {
        let mut l = Lines::new(0, 50);
        let mut buf = Vec::new();
        for _ in 0..1000 {
            l.next(&mut buf);
        }
        let parser = tocsin_parse::ParserConfig::default().build();
        let rx = tocsin_parse::Received {
            input: "t",
            at: chrono::Utc::now(),
            peer: None,
        };
        let mut attacks = 0;
        for line in buf.split(|c| *c == b'\n').filter(|l| !l.is_empty()) {
            let ev = parser.parse(tocsin_parse::Format::Syslog, line, &rx);
            assert_eq!(ev.parse_error, None, "{}", String::from_utf8_lossy(line));
            attacks += usize::from(
                ev.fields
                    .get_str("url.original")
                    .is_some_and(|u| u.contains("union")),
            );
        }
        assert_eq!(attacks, 20);
    }

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
