//! The hardened HTTP server against the senders issue 11 found: slowloris
//! headers, trickled bodies, connection floods from one address, sources
//! not allowed, TLS clients that never finish a handshake.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::{get, post};
use tocsin_net::HttpLimits;
use tocsin_telemetry::Metrics;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn app() -> Router {
    Router::new()
        .route(
            "/",
            get(|ConnectInfo(p): ConnectInfo<SocketAddr>| async move {
                format!("xin chào {}", p.ip())
            }),
        )
        .route(
            "/upload",
            post(|b: axum::body::Bytes| async move { format!("{}", b.len()) }),
        )
}

fn limits() -> HttpLimits {
    HttpLimits {
        max_connections: 8,
        max_connections_per_source: 3,
        header_timeout_secs: 1,
        request_timeout_secs: 1,
        handshake_timeout_secs: 1,
    }
}

async fn start(
    limits: HttpLimits,
    allow: &[&str],
    metrics: &Metrics,
) -> (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let allow: Vec<tocsin_model::Cidr> = allow.iter().map(|a| a.parse().unwrap()).collect();
    let server = limits.build("test", l, &allow, None, metrics);
    let addr = server.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.serve(app(), async move {
        let _ = rx.await;
    }));
    (addr, tx, task)
}

/// Sends `req` and reads the answer until the server closes or `wait`.
async fn exchange(addr: SocketAddr, req: &[u8], wait: Duration) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(req).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(wait, s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

fn count(m: &Metrics, name: &str, labels: &[(&str, &str)]) -> f64 {
    m.samples()
        .iter()
        .filter(|s| s.name == name && labels.iter().all(|(k, v)| s.label(k) == *v))
        .map(|s| s.value)
        .sum()
}

#[tokio::test]
async fn serves_a_request_with_the_peer_known() {
    let m = Metrics::default();
    let (addr, _stop, _) = start(limits(), &[], &m).await;
    let r = exchange(
        addr,
        b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    assert!(r.contains("xin chào 127.0.0.1"), "{r}");
}

#[tokio::test]
async fn slow_headers_are_cut_off_and_counted() {
    let m = Metrics::default();
    let (addr, _stop, _) = start(limits(), &[], &m).await;
    let started = std::time::Instant::now();
    // Half a request line, then silence: a slowloris connection.
    let r = exchange(addr, b"GET / HT", Duration::from_secs(10)).await;
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "held {:?}",
        started.elapsed()
    );
    assert!(!r.contains("200"), "{r}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        count(
            &m,
            "tocsin_http_timeouts_total",
            &[("server", "test"), ("phase", "header")]
        ),
        1.0
    );
}

#[tokio::test]
async fn a_trickled_body_is_answered_408() {
    let m = Metrics::default();
    let (addr, _stop, _) = start(limits(), &[], &m).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"POST /upload HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\nabc")
        .await
        .unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    let r = String::from_utf8_lossy(&out);
    assert!(r.starts_with("HTTP/1.1 408"), "{r}");
    assert_eq!(
        count(
            &m,
            "tocsin_http_timeouts_total",
            &[("server", "test"), ("phase", "request")]
        ),
        1.0
    );
}

#[tokio::test]
async fn one_address_cannot_take_every_connection() {
    let m = Metrics::default();
    let (addr, _stop, _) = start(
        HttpLimits {
            header_timeout_secs: 30,
            ..limits()
        },
        &[],
        &m,
    )
    .await;
    // Three idle connections fill this address's share ...
    let mut idle = Vec::new();
    for _ in 0..3 {
        idle.push(TcpStream::connect(addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // ... so a fourth is closed without an answer, and counted.
    let r = exchange(
        addr,
        b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(r, "");
    assert_eq!(
        count(
            &m,
            "tocsin_http_refused_connections_total",
            &[("server", "test")]
        ),
        1.0
    );
    // Once one is gone, the address is served again.
    drop(idle.pop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r = exchange(
        addr,
        b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
}

#[tokio::test]
async fn sources_not_allowed_are_closed_unread() {
    let m = Metrics::default();
    let (addr, _stop, _) = start(limits(), &["10.36.0.0/16"], &m).await;
    let r = exchange(
        addr,
        b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(r, "");
    assert_eq!(
        count(
            &m,
            "tocsin_http_refused_connections_total",
            &[("server", "test")]
        ),
        1.0
    );
}

#[tokio::test]
async fn shutdown_stops_accepting_and_returns() {
    let m = Metrics::default();
    let (addr, stop, task) = start(limits(), &[], &m).await;
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("the server returns after shutdown")
        .unwrap();
    assert!(TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn a_tls_client_that_never_speaks_is_timed_out() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    std::fs::write(dir.path().join("c.pem"), cert.cert.pem()).unwrap();
    std::fs::write(dir.path().join("k.pem"), cert.signing_key.serialize_pem()).unwrap();
    let tls = tocsin_net::TlsConfig {
        cert: dir.path().join("c.pem"),
        key: dir.path().join("k.pem"),
        client_ca: None,
    };
    let m = Metrics::default();
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = limits().build("tls", l, &[], Some(tls.http_acceptor().unwrap()), &m);
    let addr = server.local_addr().unwrap();
    tokio::spawn(server.serve(app(), std::future::pending()));
    // Connects, says nothing: the handshake never starts.
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    assert_eq!(
        count(
            &m,
            "tocsin_http_timeouts_total",
            &[("server", "tls"), ("phase", "handshake")]
        ),
        1.0
    );
    // Plain HTTP to a TLS port is a failed handshake, also counted.
    let _ = exchange(
        addr,
        b"GET / HTTP/1.1\r\nhost: x\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(
        count(
            &m,
            "tocsin_http_failed_handshakes_total",
            &[("server", "tls")]
        ),
        1.0
    );
}
