//! What the end-to-end tests of the binary share: a `tocsin serve` child
//! with every input on loopback, and small HTTP and metrics helpers.

#![allow(clippy::unwrap_used, dead_code)] // tests fail loudly; not every test uses every helper

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub const KEY: &str = "test-sender-key-0123456789";
/// The token Prometheus would send for `/metrics`.
pub const METRICS_TOKEN: &str = "e2e-metrics-token-0123456789";

/// A rule that fires on every event carrying a `seq`, and one on a marker.
pub const RULES: &str = r#"title: Test Sequence
id: 00000000-0000-4000-8000-000000000001
status: test
logsource:
    category: test
detection:
    selection:
        seq|exists: true
    condition: selection
level: high
---
title: Test Marker
id: 00000000-0000-4000-8000-000000000002
status: test
logsource:
    category: test
detection:
    keywords:
        - 'tocsin-e2e-marker'
    condition: keywords
level: medium
"#;

pub struct Server {
    pub dir: PathBuf,
    pub web: SocketAddr,
    pub http: SocketAddr,
    pub tcp: SocketAddr,
    pub udp: SocketAddr,
    pub child: Option<Child>,
    /// An administrator's API token, made on first use (`tocsin user`).
    token: std::sync::OnceLock<String>,
}

impl Server {
    /// A server whose database and data live in `dir`.
    pub fn new(dir: &Path) -> Self {
        Self::with_database(dir, &dir.join("tocsin.db").display().to_string())
    }

    /// A server with its data in `dir` and the database at `db`.
    pub fn with_database(dir: &Path, db: &str) -> Self {
        std::fs::create_dir_all(dir.join("rules")).unwrap();
        std::fs::write(dir.join("rules/test.yml"), RULES).unwrap();
        let a = |p: u16| SocketAddr::from(([127, 0, 0, 1], p));
        let s = Server {
            dir: dir.to_path_buf(),
            web: a(free_port()),
            http: a(free_port()),
            tcp: a(free_port()),
            udp: a(free_port()),
            child: None,
            token: std::sync::OnceLock::new(),
        };
        let cfg = format!(
            r#"[database]
url = "{db}"
[web]
listen = "{web}"
[web.auth]
metrics_token = "{METRICS_TOKEN}"
[hunt]
rules = ["{rules}"]
[ingest]
enabled = true
data_dir = "{data}"
[ingest.pipeline]
batch = 500
# Every marker event is its own alert: the tests count alerts to prove
# exactly-once processing, so repeats are not folded.
fold_secs = 0
[ingest.archive]
enabled = true
[[ingest.syslog]]
name = "syslog-tcp"
protocol = "tcp"
listen = "{tcp}"
[[ingest.syslog]]
name = "syslog-udp"
protocol = "udp"
listen = "{udp}"
[ingest.http]
listen = "{http}"
[[ingest.http.senders]]
name = "test-sender"
key = "{KEY}"
format = "json"
sensor = true
"#,
            data = dir.display(),
            rules = dir.join("rules").display(),
            web = s.web,
            tcp = s.tcp,
            udp = s.udp,
            http = s.http,
        );
        std::fs::write(dir.join("tocsin.toml"), cfg).unwrap();
        s
    }

    pub fn start(&mut self) {
        let child = Command::new(env!("CARGO_BIN_EXE_tocsin"))
            .current_dir(&self.dir)
            .env_remove("TOCSIN_DATABASE")
            .env_remove("TOCSIN_LISTEN")
            .env("TOCSIN_CONFIG", self.dir.join("tocsin.toml"))
            .env("TOCSIN_LOG", "warn")
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let t0 = Instant::now();
        while TcpStream::connect(self.http).is_err() || TcpStream::connect(self.web).is_err() {
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "server did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Replaces `from` by `to` in the configuration (before `start`).
    pub fn config_replace(&self, from: &str, to: &str) {
        let p = self.dir.join("tocsin.toml");
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains(from), "{from} not in the configuration");
        std::fs::write(&p, text.replacen(from, to, 1)).unwrap();
    }

    /// Appends tables to the configuration (before `start`).
    pub fn config_append(&self, more: &str) {
        let p = self.dir.join("tocsin.toml");
        let text = std::fs::read_to_string(&p).unwrap();
        std::fs::write(&p, text + "\n" + more).unwrap();
    }

    /// The server's peak resident memory so far, MiB (`VmHWM`).
    pub fn peak_mib(&self) -> f64 {
        let pid = self.child.as_ref().unwrap().id();
        let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<f64>().ok())
            .unwrap()
            / 1024.0
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SIGKILL: no shutdown code runs.
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    /// A GET on the console as an administrator (`/metrics` with the
    /// metrics token).
    pub fn get(&self, path: &str) -> String {
        let bearer = if path == "/metrics" || path == "/healthz" {
            format!("Bearer {METRICS_TOKEN}")
        } else {
            format!("Bearer {}", self.token())
        };
        http(self.web, "GET", path, "", &[("Authorization", &bearer)])
    }

    /// The administrator's token: the user and the token are made with the
    /// command line the first time (the server may be running).
    pub fn token(&self) -> &str {
        self.token.get_or_init(|| {
            let cli = |args: &[&str], stdin: &str| {
                let mut c = Command::new(env!("CARGO_BIN_EXE_tocsin"))
                    .current_dir(&self.dir)
                    .env_remove("TOCSIN_DATABASE")
                    .env("TOCSIN_CONFIG", self.dir.join("tocsin.toml"))
                    .env("TOCSIN_LOG", "warn")
                    .args(args)
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::inherit())
                    .spawn()
                    .unwrap();
                c.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
                let out = c.wait_with_output().unwrap();
                assert!(out.status.success(), "tocsin {args:?} failed");
                String::from_utf8(out.stdout).unwrap()
            };
            cli(
                &["user", "add", "e2e-admin", "--role", "admin"],
                "đồi thông hai mộ 1975\n",
            );
            cli(&["user", "token", "e2e-admin", "--name", "e2e"], "")
                .trim()
                .to_string()
        })
    }

    /// Polls `/metrics` until the pipeline has processed `n` events.
    pub fn wait_processed(&self, n: u64) -> u64 {
        let t0 = Instant::now();
        loop {
            let m = self.get("/metrics");
            let got = metric(&m, "tocsin_pipeline_events_total");
            if got >= n {
                return got;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "processed {got} of {n}\n{m}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub fn metric(text: &str, name: &str) -> u64 {
    tocsin_telemetry::sum_in_text(text, name) as u64
}

/// A blocking HTTP/1.1 exchange; returns the whole response.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

pub fn json_body(resp: &str) -> serde_json::Value {
    let body = resp.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    // Chunked bodies from the console: take the JSON object inside.
    let start = body.find('{').unwrap_or(0);
    let end = body.rfind('}').map_or(body.len(), |e| e + 1);
    serde_json::from_str(&body[start..end]).unwrap_or(serde_json::Value::Null)
}

/// Every alert, by paging the API.
pub fn alerts(s: &Server) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    let mut before = i64::MAX;
    loop {
        let page = json_body(&s.get(&format!("/api/v1/alerts?limit=1000&before={before}")));
        let list = page["alerts"].as_array().cloned().unwrap_or_default();
        if list.is_empty() {
            return out;
        }
        before = list.last().unwrap()["id"].as_i64().unwrap();
        out.extend(list);
    }
}
