//! HTTP inputs: an NDJSON endpoint and an Elasticsearch-compatible `_bulk`
//! endpoint, so Winlogbeat, Filebeat, Vector and Fluent Bit ship to Tocsin
//! with their Elasticsearch output unchanged. Each sender has its own API
//! key, bound to an agency or a sensor. A 200 answer means every accepted
//! record is durably queued.
//!
//! Routes (on the ingest listener, not the console's):
//! * `GET|HEAD /` — the cluster banner Beats check before shipping;
//! * `POST|PUT /_bulk`, `/{index}/_bulk` — bulk `index`/`create` actions;
//! * `POST /api/v1/ingest?format=…` — one record per line (JSON or text).
//!
//! Keys go in `Authorization: ApiKey base64(id:key)` (Elastic's form),
//! `Bearer <key>`, or Basic with the key as password.

// Handlers answer early with a ready response; its size does not matter.
#![allow(clippy::result_large_err)]

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use serde_json::{Value as J, json};
use tocsin_parse::Format;

use tocsin_queue::Queue;
use tocsin_queue::{Envelope, now_us};
use tocsin_telemetry::{InputMetrics, Metrics};

/// One sender allowed to ship (`[[ingest.http.senders]]`).
#[derive(Clone, Debug, serde::Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Sender {
    /// Who it is (appears in metrics and events as the input name).
    pub name: String,
    /// The secret it presents.
    pub key: String,
    /// The agency its events belong to when their addresses say nothing.
    #[serde(default)]
    pub agency: Option<String>,
    /// Which agencies its events may be attributed to: `"agency"` (its
    /// agency and their descendants, the default), `"all"` (a collector at
    /// the center), or a list of agency codes.
    #[serde(default)]
    pub scope: tocsin_model::ScopeSetting,
    /// How its records are parsed (auto: JSON shape decides).
    #[serde(default)]
    pub format: Format,
}

/// `[ingest.http]`
#[derive(Clone, Debug, serde::Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Address to listen on (Elasticsearch's usual port by default).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Largest request body accepted, in bytes.
    #[serde(default = "default_body")]
    pub max_body: usize,
    /// Who may send.
    #[serde(default)]
    pub senders: Vec<Sender>,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9200))
}

fn default_body() -> usize {
    100 << 20
}

struct AppState {
    queue: Arc<dyn Queue>,
    senders: Vec<(Sender, InputMetrics)>,
    unauthorized: tocsin_telemetry::Counter,
    max_body: usize,
}

impl HttpConfig {
    /// The router (bind it where you like).
    pub fn router(&self, queue: Arc<dyn Queue>, metrics: &Metrics) -> Router {
        let senders = self
            .senders
            .iter()
            .map(|s| (s.clone(), metrics.input(&s.name, "http")))
            .collect();
        let state = Arc::new(AppState {
            queue,
            senders,
            unauthorized: metrics.counter(
                "tocsin_http_unauthorized_total",
                "HTTP ingest requests refused for a missing or unknown key.",
                &[],
            ),
            max_body: self.max_body,
        });
        Router::new()
            .route("/", get(banner).head(banner))
            .route("/_license", get(license))
            .route("/_bulk", post(bulk).put(bulk))
            .route("/{index}/_bulk", post(bulk).put(bulk))
            .route("/api/v1/ingest", post(ndjson))
            .layer(axum::extract::DefaultBodyLimit::max(self.max_body))
            .with_state(state)
    }
}

fn elastic(mut r: Response) -> Response {
    // Elastic's clients refuse a server without this header.
    r.headers_mut().insert(
        "x-elastic-product",
        HeaderValue::from_static("Elasticsearch"),
    );
    r
}

fn error(status: StatusCode, kind: &str, reason: impl Into<String>) -> Response {
    let reason = reason.into();
    elastic(
        (
            status,
            Json(json!({"error": {"type": kind, "reason": reason}, "status": status.as_u16()})),
        )
            .into_response(),
    )
}

async fn banner() -> Response {
    elastic(
        Json(json!({
            "name": "tocsin",
            "cluster_name": "tocsin",
            "cluster_uuid": "tocsin",
            "version": {
                "number": "8.17.0",
                "build_flavor": "default",
                "lucene_version": "9.12.0",
                "minimum_wire_compatibility_version": "7.17.0",
                "minimum_index_compatibility_version": "7.0.0"
            },
            "tagline": "You Know, for Search"
        }))
        .into_response(),
    )
}

async fn license() -> Response {
    elastic(
        Json(json!({"license": {"status": "active", "type": "basic", "uid": "tocsin"}}))
            .into_response(),
    )
}

/// The sender whose key the request carries.
fn authenticate<'s>(
    st: &'s AppState,
    h: &HeaderMap,
) -> Result<&'s (Sender, InputMetrics), Response> {
    let refuse = |why: &str| {
        st.unauthorized.inc();
        let mut r = error(StatusCode::UNAUTHORIZED, "security_exception", why);
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("ApiKey, Bearer, Basic realm=\"tocsin\""),
        );
        r
    };
    let Some(auth) = h.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return Err(refuse(
            "missing API key (Authorization: ApiKey …, Bearer … or Basic …)",
        ));
    };
    let (scheme, cred) = auth.split_once(' ').unwrap_or((auth, ""));
    let b64 = |s: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(s.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
    };
    let key = match scheme.to_ascii_lowercase().as_str() {
        "bearer" => Some(cred.trim().to_string()),
        // Elastic's `ApiKey base64(id:key)`; a bare key is accepted too.
        "apikey" => Some(
            b64(cred)
                .and_then(|s| s.split_once(':').map(|(_, k)| k.to_string()))
                .unwrap_or_else(|| cred.trim().to_string()),
        ),
        "basic" => b64(cred).and_then(|s| s.split_once(':').map(|(_, p)| p.to_string())),
        _ => None,
    };
    let Some(key) = key else {
        return Err(refuse("unsupported Authorization scheme"));
    };
    st.senders
        .iter()
        .find(|(s, _)| constant_time_eq(s.key.as_bytes(), key.as_bytes()))
        .ok_or_else(|| refuse("unknown API key"))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The body, gunzipped when the sender compressed it (Beats do).
fn body(h: &HeaderMap, b: Bytes, max: usize) -> Result<Vec<u8>, Response> {
    let gz = h
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    if !gz {
        return Ok(b.to_vec());
    }
    // A small body may inflate enormously (a gzip bomb): stop at the limit.
    let mut out = Vec::new();
    let limited = std::io::Read::take(flate2::read::MultiGzDecoder::new(&b[..]), max as u64 + 1);
    std::io::Read::read_to_end(&mut { limited }, &mut out).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            "parse_exception",
            format!("gzip body: {e}"),
        )
    })?;
    if out.len() > max {
        return Err(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "content_too_long_exception",
            format!("gzip body inflates beyond max_body ({max} bytes)"),
        ));
    }
    Ok(out)
}

/// The sender and its (inflated) body, or the refusal to send back.
fn accept<'s>(
    st: &'s AppState,
    h: &HeaderMap,
    b: Bytes,
) -> Result<(&'s (Sender, InputMetrics), Vec<u8>), Response> {
    let who = authenticate(st, h)?;
    Ok((who, body(h, b, st.max_body)?))
}

fn encode(s: &Sender, peer: SocketAddr, format: Format, raw: &[u8]) -> Vec<u8> {
    Envelope {
        received_us: now_us(),
        input: &s.name,
        format,
        peer: Some(peer.ip().to_canonical()),
        sender: s.agency.as_deref(),
        raw,
    }
    .encode()
}

/// `_bulk`: pairs of action and document lines. `index` and `create` are
/// queued; `delete` and `update` are answered as not supported; a malformed
/// action line fails that item (status 400) and the rest go on.
async fn bulk(
    State(st): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    h: HeaderMap,
    b: Bytes,
) -> Response {
    let started = std::time::Instant::now();
    let ((sender, m), data) = match accept(&st, &h, b) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let mut records = Vec::new();
    let mut items: Vec<J> = Vec::new();
    let mut errors = false;
    let mut lines = data
        .split(|c| *c == b'\n')
        .enumerate()
        .filter(|(_, l)| !l.trim_ascii().is_empty());
    while let Some((no, line)) = lines.next() {
        let action: Result<serde_json::Map<String, J>, _> = serde_json::from_slice(line);
        let (op, meta) = match action.as_ref().ok().and_then(|a| a.iter().next()) {
            Some((op, meta)) => (op.clone(), meta.clone()),
            None => {
                errors = true;
                m.rejected.inc();
                items.push(
                    json!({"index": {"status": 400, "error": {"type": "illegal_argument_exception",
                    "reason": format!("line {}: malformed action line", no + 1)}}}),
                );
                continue;
            }
        };
        let index = meta.get("_index").cloned().unwrap_or(J::Null);
        match op.as_str() {
            "index" | "create" => {
                let Some((_, doc)) = lines.next() else {
                    errors = true;
                    m.rejected.inc();
                    items.push(json!({op.clone(): {"_index": index, "status": 400, "error": {"type": "illegal_argument_exception",
                        "reason": format!("line {}: action without a document", no + 1)}}}));
                    break;
                };
                records.push(encode(sender, peer, sender.format, doc.trim_ascii()));
                m.bytes.add(doc.len() as u64);
                items.push(json!({op: {"_index": index, "_id": J::Null, "_version": 1, "result": "created", "status": 201}}));
            }
            "delete" => items
                .push(json!({"delete": {"_index": index, "status": 404, "result": "not_found"}})),
            other => {
                // `update` carries a document line to skip.
                let _ = lines.next();
                errors = true;
                items.push(json!({other: {"_index": index, "status": 400, "error": {"type": "action_request_validation_exception",
                    "reason": format!("line {}: `{other}` is not supported by Tocsin (index and create are)", no + 1)}}}));
            }
        }
    }
    let n = records.len() as u64;
    if n > 0 {
        if let Err(e) = st.queue.append(records).await {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "queue_exception",
                e.to_string(),
            );
        }
        m.received.add(n);
    }
    elastic(
        Json(
            json!({"took": started.elapsed().as_millis() as u64, "errors": errors, "items": items}),
        )
        .into_response(),
    )
}

#[derive(serde::Deserialize)]
struct NdjsonQuery {
    format: Option<Format>,
}

/// One record per line; answers how many were queued.
async fn ndjson(
    State(st): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(q): Query<NdjsonQuery>,
    h: HeaderMap,
    b: Bytes,
) -> Response {
    let ((sender, m), data) = match accept(&st, &h, b) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let format = q.format.unwrap_or(sender.format);
    let records: Vec<Vec<u8>> = data
        .split(|c| *c == b'\n')
        .map(<[u8]>::trim_ascii)
        .filter(|l| !l.is_empty())
        .map(|l| {
            m.bytes.add(l.len() as u64);
            encode(sender, peer, format, l)
        })
        .collect();
    let n = records.len();
    if n > 0 {
        if let Err(e) = st.queue.append(records).await {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"error": e.to_string()})),
            )
                .into_response();
        }
        m.received.add(n as u64);
    }
    Json(json!({"accepted": n})).into_response()
}
