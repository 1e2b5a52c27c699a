//! The HTTP server under the console and the HTTP ingest, hardened for
//! senders that mean harm: a connection goes through the [`Gate`] (allowed
//! sources, connection limits, TLS within a time), its request headers
//! must arrive within `header_timeout_secs` (also the longest a kept-alive
//! connection may sit idle), and a request — reading its body included —
//! must be answered within `request_timeout_secs`, else it is answered 408
//! and counted. `axum::serve` offers none of these, so the accept loop is
//! ours; hyper does the HTTP.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tocsin_model::Cidr;
use tocsin_telemetry::{Counter, Metrics};
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::gate::{Gate, GateConfig, GateCounters};

/// Limits of an HTTP server (`[web.limits]`, `[ingest.http.limits]`).
#[derive(Clone, Debug, serde::Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct HttpLimits {
    /// Connections held at once.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Connections held at once from one address (an office behind one
    /// NAT address counts as one).
    #[serde(default = "default_per_source")]
    pub max_connections_per_source: usize,
    /// Seconds a client has to send a request's headers; also the longest
    /// a kept-alive connection may wait for its next request.
    #[serde(default = "default_header_timeout")]
    pub header_timeout_secs: u64,
    /// Seconds from a request's headers to its answer, reading its body
    /// included: a body trickled in slowly is cut off here (408).
    #[serde(default = "default_request_timeout")]
    pub request_timeout_secs: u64,
    /// Seconds an admitted connection has to finish its TLS handshake.
    #[serde(default = "default_handshake_timeout")]
    pub handshake_timeout_secs: u64,
}

fn default_max_connections() -> usize {
    1024
}
fn default_per_source() -> usize {
    128
}
fn default_header_timeout() -> u64 {
    15
}
fn default_request_timeout() -> u64 {
    60
}
fn default_handshake_timeout() -> u64 {
    10
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_connections: default_max_connections(),
            max_connections_per_source: default_per_source(),
            header_timeout_secs: default_header_timeout(),
            request_timeout_secs: default_request_timeout(),
            handshake_timeout_secs: default_handshake_timeout(),
        }
    }
}

/// One HTTP server: its socket, gate and limits, ready to serve a router.
#[derive(Debug)]
pub struct HttpServer {
    listener: TcpListener,
    gate: Gate,
    header_timeout: Duration,
    request_timeout: Duration,
    header_timeouts: Counter,
    request_timeouts: Counter,
}

impl HttpLimits {
    /// The server `name` (`console`, `ingest`) on `listener`, counting
    /// into `metrics` under `server="name"`.
    pub fn build(
        &self,
        name: &str,
        listener: TcpListener,
        allow: &[Cidr],
        tls: Option<tokio_rustls::TlsAcceptor>,
        metrics: &Metrics,
    ) -> HttpServer {
        let l = [("server", name)];
        let timeouts = |phase: &'static str| {
            metrics.counter(
                "tocsin_http_timeouts_total",
                "HTTP connections or requests cut off for slowness: TLS handshake, request headers (or an idle kept-alive connection), request (body included).",
                &[("server", name), ("phase", phase)],
            )
        };
        let counters = GateCounters {
            refused: metrics.counter(
                "tocsin_http_refused_connections_total",
                "HTTP connections refused: source not allowed, or too many in all or from one address.",
                &l,
            ),
            timed_out: timeouts("handshake"),
            failed_handshakes: metrics.counter(
                "tocsin_http_failed_handshakes_total",
                "HTTP connections whose TLS handshake failed.",
                &l,
            ),
        };
        let gate = GateConfig {
            name: name.to_string(),
            allow: allow.to_vec(),
            max_connections: self.max_connections,
            max_connections_per_source: self.max_connections_per_source,
            handshake_timeout: Duration::from_secs(self.handshake_timeout_secs.max(1)),
            tls,
        }
        .build(counters);
        HttpServer {
            listener,
            gate,
            header_timeout: Duration::from_secs(self.header_timeout_secs.max(1)),
            request_timeout: Duration::from_secs(self.request_timeout_secs.max(1)),
            header_timeouts: timeouts("header"),
            request_timeouts: timeouts("request"),
        }
    }
}

impl HttpServer {
    /// The address it listens on.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves `router` until `shutdown` resolves, then lets requests in
    /// flight finish (for at most `request_timeout`). Handlers see the
    /// peer as `ConnectInfo<SocketAddr>`.
    pub async fn serve(self, router: Router, shutdown: impl Future<Output = ()> + Send) {
        let graceful = GracefulShutdown::new();
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(self.header_timeout)
            .keep_alive(true);
        tokio::pin!(shutdown);
        loop {
            let entry = tokio::select! {
                e = self.gate.accept(&self.listener) => e,
                () = &mut shutdown => break,
            };
            let (gate, router, http) = (self.gate.clone(), router.clone(), http.clone());
            let (limit, header_timeouts, request_timeouts) = (
                self.request_timeout,
                self.header_timeouts.clone(),
                self.request_timeouts.clone(),
            );
            let watcher = graceful.watcher();
            tokio::spawn(async move {
                let _admitted = entry.admitted;
                let peer = entry.peer;
                let Some(stream) = gate.open(entry.stream, peer).await else {
                    return;
                };
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    answer(router.clone(), req, peer, limit, request_timeouts.clone())
                });
                let conn = http.serve_connection(TokioIo::new(stream), service);
                if let Err(e) = watcher.watch(conn).await {
                    if e.is_timeout() {
                        header_timeouts.inc();
                    }
                    tracing::debug!(%peer, error = %e, "HTTP connection ended");
                }
            });
        }
        drop(self.listener);
        let _ = tokio::time::timeout(self.request_timeout, graceful.shutdown()).await;
    }
}

/// Routes one request within the time allowed.
async fn answer(
    router: Router,
    req: Request<Incoming>,
    peer: SocketAddr,
    limit: Duration,
    timeouts: Counter,
) -> Result<Response<Body>, Infallible> {
    let mut req = req.map(Body::new);
    req.extensions_mut().insert(ConnectInfo(peer));
    match tokio::time::timeout(limit, router.oneshot(req)).await {
        Ok(r) => r,
        Err(_) => {
            timeouts.inc();
            tracing::debug!(%peer, "request not done in time; answered 408");
            let mut r = Response::new(Body::from("request timed out\n"));
            *r.status_mut() = StatusCode::REQUEST_TIMEOUT;
            r.headers_mut().insert(
                header::CONNECTION,
                header::HeaderValue::from_static("close"),
            );
            Ok(r)
        }
    }
}
