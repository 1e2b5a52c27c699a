//! The feed loader against real files and a real HTTP server on loopback:
//! loads, a changed file read again, a failure keeping the last good set
//! (and saying so), abuse.ch's Auth-Key and its 401, the size bound, and
//! the new indicators a retro-hunt looks for.

#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tocsin_feeds::{FeedConfig, Feeds, FeedsConfig};
use tocsin_intel::IntelHandle;
use tocsin_intel::feeds::FeedFormat;

const FEODO: &str = "\"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n\
\"2024-03-26 23:30:07\",\"213.199.41.33\",\"13721\",\"online\",\"2024-04-04\",\"Pikabot\"\n\
\"2024-03-26 23:30:07\",\"999.1.1.1\",\"1\",\"online\",\"2024-04-04\",\"Pikabot\"\n";

/// A one-file HTTP server: answers every request with `status` and
/// `body`, and remembers the requests' heads.
fn serve(status: u16, body: Vec<u8>) -> (String, Arc<Mutex<Vec<String>>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/feed.csv", l.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    std::thread::spawn(move || {
        for c in l.incoming() {
            let Ok(mut c) = c else { continue };
            let mut buf = [0u8; 4096];
            let n = c.read(&mut buf).unwrap_or(0);
            s.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&buf[..n]).to_string());
            let head = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = c.write_all(head.as_bytes());
            let _ = c.write_all(&body);
        }
    });
    (url, seen)
}

async fn store() -> tocsin_store::Store {
    tocsin_store::StoreConfig::new("sqlite::memory:")
        .build()
        .await
        .unwrap()
}

#[tokio::test]
async fn files_load_reload_and_fail_without_losing_the_last_good_set() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feodo.csv");
    std::fs::write(&path, FEODO).unwrap();
    let mut f = FeedConfig::file("feodo", FeedFormat::FeodoCsv, path.clone());
    f.interval_secs = 1;
    let handle = IntelHandle::new(Default::default());
    let st = store().await;
    let mut feeds = Feeds::new(
        FeedsConfig {
            feeds: vec![f],
            ..FeedsConfig::default()
        },
        handle.clone(),
        st.clone(),
    )
    .unwrap();
    let r = feeds.poll().await;
    assert_eq!(r.loaded, ["feodo"]);
    assert_eq!(r.in_force, 1);
    assert!(
        r.new.is_none(),
        "the first load is not 'new' (no retro-hunt of everything)"
    );
    let status = st.feeds().await.unwrap();
    assert_eq!(status[0].rejected, 1);
    assert!(
        status[0].problems[0].starts_with("line 3, dst_ip"),
        "{:?}",
        status[0].problems
    );

    // Unchanged: not read again. Changed: read, and what is new is said.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(feeds.poll().await.loaded.is_empty());
    std::fs::write(
        &path,
        format!("{FEODO}\"2024-04-01 00:00:00\",\"198.51.100.77\",\"443\",\"online\",\"2024-04-04\",\"QakBot\"\n"),
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = feeds.poll().await;
    assert_eq!(r.in_force, 2);
    let new = r.new.expect("one new indicator");
    assert_eq!(new.len(), 1);
    let mut out = Vec::new();
    new.lookup_ip("198.51.100.77".parse().unwrap(), None, 0, &mut out);
    assert_eq!(out.len(), 1);

    // Gone: the last good set stays in force, and the failure is recorded.
    std::fs::remove_file(&path).unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = feeds.poll().await;
    assert_eq!(r.failed.len(), 1);
    assert!(r.failed[0].1.contains("cannot read"), "{:?}", r.failed);
    assert_eq!(handle.current().len(), 2, "the last good set stays");
    let status = st.feeds().await.unwrap();
    assert_eq!(status[0].indicators, 2);
    assert!(status[0].error.as_deref().unwrap().contains("cannot read"));
}

#[tokio::test]
async fn urls_send_the_auth_key_and_say_what_a_401_means() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("abusech.key");
    std::fs::write(&key, "s3cr3t-key\n").unwrap();
    let (url, seen) = serve(200, FEODO.as_bytes().to_vec());
    let feed = |url: &str| FeedConfig {
        url: Some(url.to_string()),
        path: None,
        auth_key_file: Some(key.clone()),
        ..FeedConfig::file("feodo", FeedFormat::FeodoCsv, "x".into())
    };
    let handle = IntelHandle::new(Default::default());
    let mut feeds = Feeds::new(
        FeedsConfig {
            feeds: vec![feed(&url)],
            ..FeedsConfig::default()
        },
        handle.clone(),
        store().await,
    )
    .unwrap();
    let r = feeds.poll().await;
    assert_eq!(r.loaded, ["feodo"], "{:?}", r.failed);
    let head = seen.lock().unwrap()[0].to_ascii_lowercase();
    assert!(head.contains("auth-key: s3cr3t-key"), "{head}");

    let (url, _) = serve(401, b"unauthorized".to_vec());
    let err = tocsin_feeds::fetch::fetch(&feed(&url), 1 << 20, Duration::from_secs(5)).unwrap_err();
    assert!(err.to_string().contains("Auth-Key was refused"), "{err}");

    // Larger than the bound: refused, not read whole.
    let (url, _) = serve(200, vec![b'#'; 3 << 20]);
    let err = tocsin_feeds::fetch::fetch(&feed(&url), 1 << 20, Duration::from_secs(5)).unwrap_err();
    assert!(err.to_string().contains("larger than the limit"), "{err}");

    // A key file that is missing says which.
    let mut f = feed(&url);
    f.auth_key_file = Some(dir.path().join("missing.key"));
    let err = tocsin_feeds::fetch::fetch(&f, 1 << 20, Duration::from_secs(5)).unwrap_err();
    assert!(err.to_string().contains("missing.key"), "{err}");
}

#[test]
fn mistakes_in_the_configuration_are_refused() {
    let mut f = FeedConfig::file("a", FeedFormat::Plain, "x".into());
    f.url = Some("https://example.invalid/x".into());
    assert!(f.check().unwrap_err().contains("not both"));
    let f = FeedConfig::file("n", FeedFormat::NationalCsv, "x".into());
    assert!(f.check().unwrap_err().contains("import-national"));
    let two = FeedsConfig {
        feeds: vec![
            FeedConfig::file("a", FeedFormat::Plain, "x".into()),
            FeedConfig::file("a", FeedFormat::Plain, "y".into()),
        ],
        ..FeedsConfig::default()
    };
    assert!(two.check().unwrap_err().contains("two feeds"));
    let mut u = FeedConfig::file("u", FeedFormat::Plain, "x".into());
    u.path = None;
    u.url = Some("https://x.example/f".into());
    u.interval_secs = 10;
    assert_eq!(
        u.interval(),
        tocsin_feeds::MIN_URL_INTERVAL,
        "no source is pulled more often than every 5 minutes"
    );
}

#[tokio::test]
async fn a_misp_feed_is_its_manifest_and_the_events_it_names() {
    let dir = tempfile::tempdir().unwrap();
    let a = "5f1a1d2e-0000-4000-8000-00000000000a";
    let b = "5f1a1d2e-0000-4000-8000-00000000000b";
    std::fs::write(
        dir.path().join("manifest.json"),
        format!(r#"{{"{a}": {{"info": "Emotet"}}, "{b}": {{"info": "Mất tệp"}}, "../../etc/passwd": {{}}}}"#),
    )
    .unwrap();
    std::fs::write(
        dir.path().join(format!("{a}.json")),
        r#"{"Event":{"info":"Emotet","Attribute":[{"type":"ip-dst","value":"192.0.2.50","to_ids":true},{"type":"ip-dst","value":"nope","to_ids":true}]}}"#,
    )
    .unwrap();
    let f = FeedConfig::file("misp-circl", FeedFormat::Misp, dir.path().to_path_buf());
    let handle = IntelHandle::new(Default::default());
    let st = store().await;
    let mut feeds = Feeds::new(
        FeedsConfig {
            feeds: vec![f],
            ..FeedsConfig::default()
        },
        handle.clone(),
        st.clone(),
    )
    .unwrap();
    let r = feeds.poll().await;
    assert_eq!(r.loaded, ["misp-circl"], "{:?}", r.failed);
    assert_eq!(r.in_force, 1);
    let s = &st.feeds().await.unwrap()[0];
    assert_eq!(
        s.rejected, 2,
        "the bad attribute and the missing event: {:?}",
        s.problems
    );
    assert!(
        s.problems
            .iter()
            .any(|p| p.contains(b) && p.contains("cannot read")),
        "{:?}",
        s.problems
    );
    assert!(
        !s.problems.iter().any(|p| p.contains("passwd")),
        "names that are not UUIDs are not paths"
    );
}
