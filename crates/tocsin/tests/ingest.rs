//! Live ingest end to end against the real binary: real senders (`logger`
//! from util-linux, `curl`) and a SIGKILL in the middle of a stream.

#![allow(clippy::unwrap_used)] // tests fail loudly on bad fixtures

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::*;

#[test]
fn sigkill_mid_stream_loses_no_acknowledged_event_and_duplicates_none() {
    let dir = tempfile::tempdir().unwrap();
    let mut srv = Server::new(dir.path());
    srv.start();
    let http_addr = srv.http;
    // A sender posting batches of 20 numbered events every few
    // milliseconds, remembering which batches were acknowledged.
    let sender = std::thread::spawn(move || {
        let mut acked: Vec<u64> = Vec::new();
        let mut sent_batches = 0u64;
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(4) {
            std::thread::sleep(Duration::from_millis(4));
            let first = sent_batches * 20;
            let body: String = (first..first + 20)
                .map(|i| format!("{{\"seq\":{i},\"message\":\"event {i}\"}}\n"))
                .collect();
            sent_batches += 1;
            let auth = format!("Bearer {KEY}");
            let Ok(mut s) = TcpStream::connect(http_addr) else {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            };
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let req = format!(
                "POST /api/v1/ingest HTTP/1.1\r\nHost: t\r\nAuthorization: {auth}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            if s.write_all(req.as_bytes()).is_err() {
                continue;
            }
            let mut resp = String::new();
            let _ = s.read_to_string(&mut resp);
            if resp.starts_with("HTTP/1.1 200") && resp.contains("\"accepted\":20") {
                acked.extend(first..first + 20);
            }
        }
        (acked, sent_batches * 20)
    });
    std::thread::sleep(Duration::from_millis(1200));
    srv.kill();
    std::thread::sleep(Duration::from_millis(300));
    srv.start();
    let (acked, sent) = sender.join().unwrap();
    assert!(
        acked.len() > 1000,
        "too few acknowledged events to mean anything: {}",
        acked.len()
    );
    assert!(
        (acked.len() as u64) < sent,
        "the kill did not interrupt the stream"
    );

    // Everything acknowledged must be processed: wait for the backlog.
    let t0 = Instant::now();
    let mut by_seq: BTreeMap<u64, usize> = BTreeMap::new();
    loop {
        by_seq.clear();
        for a in alerts(&srv) {
            let ev: serde_json::Value = serde_json::from_str(a["event"].as_str().unwrap()).unwrap();
            if let Some(seq) = ev["fields"]["seq"].as_u64() {
                *by_seq.entry(seq).or_default() += 1;
            }
        }
        let missing = acked.iter().filter(|s| !by_seq.contains_key(s)).count();
        if missing == 0 {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "{missing} acknowledged events never produced their alert"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let dups: Vec<_> = by_seq.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        dups.is_empty(),
        "events processed twice: {:?}",
        &dups[..dups.len().min(10)]
    );
    let acked_set: BTreeSet<u64> = acked.iter().copied().collect();
    let extra = by_seq.keys().filter(|s| !acked_set.contains(s)).count();
    eprintln!(
        "sent {sent}, acknowledged {}, processed {} ({extra} queued but unacknowledged when killed)",
        acked.len(),
        by_seq.len()
    );
}

fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

#[test]
fn real_senders_logger_and_curl_reach_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let mut srv = Server::new(dir.path());
    srv.start();
    let mut expected = 0;
    if have("logger") {
        let port = |a: SocketAddr| a.port().to_string();
        for (proto, addr, extra) in [
            ("--tcp", srv.tcp, vec!["--rfc5424"]),
            ("--tcp", srv.tcp, vec!["--rfc3164", "--octet-count"]),
            ("--udp", srv.udp, vec!["--rfc3164"]),
            ("--udp", srv.udp, vec!["--rfc5424"]),
        ] {
            let port = port(addr);
            let mut args = vec![
                "--server",
                "127.0.0.1",
                "--port",
                &port,
                proto,
                "-t",
                "sshd",
                "-i",
            ];
            args.extend(extra.iter().copied());
            args.push(
                "Failed password for root from 45.155.205.233 port 22 ssh2 tocsin-e2e-marker",
            );
            let st = Command::new("logger").args(&args).status().unwrap();
            assert!(st.success(), "logger {args:?}");
            expected += 1;
        }
    } else {
        eprintln!("skipped the logger part: util-linux logger is not installed");
    }
    if have("curl") {
        // Elasticsearch bulk, gzip-compressed, with Elastic's ApiKey form.
        use base64::Engine as _;
        let apikey = base64::engine::general_purpose::STANDARD.encode(format!("filebeat:{KEY}"));
        let bulk = |body: &str| {
            let gz = dir.path().join("bulk.gz");
            let mut enc = flate2::write::GzEncoder::new(
                std::fs::File::create(&gz).unwrap(),
                flate2::Compression::fast(),
            );
            enc.write_all(body.as_bytes()).unwrap();
            enc.finish().unwrap();
            let out = Command::new("curl")
                .args([
                    "-sS",
                    "-XPOST",
                    "-H",
                    "Content-Type: application/x-ndjson",
                    "-H",
                    "Content-Encoding: gzip",
                ])
                .args(["-H", &format!("Authorization: ApiKey {apikey}")])
                .arg("--data-binary")
                .arg(format!("@{}", gz.display()))
                .arg(format!("http://{}/_bulk", srv.http))
                .output()
                .unwrap();
            serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
        };
        let good = "{\"create\":{\"_index\":\"filebeat\"}}\n{\"message\":\"tocsin-e2e-marker from curl\",\"source\":{\"ip\":\"45.155.205.233\"}}\n{\"delete\":{\"_index\":\"x\",\"_id\":\"1\"}}\n";
        // A malformed action line fails the whole request, naming it, as
        // Elasticsearch does: nothing of it is queued.
        let resp = bulk(&format!("{good}not json\n"));
        assert_eq!(resp["status"], 400, "{resp}");
        assert!(
            resp["error"]["reason"]
                .as_str()
                .unwrap()
                .contains("line [4]"),
            "{resp}"
        );
        let resp = bulk(good);
        assert_eq!(resp["errors"], false, "{resp}");
        let items = resp["items"].as_array().unwrap();
        assert_eq!(items[0]["create"]["status"], 201);
        assert_eq!(items[1]["delete"]["status"], 404);
        expected += 1;
        // Beats check the banner and the product header first.
        let out = Command::new("curl")
            .args(["-sSi", &format!("http://{}/", srv.http)])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_lowercase();
        assert!(text.contains("x-elastic-product: elasticsearch"), "{text}");
        // A wrong key is refused and nothing is queued.
        let out = Command::new("curl")
            .args([
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "-H",
                "Authorization: Bearer wrong-key-xxxxxxxxxxxx",
            ])
            .args(["--data-binary", "{\"message\":\"tocsin-e2e-marker\"}"])
            .arg(format!("http://{}/api/v1/ingest", srv.http))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "401");
    } else {
        eprintln!("skipped the curl part: curl is not installed");
    }
    if expected == 0 {
        return;
    }
    srv.wait_processed(expected);
    let t0 = Instant::now();
    let found = loop {
        let found: Vec<serde_json::Value> = alerts(&srv)
            .into_iter()
            .filter(|a| a["rule_title"] == "Test Marker")
            .collect();
        if found.len() >= expected as usize || t0.elapsed() > Duration::from_secs(20) {
            break found;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(found.len(), expected as usize, "{found:#?}");
    for a in &found {
        let ev: serde_json::Value = serde_json::from_str(a["event"].as_str().unwrap()).unwrap();
        assert_eq!(ev["fields"]["source.ip"], "45.155.205.233", "{ev:#}");
        if a["input"] != "test-sender" {
            // The syslog header was read: the program is sshd.
            assert_eq!(ev["fields"]["process.name"], "sshd", "{ev:#}");
            assert_eq!(ev["fields"]["event.outcome"], "failure", "{ev:#}");
        }
    }
    let m = srv.get("/metrics");
    assert!(metric(&m, "tocsin_input_events_total") >= expected, "{m}");
    assert!(metric(&m, "tocsin_http_unauthorized_total") >= 1, "{m}");
    assert!(srv.get("/healthz").contains("ok"));
    // The raw archive has them too, and `tocsin hunt` reads it.
    let out = Command::new(env!("CARGO_BIN_EXE_tocsin"))
        .env("TOCSIN_LOG", "warn")
        .env_remove("TOCSIN_CONFIG")
        .args(["hunt", "-q", "-o", "jsonl", "--rules"])
        .arg(srv.dir.join("rules"))
        .arg(srv.dir.join("archive"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let hunted = text.lines().filter(|l| l.contains("Test Marker")).count();
    assert_eq!(
        hunted,
        expected as usize,
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(found.iter().all(|a| {
        a["archive"]
            .as_str()
            .is_some_and(|r| r.contains(".jsonl.zst#seq="))
    }));
    // The console lists them (Vietnamese by default).
    let page = srv.get("/alerts");
    assert!(
        page.contains("Cảnh báo") && page.contains("Test Marker"),
        "{page}"
    );
}

#[test]
fn rsyslog_forwards_over_tcp_with_octet_counting() {
    if !have("rsyslogd") || !have("logger") {
        eprintln!("skipped: rsyslogd (Debian package rsyslog) or logger is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut srv = Server::new(dir.path());
    srv.start();
    let rs_port = free_port();
    let work = dir.path().join("rsyslog");
    std::fs::create_dir_all(&work).unwrap();
    let conf = format!(
        r#"global(workDirectory="{work}")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="{rs_port}")
action(type="omfwd" target="127.0.0.1" port="{tcp}" protocol="tcp" TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")
"#,
        work = work.display(),
        tcp = srv.tcp.port(),
    );
    std::fs::write(work.join("rsyslog.conf"), conf).unwrap();
    let mut rsyslog = Command::new("rsyslogd")
        .args(["-n", "-f"])
        .arg(work.join("rsyslog.conf"))
        .arg("-i")
        .arg(work.join("rsyslog.pid"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let t0 = Instant::now();
    let found = loop {
        // UDP into rsyslog may race its start: send until forwarded.
        let st = Command::new("logger")
            .args([
                "--server",
                "127.0.0.1",
                "--port",
                &rs_port.to_string(),
                "--udp",
                "-t",
                "sshd",
            ])
            .arg("Failed password for root from 45.155.205.233 port 22 ssh2 tocsin-e2e-marker")
            .status()
            .unwrap();
        assert!(st.success());
        std::thread::sleep(Duration::from_millis(300));
        let found: Vec<serde_json::Value> = alerts(&srv)
            .into_iter()
            .filter(|a| a["rule_title"] == "Test Marker")
            .collect();
        if !found.is_empty() || t0.elapsed() > Duration::from_secs(20) {
            break found;
        }
    };
    let _ = rsyslog.kill();
    let out = rsyslog.wait_with_output().unwrap();
    assert!(
        !found.is_empty(),
        "rsyslog forwarded nothing: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ev: serde_json::Value = serde_json::from_str(found[0]["event"].as_str().unwrap()).unwrap();
    assert_eq!(
        ev["fields"]["log.syslog.version"], 1,
        "RFC 5424 from rsyslog: {ev:#}"
    );
    assert_eq!(ev["fields"]["process.name"], "sshd");
    assert_eq!(ev["fields"]["source.ip"], "45.155.205.233");
    assert_eq!(found[0]["input"], "syslog-tcp");
}
