//! The demo's live feed: the [`Traffic`] generator's records sent through
//! the real inputs (syslog over TCP and UDP, HTTP NDJSON and Elasticsearch
//! `_bulk`, a followed access-log file) so the console fills with live
//! events and alerts: servers' sshd and sudo, the 128 websites' access logs
//! with the attacks the seed report counts, Windows logons and process
//! starts via Winlogbeat, Suricata alerts for agency devices talking to
//! botnets, and the firewall's CEF.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tocsin_model::Inventory;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, UdpSocket};

use crate::traffic::Traffic;

/// Where the demo's inputs listen, and the keys the demo senders use.
#[derive(Clone, Debug)]
pub struct Targets {
    /// The syslog TCP input.
    pub syslog_tcp: SocketAddr,
    /// The syslog UDP input.
    pub syslog_udp: SocketAddr,
    /// The HTTP input.
    pub http: SocketAddr,
    /// The Winlogbeat sender's key (`_bulk`).
    pub winlogbeat_key: String,
    /// The Suricata sensor's key (NDJSON).
    pub suricata_key: String,
    /// An nginx access log the demo's file input follows.
    pub access_log: PathBuf,
}

/// Why a send failed.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// A socket or file.
    #[error("{what}: {source}")]
    Io {
        /// Which target.
        what: &'static str,
        /// Why.
        source: std::io::Error,
    },
    /// The HTTP input refused.
    #[error("HTTP ingest answered {status}: {body:.200}")]
    Refused {
        /// Status code.
        status: u16,
        /// Its body.
        body: String,
    },
}

fn io(what: &'static str) -> impl FnOnce(std::io::Error) -> FeedError {
    move |source| FeedError::Io { what, source }
}

/// The demo feeder.
pub struct Feeder {
    t: Targets,
    traffic: Traffic,
    udp: Option<UdpSocket>,
    tcp: Option<TcpStream>,
}

impl Feeder {
    /// A feeder for `inv`'s province into `t`.
    pub fn new(inv: &Inventory, t: Targets) -> Self {
        Feeder {
            t,
            traffic: Traffic::new(inv, 0x0646_1024_0793_0342),
            udp: None,
            tcp: None,
        }
    }

    /// Sends forever: a burst of history first, then a steady trickle with
    /// attacks mixed in.
    pub async fn run(mut self) {
        if let Err(e) = self.backlog().await {
            tracing::warn!(error = %e, "demo feed: backlog not sent");
        }
        let mut tick = 0u64;
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            tick += 1;
            if let Err(e) = self.tick(tick).await {
                tracing::warn!(error = %e, "demo feed");
                self.tcp = None;
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    }

    async fn backlog(&mut self) -> Result<(), FeedError> {
        for i in 0..40 {
            self.tick(i).await?;
        }
        // Each class the center counts, staged through the real inputs: a
        // brute force of each kind, one ending in a takeover; a web-attack
        // campaign on a commune site; a malware outbreak; a flood on the
        // portal (a denial-of-service episode, ended by the normal traffic
        // that follows).
        let lines = self.traffic.ssh_bruteforce(25);
        self.send_tcp(&lines).await?;
        let lines = self.traffic.ssh_takeover(14);
        self.send_tcp(&lines).await?;
        let docs = self.traffic.windows_bruteforce(30);
        self.bulk(&docs).await?;
        let lines = self.traffic.web_campaign();
        self.send_tcp(&lines).await?;
        let docs = self.traffic.malware_outbreak(5);
        self.bulk(&docs).await?;
        let lines = self.traffic.web_flood(4_000);
        self.send_tcp(&lines).await
    }

    async fn tick(&mut self, n: u64) -> Result<(), FeedError> {
        self.traffic.refresh_time();
        let t = &mut self.traffic;
        let mut syslog: Vec<String> = (0..6).map(|_| t.web_syslog()).collect();
        syslog.push(t.ssh());
        if n.is_multiple_of(4) {
            syslog.push(t.sudo());
        }
        let cef = [t.cef()];
        let win = [t.windows()];
        let eve = [t.eve()];
        let access: Vec<String> = (0..3).map(|_| t.access_line()).collect();
        self.send_tcp(&syslog).await?;
        self.send_udp(&cef).await?;
        self.bulk(&win).await?;
        self.ndjson(&eve).await?;
        self.append_access_log(&access)?;
        if n % 120 == 119 {
            let lines = self.traffic.ssh_bruteforce(25);
            self.send_tcp(&lines).await?;
        }
        if n % 300 == 299 {
            let docs = self.traffic.windows_bruteforce(30);
            self.bulk(&docs).await?;
        }
        Ok(())
    }

    /// The public-service portal's own access log, written to a file.
    fn append_access_log(&mut self, lines: &[String]) -> Result<(), FeedError> {
        use std::io::Write as _;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.t.access_log)
            .map_err(io("access log"))?;
        for l in lines {
            writeln!(f, "{l}").map_err(io("access log"))?;
        }
        Ok(())
    }

    async fn send_tcp(&mut self, lines: &[String]) -> Result<(), FeedError> {
        if self.tcp.is_none() {
            self.tcp = Some(
                TcpStream::connect(self.t.syslog_tcp)
                    .await
                    .map_err(io("syslog TCP"))?,
            );
        }
        let mut buf = Vec::new();
        for l in lines {
            // RFC 6587 octet counting, as rsyslog's omfwd sends it.
            buf.extend_from_slice(format!("{} {l}", l.len()).as_bytes());
        }
        if let Some(s) = self.tcp.as_mut() {
            s.write_all(&buf).await.map_err(io("syslog TCP"))?;
        }
        Ok(())
    }

    async fn send_udp(&mut self, lines: &[String]) -> Result<(), FeedError> {
        if self.udp.is_none() {
            let s = UdpSocket::bind("127.0.0.1:0")
                .await
                .map_err(io("syslog UDP"))?;
            s.connect(self.t.syslog_udp)
                .await
                .map_err(io("syslog UDP"))?;
            self.udp = Some(s);
        }
        if let Some(s) = &self.udp {
            for l in lines {
                s.send(l.as_bytes()).await.map_err(io("syslog UDP"))?;
            }
        }
        Ok(())
    }

    async fn bulk(&mut self, docs: &[String]) -> Result<(), FeedError> {
        let mut body = String::new();
        for d in docs {
            body.push_str("{\"create\":{\"_index\":\"winlogbeat-8.17.0\"}}\n");
            body.push_str(d);
            body.push('\n');
        }
        let auth = format!(
            "ApiKey {}",
            b64(&format!("winlogbeat:{}", self.t.winlogbeat_key))
        );
        post(self.t.http, "/_bulk", auth, body).await
    }

    async fn ndjson(&mut self, docs: &[String]) -> Result<(), FeedError> {
        let auth = format!("Bearer {}", self.t.suricata_key);
        post(self.t.http, "/api/v1/ingest", auth, docs.join("\n")).await
    }
}

fn b64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// POSTs NDJSON to the HTTP input; fails unless the answer is 200.
async fn post(
    addr: SocketAddr,
    path: &'static str,
    auth: String,
    body: String,
) -> Result<(), FeedError> {
    let r = tokio::task::spawn_blocking(move || {
        crate::http::request(
            addr,
            "POST",
            path,
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/x-ndjson"),
            ],
            &body,
        )
    })
    .await
    .map_err(|e| FeedError::Io {
        what: "HTTP ingest",
        source: std::io::Error::other(e),
    })?
    .map_err(io("HTTP ingest"))?;
    if r.status != 200 {
        return Err(FeedError::Refused {
            status: r.status,
            body: r.body,
        });
    }
    Ok(())
}
