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
    let cfg = HttpConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        max_body,
        senders: vec![Sender {
            name: "beats".into(),
            key: KEY.into(),
            agency: Some("SYT".into()),
            scope: Default::default(),
            format: tocsin_parse::Format::Auto,
        }],
    };
    let r = cfg
        .router(q.clone(), &Metrics::default())
        .layer(MockConnectInfo(std::net::SocketAddr::from((
            [10, 36, 7, 9],
            5000,
        ))));
    (r, q)
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

    let bulk = "{\"index\":{\"_index\":\"logs\"}}\n{\"m\":1}\n{\"update\":{\"_id\":\"1\"}}\n{\"doc\":{}}\n{oops\n{\"create\":{}}\n{\"m\":2}\n";
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
    assert_eq!(s, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["errors"], true);
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    assert_eq!(items[0]["index"]["status"], 201);
    assert_eq!(items[1]["update"]["status"], 400);
    assert!(
        items[2]["index"]["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("line 5")
    );
    assert_eq!(items[3]["create"]["status"], 201);
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
