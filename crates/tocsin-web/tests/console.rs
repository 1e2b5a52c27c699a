//! The console and API over the demo province, through the router (no socket).

#![allow(clippy::unwrap_used)] // tests fail loudly on bad fixtures

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use tower::ServiceExt;

mod common;

async fn app() -> axum::Router {
    let store = tocsin_store::StoreConfig::new("sqlite::memory:")
        .build()
        .await
        .unwrap();
    store
        .replace_inventory(
            &tocsin_sim::province(),
            &tocsin_model::Actor::system("test"),
            "demo province",
        )
        .await
        .unwrap();
    common::sign_in_admin(&store).await;
    common::web_config().build(store).await.unwrap().router()
}

async fn get(
    app: &axum::Router,
    uri: &str,
    cookie: Option<&str>,
) -> (StatusCode, String, axum::http::HeaderMap) {
    // Every request of these tests is the administrator's; the access
    // rules themselves are tested in access.rs.
    let mut req = Request::get(uri).header(header::HOST, "127.0.0.1:8080");
    let session = common::admin_cookie();
    req = req.header(
        header::COOKIE,
        match cookie {
            Some(c) => format!("{session}; {c}"),
            None => session,
        },
    );
    let resp = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = to_bytes(resp.into_body(), 10 << 20).await.unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap(), headers)
}

#[tokio::test]
async fn dashboard_is_vietnamese_by_default_and_english_on_request() {
    let app = app().await;
    let (s, body, _) = get(&app, "/", None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("<html lang=\"vi\">"));
    assert!(body.contains("Tổng quan địa bàn"), "{body}");
    assert!(body.contains("Xã, phường"));
    assert!(
        body.contains(r#"id="total-agencies">498<"#),
        "48 units + 27 districts + 423 communes"
    );
    assert!(body.contains("Cổng dịch vụ công trực tuyến tỉnh"));

    let (s, body, headers) = get(&app, "/?lang=en", None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("Province overview"));
    assert!(body.contains("Communes and wards"));
    let cookie = headers.get(header::SET_COOKIE).unwrap().to_str().unwrap();
    assert!(cookie.starts_with("lang=en;"), "{cookie}");
    // The cookie keeps English on the next page.
    let (_, body, _) = get(&app, "/agencies", Some("lang=en")).await;
    assert!(body.contains("Search by code or name"));
}

#[tokio::test]
async fn agency_list_filters_without_diacritics() {
    let app = app().await;
    let (_, body, _) = get(&app, "/agencies?q=tai%20chinh", None).await;
    assert!(body.contains("Sở Tài chính"), "{body}");
    assert!(!body.contains("Sở Y tế"));
    let (_, body, _) = get(&app, "/agencies?kind=district", None).await;
    assert!(body.contains("Hiển thị 27 trên 27"), "{body}");
    let (_, body, _) = get(&app, "/agencies?kind=commune&page=8", None).await;
    assert!(
        body.contains("Hiển thị 23 trên 423"),
        "page 9 holds the last 23"
    );
}

#[tokio::test]
async fn agency_and_asset_pages() {
    let app = app().await;
    let (s, body, _) = get(&app, "/agencies/STC", None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("10.36.5.0/24"));
    assert!(body.contains("WEB-STC"));
    assert!(body.contains("mailto:"));
    let (s, body, _) = get(&app, "/assets/SVC-DVC", None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("https://dichvucong.ngocson.gov.vn/"));
    let (s, _, _) = get(&app, "/agencies/NOPE", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, body, _) = get(&app, "/assets?kind=server&level=4", None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("SRV-DC-"), "{body}");
}

#[tokio::test]
async fn ip_lookup_page_and_api() {
    let app = app().await;
    let (_, body, _) = get(&app, "/lookup?ip=10.36.250.30", None).await;
    assert!(body.contains("SRV-DC-010"), "{body}");
    let (_, body, _) = get(&app, "/lookup?ip=not-an-ip", None).await;
    assert!(body.contains("Không phải địa chỉ IP hợp lệ"));
    let (s, body, _) = get(&app, "/api/v1/attribution/10.36.5.77", None).await;
    assert_eq!(s, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["agency"]["code"], "STC");
    assert!(v["asset"]["code"] == "LAN-STC");
    let (s, body, _) = get(&app, "/api/v1/attribution/999.1.1.1", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"]["code"], "bad_request");
}

#[tokio::test]
async fn api_lists_and_errors() {
    let app = app().await;
    let (_, body, _) = get(&app, "/api/v1/inventory/counts", None).await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["agencies"]["commune"], 423);
    assert_eq!(v["assets"]["server"], 55);
    let (_, body, _) = get(&app, "/api/v1/assets?kind=website", None).await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["assets"].as_array().unwrap().len(), 128);
    let (s, body, _) = get(&app, "/api/v1/agencies/NOPE", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(body.contains("\"not_found\""));
    let (s, _, _) = get(&app, "/api/v1/nothing", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, body, _) = get(&app, "/healthz", None).await;
    assert_eq!((s, body.as_str()), (StatusCode::OK, r#"{"status":"ok"}"#));
}

#[tokio::test]
async fn static_assets_are_served() {
    let app = app().await;
    let (s, body, h) = get(&app, "/static/htmx.min.js", None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.starts_with("var htmx="));
    assert!(
        h.get(header::CONTENT_TYPE)
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let (s, _, _) = get(&app, "/static/../Cargo.toml", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn rules_page_and_api() {
    let store = tocsin_store::StoreConfig::new("sqlite::memory:")
        .build()
        .await
        .unwrap();
    use tocsin_model::{AlertKind, Level};
    let rule = |title: &str, level: Level, kind: AlertKind| tocsin_web::RuleInfo {
        id: format!("id-{title}"),
        title: title.to_string(),
        level,
        kind,
        logsource: "windows/process_creation".into(),
        tags: vec!["attack.t1505.003".into()],
        description: "d".into(),
        file: "rules/x.yml".into(),
        vi: (title == "Web shell").then(|| {
            (
                "Truy cập web shell".to_string(),
                Some("Mô tả tiếng Việt".to_string()),
            )
        }),
    };
    common::sign_in_admin(&store).await;
    let app = common::web_config()
        .build(store)
        .await
        .unwrap()
        .with_rules(vec![
            rule("Web shell", Level::Critical, AlertKind::Rule),
            rule("Brute force", Level::High, AlertKind::Correlation),
        ])
        .router();
    let (s, body, _) = get(&app, "/rules", None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        body.contains("Luật phát hiện đang áp dụng")
            && body.contains("Nghiêm trọng")
            && body.contains("Luật tương quan")
            && body.contains("Truy cập web shell")
            && body.contains("Mô tả tiếng Việt")
            && body.contains("Brute force"),
        "{body}"
    );
    let (_, body, _) = get(&app, "/rules?lang=en&level=high", None).await;
    assert!(
        body.contains("Brute force") && !body.contains("Web shell"),
        "{body}"
    );
    let (_, body, _) = get(&app, "/rules?lang=en", None).await;
    assert!(
        body.contains("Web shell") && !body.contains("Truy cập web shell"),
        "{body}"
    );
    let (_, body, _) = get(&app, "/api/v1/rules?q=t1505", None).await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["rules"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn alerts_pages_api_status_and_metrics() {
    let store = tocsin_store::StoreConfig::new("sqlite::memory:")
        .build()
        .await
        .unwrap();
    let inv = tocsin_sim::province();
    store
        .replace_inventory(&inv, &tocsin_model::Actor::system("test"), "demo")
        .await
        .unwrap();
    let at = |s: &str| {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .with_timezone(&chrono::Utc)
    };
    let alert = tocsin_model::NewAlert {
        event_time: at("2026-11-24T03:00:00Z"),
        received_at: at("2026-11-24T03:00:00.1Z"),
        rule_id: "r-1".into(),
        rule_title: "Request To A Known Web Shell".into(),
        level: tocsin_model::Level::Critical,
        kind: tocsin_model::AlertKind::Rule,
        class: Default::default(),
        technique: None,
        entity: None,
        agency: Some("SYT".into()),
        asset: None,
        source_ip: Some("45.155.205.233".parse().unwrap()),
        host: Some("soyte.ngocson.gov.vn".into()),
        input: "syslog-tcp".into(),
        stream_seq: 7,
        archive: Some("syslog-tcp/2026-11-24T03.jsonl.zst#seq=7".into()),
        summary: "45.155.205.233 · GET /wso.php".into(),
        tags: vec!["attack.t1505.003".into()],
        event: r#"{"fields":{"url.original":"/wso.php"}}"#.into(),
        intel: None,
    };
    store
        .commit_ingest_batch(&tocsin_store::IngestBatch {
            fold_secs: 0,
            sightings: Vec::new(),
            stream: "events".into(),
            position: 8,
            alerts: vec![alert],
            counts: vec![tocsin_model::EventCount {
                hour: chrono::Utc::now(),
                input: "syslog-tcp".into(),
                agency: Some("SYT".into()),
                events: 1234,
                errors: 5,
            }],
        })
        .await
        .unwrap();
    let metrics = std::sync::Arc::new(tocsin_telemetry::Metrics::default());
    metrics.counter("tocsin_x_total", "X.", &[]).add(3);
    let csrf = common::sign_in_admin(&store).await;
    let app = common::web_config()
        .build(store.clone())
        .await
        .unwrap()
        .with_metrics(metrics.clone(), false)
        .router();
    let (s, body, _) = get(&app, "/alerts", None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("Cảnh báo") && body.contains("Request To A Known Web Shell"));
    assert!(
        body.contains("24/11/2026 10:00:00"),
        "shown in Vietnam time: {body}"
    );
    assert!(body.contains("Sở Y tế"), "agency name beside the code");
    let (_, body, _) = get(&app, "/alerts?level=low", None).await;
    assert!(!body.contains("Known Web Shell"));
    let (s, _, _) = get(&app, "/alerts?status=bogus", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let list = store
        .alerts(&tocsin_model::Scope::All, &Default::default())
        .await
        .unwrap();
    let id = list[0].id;
    let (s, body, _) = get(&app, &format!("/alerts/{id}?lang=en"), None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("Evidence") && body.contains("url.original") && body.contains("#seq=7"));
    // Acknowledge from the page's form.
    let resp = app
        .clone()
        .oneshot(
            Request::post(format!("/alerts/{id}/status"))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::COOKIE, common::admin_cookie())
                .header(header::HOST, "127.0.0.1:8080")
                .header(header::ORIGIN, "http://127.0.0.1:8080")
                .body(Body::from(format!("status=acknowledged&_csrf={csrf}")))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let (_, body, _) = get(&app, &format!("/api/v1/alerts/{id}"), None).await;
    assert!(body.contains("\"status\":\"acknowledged\""), "{body}");
    let (_, body, _) = get(&app, "/api/v1/alerts?agency=SYT", None).await;
    assert!(body.contains("r-1"));
    let (s, _, _) = get(&app, "/api/v1/alerts/999999", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, body, h) = get(&app, "/metrics", None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("tocsin_x_total 3\n"), "{body}");
    assert!(
        h[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let (_, body, _) = get(&app, "/", None).await;
    assert!(body.contains("Cảnh báo mới nhất") && body.contains("Request To A Known Web Shell"));
    assert!(body.contains("Đầu vào trong 24 giờ qua") && body.contains("syslog-tcp"));
    assert!(body.contains(r#"id="events-24h">1234<"#), "{body}");
}

#[tokio::test]
async fn inputs_page_and_status_api() {
    let store = tocsin_store::StoreConfig::new("sqlite::memory:")
        .build()
        .await
        .unwrap();
    let count = |input: &str, events, errors| tocsin_model::EventCount {
        hour: chrono::Utc::now(),
        input: input.into(),
        agency: None,
        events,
        errors,
    };
    store
        .commit_ingest_batch(&tocsin_store::IngestBatch {
            fold_secs: 0,
            sightings: Vec::new(),
            stream: "events".into(),
            position: 1,
            alerts: Vec::new(),
            // One input this server runs, and lost queue records.
            counts: vec![count("syslog-udp", 9000, 12), count("queue", 3, 3)],
        })
        .await
        .unwrap();
    common::sign_in_admin(&store).await;
    let web = common::web_config().build(store).await.unwrap();
    // Without the ingest stage: the stored counts only, and a notice.
    let off = web.router();
    let (s, body, _) = get(&off, "/inputs", None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains(r#"id="ingest-off""#), "{body}");
    assert!(
        body.contains(">queue<") && body.contains(">9000<"),
        "{body}"
    );
    let (s, _, _) = get(&off, "/api/v1/ingest/status", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The same typed counters the running stages update.
    let metrics = std::sync::Arc::new(tocsin_telemetry::Metrics::default());
    let udp = metrics.input("syslog-udp", "syslog-udp");
    udp.received.add(10_500);
    udp.bytes.add(3 << 20);
    udp.dropped.add(17);
    let p = metrics.pipeline(&["syslog"]);
    p.processed("syslog-udp").add(10_400);
    p.formats[0].parsed.add(10_400);
    p.formats[0].failed.add(52);
    p.events.add(10_400);
    p.alerts.add(31);
    p.unreadable.add(3);
    metrics.queue_probe(|| tocsin_telemetry::QueueReading {
        depth: 100,
        bytes: 1 << 20,
        ..Default::default()
    });
    for _ in 0..50 {
        metrics.latency.observe_us(2_000);
    }
    for _ in 0..2 {
        metrics.latency.observe_us(90_000);
    }
    let expected = metrics.ingest_status();
    assert_eq!(expected.inputs[0].processed, 10_400);
    let on = web.with_metrics(metrics, true).router();
    let (s, body, _) = get(&on, "/inputs", None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(!body.contains(r#"id="ingest-off""#));
    assert!(body.contains("Nguồn dữ liệu và đường ống xử lý"), "{body}");
    // The live counters, the day's stored counts beside them, the dropped
    // records flagged.
    assert!(body.contains(">10500<") && body.contains(">9000<") && body.contains(">12<"));
    assert!(body.contains(r#"<td class="num bad">17</td>"#), "{body}");
    assert!(body.contains(">3.0<"), "3 MiB received");
    assert!(body.contains(">0.50<"), "52 of 10,400 failed: 0.50 %");
    assert!(
        body.contains(">2.5 ms<") && body.contains(">100 ms<"),
        "{body}"
    );
    assert!(body.contains(">queue<"), "lost queue records are listed");
    let (_, en, _) = get(&on, "/inputs?lang=en", None).await;
    assert!(en.contains("Inputs and the processing pipeline"));
    assert!(en.contains("Damaged queue records, unreadable"));
    let (s, json, _) = get(&on, "/api/v1/ingest/status", None).await;
    assert_eq!(s, StatusCode::OK);
    let back: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(back, serde_json::to_value(&expected).unwrap());
}
