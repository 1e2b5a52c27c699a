//! The HTTP input through its router: keys, bulk items, NDJSON, limits.

#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Request, StatusCode, header};
use tocsin_ingest::http::{HttpConfig, Sender};
use tocsin_queue::{DiskQueueConfig, Queue};
use tocsin_telemetry::Metrics;
use tower::ServiceExt;

const KEY: &str = "http-test-key-0123456789";

fn app(dir: &std::path::Path, max_body: usize) -> (axum::Router, Arc<dyn Queue>) {
    let q: Arc<dyn Queue> = Arc::new(DiskQueueConfig::in_dir(dir).build("t", 0).unwrap());
    (router(q.clone(), max_body), q)
}

fn router(q: Arc<dyn Queue>, max_body: usize) -> axum::Router {
    let cfg = HttpConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        max_body,
        max_record: 64,
        senders: vec![Sender {
            name: "beats".into(),
            key: KEY.into(),
            agency: Some("SYT".into()),
            scope: Default::default(),
            format: tocsin_parse::Format::Auto,
            sensor: false,
        }],
        ..HttpConfig::default()
    };
    cfg.router(q, &Metrics::default())
        .layer(MockConnectInfo(std::net::SocketAddr::from((
            [10, 36, 7, 9],
            5000,
        ))))
}

async fn call(app: &axum::Router, req: Request<Body>) -> (StatusCode, String) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let s = resp.status();
    let b = to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    (s, String::from_utf8_lossy(&b).into_owned())
}

fn post(path: &str, auth: Option<&str>, body: Vec<u8>, gzip: bool) -> Request<Body> {
    let mut r = Request::post(path);
    if let Some(a) = auth {
        r = r.header(header::AUTHORIZATION, a);
    }
    if gzip {
        r = r.header(header::CONTENT_ENCODING, "gzip");
    }
    r.body(Body::from(body)).unwrap()
}

#[tokio::test]
async fn keys_items_and_limits() {
    let dir = tempfile::tempdir().unwrap();
    let (app, q) = app(dir.path(), 4096);
    let bearer = format!("Bearer {KEY}");

    let (s, body) = call(&app, Request::get("/").body(Body::empty()).unwrap()).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("You Know, for Search"));

    let (s, body) = call(&app, post("/api/v1/ingest", None, b"{}".to_vec(), false)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(body.contains("missing API key"));
    let (s, _) = call(
        &app,
        post(
            "/api/v1/ingest",
            Some("Bearer nope-nope-nope-nope"),
            b"{}".to_vec(),
            false,
        ),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = call(
        &app,
        post("/api/v1/ingest", Some("Digest x"), b"{}".to_vec(), false),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    let (s, body) = call(
        &app,
        post(
            "/api/v1/ingest",
            Some(&bearer),
            b"{\"a\":1}\n\nnot json\n".to_vec(),
            false,
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        body, r#"{"accepted":2}"#,
        "bad lines are queued too: the parser keeps them"
    );

    // Issue 10: one malformed action line used to shift the rest of the
    // body (documents read as actions, a sensor alert among them refused).
    // Now the request fails whole, naming the line, and nothing is queued:
    // the shipper retries or reports it.
    let bulk = "{\"index\":{\"_index\":\"logs\"}}\n{\"m\":1}\n{\"update\":{\"_id\":\"1\"}}\n{\"doc\":{}}\n{oops\n{\"create\":{}}\n{\"event_type\":\"alert\"}\n";
    let (s, body) = call(
        &app,
        post(
            "/logs/_bulk",
            Some(&bearer),
            bulk.as_bytes().to_vec(),
            false,
        ),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("line [5]"), "{body}");
    assert_eq!(q.bounds().1, 2, "nothing of the bad request was queued");
    // The same without the broken line: every item in step.
    let bulk = bulk.replace("{oops\n", "");
    let big = format!("{{\"index\":{{}}}}\n{{\"m\":\"{}\"}}\n", "x".repeat(100));
    let (s, body) = call(
        &app,
        post(
            "/logs/_bulk",
            Some(&bearer),
            (bulk + &big).into_bytes(),
            false,
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["errors"], true);
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    assert_eq!(items[0]["index"]["status"], 201);
    assert_eq!(items[1]["update"]["status"], 400);
    assert_eq!(items[2]["create"]["status"], 201);
    assert_eq!(
        items[3]["index"]["status"], 400,
        "over max_record: refused, not cut"
    );
    assert!(
        items[3]["index"]["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("line 8")
    );
    assert_eq!(q.bounds().1, 4, "2 NDJSON lines + 2 bulk documents queued");

    // A gzip body that inflates past the limit is refused, nothing queued.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&vec![b'a'; 100_000]).unwrap();
    let bomb = gz.finish().unwrap();
    assert!(bomb.len() < 4096);
    let (s, body) = call(&app, post("/api/v1/ingest", Some(&bearer), bomb, true)).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(q.bounds().1, 4);
}

/// A queue that cannot write (a full disk): inputs must push back, never
/// accept what they cannot keep.
struct Failing;

impl Queue for Failing {
    fn name(&self) -> &str {
        "t"
    }
    fn append(
        &self,
        records: Vec<Vec<u8>>,
    ) -> tocsin_queue::BoxFuture<'_, Result<u64, tocsin_queue::Refused>> {
        Box::pin(async move {
            Err(tocsin_queue::Refused {
                error: tocsin_queue::QueueError::Io {
                    path: "q".into(),
                    source: std::io::Error::other("No space left on device"),
                },
                records,
            })
        })
    }
    fn try_append(
        &self,
        records: Vec<Vec<u8>>,
        _: Option<tocsin_queue::Ack>,
    ) -> Result<(), Vec<Vec<u8>>> {
        Err(records)
    }
    fn read(
        &self,
        _: u64,
        _: usize,
    ) -> tocsin_queue::BoxFuture<'_, Result<Vec<tocsin_queue::Entry>, tocsin_queue::QueueError>>
    {
        Box::pin(async { Err(tocsin_queue::QueueError::Closed) })
    }
    fn release(&self, _: u64) {}
    fn bounds(&self) -> (u64, u64) {
        (0, 0)
    }
    fn bytes(&self) -> u64 {
        0
    }
    fn stats(&self) -> tocsin_queue::QueueStats {
        tocsin_queue::QueueStats {
            fault: Some("No space left on device".into()),
            ..Default::default()
        }
    }
}

/// Issue 10: a queue that cannot write answers 503 with Retry-After, so
/// Beats keep the events and send them again.
#[tokio::test]
async fn issue_10_a_failing_queue_answers_503_with_retry_after() {
    let app = router(Arc::new(Failing), 4096);
    let resp = app
        .clone()
        .oneshot(post(
            "/_bulk",
            Some(&format!("Bearer {KEY}")),
            b"{\"index\":{}}\n{\"m\":1}\n".to_vec(),
            false,
        ))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(resp.headers()[header::RETRY_AFTER], "5");
    // The key is still checked first.
    let (s, _) = call(&app, post("/_bulk", None, b"{}".to_vec(), false)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

/// Issue 11: bodies in memory, all requests together, stay within
/// `max_memory`; a request that would go over is answered 429 (Beats back
/// off and resend), counted, and gives its share back.
#[tokio::test]
async fn issue_11_bodies_stay_within_the_memory_budget() {
    let dir = tempfile::tempdir().unwrap();
    let q: Arc<dyn Queue> = Arc::new(DiskQueueConfig::in_dir(dir.path()).build("t", 0).unwrap());
    let metrics = Metrics::default();
    let cfg = HttpConfig {
        max_body: 8 << 20,
        max_record: 1 << 20,
        max_memory: 1 << 20,
        senders: vec![Sender {
            name: "beats".into(),
            key: KEY.into(),
            agency: Some("SYT".into()),
            scope: Default::default(),
            format: tocsin_parse::Format::Auto,
            sensor: false,
        }],
        ..HttpConfig::default()
    };
    let app = cfg
        .router(q.clone(), &metrics)
        .layer(MockConnectInfo(std::net::SocketAddr::from((
            [10, 36, 7, 9],
            5000,
        ))));
    let bearer = format!("Bearer {KEY}");
    let line = "{\"message\":\"Đăng nhập thất bại cho người dùng quản trị\"}\n";
    let big: Vec<u8> = line.repeat((2 << 20) / line.len()).into_bytes();
    let (s, body) = call(
        &app,
        post("/api/v1/ingest", Some(&bearer), big.clone(), false),
    )
    .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(body.contains("max_memory"), "{body}");
    // Compressed, it is small on the wire, but not once inflated: its
    // trailer says so, and it is refused before any work, for good (413).
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&big).unwrap();
    let mut gz = gz.finish().unwrap();
    let (s, body) = call(
        &app,
        post("/api/v1/ingest", Some(&bearer), gz.clone(), true),
    )
    .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(body.contains("larger than max_memory"), "{body}");
    // A trailer that lies (says 1,000 bytes) is caught as it inflates.
    let at = gz.len() - 4;
    gz[at..].copy_from_slice(&1000u32.to_le_bytes());
    let (s, body) = call(&app, post("/api/v1/ingest", Some(&bearer), gz, true)).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(q.bounds().1, 0, "nothing of a refused request is queued");
    // The refused requests gave their share back: a body that fits passes.
    let small = line.repeat(1000).into_bytes();
    let (s, body) = call(&app, post("/api/v1/ingest", Some(&bearer), small, false)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(q.bounds().1, 1000);
    let refused: f64 = metrics
        .samples()
        .iter()
        .filter(|s| s.name == "tocsin_http_memory_refused_total")
        .map(|s| s.value)
        .sum();
    assert_eq!(refused, 2.0, "the plain body and the lying bomb");
}
