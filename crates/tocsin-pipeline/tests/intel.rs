//! Threat intelligence through the pipeline: a firewall's records of an
//! agency PC calling a botnet controller become one alert per device (the
//! repeats folded) and an exact sighting count; a DNS query for a listed
//! domain matches by its parent; a set swapped in takes effect at the
//! next batch; and a retro-hunt finds in the archive the contacts made
//! before an indicator was known.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use tocsin_intel::feeds::{FeedDefaults, FeedFormat, parse};
use tocsin_intel::{IndicatorSet, IntelHandle, SetBuilder, Source};
use tocsin_model::{AlertKind, Scope, Threat};
use tocsin_parse::Format;
use tocsin_pipeline::retro::{RetroProgress, retro_hunt};
use tocsin_pipeline::{Pipeline, PipelineConfig};
use tocsin_queue::{DiskQueueConfig, Entry, Envelope, Queue};
use tocsin_sigma::{EngineBuilder, EngineConfig};
use tocsin_store::DeviceFilter;
use tocsin_telemetry::Metrics;

fn entry(seq: u64, format: Format, raw: &str) -> Entry {
    Entry::new(
        seq,
        Envelope {
            received_us: 1_795_996_800_000_000 + seq as i64 * 1_000_000,
            input: "fw",
            format,
            peer: None,
            sender: None,
            raw: raw.as_bytes(),
        }
        .encode(),
    )
}

fn set(feed: &str, format: FeedFormat, name: &str) -> IndicatorSet {
    let p = parse(
        format,
        feed.as_bytes(),
        &FeedDefaults {
            threat: Threat::BotnetCc,
            ..FeedDefaults::default()
        },
    )
    .unwrap();
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    let mut b = SetBuilder::new();
    b.add(
        Source {
            name: name.into(),
            allow: false,
        },
        &p.indicators,
    );
    b.build()
}

fn cef(src: &str, dst: &str, sec: u64) -> String {
    format!(
        "<134>Nov 24 10:{:02}:{:02} fw-core-01 CEF:0|Fortinet|FortiGate|7.4.3|13|traffic:forward accept|3|src={src} spt={} dst={dst} dpt=443 proto=TCP act=accept",
        sec / 60,
        sec % 60,
        40_000 + sec
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contacts_fold_into_one_alert_per_device_and_count_exactly() {
    let store = tocsin_store::StoreConfig::new("sqlite::memory:")
        .build()
        .await
        .unwrap();
    let inv = tocsin_sim::province();
    store
        .replace_inventory(&inv, &tocsin_model::Actor::system("test"), "province")
        .await
        .unwrap();
    // Two agencies' LANs.
    let lans: Vec<(String, String)> = inv
        .agencies
        .iter()
        .filter_map(|a| {
            let r = a
                .ranges
                .iter()
                .find(|r| r.is_ipv4() && r.prefix_len() == 24)?;
            let s = r.addr().to_string();
            Some((
                a.code.as_str().to_string(),
                s.rsplit_once('.')?.0.to_string(),
            ))
        })
        .take(3)
        .collect();
    let pc1 = format!("{}.77", lans[0].1);
    let pc2 = format!("{}.78", lans[1].1);
    let pc3 = format!("{}.79", lans[2].1);

    let (engine, _) = EngineBuilder::new(EngineConfig::default()).build();
    let handle = IntelHandle::new(set(
        "\"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n\
         \"2026-10-01 00:00:00\",\"192.0.2.7\",\"443\",\"online\",\"2026-11-24\",\"Emotet\"\n",
        FeedFormat::FeodoCsv,
        "feodo",
    ));
    let dir = tempfile::tempdir().unwrap();
    let queue: Arc<dyn Queue> =
        Arc::new(DiskQueueConfig::in_dir(dir.path()).build("t", 0).unwrap());
    let archive_dir = dir.path().join("archive");
    let cfg = PipelineConfig::default();
    // The firewall is a sensor on the wire: it speaks for every agency.
    let sources = HashMap::from([(
        "fw".to_string(),
        tocsin_model::SourceTrust {
            sensor: true,
            scope: tocsin_model::ScopeSetting::All,
            ..Default::default()
        },
    )]);
    let mut p = Pipeline::new(
        cfg.clone(),
        queue,
        store.clone(),
        cfg.detectors(Arc::new(engine), Some(handle.clone())),
        sources,
        Arc::new(Metrics::default()),
    )
    .await
    .unwrap()
    .with_archive(tocsin_pipeline::Archive::new(archive_dir.clone()));

    // PC 1 beacons 30 times, PC 2 five times; PC 3 calls an address no
    // feed lists yet; a DNS query asks for a listed domain's subdomain.
    let mut entries = Vec::new();
    let mut seq = 0;
    for i in 0..30 {
        entries.push(entry(seq, Format::Syslog, &cef(&pc1, "192.0.2.7", i)));
        seq += 1;
    }
    for i in 0..5 {
        entries.push(entry(seq, Format::Syslog, &cef(&pc2, "192.0.2.7", 100 + i)));
        seq += 1;
    }
    for i in 0..4 {
        entries.push(entry(
            seq,
            Format::Syslog,
            &cef(&pc3, "198.51.100.66", 200 + i),
        ));
        seq += 1;
    }
    entries.push(entry(seq, Format::Syslog, &cef(&pc1, "203.0.113.1", 300)));
    let (batch, _) = p.process("events", &entries);
    let intel: Vec<_> = batch
        .alerts
        .iter()
        .filter(|a| a.kind == AlertKind::Intel)
        .collect();
    assert_eq!(intel.len(), 2, "one alert per device: {intel:#?}");
    assert_eq!(batch.sightings.len(), 35, "every contact counted");
    let hit = intel[0].intel.as_ref().unwrap();
    assert_eq!(hit.family.as_deref(), Some("Emotet"));
    assert_eq!(hit.device.as_ref().unwrap().key, format!("ip:{pc1}"));
    assert_eq!(intel[0].agency.as_ref().unwrap().as_str(), lans[0].0);
    store.commit_ingest_batch(&batch).await.unwrap();
    let devs = store
        .infected_devices(&Scope::All, &DeviceFilter::default())
        .await
        .unwrap();
    let mut contacts: Vec<_> = devs
        .iter()
        .map(|d| (d.device_key.clone(), d.contacts))
        .collect();
    contacts.sort();
    let mut want = vec![(format!("ip:{pc1}"), 30), (format!("ip:{pc2}"), 5)];
    want.sort();
    assert_eq!(contacts, want);

    // A new set, swapped in while the pipeline holds the old one: the
    // next batch sees it.
    handle.swap(set(
        "198.51.100.66\ncdn-c2.example\n",
        FeedFormat::Plain,
        "local",
    ));
    let mut next = vec![entry(
        seq + 1,
        Format::Syslog,
        &cef(&pc3, "198.51.100.66", 400),
    )];
    next.push(entry(
        seq + 2,
        Format::SuricataEve,
        &format!(
            r#"{{"timestamp":"2026-11-24T10:07:00+0700","event_type":"dns","src_ip":"{pc2}","dest_ip":"10.36.1.53","dns":{{"type":"query","rrname":"a.b.CDN-C2.example","rrtype":"A"}}}}"#
        ),
    ));
    let (batch, _) = p.process("events", &next);
    let found: Vec<_> = batch
        .alerts
        .iter()
        .filter_map(|a| a.intel.as_ref())
        .map(|h| h.indicator.as_str())
        .collect();
    assert_eq!(found, ["198.51.100.66", "cdn-c2.example"]);

    // The retro-hunt: the archive holds PC 3's four earlier calls to
    // 198.51.100.66, made before any feed listed it.
    let new = set("198.51.100.66\n", FeedFormat::Plain, "local");
    let progress = RetroProgress::default();
    let hits = retro_hunt(
        &archive_dir,
        0,
        &new,
        1000,
        &progress,
        &AtomicBool::new(false),
    );
    assert_eq!(
        hits.sightings.len(),
        5,
        "four before the feed and one after, in the archive"
    );
    assert!(hits.sightings.iter().all(|s| s.late));
    assert_eq!(hits.alerts.len(), 1, "one alert for the device");
    assert!(hits.alerts[0].tags.contains(&"found_late".to_string()));
    assert!(hits.alerts[0].archive.as_ref().unwrap().contains("#seq="));
    assert_eq!(
        progress
            .files_done
            .load(std::sync::atomic::Ordering::Relaxed),
        progress
            .files_total
            .load(std::sync::atomic::Ordering::Relaxed)
    );
}
