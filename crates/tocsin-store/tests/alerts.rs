//! Alerts and ingest batches on every backend.

#![allow(clippy::unwrap_used)]

use tocsin_store::testkit::backends;
use tocsin_store::{AlertFilter, AlertKind, AlertStatus, EventCount, IngestBatch, NewAlert};

fn alert(seq: u64, rule: &str, level: &str, agency: Option<&str>) -> NewAlert {
    NewAlert {
        event_time: "2026-11-24T03:00:00.000000Z".into(),
        received_at: "2026-11-24T03:00:01.000000Z".into(),
        rule_id: rule.into(),
        rule_title: format!("Rule {rule}"),
        level: level.into(),
        kind: AlertKind::Rule,
        agency: agency.map(Into::into),
        asset: None,
        source_ip: Some("203.0.113.9".into()),
        host: Some("web01".into()),
        input: "syslog-tcp".into(),
        stream_seq: seq,
        archive: None,
        summary: "x".into(),
        tags: vec!["attack.t1110".into()],
        event: r#"{"a":1}"#.into(),
    }
}

#[tokio::test]
async fn batches_commit_alerts_counts_and_position_together() {
    for db in backends("alerts_batches").await.unwrap() {
        let s = &db.store;
        assert_eq!(s.ingest_position("main").await.unwrap(), 0);
        let count = |events, errors| EventCount {
            hour: "2026-11-24T03".into(),
            input: "syslog-tcp".into(),
            agency: "SOYTE".into(),
            events,
            errors,
        };
        let b1 = IngestBatch {
            stream: "main".into(),
            position: 10,
            alerts: vec![
                alert(3, "r1", "high", Some("SOYTE")),
                alert(3, "r2", "low", None),
            ],
            counts: vec![count(10, 1)],
        };
        s.commit_ingest_batch(&b1).await.unwrap();
        // A replay of the same batch (crash between commit and ack) adds
        // counts again but never duplicates an alert.
        let b2 = IngestBatch {
            stream: "main".into(),
            position: 20,
            alerts: vec![
                alert(3, "r1", "high", Some("SOYTE")),
                alert(15, "r1", "high", None),
            ],
            counts: vec![count(10, 0)],
        };
        s.commit_ingest_batch(&b2).await.unwrap();
        assert_eq!(s.ingest_position("main").await.unwrap(), 20, "{}", db.label);
        assert_eq!(s.alert_total().await.unwrap(), 3, "{}", db.label);
        let counts = s.event_counts("2026-11-24T00").await.unwrap();
        assert_eq!(counts, vec![count(20, 1)], "{}", db.label);

        let soyte = s
            .alerts(&AlertFilter {
                agency: Some("SOYTE".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(soyte.len(), 1, "{}", db.label);
        assert_eq!(soyte[0].tags, vec!["attack.t1110".to_string()]);
        let all = s.alerts(&AlertFilter::default()).await.unwrap();
        assert_eq!(all.len(), 3);
        assert!(all[0].id > all[1].id, "newest first");
        let high = s
            .alerts(&AlertFilter {
                level: Some("high".into()),
                limit: Some(1),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(high.len(), 1);
        assert_eq!(high[0].stream_seq, 15);

        let id = all[0].id;
        assert!(
            s.set_alert_status(id, AlertStatus::Closed, "analyst")
                .await
                .unwrap()
        );
        assert!(
            !s.set_alert_status(999_999, AlertStatus::Closed, "analyst")
                .await
                .unwrap()
        );
        assert_eq!(
            s.alert(id).await.unwrap().unwrap().status,
            AlertStatus::Closed
        );
        let levels = s.alert_levels("2000-01-01").await.unwrap();
        assert_eq!(levels.iter().map(|l| l.count).sum::<i64>(), 3);
        assert_eq!(s.audit_log(5).await.unwrap()[0].action, "alert.status");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn correlation_state_is_kept_per_stream_and_replaced() {
    for db in backends("correlation_state").await.unwrap() {
        let s = &db.store;
        assert_eq!(s.correlation_state("events").await.unwrap(), None);
        s.save_correlation_state("events", 10, r#"{"v":1}"#)
            .await
            .unwrap();
        s.save_correlation_state("other", 3, "{}").await.unwrap();
        s.save_correlation_state("events", 25, r#"{"v":2}"#)
            .await
            .unwrap();
        assert_eq!(
            s.correlation_state("events").await.unwrap(),
            Some((25, r#"{"v":2}"#.to_string()))
        );
        assert_eq!(
            s.correlation_state("other").await.unwrap(),
            Some((3, "{}".to_string()))
        );
        db.cleanup().await;
    }
}
