//! Alerts and ingest batches on every backend.

#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Utc};
use tocsin_model::{AlertId, AlertKind, AlertStatus, EventCount, Level, NewAlert, Scope};
use tocsin_store::testkit::backends;
use tocsin_store::{AlertFilter, IngestBatch};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn alert(seq: u64, rule: &str, level: Level, agency: Option<&str>) -> NewAlert {
    NewAlert {
        event_time: at("2026-11-24T03:00:00Z"),
        received_at: at("2026-11-24T03:00:01Z"),
        rule_id: rule.into(),
        rule_title: format!("Rule {rule}"),
        level,
        kind: AlertKind::Rule,
        class: Default::default(),
        technique: None,
        entity: None,
        agency: agency.map(Into::into),
        asset: None,
        source_ip: Some("203.0.113.9".parse().unwrap()),
        host: Some("web01".into()),
        input: "syslog-tcp".into(),
        stream_seq: seq,
        archive: None,
        summary: "x".into(),
        tags: vec!["attack.t1110".into()],
        event: r#"{"a":1}"#.into(),
        intel: None,
    }
}

#[tokio::test]
async fn batches_commit_alerts_counts_and_position_together() {
    for db in backends("alerts_batches").await.unwrap() {
        let s = &db.store;
        assert_eq!(s.ingest_position("main").await.unwrap(), 0);
        let count = |events, errors| EventCount {
            hour: at("2026-11-24T03:00:00Z"),
            input: "syslog-tcp".into(),
            agency: Some("SOYTE".into()),
            events,
            errors,
        };
        let b1 = IngestBatch {
            fold_secs: 0,
            sightings: Vec::new(),
            stream: "main".into(),
            position: 10,
            alerts: vec![
                alert(3, "r1", Level::High, Some("SOYTE")),
                alert(3, "r2", Level::Low, None),
            ],
            counts: vec![count(10, 1)],
        };
        s.commit_ingest_batch(&b1).await.unwrap();
        // A replay of the same batch (crash between commit and ack) adds
        // counts again but never duplicates an alert.
        let b2 = IngestBatch {
            fold_secs: 0,
            sightings: Vec::new(),
            stream: "main".into(),
            position: 20,
            alerts: vec![
                alert(3, "r1", Level::High, Some("SOYTE")),
                alert(15, "r1", Level::High, None),
            ],
            counts: vec![count(10, 0)],
        };
        s.commit_ingest_batch(&b2).await.unwrap();
        assert_eq!(s.ingest_position("main").await.unwrap(), 20, "{}", db.label);
        let all_scope = Scope::All;
        assert_eq!(s.alert_total(&all_scope).await.unwrap(), 3, "{}", db.label);
        let counts = s
            .event_counts(&all_scope, at("2026-11-24T00:00:00Z"))
            .await
            .unwrap();
        assert_eq!(counts, vec![count(20, 1)], "{}", db.label);

        let soyte = s
            .alerts(
                &all_scope,
                &AlertFilter {
                    agency: Some("SOYTE".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(soyte.len(), 1, "{}", db.label);
        assert_eq!(soyte[0].body.tags, vec!["attack.t1110".to_string()]);
        assert_eq!(soyte[0].body, alert(3, "r1", Level::High, Some("SOYTE")));
        let all = s.alerts(&all_scope, &AlertFilter::default()).await.unwrap();
        assert_eq!(all.len(), 3);
        assert!(all[0].id > all[1].id, "newest first");
        let high = s
            .alerts(
                &all_scope,
                &AlertFilter {
                    level: Some(Level::High),
                    limit: Some(1),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(high.len(), 1);
        assert_eq!(high[0].body.stream_seq, 15);

        let id = all[0].id;
        assert!(
            s.set_alert_status(
                &all_scope,
                id,
                AlertStatus::Closed,
                &tocsin_model::Actor::system("analyst")
            )
            .await
            .unwrap()
        );
        assert!(
            !s.set_alert_status(
                &all_scope,
                AlertId(999_999),
                AlertStatus::Closed,
                &tocsin_model::Actor::system("analyst")
            )
            .await
            .unwrap()
        );
        assert_eq!(
            s.alert(&all_scope, id).await.unwrap().unwrap().status,
            AlertStatus::Closed
        );
        let levels = s
            .alert_levels(&all_scope, at("2000-01-01T00:00:00Z"))
            .await
            .unwrap();
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

/// Tenant isolation at the store: a scope sees its agencies' alerts and
/// counts only — not another agency's, not unattributed ones — whatever id
/// it asks for, and cannot change what it cannot see.
#[tokio::test]
async fn scopes_hide_other_agencies_data() {
    for db in backends("alerts_scope").await.unwrap() {
        let s = &db.store;
        let count = |agency: Option<&str>| EventCount {
            hour: at("2026-11-24T03:00:00Z"),
            input: "http".into(),
            agency: agency.map(Into::into),
            events: 5,
            errors: 0,
        };
        s.commit_ingest_batch(&IngestBatch {
            fold_secs: 0,
            sightings: Vec::new(),
            stream: "main".into(),
            position: 3,
            alerts: vec![
                alert(0, "r", Level::High, Some("SOYTE")),
                alert(1, "r", Level::High, Some("STC")),
                alert(2, "r", Level::High, None),
            ],
            counts: vec![count(Some("SOYTE")), count(Some("STC")), count(None)],
        })
        .await
        .unwrap();
        let soyte = Scope::Agencies(std::sync::Arc::new(["SOYTE".into()].into()));
        let mine = s.alerts(&soyte, &AlertFilter::default()).await.unwrap();
        assert_eq!(mine.len(), 1, "{}", db.label);
        assert_eq!(mine[0].body.agency, Some("SOYTE".into()));
        let all = s
            .alerts(&Scope::All, &AlertFilter::default())
            .await
            .unwrap();
        assert_eq!(all.len(), 3);
        for a in &all {
            let visible = a
                .body
                .agency
                .as_ref()
                .is_some_and(|c| c.as_str() == "SOYTE");
            assert_eq!(s.alert(&soyte, a.id).await.unwrap().is_some(), visible);
            assert_eq!(
                s.set_alert_status(
                    &soyte,
                    a.id,
                    AlertStatus::Closed,
                    &tocsin_model::Actor::system("contact")
                )
                .await
                .unwrap(),
                visible,
                "{}",
                db.label
            );
        }
        // A filter naming another agency finds nothing inside the scope.
        let other = s
            .alerts(
                &soyte,
                &AlertFilter {
                    agency: Some("STC".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert!(other.is_empty());
        assert_eq!(s.alert_total(&soyte).await.unwrap(), 1);
        let levels = s
            .alert_levels(&soyte, at("2000-01-01T00:00:00Z"))
            .await
            .unwrap();
        assert_eq!(levels.iter().map(|l| l.count).sum::<i64>(), 1);
        let counts = s
            .event_counts(&soyte, at("2026-11-24T00:00:00Z"))
            .await
            .unwrap();
        assert_eq!(counts, vec![count(Some("SOYTE"))], "{}", db.label);
        let none = Scope::Agencies(std::sync::Arc::default());
        assert!(
            s.alerts(&none, &AlertFilter::default())
                .await
                .unwrap()
                .is_empty()
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn repeats_fold_into_the_open_alert_of_the_same_detection_and_entity() {
    for db in backends("alerts_folding").await.unwrap() {
        let s = &db.store;
        let l = &db.label;
        let one = |seq: u64, when: &str, level: Level, ip: &str| {
            let mut a = alert(seq, "web:sqli", level, Some("SOYTE"));
            a.event_time = at(when);
            a.source_ip = Some(ip.parse().unwrap());
            a.summary = format!("request {seq}");
            a.class = tocsin_model::AttackClass::WebAttack;
            a
        };
        let batch = |position: u64, alerts: Vec<NewAlert>| IngestBatch {
            fold_secs: 3600,
            sightings: Vec::new(),
            stream: "main".into(),
            position,
            alerts,
            counts: Vec::new(),
        };
        // Three findings of one detection from one address within the hour,
        // the second more severe: one alert.
        let b = batch(
            10,
            vec![
                one(1, "2026-11-24T03:00:00Z", Level::Medium, "203.0.113.9"),
                one(2, "2026-11-24T03:10:00Z", Level::High, "203.0.113.9"),
                one(3, "2026-11-24T03:20:00Z", Level::Low, "203.0.113.9"),
            ],
        );
        s.commit_ingest_batch(&b).await.unwrap();
        // The same batch replayed after a crash counts nothing twice.
        s.commit_ingest_batch(&b).await.unwrap();
        let all = s
            .alerts(&Scope::All, &AlertFilter::default())
            .await
            .unwrap();
        assert_eq!(all.len(), 1, "{l}");
        let a = &all[0];
        assert_eq!(a.repeats, 3, "{l}");
        assert_eq!(a.body.level, Level::High, "{l}: the level only rises");
        assert_eq!(a.last_seen, at("2026-11-24T03:20:00Z"), "{l}");
        assert_eq!(
            a.body.event_time,
            at("2026-11-24T03:00:00Z"),
            "{l}: first seen kept"
        );
        assert_eq!(a.body.summary, "request 3", "{l}: the latest summary");
        assert_eq!(a.body.class, tocsin_model::AttackClass::WebAttack, "{l}");

        // Another address, and a repeat more than an hour after the last
        // one, are alerts of their own.
        s.commit_ingest_batch(&batch(
            20,
            vec![
                one(11, "2026-11-24T03:30:00Z", Level::High, "198.51.100.7"),
                one(12, "2026-11-24T04:30:00Z", Level::High, "203.0.113.9"),
            ],
        ))
        .await
        .unwrap();
        assert_eq!(s.alert_total(&Scope::All).await.unwrap(), 3, "{l}");

        // A closed alert takes no more repeats.
        let newest = s
            .alerts(&Scope::All, &AlertFilter::default())
            .await
            .unwrap()[0]
            .clone();
        s.set_alert_status(
            &Scope::All,
            newest.id,
            AlertStatus::Closed,
            &tocsin_model::Actor::system("test"),
        )
        .await
        .unwrap();
        s.commit_ingest_batch(&batch(
            30,
            vec![one(21, "2026-11-24T04:40:00Z", Level::High, "203.0.113.9")],
        ))
        .await
        .unwrap();
        assert_eq!(s.alert_total(&Scope::All).await.unwrap(), 4, "{l}");

        // Replaying the first batch after its alert was closed stores
        // nothing again: every occurrence is recorded once.
        let first = s
            .alerts(&Scope::All, &AlertFilter::default())
            .await
            .unwrap();
        let oldest = first.last().unwrap().id;
        s.set_alert_status(
            &Scope::All,
            oldest,
            AlertStatus::Closed,
            &tocsin_model::Actor::system("test"),
        )
        .await
        .unwrap();
        s.commit_ingest_batch(&b).await.unwrap();
        assert_eq!(s.alert_total(&Scope::All).await.unwrap(), 4, "{l}");

        // The class filter.
        let web = s
            .alerts(
                &Scope::All,
                &AlertFilter {
                    class: Some(tocsin_model::AttackClass::WebAttack),
                    ..AlertFilter::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(web.len(), 4, "{l}");
        let dos = s
            .alerts(
                &Scope::All,
                &AlertFilter {
                    class: Some(tocsin_model::AttackClass::Dos),
                    ..AlertFilter::default()
                },
            )
            .await
            .unwrap();
        assert!(dos.is_empty(), "{l}");
    }
}
