//! What the store does when writes go wrong: text the database refuses,
//! a full disk, a lost database, dead letters.

#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Utc};
use tocsin_model::{AlertKind, EventCount, Level, NewAlert, Scope};
use tocsin_store::testkit::backends;
use tocsin_store::{IngestBatch, Replay, StoreConfig};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn alert(seq: u64, text: &str) -> NewAlert {
    NewAlert {
        event_time: at("2026-11-24T03:00:00Z"),
        received_at: at("2026-11-24T03:00:01Z"),
        rule_id: format!("sensor:{text}"),
        rule_title: text.into(),
        level: Level::High,
        kind: AlertKind::Sensor,
        class: Default::default(),
        technique: None,
        entity: None,
        agency: Some("SYT".into()),
        asset: None,
        source_ip: None,
        host: Some(text.into()),
        input: text.into(),
        stream_seq: seq,
        archive: None,
        summary: text.into(),
        tags: vec![text.into()],
        event: format!("{{\"x\":\"{}\"}}", text.escape_default()),
        intel: None,
    }
}

/// Issue 10: a NUL in a sensor's signature wedged every commit on
/// PostgreSQL. Text is made safe before it is written, the same way on
/// both backends.
#[tokio::test]
async fn issue_10_nul_in_text_commits_on_every_backend() {
    for db in backends("nul_text").await.unwrap() {
        let s = &db.store;
        let evil = "ET MALWARE\0Đăng nhập\0";
        let batch = IngestBatch {
            fold_secs: 0,
            sightings: Vec::new(),
            stream: "events".into(),
            position: 1,
            alerts: vec![alert(0, evil)],
            counts: vec![EventCount {
                hour: at("2026-11-24T03:00:00Z"),
                input: "in\0put".into(),
                agency: None,
                events: 1,
                errors: 0,
            }],
        };
        s.commit_ingest_batch(&batch).await.unwrap();
        let a = &s.alerts(&Scope::All, &Default::default()).await.unwrap()[0];
        assert_eq!(a.body.rule_title, "ET MALWARE␀Đăng nhập␀", "{}", db.label);
        assert_eq!(a.body.host.as_deref(), Some("ET MALWARE␀Đăng nhập␀"));
        let counts = s
            .event_counts(&Scope::All, at("2026-11-24T00:00:00Z"))
            .await
            .unwrap();
        assert_eq!(counts[0].input, "in␀put");
        assert_eq!(s.ingest_position("events").await.unwrap(), 1);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn dead_letters_are_kept_scoped_and_replayed() {
    for db in backends("dead_letters").await.unwrap() {
        let s = &db.store;
        let a = alert(7, "Poison\0record");
        let id = s
            .dead_letter_alert("events", &a, "the database refused it")
            .await
            .unwrap();
        assert_eq!(s.open_dead_letters(&Scope::All).await.unwrap(), 1);
        let other = Scope::Agencies(std::sync::Arc::new(["STC".into()].into()));
        assert_eq!(
            s.open_dead_letters(&other).await.unwrap(),
            0,
            "{}",
            db.label
        );
        assert_eq!(
            s.replay_dead_letter(&other, id, &tocsin_model::Actor::system("analyst"))
                .await
                .unwrap(),
            Replay::NotFound
        );
        let list = s.dead_letters(&Scope::All, true, 10).await.unwrap();
        assert_eq!(list[0].stream_seq, 7);
        let kept: NewAlert = serde_json::from_str(&list[0].payload).unwrap();
        assert_eq!(kept, a, "the payload keeps the write exactly, NUL included");
        assert_eq!(
            s.replay_dead_letter(&Scope::All, id, &tocsin_model::Actor::system("analyst"))
                .await
                .unwrap(),
            Replay::Stored
        );
        assert_eq!(s.open_dead_letters(&Scope::All).await.unwrap(), 0);
        assert_eq!(s.alert_total(&Scope::All).await.unwrap(), 1);
        assert_eq!(
            s.replay_dead_letter(&Scope::All, id, &tocsin_model::Actor::system("analyst"))
                .await
                .unwrap(),
            Replay::NotFound,
            "replayed once"
        );
        assert!(
            s.dead_letters(&Scope::All, false, 10).await.unwrap()[0]
                .replayed_at
                .is_some()
        );
        assert_eq!(
            s.audit_log(1).await.unwrap()[0].action,
            "dead_letter.replay"
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_new_database_says_it_is_fresh() {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("t.db").display().to_string();
    let s = StoreConfig::new(&url).build().await.unwrap();
    assert!(s.is_fresh());
    s.close().await;
    let s = StoreConfig::new(&url).build().await.unwrap();
    assert!(!s.is_fresh());
    s.close().await;
    // An empty file where the database was: fresh again, which the node
    // refuses beside existing ingest state.
    std::fs::write(&url, b"").unwrap();
    let s = StoreConfig::new(&url).build().await.unwrap();
    assert!(s.is_fresh());
}

/// A small file system that fills up (tmpfs; skipped where it cannot be
/// mounted). A commit on a full disk fails as transient; once space is
/// back, a reconnected store commits, and what it committed is there after
/// reopening.
#[tokio::test]
async fn a_full_disk_is_transient_and_recovers() {
    let Some(fs) = SmallFs::mount(2 << 20) else {
        eprintln!("note: cannot mount a tmpfs here; full-disk test skipped");
        return;
    };
    let url = fs.path.join("t.db").display().to_string();
    let s = StoreConfig::new(&url).build().await.unwrap();
    let filler = fs.path.join("filler");
    let big = "x".repeat(8 << 10);
    let mut seq = 0;
    // Fill the disk: the rest of it with a file, then alerts until a
    // commit fails.
    let _ = std::fs::write(&filler, vec![0u8; 1 << 20]);
    let err = loop {
        seq += 1;
        let mut a = alert(seq, "fill");
        a.summary = big.clone();
        let b = IngestBatch {
            fold_secs: 0,
            sightings: Vec::new(),
            stream: "events".into(),
            position: seq,
            alerts: vec![a],
            counts: vec![],
        };
        if let Err(e) = s.commit_ingest_batch(&b).await {
            break e;
        }
        assert!(seq < 10_000, "the disk never filled");
    };
    assert!(err.is_transient(), "{err}");
    let committed = s.ingest_position("events").await.unwrap();
    assert_eq!(committed, seq - 1, "the failed batch moved nothing");
    // Space comes back; the store is reopened, never trusted as it was.
    std::fs::remove_file(&filler).unwrap();
    s.reconnect().await.unwrap();
    let b = IngestBatch {
        fold_secs: 0,
        sightings: Vec::new(),
        stream: "events".into(),
        position: seq,
        alerts: vec![alert(seq, "after")],
        counts: vec![],
    };
    s.commit_ingest_batch(&b).await.unwrap();
    s.close().await;
    let s = StoreConfig::new(&url).build().await.unwrap();
    assert_eq!(s.ingest_position("events").await.unwrap(), seq, "durable");
    assert_eq!(s.alert_total(&Scope::All).await.unwrap() as u64, seq);
    s.close().await;
}

/// A tmpfs of a given size, unmounted on drop.
struct SmallFs {
    path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl SmallFs {
    fn mount(bytes: u64) -> Option<SmallFs> {
        let dir = tempfile::tempdir().ok()?;
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .ok()?
            .success();
        ok.then(|| SmallFs {
            path: dir.path().to_path_buf(),
            _dir: dir,
        })
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.path)
            .status();
    }
}
