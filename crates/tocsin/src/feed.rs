//! A realistic stream of logs from the synthetic province, sent through the
//! real inputs (syslog over TCP and UDP, HTTP NDJSON and Elasticsearch
//! `_bulk`) so the demo's console fills with live events and alerts:
//! servers' sshd and sudo, the 128 websites' access logs with the attacks
//! the seed report counts (SQL injection, path traversal, web shells,
//! floods), Windows logons and process starts via Winlogbeat, Suricata
//! alerts for agency devices talking to botnets, and the firewall's CEF.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use chrono::{FixedOffset, Utc};
use tocsin_inventory::synth::Rng;
use tocsin_model::{AssetKind, Inventory};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// Where the demo's inputs listen, and the keys the demo senders use.
#[derive(Clone, Debug)]
pub struct Targets {
    pub syslog_tcp: SocketAddr,
    pub syslog_udp: SocketAddr,
    pub http: SocketAddr,
    pub winlogbeat_key: String,
    pub suricata_key: String,
    /// An nginx access log the demo's file input follows.
    pub access_log: std::path::PathBuf,
}

/// Attackers' addresses (outside the province's ranges).
const ATTACKERS: &[&str] = &[
    "45.155.205.233",
    "185.220.101.47",
    "193.42.33.18",
    "103.145.13.22",
    "91.240.118.172",
    "222.186.30.112",
    "61.177.172.140",
];

/// Botnet controllers agency devices call (the seed's 1,925 agency IPs).
const C2: &[(&str, &str)] = &[
    (
        "162.243.103.246",
        "ET MALWARE Feodo Tracker Reported CnC Server group 1",
    ),
    (
        "50.16.216.118",
        "ET MALWARE Win32/Emotet CnC Activity (POST) M9",
    ),
    ("192.99.178.145", "ET MALWARE QakBot CnC Checkin"),
    (
        "104.168.155.129",
        "ET MALWARE Cobalt Strike Beacon Observed",
    ),
];

/// Ordinary visitors (Vietnamese ISPs).
const VISITORS: &[&str] = &[
    "113.160.", "14.232.", "171.244.", "116.96.", "27.72.", "42.112.",
];

const AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Version/17.5 Mobile Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 Chrome/130.0 Mobile Safari/537.36",
    "Zalo/24.10 (Android)",
];

const PAGES: &[&str] = &[
    "/",
    "/tin-tuc/",
    "/thu-tuc-hanh-chinh/",
    "/van-ban/quyet-dinh-2026.pdf",
    "/lien-he",
    "/static/css/main.css",
    "/static/js/app.js",
    "/images/banner.jpg",
];

const ATTACKS: &[&str] = &[
    "/tin-tuc/chi-tiet.php?id=12%27%20union%20select%201,2,concat(user,0x3a,password)%20from%20users--",
    "/index.php?page=../../../../etc/passwd",
    "/uploads/2026/wso.php",
    "/uploads/images/shell.php?cmd=whoami",
    "/search?q=1%27%20or%20%271%27%3d%271",
    "/van-ban/download.php?file=..%2f..%2f..%2fwp-config.php",
    "/api/list?id=1;waitfor delay '0:0:5'--",
];

struct Province {
    servers: Vec<String>,
    websites: Vec<String>,
    /// (agency code, /24 prefix like "10.36.12.")
    lans: Vec<(String, String)>,
    domain_controller: String,
}

impl Province {
    fn new(inv: &Inventory) -> Self {
        let host = |k: AssetKind| -> Vec<String> {
            inv.assets
                .iter()
                .filter(|a| a.kind == k)
                .filter_map(|a| a.hostnames.first().cloned())
                .collect()
        };
        let servers = host(AssetKind::Server);
        let lans = inv
            .agencies
            .iter()
            .filter_map(|a| {
                let r = a
                    .ranges
                    .iter()
                    .find(|r| r.is_ipv4() && r.prefix_len() == 24)?;
                let s = r.addr().to_string();
                let prefix = s.rsplit_once('.')?.0.to_string() + ".";
                Some((a.code.as_str().to_string(), prefix))
            })
            .collect();
        let domain_controller = servers
            .iter()
            .find(|h| h.starts_with("ad"))
            .cloned()
            .unwrap_or_else(|| "ad05.dc.ngocson.gov.vn".into());
        Province {
            servers,
            websites: host(AssetKind::Website),
            lans,
            domain_controller,
        }
    }
}

/// The demo feeder.
pub struct Feeder {
    t: Targets,
    p: Province,
    rng: Rng,
    udp: Option<UdpSocket>,
    tcp: Option<TcpStream>,
}

fn vn() -> FixedOffset {
    tocsin_model::vietnam_offset()
}

impl Feeder {
    pub fn new(inv: &Inventory, t: Targets) -> Self {
        Feeder {
            t,
            p: Province::new(inv),
            rng: Rng(0x0646_1024_0793_0342),
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

    async fn backlog(&mut self) -> anyhow::Result<()> {
        for i in 0..40 {
            self.tick(i).await?;
        }
        // One brute-force attack of each kind and a flood, so every
        // correlation shows at once.
        self.ssh_bruteforce().await?;
        self.windows_bruteforce().await?;
        self.web_flood().await?;
        Ok(())
    }

    async fn tick(&mut self, n: u64) -> anyhow::Result<()> {
        let mut syslog = Vec::new();
        for _ in 0..6 {
            syslog.push(self.web_line());
        }
        syslog.push(self.ssh_line());
        if self.rng.chance(300) {
            syslog.push(self.sudo_line());
        }
        self.send_tcp(&syslog).await?;
        let cef = [self.cef_line()];
        self.send_udp(&cef).await?;
        let win = vec![self.windows_event()];
        self.bulk(&win).await?;
        let eve = vec![self.eve_event()];
        self.ndjson(&eve).await?;
        self.append_access_log()?;
        if n % 120 == 119 {
            self.ssh_bruteforce().await?;
        }
        if n % 300 == 299 {
            self.windows_bruteforce().await?;
        }
        Ok(())
    }

    fn bsd_time() -> String {
        Utc::now()
            .with_timezone(&vn())
            .format("%b %e %H:%M:%S")
            .to_string()
    }

    fn web_line(&mut self) -> String {
        let site = self.rng.pick(&self.p.websites).clone();
        let attack = self.rng.chance(40);
        let (ip, path, status) = if attack {
            (
                self.rng.pick(ATTACKERS).to_string(),
                self.rng.pick(ATTACKS).to_string(),
                *self.rng.pick(&[403u16, 404, 200, 500]),
            )
        } else {
            (
                format!(
                    "{}{}.{}",
                    self.rng.pick(VISITORS),
                    self.rng.below(255),
                    self.rng.below(254) + 1
                ),
                self.rng.pick(PAGES).to_string(),
                200,
            )
        };
        let ua = if attack && self.rng.chance(500) {
            "sqlmap/1.8.4#stable (https://sqlmap.org)"
        } else {
            self.rng.pick(AGENTS)
        };
        let t = Utc::now()
            .with_timezone(&vn())
            .format("%d/%b/%Y:%H:%M:%S %z");
        let bytes = 500 + self.rng.below(40_000);
        format!(
            "<190>{} {site} nginx: {ip} - - [{t}] \"GET {path} HTTP/1.1\" {status} {bytes} \"-\" \"{ua}\"",
            Self::bsd_time()
        )
    }

    fn ssh_line(&mut self) -> String {
        let host = self.rng.pick(&self.p.servers).clone();
        let pid = 1000 + self.rng.below(60_000);
        let msg = if self.rng.chance(300) {
            format!(
                "Failed password for invalid user {} from {} port {} ssh2",
                self.rng
                    .pick(&["admin", "oracle", "test", "ubuntu", "postgres"]),
                self.rng.pick(ATTACKERS),
                30_000 + self.rng.below(30_000)
            )
        } else {
            format!(
                "Accepted publickey for deploy from 10.36.250.{} port {} ssh2: ED25519 SHA256:Qm9vdGgK",
                self.rng.below(20) + 5,
                40_000 + self.rng.below(20_000)
            )
        };
        format!("<38>{} {host} sshd[{pid}]: {msg}", Self::bsd_time())
    }

    fn sudo_line(&mut self) -> String {
        let host = self.rng.pick(&self.p.servers).clone();
        format!(
            "<85>{} {host} sudo:   quantri : TTY=pts/0 ; PWD=/home/quantri ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx",
            Self::bsd_time()
        )
    }

    async fn ssh_bruteforce(&mut self) -> anyhow::Result<()> {
        let host = self.rng.pick(&self.p.servers).clone();
        let ip = *self.rng.pick(ATTACKERS);
        let lines: Vec<String> = (0..25)
            .map(|i| {
                format!(
                    "<38>{} {host} sshd[{}]: Failed password for root from {ip} port {} ssh2",
                    Self::bsd_time(),
                    20_000 + i,
                    40_000 + i
                )
            })
            .collect();
        self.send_tcp(&lines).await
    }

    fn cef_line(&mut self) -> String {
        let (_, lan) = self.rng.pick(&self.p.lans).clone();
        let src = format!("{lan}{}", self.rng.below(200) + 20);
        let (dst, name) = *self.rng.pick(C2);
        let deny = self.rng.chance(700);
        format!(
            "<134>{} fw-core-01 CEF:0|Fortinet|FortiGate|7.4.3|0000000013|{}|{}|src={src} spt={} dst={dst} dpt=443 proto=TCP act={} cs1Label=policy cs1=BLOCK-BOTNET msg={name}",
            Self::bsd_time(),
            if deny {
                "traffic:forward deny"
            } else {
                "traffic:forward accept"
            },
            if deny { 5 } else { 3 },
            49_152 + self.rng.below(10_000),
            if deny { "deny" } else { "accept" },
        )
    }

    fn windows_event(&mut self) -> String {
        let (agency, lan) = self.rng.pick(&self.p.lans).clone();
        let pc = format!("PC-{agency}-{:03}", self.rng.below(60) + 1);
        let ts = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        if self.rng.chance(100) {
            // An encoded PowerShell download cradle on an agency PC.
            return serde_json::json!({
                "@timestamp": ts,
                "event": {"code": "1", "provider": "Microsoft-Windows-Sysmon"},
                "host": {"name": pc, "ip": [format!("{lan}{}", self.rng.below(200) + 20)]},
                "winlog": {
                    "channel": "Microsoft-Windows-Sysmon/Operational",
                    "event_id": 1,
                    "computer_name": pc,
                    "provider_name": "Microsoft-Windows-Sysmon",
                    "event_data": {
                        "Image": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
                        "CommandLine": "powershell.exe -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA",
                        "ParentImage": "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE",
                        "User": format!("{agency}\\nhanvien")
                    }
                }
            })
            .to_string();
        }
        let failed = self.rng.chance(200);
        serde_json::json!({
            "@timestamp": ts,
            "event": {"code": if failed {"4625"} else {"4624"}},
            "winlog": {
                "channel": "Security",
                "event_id": if failed {4625} else {4624},
                "computer_name": self.p.domain_controller,
                "provider_name": "Microsoft-Windows-Security-Auditing",
                "event_data": {
                    "TargetUserName": format!("cb.{}", self.rng.below(400)),
                    "TargetDomainName": "NGOCSON",
                    "IpAddress": format!("{lan}{}", self.rng.below(200) + 20),
                    "LogonType": "3"
                }
            }
        })
        .to_string()
    }

    async fn windows_bruteforce(&mut self) -> anyhow::Result<()> {
        let (_, lan) = self.rng.pick(&self.p.lans).clone();
        let ip = format!("{lan}{}", self.rng.below(200) + 20);
        let docs: Vec<String> = (0..30)
            .map(|i| {
                serde_json::json!({
                    "@timestamp": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    "winlog": {"channel": "Security", "event_id": 4625, "computer_name": self.p.domain_controller,
                        "event_data": {"TargetUserName": format!("administrator{}", i % 3), "IpAddress": ip, "LogonType": "3"}}
                })
                .to_string()
            })
            .collect();
        self.bulk(&docs).await
    }

    async fn web_flood(&mut self) -> anyhow::Result<()> {
        let site = self.p.websites.first().cloned().unwrap_or_default();
        let ip = "5.188.62.214";
        let t = Utc::now()
            .with_timezone(&vn())
            .format("%d/%b/%Y:%H:%M:%S %z")
            .to_string();
        let lines: Vec<String> = (0..650)
            .map(|i| {
                format!(
                    "<190>{} {site} nginx: {ip} - - [{t}] \"GET /?r={i} HTTP/1.1\" 503 0 \"-\" \"Go-http-client/1.1\"",
                    Self::bsd_time()
                )
            })
            .collect();
        self.send_tcp(&lines).await
    }

    fn eve_event(&mut self) -> String {
        let (_, lan) = self.rng.pick(&self.p.lans).clone();
        let src = format!("{lan}{}", self.rng.below(200) + 20);
        let ts = Utc::now()
            .with_timezone(&vn())
            .format("%Y-%m-%dT%H:%M:%S%.6f%z")
            .to_string();
        if self.rng.chance(250) {
            let (dst, sig) = *self.rng.pick(C2);
            return serde_json::json!({
                "timestamp": ts, "flow_id": self.rng.next_u64() >> 12, "in_iface": "ens19", "event_type": "alert",
                "src_ip": src, "src_port": 49_152 + self.rng.below(10_000), "dest_ip": dst, "dest_port": 443, "proto": "TCP",
                "alert": {"action": "blocked", "gid": 1, "signature_id": 2_030_000 + self.rng.below(900), "rev": 3,
                    "signature": sig, "category": "A Network Trojan was detected", "severity": 1},
                "host": "ids-dc-01"
            })
            .to_string();
        }
        serde_json::json!({
            "timestamp": ts, "flow_id": self.rng.next_u64() >> 12, "event_type": "dns", "src_ip": src, "src_port": 53_000,
            "dest_ip": "10.36.250.53", "dest_port": 53, "proto": "UDP",
            "dns": {"type": "query", "id": self.rng.below(65_000), "rrname": self.rng.pick(&["dichvucong.ngocson.gov.vn", "mail.ngocson.gov.vn", "update.microsoft.com", "zalo.me"]), "rrtype": "A"},
            "host": "ids-dc-01"
        })
        .to_string()
    }

    /// The public-service portal's own access log, written to a file.
    fn append_access_log(&mut self) -> anyhow::Result<()> {
        use std::io::Write as _;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.t.access_log)
            .with_context(|| format!("cannot write {}", self.t.access_log.display()))?;
        for _ in 0..3 {
            let line = self.web_line();
            // The file holds the bare access-log line (no syslog header).
            let bare = line.split_once(" nginx: ").map_or(line.as_str(), |x| x.1);
            writeln!(f, "{bare}")?;
        }
        Ok(())
    }

    async fn send_tcp(&mut self, lines: &[String]) -> anyhow::Result<()> {
        if self.tcp.is_none() {
            self.tcp = Some(
                TcpStream::connect(self.t.syslog_tcp)
                    .await
                    .context("syslog TCP")?,
            );
        }
        let mut buf = Vec::new();
        for l in lines {
            // RFC 6587 octet counting, as rsyslog's omfwd sends it.
            buf.extend_from_slice(format!("{} {l}", l.len()).as_bytes());
        }
        if let Some(s) = self.tcp.as_mut() {
            s.write_all(&buf).await.context("syslog TCP write")?;
        }
        Ok(())
    }

    async fn send_udp(&mut self, lines: &[String]) -> anyhow::Result<()> {
        if self.udp.is_none() {
            let s = UdpSocket::bind("127.0.0.1:0").await?;
            s.connect(self.t.syslog_udp).await?;
            self.udp = Some(s);
        }
        if let Some(s) = &self.udp {
            for l in lines {
                s.send(l.as_bytes()).await?;
            }
        }
        Ok(())
    }

    async fn bulk(&mut self, docs: &[String]) -> anyhow::Result<()> {
        let mut body = String::new();
        for d in docs {
            body.push_str("{\"create\":{\"_index\":\"winlogbeat-8.17.0\"}}\n");
            body.push_str(d);
            body.push('\n');
        }
        let key = self.t.winlogbeat_key.clone();
        post(
            self.t.http,
            "/_bulk",
            &format!("ApiKey {}", b64(&format!("winlogbeat:{key}"))),
            &body,
        )
        .await
    }

    async fn ndjson(&mut self, docs: &[String]) -> anyhow::Result<()> {
        let body = docs.join("\n");
        let key = self.t.suricata_key.clone();
        post(
            self.t.http,
            "/api/v1/ingest",
            &format!("Bearer {key}"),
            &body,
        )
        .await
    }
}

fn b64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// A minimal HTTP/1.1 POST; fails unless the answer is 200.
pub async fn post(addr: SocketAddr, path: &str, auth: &str, body: &str) -> anyhow::Result<()> {
    let mut s = TcpStream::connect(addr).await.context("HTTP ingest")?;
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {auth}\r\nContent-Type: application/x-ndjson\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).await?;
    let head = String::from_utf8_lossy(&resp[..resp.len().min(64)]).to_string();
    anyhow::ensure!(
        head.starts_with("HTTP/1.1 200"),
        "HTTP ingest answered {head}"
    );
    Ok(())
}
