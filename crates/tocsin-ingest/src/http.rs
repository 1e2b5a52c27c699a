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

use axum::body::Body;
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use serde_json::{Value as J, json};
use tocsin_parse::Format;

use crate::bulk::{Op, bulk_ops};

use http_body_util::BodyExt as _;
use tocsin_queue::Queue;
use tocsin_queue::{Envelope, now_us};
use tocsin_telemetry::{InputMetrics, Metrics};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// One sender allowed to ship (`[[ingest.http.senders]]`).
#[derive(Clone, Debug, serde::Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Sender {
    /// Who it is (appears in metrics and events as the input name).
    pub name: String,
    /// The secret it presents: a string, `{ file = "…" }` or
    /// `{ env = "…" }`.
    pub key: tocsin_model::Secret,
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
    /// Whether it is a sensor (a Suricata, an IDS) whose own alerts become
    /// alerts; from other senders such records are kept as events.
    #[serde(default)]
    pub sensor: bool,
}

/// `[ingest.http]`
#[derive(Clone, Debug, serde::Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Address to listen on (Elasticsearch's usual port by default).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Largest request body accepted, in bytes (after gunzip).
    #[serde(default = "default_body")]
    pub max_body: usize,
    /// Largest single record (an NDJSON line, a `_bulk` document): a longer
    /// one is refused with its line number and counted, never cut.
    #[serde(default = "default_record")]
    pub max_record: usize,
    /// Bytes of request bodies held in memory at once, all requests
    /// together (read, inflated and made records): a request that would
    /// go over is answered 429 and retried by its sender, so parallel
    /// gzip bombs cannot exhaust memory.
    #[serde(default = "default_memory")]
    pub max_memory: usize,
    /// Addresses allowed to connect (CIDRs); empty: anyone with a key.
    #[serde(default)]
    pub allow: Vec<tocsin_model::Cidr>,
    /// TLS (certificate, key, optional client CA); without it the listener
    /// speaks plain HTTP, for a collector on the same host or network.
    #[serde(default)]
    pub tls: Option<tocsin_net::TlsConfig>,
    /// Connection limits and timeouts (`[ingest.http.limits]`).
    #[serde(default)]
    pub limits: tocsin_net::HttpLimits,
    /// Who may send.
    #[serde(default)]
    pub senders: Vec<Sender>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: default_listen(),
            max_body: default_body(),
            max_record: default_record(),
            max_memory: default_memory(),
            allow: Vec::new(),
            tls: None,
            limits: Default::default(),
            senders: Vec::new(),
        }
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9200))
}

fn default_body() -> usize {
    100 << 20
}

fn default_record() -> usize {
    1 << 20
}

fn default_memory() -> usize {
    256 << 20
}

struct AppState {
    queue: Arc<dyn Queue>,
    senders: Vec<(Sender, InputMetrics)>,
    unauthorized: tocsin_telemetry::Counter,
    max_body: usize,
    max_record: usize,
    budget: Budget,
    /// Turns on the blocking pool (one per core).
    workers: Arc<Semaphore>,
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
            max_record: self.max_record.min(tocsin_queue::MAX_RECORD),
            workers: Arc::new(Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            )),
            budget: Budget {
                bytes: Arc::new(Semaphore::new(
                    self.max_memory.clamp(1 << 20, Semaphore::MAX_PERMITS),
                )),
                total: self.max_memory.clamp(1 << 20, Semaphore::MAX_PERMITS),
                refused: metrics.counter(
                    "tocsin_http_memory_refused_total",
                    "HTTP ingest requests answered 429 because the bodies in memory reached max_memory.",
                    &[],
                ),
            },
        });
        Router::new()
            .route("/", get(banner).head(banner))
            .route("/_license", get(license))
            .route("/_bulk", post(bulk).put(bulk))
            .route("/{index}/_bulk", post(bulk).put(bulk))
            .route("/api/v1/ingest", post(ndjson))
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
        .find(|(s, _)| constant_time_eq(s.key.expose().as_bytes(), key.as_bytes()))
        .ok_or_else(|| refuse("unknown API key"))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The memory all requests' bodies may hold at once (`max_memory`).
struct Budget {
    bytes: Arc<Semaphore>,
    total: usize,
    refused: tocsin_telemetry::Counter,
}

/// The part of the budget one request holds; given back when dropped.
struct Held {
    budget: Arc<Semaphore>,
    total: usize,
    permit: Option<OwnedSemaphorePermit>,
}

/// The budget is spent: the sender should retry later.
#[derive(Debug)]
struct Spent;

impl Held {
    /// Makes room in `v` for `n` more bytes, taking them from the budget.
    ///
    /// The budget counts bytes written, which is what memory holds: when
    /// `v` is full it is given, once, the room of the most it may ever
    /// hold (`max`) — address space the kernel backs only as it is
    /// written — instead of growing by doubling, whose every step would
    /// leave a freed buffer behind in the allocator.
    fn grow(&mut self, v: &mut Vec<u8>, n: usize, max: usize) -> Result<(), Spent> {
        self.take(n)?;
        if v.len() + n > v.capacity() {
            v.reserve_exact(max.max(v.len() + n) - v.len());
        }
        Ok(())
    }

    /// Takes `n` more bytes of the budget, without waiting: a request
    /// waiting for memory would hold what it has while others wait for it.
    fn take(&mut self, n: usize) -> Result<(), Spent> {
        if n == 0 {
            return Ok(());
        }
        let n = u32::try_from(n).map_err(|_| Spent)?;
        let p = self
            .budget
            .clone()
            .try_acquire_many_owned(n)
            .map_err(|_| Spent)?;
        match &mut self.permit {
            Some(held) => held.merge(p),
            None => self.permit = Some(p),
        }
        Ok(())
    }
}

/// A body that could not fit even if it had the whole budget: 413, not
/// 429, since trying again would never help.
fn too_long_for_memory(n: usize, total: usize) -> Response {
    error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "content_too_long_exception",
        format!("a body of {n} bytes is larger than max_memory ({total} bytes)"),
    )
}

fn too_long(what: &str, max: usize) -> Response {
    error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "content_too_long_exception",
        format!("{what} is larger than max_body ({max} bytes)"),
    )
}

/// Answers 429, as Elasticsearch's circuit breakers do: Beats and Vector
/// back off and send the request again.
fn no_memory(st: &AppState, m: &InputMetrics) -> Response {
    st.budget.refused.inc();
    m.pushback.inc();
    let mut r = error(
        StatusCode::TOO_MANY_REQUESTS,
        "circuit_breaking_exception",
        "the requests in memory reached max_memory; retry later",
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    r
}

/// The body, read within `max_body` and the memory budget (only after
/// the key was checked), and gunzipped off the async threads when the
/// sender compressed it (Beats do).
async fn body(
    st: &AppState,
    m: &InputMetrics,
    h: &HeaderMap,
    b: Body,
    held: &mut Held,
) -> Result<Vec<u8>, Response> {
    let max = st.max_body;
    let declared = h
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_long("the body", max));
    }
    let mut raw = Vec::new();
    let mut reserved = 0;
    if let Some(n) = declared {
        // One allocation of the declared size (within the limits above).
        let n = n as usize;
        if n > st.budget.total {
            return Err(too_long_for_memory(n, st.budget.total));
        }
        held.take(n).map_err(|_| no_memory(st, m))?;
        raw.reserve_exact(n);
        reserved = n;
    }
    let mut b = b;
    while let Some(frame) = b.frame().await {
        let frame = frame.map_err(|e| {
            error(
                StatusCode::BAD_REQUEST,
                "parse_exception",
                format!("reading the body: {e}"),
            )
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if raw.len() + data.len() > max {
            return Err(too_long("the body", max));
        }
        // Bytes past the declared length (none, from an honest sender)
        // are taken from the budget as they come.
        let past = (raw.len() + data.len()).saturating_sub(reserved);
        let fresh = past.min(data.len());
        if fresh > 0 {
            held.grow(&mut raw, fresh, max.min(held.total))
                .map_err(|_| no_memory(st, m))?;
        }
        raw.extend_from_slice(&data);
    }
    let gz = h
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    if !gz {
        return Ok(raw);
    }
    let mut moved = Held {
        budget: held.budget.clone(),
        total: held.total,
        permit: held.permit.take(),
    };
    let (back, out) = off_thread(&st.workers, move || {
        let out = gunzip(&raw, max, &mut moved);
        (moved, out)
    })
    .await?;
    *held = back;
    match out {
        Ok(v) => Ok(v),
        Err(Inflate::TooLong) => Err(too_long("the gzip body inflated", max)),
        Err(Inflate::Spent) => Err(no_memory(st, m)),
        Err(Inflate::Never(n)) => Err(too_long_for_memory(n, st.budget.total)),
        Err(Inflate::Bad(e)) => Err(error(
            StatusCode::BAD_REQUEST,
            "parse_exception",
            format!("gzip body: {e}"),
        )),
    }
}

/// Why a body could not be inflated.
enum Inflate {
    TooLong,
    Spent,
    /// It says it inflates to more than the whole budget.
    Never(usize),
    Bad(std::io::Error),
}

/// Inflates `raw` a chunk at a time, each chunk taken from the budget, and
/// stops at `max` (a small body may inflate enormously: a gzip bomb).
///
/// The gzip trailer's size of the (last) member is a hint, never trusted:
/// honest bodies are inflated into one allocation of that size; a body
/// saying it inflates past `max` is refused before any work; a body that
/// lies about it is caught by the limits as it inflates.
fn gunzip(raw: &[u8], max: usize, held: &mut Held) -> Result<Vec<u8>, Inflate> {
    use std::io::Read as _;
    let hint = raw
        .len()
        .checked_sub(4)
        .filter(|_| raw.len() >= 18)
        .map(|at| u32::from_le_bytes([raw[at], raw[at + 1], raw[at + 2], raw[at + 3]]) as usize);
    let mut out = Vec::new();
    let mut reserved = 0;
    if let Some(h) = hint {
        if h > max {
            return Err(Inflate::TooLong);
        }
        if h > held.total {
            return Err(Inflate::Never(h));
        }
        held.take(h).map_err(|_| Inflate::Spent)?;
        out.reserve_exact(h);
        reserved = h;
    }
    let mut z = flate2::read::MultiGzDecoder::new(raw);
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        let n = z.read(&mut chunk).map_err(Inflate::Bad)?;
        if n == 0 {
            return Ok(out);
        }
        if out.len() + n > max {
            return Err(Inflate::TooLong);
        }
        // Past the trailer's size (a liar's body): taken as it comes.
        let fresh = (out.len() + n).saturating_sub(reserved).min(n);
        if fresh > 0 {
            held.grow(&mut out, fresh, max.min(held.total))
                .map_err(|_| Inflate::Spent)?;
        }
        out.extend_from_slice(&chunk[..n]);
    }
}

/// Answers 503 with `Retry-After` when the queue cannot take records now
/// (full, or failing to write): the sender keeps them and retries.
fn busy(m: &InputMetrics, why: impl Into<String>) -> Response {
    m.pushback.inc();
    let mut r = error(
        StatusCode::SERVICE_UNAVAILABLE,
        "es_rejected_execution_exception",
        why,
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    r
}

/// The sender (its key checked before anything of the body is read) and
/// its body, or the answer to send back.
async fn accept(st: &AppState, req: Request) -> Result<(usize, Vec<u8>, Held), Response> {
    let (parts, b) = req.into_parts();
    let who = authenticate(st, &parts.headers)?;
    let i = st
        .senders
        .iter()
        .position(|s| std::ptr::eq(s, who))
        .unwrap_or_default();
    let stats = st.queue.stats();
    if let Some(f) = stats.fault {
        return Err(busy(
            &who.1,
            format!("the queue cannot write ({f}); retry later"),
        ));
    }
    if stats.full {
        return Err(busy(&who.1, "the queue is full; retry later"));
    }
    let mut held = Held {
        budget: st.budget.bytes.clone(),
        total: st.budget.total,
        permit: None,
    };
    let data = body(st, &who.1, &parts.headers, b, &mut held)
        .await
        .inspect_err(|r| {
            // Too large, or not readable: refused for good (counted);
            // 429 is counted as pushback where it is made.
            if matches!(
                r.status(),
                StatusCode::PAYLOAD_TOO_LARGE | StatusCode::BAD_REQUEST
            ) {
                who.1.rejected.inc();
            }
        })?;
    Ok((i, data, held))
}

/// Runs `f` on the blocking pool: inflating and parsing a large body
/// would otherwise hold an async thread that other connections (and the
/// other inputs) need. At most one such job per core runs at once (the
/// rest wait their turn): more would not go faster, and every thread
/// that allocates large buffers keeps some of them for reuse.
async fn off_thread<T: Send + 'static>(
    workers: &Arc<Semaphore>,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Response> {
    let turn = workers.clone().acquire_owned().await;
    tokio::task::spawn_blocking(move || {
        let _turn = turn;
        f()
    })
    .await
    .map_err(|e| {
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "exception",
            e.to_string(),
        )
    })
}

/// Appends `records` (counting them once durable); 503 with Retry-After
/// when the queue cannot take them: nothing of the request was accepted.
async fn queue(st: &AppState, m: &InputMetrics, records: Vec<Vec<u8>>) -> Result<(), Response> {
    let n = records.len() as u64;
    if n == 0 {
        return Ok(());
    }
    match st.queue.append(records).await {
        Ok(_) => {
            m.received.add(n);
            Ok(())
        }
        Err(r) => Err(busy(
            m,
            format!("the queue refused the records ({}); retry later", r.error),
        )),
    }
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

/// A `_bulk` body made into records and the answer's items.
struct Bulk {
    records: Vec<Vec<u8>>,
    items: Vec<J>,
    errors: bool,
    bytes: u64,
}

/// Why a `_bulk` body was not taken.
enum BulkError {
    Malformed(String),
    Spent,
}

/// The records and items of a `_bulk` body (on the blocking pool).
fn bulk_records(
    st: &AppState,
    who: usize,
    peer: SocketAddr,
    data: &[u8],
    held: &mut Held,
) -> Result<Bulk, BulkError> {
    let (sender, m) = &st.senders[who];
    let ops = bulk_ops(data).map_err(|(_, reason)| BulkError::Malformed(reason))?;
    let mut out = Bulk {
        records: Vec::new(),
        items: Vec::new(),
        errors: false,
        bytes: 0,
    };
    for op in ops {
        match op {
            Op::Doc {
                op,
                index,
                line,
                doc,
            } if doc.len() > st.max_record => {
                out.errors = true;
                m.rejected.inc();
                out.items.push(json!({op: {"_index": index, "status": 400, "error": {"type": "document_too_large_exception",
                    "reason": format!("line {line}: a document of {} bytes is larger than max_record ({})", doc.len(), st.max_record)}}}));
            }
            Op::Doc { op, index, doc, .. } => {
                held.take(doc.len() + 64).map_err(|_| BulkError::Spent)?;
                out.records.push(encode(sender, peer, sender.format, doc));
                out.bytes += doc.len() as u64;
                out.items.push(json!({op: {"_index": index, "_id": J::Null, "_version": 1, "result": "created", "status": 201}}));
            }
            Op::Delete { index } => out
                .items
                .push(json!({"delete": {"_index": index, "status": 404, "result": "not_found"}})),
            Op::Unsupported { op, index, line } => {
                out.errors = true;
                out.items.push(json!({op.clone(): {"_index": index, "status": 400, "error": {"type": "action_request_validation_exception",
                    "reason": format!("line {line}: `{op}` is not supported by Tocsin (index and create are)")}}}));
            }
        }
    }
    Ok(out)
}

/// `_bulk`: pairs of action and document lines. `index` and `create` are
/// queued; `delete` and `update` are answered as not supported; a document
/// over `max_record` fails its item (400); a malformed action line fails
/// the request (400, with its line) before anything is queued.
async fn bulk(
    State(st): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    let started = std::time::Instant::now();
    let (who, data, mut held) = match accept(&st, req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let m = &st.senders[who].1;
    let st2 = st.clone();
    let made = off_thread(&st.workers, move || {
        let r = bulk_records(&st2, who, peer, &data, &mut held);
        (r, held)
    })
    .await;
    let (made, _held) = match made {
        Ok(x) => x,
        Err(r) => return r,
    };
    let b = match made {
        Ok(b) => b,
        Err(BulkError::Spent) => return no_memory(&st, m),
        Err(BulkError::Malformed(reason)) => {
            m.rejected.inc();
            return error(
                StatusCode::BAD_REQUEST,
                "illegal_argument_exception",
                reason,
            );
        }
    };
    if let Err(r) = queue(&st, m, b.records).await {
        return r;
    }
    m.bytes.add(b.bytes);
    elastic(
        Json(
            json!({"took": started.elapsed().as_millis() as u64, "errors": b.errors, "items": b.items}),
        )
        .into_response(),
    )
}

#[derive(serde::Deserialize)]
struct NdjsonQuery {
    format: Option<Format>,
}

/// One record per line, made into records on the blocking pool: the
/// records, the lines refused (over `max_record`) and the bytes taken.
fn ndjson_records(
    st: &AppState,
    who: usize,
    peer: SocketAddr,
    format: Format,
    data: &[u8],
    held: &mut Held,
) -> Result<Lines, Spent> {
    let (sender, m) = &st.senders[who];
    let mut records = Vec::new();
    let mut refused = Vec::new();
    let mut bytes = 0u64;
    for (i, l) in data.split(|c| *c == b'\n').enumerate() {
        let l = l.trim_ascii();
        if l.is_empty() {
            continue;
        }
        if l.len() > st.max_record {
            m.rejected.inc();
            refused.push(json!({"line": i + 1, "reason": format!("{} bytes, larger than max_record ({})", l.len(), st.max_record)}));
            continue;
        }
        held.take(l.len() + 64)?;
        bytes += l.len() as u64;
        records.push(encode(sender, peer, format, l));
    }
    Ok(Lines {
        records,
        refused,
        bytes,
    })
}

/// An NDJSON body made into records.
struct Lines {
    records: Vec<Vec<u8>>,
    refused: Vec<J>,
    bytes: u64,
}

/// One record per line; answers how many were queued, and which lines
/// were refused (over `max_record`) and why.
async fn ndjson(
    State(st): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(q): Query<NdjsonQuery>,
    req: Request,
) -> Response {
    let (who, data, mut held) = match accept(&st, req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let m = &st.senders[who].1;
    let format = q.format.unwrap_or(st.senders[who].0.format);
    let st2 = st.clone();
    let made = off_thread(&st.workers, move || {
        let r = ndjson_records(&st2, who, peer, format, &data, &mut held);
        (r, held)
    })
    .await;
    // The budget is held until the records are queued.
    let (made, _held) = match made {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Ok(Lines {
        records,
        refused,
        bytes,
    }) = made
    else {
        return no_memory(&st, m);
    };
    let n = records.len();
    if let Err(r) = queue(&st, m, records).await {
        return r;
    }
    m.bytes.add(bytes);
    if refused.is_empty() {
        Json(json!({"accepted": n})).into_response()
    } else {
        Json(json!({"accepted": n, "refused": refused})).into_response()
    }
}
