//! The pipeline on a batch: parsing, attribution by address and host name,
//! rule, correlation and sensor alerts, and what a batch commits.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use tocsin_model::{AlertKind, Level, Scope};
use tocsin_parse::Format;
use tocsin_pipeline::{Pipeline, PipelineConfig};
use tocsin_queue::{Damage, DiskQueueConfig, Entry, Envelope, Queue};
use tocsin_sigma::{EngineBuilder, EngineConfig};
use tocsin_telemetry::Metrics;

const RULES: &str = r#"title: SSH Password Failure
id: 11111111-0000-4000-8000-000000000001
name: ssh_fail
logsource: {product: linux, service: sshd}
detection:
    keywords: ['Failed password for']
    condition: keywords
level: informational
---
title: SSH Brute Force
id: 11111111-0000-4000-8000-000000000002
correlation:
    type: event_count
    rules: [ssh_fail]
    group-by: [host.name]
    timespan: 2m
    condition: {gte: 15}
level: high
---
title: Web Shell
id: 11111111-0000-4000-8000-000000000003
logsource: {category: webserver}
detection:
    selection:
        url.original|contains: 'cmd=whoami'
    condition: selection
level: critical
"#;

fn entry(seq: u64, format: Format, raw: &str) -> Entry {
    Entry::new(
        seq,
        Envelope {
            received_us: 1_795_996_800_000_000 + seq as i64,
            input: "test",
            format,
            peer: None,
            sender: None,
            raw: raw.as_bytes(),
        }
        .encode(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_raises_rule_correlation_and_sensor_alerts() {
    let store = tocsin_store::StoreConfig::new("sqlite::memory:")
        .build()
        .await
        .unwrap();
    let inv = tocsin_sim::province();
    store
        .replace_inventory(&inv, &tocsin_model::Actor::system("test"), "province")
        .await
        .unwrap();
    let mut b = EngineBuilder::new(EngineConfig {
        routing: true,
        ..Default::default()
    });
    b.add_text(RULES, Path::new("rules.yml"));
    let (engine, report) = b.build();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let dir = tempfile::tempdir().unwrap();
    let queue: Arc<dyn Queue> =
        Arc::new(DiskQueueConfig::in_dir(dir.path()).build("t", 0).unwrap());
    let archive_dir = dir.path().join("archive");
    let metrics = Arc::new(Metrics::default());
    // Every event is its own alert here: the tests count alerts to prove
    // exactly-once processing, so repeats are not folded.
    let cfg = PipelineConfig {
        fold_secs: 0,
        ..PipelineConfig::default()
    };
    // The test input is a sensor: its Suricata alert is an alert.
    let sources = HashMap::from([(
        "test".to_string(),
        tocsin_model::SourceTrust {
            sensor: true,
            ..Default::default()
        },
    )]);
    let mut p = Pipeline::new(
        cfg.clone(),
        queue,
        store,
        cfg.detectors(Arc::new(engine), None),
        sources,
        metrics.clone(),
    )
    .await
    .unwrap()
    .with_archive(tocsin_pipeline::Archive::new(archive_dir.clone()));

    let server = &inv
        .assets
        .iter()
        .find(|a| a.kind == tocsin_model::AssetKind::Server)
        .unwrap();
    let host = server.hostnames[0].clone();
    let mut entries = Vec::new();
    // Enough events for the parallel stage; 20 failures on one server.
    for i in 0..200u64 {
        let line = if i % 10 == 0 {
            format!(
                "<38>Nov 24 10:00:{:02} {host} sshd[1]: Failed password for root from 45.155.205.233 port {} ssh2",
                i % 60,
                1000 + i
            )
        } else {
            format!(
                "<38>Nov 24 10:00:{:02} {host} sshd[1]: Accepted publickey for deploy from 10.36.250.7 port {} ssh2",
                i % 60,
                1000 + i
            )
        };
        entries.push(entry(i, Format::Syslog, &line));
    }
    entries.push(entry(200, Format::AccessLog, r#"45.155.205.233 - - [24/Nov/2026:10:00:00 +0700] "GET /up/shell.php?cmd=whoami HTTP/1.1" 200 10 "-" "curl""#));
    entries.push(entry(201, Format::SuricataEve, r#"{"timestamp":"2026-11-24T10:00:00+0700","event_type":"alert","src_ip":"10.36.12.7","dest_ip":"185.220.101.4","alert":{"signature":"ET MALWARE Test CnC","signature_id":2000001,"severity":1}}"#));
    entries.push(entry(202, Format::Json, "{broken"));
    // What the disk gave back damaged (three records lost), and a record
    // whose envelope does not decode: counted as lost, never a stall.
    entries.push(Entry::new(203, b"not an envelope".to_vec()));
    entries.push(Entry {
        seq: 206,
        data: Vec::new(),
        damaged: Some(Damage {
            records: 3,
            reason: "q/00.q: torn record at record 204".into(),
        }),
    });

    let (batch, received) = p.process("events", &entries);
    assert_eq!(received.len(), 203);
    let total: i64 = batch.counts.iter().map(|c| c.events).sum();
    assert_eq!(total, 207);
    assert_eq!(batch.counts.iter().map(|c| c.errors).sum::<i64>(), 5);
    let lost: Vec<_> = batch.counts.iter().filter(|c| c.input == "queue").collect();
    assert_eq!(lost.len(), 1);
    assert_eq!((lost[0].events, lost[0].errors), (4, 4));
    assert!(
        metrics
            .render()
            .contains("tocsin_queue_unreadable_records_total 4"),
        "{}",
        metrics.render()
    );

    let corr: Vec<_> = batch
        .alerts
        .iter()
        .filter(|a| a.kind == AlertKind::Correlation)
        .collect();
    assert_eq!(corr.len(), 1, "{:#?}", batch.alerts);
    assert_eq!(corr[0].rule_title, "SSH Brute Force");
    assert_eq!(
        corr[0].asset.as_ref().map(|a| a.as_str()),
        Some(server.code.as_str()),
        "attributed by host name"
    );
    assert!(
        corr[0].event.contains("Failed password"),
        "the evidence is re-parsed: {}",
        corr[0].event
    );
    assert!(
        corr[0].summary.starts_with("15 events"),
        "{}",
        corr[0].summary
    );
    // Informational failures alone raise nothing.
    assert!(
        !batch
            .alerts
            .iter()
            .any(|a| a.rule_title == "SSH Password Failure")
    );

    let web: Vec<_> = batch
        .alerts
        .iter()
        .filter(|a| a.rule_title == "Web Shell")
        .collect();
    assert_eq!(web.len(), 1);
    assert_eq!(web[0].level, Level::Critical);
    assert_eq!(web[0].stream_seq, 200);

    let sensor: Vec<_> = batch
        .alerts
        .iter()
        .filter(|a| a.kind == AlertKind::Sensor)
        .collect();
    assert_eq!(sensor.len(), 1);
    assert_eq!(sensor[0].rule_id, "sensor:2000001");
    assert_eq!(sensor[0].level, Level::High);
    let at = tocsin_model::Attributor::build(&inv).lookup("10.36.12.7".parse().unwrap());
    let lan = at.agency.map(|i| inv.agencies[i].code.as_str().to_string());
    // The raw archive holds every record of the batch, and alerts link to it.
    let lines = || {
        let mut n = 0;
        for input in std::fs::read_dir(&archive_dir).unwrap() {
            let input = input.unwrap().path();
            if !input.is_dir() {
                continue;
            }
            for f in std::fs::read_dir(input).unwrap() {
                let text =
                    zstd::decode_all(std::fs::File::open(f.unwrap().path()).unwrap()).unwrap();
                n += text
                    .split(|c| *c == b'\n')
                    .filter(|l| !l.is_empty())
                    .count();
            }
        }
        n
    };
    assert_eq!(lines(), 203);
    // The same batch again (a replay after a crash before its commit) is
    // not archived twice, in this process or the next.
    let _ = p.process("events", &entries);
    assert_eq!(lines(), 203);
    assert_eq!(
        tocsin_pipeline::Archive::new(archive_dir.clone()).archived_upto(),
        207
    );
    assert!(
        web[0].archive.as_deref().unwrap().ends_with("#seq=200"),
        "{:?}",
        web[0].archive
    );
    assert!(lan.is_some());
    assert_eq!(
        sensor[0].agency.as_ref().map(|a| a.as_str().to_string()),
        lan,
        "an infected device is its agency's"
    );
}

#[test]
fn archive_lines_are_flat_events() {
    // (Checked on the batch above too; here the line format itself.)
    let p = tocsin_parse::ParserConfig::default().build();
    let rx = tocsin_parse::Received {
        input: "syslog-tcp",
        at: chrono::Utc::now(),
        peer: None,
    };
    let ev = p.parse(Format::Syslog, b"<38>Nov 24 10:00:00 srv01 sshd[1]: Failed password for root from 45.155.205.233 port 22 ssh2", &rx);
    let line = tocsin_pipeline::archive::line(&ev, 42, 1_795_996_800_000_000);
    let v: serde_json::Value = serde_json::from_slice(&line).unwrap();
    assert_eq!(v["source.ip"], "45.155.205.233");
    assert_eq!(v["tocsin.seq"], 42);
    assert!(
        v["event.original"]
            .as_str()
            .unwrap()
            .contains("Failed password")
    );
    assert!(line.ends_with(b"\n"));
}

/// What the pipeline commits lands the same on SQLite and PostgreSQL, and
/// committing the same batch twice never stores an alert twice (alerts are
/// unique per stream position and rule).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_commit_on_every_backend_and_replays_add_no_alert() {
    let inv = tocsin_sim::province();
    for db in tocsin_store::testkit::backends("ingest_pipeline")
        .await
        .unwrap()
    {
        db.store
            .replace_inventory(&inv, &tocsin_model::Actor::system("test"), "province")
            .await
            .unwrap();
        let mut b = EngineBuilder::new(EngineConfig::default());
        b.add_text(RULES, Path::new("rules.yml"));
        let (engine, _) = b.build();
        let dir = tempfile::tempdir().unwrap();
        let queue: Arc<dyn Queue> = Arc::new(
            DiskQueueConfig::in_dir(dir.path())
                .build("events", 0)
                .unwrap(),
        );
        // Every event is its own alert here: the tests count alerts to prove
        // exactly-once processing, so repeats are not folded.
        let cfg = PipelineConfig {
            fold_secs: 0,
            ..PipelineConfig::default()
        };
        let mut p = Pipeline::new(
            cfg.clone(),
            queue,
            db.store.clone(),
            cfg.detectors(Arc::new(engine), None),
            HashMap::new(),
            Arc::new(Metrics::default()),
        )
        .await
        .unwrap();
        let entries: Vec<Entry> = (0..100u64)
            .map(|i| {
                entry(
                    i,
                    Format::AccessLog,
                    &format!(r#"45.155.205.233 - - [24/Nov/2026:10:00:00 +0700] "GET /x.php?cmd=whoami&n={i} HTTP/1.1" 200 10 "-" "curl""#),
                )
            })
            .collect();
        let (mut batch, _) = p.process("events", &entries);
        batch.position = 100;
        db.store.commit_ingest_batch(&batch).await.unwrap();
        db.store.commit_ingest_batch(&batch).await.unwrap();
        // Each request raises the web-shell rule and the web detector's
        // finding (a shell's parameter answered 200): two alerts, once.
        assert_eq!(
            db.store.alert_total(&Scope::All).await.unwrap(),
            200,
            "{}",
            db.label
        );
        assert_eq!(db.store.ingest_position("events").await.unwrap(), 100);
        let a = db
            .store
            .alerts(&Scope::All, &Default::default())
            .await
            .unwrap();
        assert!(a.iter().all(|x| x.body.level == Level::Critical
            && x.body.source_ip == "45.155.205.233".parse().ok()));
        db.cleanup().await;
    }
}

/// A brute force split by a restart: ten failures before, five after. The
/// pipeline saves its correlation windows when stopped and the next one
/// restores them, so the fifteenth failure still raises the alert.
#[tokio::test]
async fn correlation_windows_survive_a_pipeline_restart() {
    let store = tocsin_store::StoreConfig::new("sqlite::memory:")
        .build()
        .await
        .unwrap();
    let mut b = EngineBuilder::new(EngineConfig::default());
    b.add_text(RULES, Path::new("rules.yml"));
    let engine = Arc::new(b.build().0);
    let dir = tempfile::tempdir().unwrap();
    let failure = |i: u64| {
        Envelope {
            received_us: tocsin_queue::now_us(),
            input: "test",
            format: Format::Syslog,
            peer: None,
            sender: None,
            raw: format!(
                "<38>Nov 24 10:00:{i:02} web01 sshd[1]: Failed password for root from 45.155.205.233 port {} ssh2",
                1000 + i
            )
            .as_bytes(),
        }
        .encode()
    };
    let run = |queue: Arc<dyn Queue>, upto: u64| {
        let (store, engine) = (store.clone(), engine.clone());
        async move {
            // Every event is its own alert here: the tests count alerts to prove
            // exactly-once processing, so repeats are not folded.
            let cfg = PipelineConfig {
                fold_secs: 0,
                ..PipelineConfig::default()
            };
            let p = Pipeline::new(
                cfg.clone(),
                queue,
                store.clone(),
                cfg.detectors(engine, None),
                HashMap::new(),
                Arc::new(Metrics::default()),
            )
            .await
            .unwrap();
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            let task = tokio::spawn(p.run(async move {
                let _ = rx.await;
            }));
            for _ in 0..500 {
                if store.ingest_position("events").await.unwrap() >= upto {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            assert_eq!(store.ingest_position("events").await.unwrap(), upto);
            tx.send(()).unwrap();
            task.await.unwrap();
        }
    };
    let open = || -> Arc<dyn Queue> {
        Arc::new(
            DiskQueueConfig::in_dir(dir.path())
                .build("events", 0)
                .unwrap(),
        )
    };
    let q = open();
    q.append((0..10).map(failure).collect()).await.unwrap();
    run(q, 10).await;
    assert_eq!(store.alert_total(&Scope::All).await.unwrap(), 0);
    let (at, saved) = store.correlation_state("events").await.unwrap().unwrap();
    assert_eq!(at, 10);
    assert!(saved.contains("web01"), "{saved}");

    let q = open();
    q.append((10..15).map(failure).collect()).await.unwrap();
    run(q, 15).await;
    let alerts = store
        .alerts(&Scope::All, &Default::default())
        .await
        .unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].body.rule_title, "SSH Brute Force");
}

/// A detector that panics on records containing `BOOM` (in the parallel
/// stage) or `BANG` (in the ordered stage): stands for any bug a hostile
/// record could reach.
struct Fragile;

impl tocsin_detect::Detector for Fragile {
    type Worker = ();
    type Carry = bool;

    fn name(&self) -> &'static str {
        "fragile"
    }

    fn worker(&self) {}

    fn observe(
        &self,
        _: &mut (),
        ev: &tocsin_model::Event,
        _: &mut Vec<tocsin_model::Finding>,
    ) -> Option<bool> {
        assert!(!ev.original.contains("BOOM"), "boom in observe");
        ev.original.contains("BANG").then_some(true)
    }

    fn follow(&mut self, _: bool, _: &mut Vec<tocsin_model::Finding>) {
        panic!("bang in follow");
    }
}

/// Issue 10: one bad record must not stop detection. A panic while
/// processing a record becomes that record's `pipeline_error`, counted per
/// input and format; every other record of the batch is processed and the
/// batch commits with its position past all of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_10_a_panicking_record_fails_alone() {
    let store = tocsin_store::StoreConfig::new("sqlite::memory:")
        .build()
        .await
        .unwrap();
    let mut b = EngineBuilder::new(EngineConfig::default());
    b.add_text(RULES, Path::new("rules.yml"));
    let engine = Arc::new(b.build().0);
    let dir = tempfile::tempdir().unwrap();
    let queue: Arc<dyn Queue> =
        Arc::new(DiskQueueConfig::in_dir(dir.path()).build("t", 0).unwrap());
    let metrics = Arc::new(Metrics::default());
    // Every event is its own alert here: the tests count alerts to prove
    // exactly-once processing, so repeats are not folded.
    let cfg = PipelineConfig {
        fold_secs: 0,
        ..PipelineConfig::default()
    };
    let detectors = cfg.detectors(engine, None).with(Fragile);
    let mut p = Pipeline::new(
        cfg,
        queue,
        store.clone(),
        detectors,
        HashMap::new(),
        metrics.clone(),
    )
    .await
    .unwrap();
    // More than one share, so both the threaded and the ordered paths run.
    let mut entries: Vec<Entry> = (0..300u64)
        .map(|i| {
            let line = match i {
                17 | 150 => "<38>Nov 30 11:00:00 web01 app: BOOM".to_string(),
                42 => "<38>Nov 30 11:00:00 web01 app: BANG".to_string(),
                _ => format!(r#"45.155.205.233 - - [24/Nov/2026:10:00:00 +0700] "GET /x.php?cmd=whoami&n={i} HTTP/1.1" 200 10 "-" "curl""#),
            };
            let format = if line.starts_with('<') { Format::Syslog } else { Format::AccessLog };
            entry(i, format, &line)
        })
        .collect();
    entries.sort_by_key(|e| e.seq);
    let (mut batch, received) = p.process("events", &entries);
    assert_eq!(received.len(), 300, "every record is accounted for");
    let events: i64 = batch.counts.iter().map(|c| c.events).sum();
    let errors: i64 = batch.counts.iter().map(|c| c.errors).sum();
    assert_eq!((events, errors), (300, 2), "the two panics are failures");
    // The web shells of every other record raised their alerts.
    let shells = batch
        .alerts
        .iter()
        .filter(|a| a.rule_title == "Web Shell")
        .count();
    assert_eq!(shells, 297);
    let s = metrics.ingest_status();
    let input = s.inputs.iter().find(|i| i.name == "test").unwrap();
    assert_eq!(input.panics, 2);
    let syslog = s.formats.iter().find(|f| f.format == "syslog").unwrap();
    assert_eq!((syslog.panics, syslog.failed), (2, 2));
    assert!(
        metrics
            .render()
            .contains("tocsin_pipeline_panics_total{input=\"(ordered stage)\",format=\"auto\"} 1")
    );
    batch.position = 300;
    store.commit_ingest_batch(&batch).await.unwrap();
    assert_eq!(store.ingest_position("events").await.unwrap(), 300);
    // The pipeline goes on with the next batch as usual.
    let more: Vec<Entry> = (300..310u64)
        .map(|i| entry(i, Format::AccessLog, &format!(r#"45.155.205.233 - - [24/Nov/2026:10:00:00 +0700] "GET /x.php?cmd=whoami&n={i} HTTP/1.1" 200 10 "-" "curl""#)))
        .collect();
    let (batch, _) = p.process("events", &more);
    // The web-shell rule and the web detector, for each of the ten.
    assert_eq!(batch.alerts.len(), 20);
    assert_eq!(
        batch
            .alerts
            .iter()
            .filter(|a| a.rule_id == "tocsin:web:webshell"
                && a.class == tocsin_model::AttackClass::WebAttack)
            .count(),
        10
    );
}
