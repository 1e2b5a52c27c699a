//! Threat-intelligence records on every backend: sightings counted once
//! per match, infected devices kept across address changes, reinfection,
//! exact counts per period, and each agency seeing only its own.

#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Duration, Utc};
use tocsin_model::{
    Actor, AgencyCode, Device, DeviceStatus, IndicatorKind, IntelHit, Scope, Sighting, Threat,
};
use tocsin_store::testkit::backends;
use tocsin_store::{DeviceFilter, FeedStatus, IngestBatch};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn sighting(
    agency: &str,
    ip: &str,
    host: Option<&str>,
    indicator: &str,
    threat: Threat,
    when: &str,
) -> Sighting {
    Sighting {
        hit: IntelHit {
            indicator: indicator.into(),
            kind: IndicatorKind::Ip,
            source: "feodo".into(),
            threat,
            family: Some(
                if threat.is_botnet() {
                    "Emotet"
                } else {
                    "AgentTesla"
                }
                .into(),
            ),
            confidence: 90,
            field: "destination.ip".into(),
            device: Device::new(ip.parse().ok(), host, None),
        },
        at: at(when),
        agency: Some(AgencyCode(agency.into())),
        asset: None,
        late: false,
    }
}

#[tokio::test]
async fn devices_and_counts_are_exact_and_scoped() {
    for db in backends("intel_devices").await.unwrap() {
        let s = &db.store;
        let l = &db.label;
        let all = Scope::All;
        let stc = Scope::Agencies(std::sync::Arc::new([AgencyCode("STC".into())].into()));
        // STC's accounting PC, known by name, changes address between two
        // contacts: one device. A second STC PC talks to a download site
        // (malware, not botnet). SYT's PC talks to the C2 on two days.
        let batch = IngestBatch {
            fold_secs: 0,
            stream: "events".into(),
            position: 10,
            sightings: vec![
                sighting(
                    "STC",
                    "10.36.12.7",
                    Some("PC-KeToan-01"),
                    "192.0.2.7",
                    Threat::BotnetCc,
                    "2026-11-01T02:00:00Z",
                ),
                sighting(
                    "STC",
                    "10.36.12.8",
                    Some("PC-KeToan-01"),
                    "192.0.2.7",
                    Threat::BotnetCc,
                    "2026-11-01T03:00:00Z",
                ),
                sighting(
                    "STC",
                    "10.36.12.9",
                    None,
                    "198.51.100.9",
                    Threat::MalwareDownload,
                    "2026-11-02T03:00:00Z",
                ),
                sighting(
                    "SYT",
                    "10.37.1.5",
                    None,
                    "192.0.2.7",
                    Threat::BotnetCc,
                    "2026-11-01T05:00:00Z",
                ),
                sighting(
                    "SYT",
                    "10.37.1.5",
                    None,
                    "192.0.2.7",
                    Threat::BotnetCc,
                    "2026-11-20T05:00:00Z",
                ),
            ],
            ..IngestBatch::default()
        };
        s.commit_ingest_batch(&batch).await.unwrap();

        let devs = s
            .infected_devices(&all, &DeviceFilter::default())
            .await
            .unwrap();
        assert_eq!(devs.len(), 3, "{l}: one record per device, not per address");
        let pc = devs
            .iter()
            .find(|d| d.device_key == "host:pc-ketoan-01")
            .unwrap();
        assert_eq!(pc.contacts, 2, "{l}");
        assert_eq!(
            pc.ip.as_deref(),
            Some("10.36.12.8"),
            "{l}: its latest address"
        );
        assert!(pc.botnet);
        assert_eq!(pc.families, ["Emotet"]);

        // The report's figures for 1–10 November: 3 devices, of which 2
        // addresses (STC's PC counts its two addresses; SYT's one) talked
        // to a botnet… by address: 10.36.12.7, 10.36.12.8, 10.37.1.5.
        let counts = s
            .intel_counts(
                &all,
                Some(at("2026-11-01T00:00:00Z")),
                Some(at("2026-11-10T00:00:00Z")),
            )
            .await
            .unwrap();
        let stc_row = counts.iter().find(|c| c.agency.as_str() == "STC").unwrap();
        assert_eq!(
            (stc_row.devices, stc_row.botnet_addresses, stc_row.contacts),
            (2, 2, 3),
            "{l}"
        );
        let syt_row = counts.iter().find(|c| c.agency.as_str() == "SYT").unwrap();
        assert_eq!(
            (syt_row.devices, syt_row.contacts),
            (1, 1),
            "{l}: the 20th is outside"
        );

        // Scope: STC's contact sees STC alone, whatever id it asks for.
        let mine = s
            .infected_devices(&stc, &DeviceFilter::default())
            .await
            .unwrap();
        assert!(mine.iter().all(|d| d.agency.as_str() == "STC"), "{l}");
        let syt_dev = devs.iter().find(|d| d.agency.as_str() == "SYT").unwrap();
        assert!(
            s.infected_device(&stc, syt_dev.id).await.unwrap().is_none(),
            "{l}"
        );
        let actor = Actor::system("test");
        assert!(
            !s.set_device_status(&stc, syt_dev.id, DeviceStatus::Cleaned, &actor)
                .await
                .unwrap(),
            "{l}: another agency's device cannot be changed"
        );
        let c = s.intel_counts(&stc, None, None).await.unwrap();
        assert_eq!(c.len(), 1, "{l}");
        let b = s.botnet_addresses(&stc, None, None, None).await.unwrap();
        assert_eq!(
            b.iter().map(|x| x.ip.as_str()).collect::<Vec<_>>(),
            ["10.36.12.7", "10.36.12.8"],
            "{l}"
        );
        assert!(
            s.sightings(&stc, 100)
                .await
                .unwrap()
                .iter()
                .all(|r| r.agency == "STC")
        );

        // Filters.
        let f = DeviceFilter {
            family: Some("agenttesla".into()),
            ..DeviceFilter::default()
        };
        assert_eq!(s.infected_devices(&all, &f).await.unwrap().len(), 1, "{l}");
        let f = DeviceFilter {
            botnet: true,
            ..DeviceFilter::default()
        };
        assert_eq!(s.infected_devices(&all, &f).await.unwrap().len(), 2, "{l}");

        // Cleaned, then seen again after: reinfected.
        assert!(
            s.set_device_status(&all, pc.id, DeviceStatus::Cleaned, &actor)
                .await
                .unwrap()
        );
        let later = (Utc::now() + Duration::hours(1)).to_rfc3339();
        s.import_sightings(
            &[sighting(
                "STC",
                "10.36.12.20",
                Some("pc-ketoan-01"),
                "192.0.2.7",
                Threat::BotnetCc,
                &later,
            )],
            &actor,
            "test",
        )
        .await
        .unwrap();
        let pc = s.infected_device(&all, pc.id).await.unwrap().unwrap();
        assert_eq!(pc.status, DeviceStatus::Reinfected, "{l}");
        assert_eq!(pc.contacts, 3);
        let audit = s.audit_log(10).await.unwrap();
        assert!(
            audit.iter().any(|e| e.action == "device.status"),
            "{l}: changes are audited"
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_failed_feed_keeps_its_last_good_counts() {
    for db in backends("intel_feeds").await.unwrap() {
        let s = &db.store;
        let ok = FeedStatus {
            name: "feodo".into(),
            format: "feodo_csv".into(),
            location: "/srv/feeds/feodo.csv".into(),
            attempted_at: Some(Utc::now()),
            loaded_at: Some(Utc::now()),
            indicators: 28,
            rejected: 1,
            error: None,
            problems: vec!["line 9, dst_ip: not an address: \"85.239.243.999\"".into()],
        };
        s.record_feed(&ok).await.unwrap();
        s.record_feed(&FeedStatus {
            name: "feodo".into(),
            format: "feodo_csv".into(),
            location: "/srv/feeds/feodo.csv".into(),
            attempted_at: Some(Utc::now()),
            error: Some("answered 401".into()),
            ..FeedStatus::default()
        })
        .await
        .unwrap();
        let f = s.feeds().await.unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].indicators, 28, "{}", db.label);
        assert_eq!(f[0].problems.len(), 1);
        assert_eq!(f[0].error.as_deref(), Some("answered 401"));
        assert!(f[0].loaded_at.is_some());
        db.cleanup().await;
    }
}
