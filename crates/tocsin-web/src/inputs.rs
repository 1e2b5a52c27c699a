//! The ingest stage's live state (`/inputs`, `/api/v1/ingest/status`): what
//! each input received and dropped, how the parsers fared, the queue's
//! backlog and the pipeline's latency and failures — the console view of
//! `/metrics`, with the last 24 hours' event counts from the store.

use std::collections::BTreeMap;

use askama::Template;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use crate::i18n::{Lang, T};
use crate::pages::{ListQuery, ctx, render};
use crate::{AppError, AppState};

/// One input's counters since the server started.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct InputStatus {
    /// The input's name in the configuration.
    pub name: String,
    /// `syslog-udp`, `syslog-tcp`, `http`, `file`…
    pub kind: String,
    /// Records accepted and durably queued.
    pub received: u64,
    /// Bytes of those records.
    pub bytes: u64,
    /// Records dropped (UDP with the queue full).
    pub dropped: u64,
    /// Records cut at the size limit.
    pub truncated: u64,
    /// Requests or frames refused (bad key, bad framing).
    pub rejected: u64,
    /// Events processed and committed.
    pub processed: u64,
}

/// One declared format's parse counters.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct FormatStatus {
    /// `syslog`, `access`, `eve`, `windows`, `cef`, `json`, `auto`.
    pub format: String,
    /// Records parsed (failures included).
    pub parsed: u64,
    /// Of which kept raw with a parse error.
    pub failed: u64,
}

/// The ingest stage as the console shows it. The binary fills it from the
/// pipeline's metrics (this crate does not depend on the ingest crate).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct IngestStatus {
    /// Per input.
    pub inputs: Vec<InputStatus>,
    /// Per declared format.
    pub formats: Vec<FormatStatus>,
    /// Records queued and not yet committed downstream.
    pub queue_depth: u64,
    /// Bytes the queue holds.
    pub queue_bytes: u64,
    /// Events processed in all.
    pub processed: u64,
    /// Alerts stored.
    pub alerts: u64,
    /// Receipt → committed, median (bucket bound, seconds).
    pub latency_p50: f64,
    /// Receipt → committed, 99th percentile (bucket bound, seconds).
    pub latency_p99: f64,
    /// Failed store commits (retried).
    pub commit_errors: u64,
    /// Batches the raw archive could not store.
    pub archive_errors: u64,
    /// Queued records lost to disk corruption or undecodable.
    pub unreadable: u64,
}

/// Reads the ingest stage's state now.
pub type IngestStatusFn = std::sync::Arc<dyn Fn() -> IngestStatus + Send + Sync>;

struct InputRow {
    s: InputStatus,
    mib: String,
    day_events: i64,
    day_errors: i64,
}

#[derive(Template)]
#[template(path = "inputs.html")]
struct InputsPage {
    t: T,
    lang: Lang,
    nav: &'static str,
    /// None: this server does not run the ingest stage.
    status: Option<IngestStatus>,
    inputs: Vec<InputRow>,
    /// (format, parsed, failed, failed %).
    formats: Vec<(String, u64, u64, String)>,
    queue_mib: String,
    p50: String,
    p99: String,
}

fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1024.0 * 1024.0))
}

/// Seconds as people read them: `2 ms`, `1.5 s`.
fn duration(s: f64) -> String {
    if !s.is_finite() {
        "> 60 s".into()
    } else if s < 0.01 {
        // The histogram's small bucket bounds: 1, 2.5, 5 ms.
        format!("{:.1} ms", s * 1000.0)
    } else if s < 1.0 {
        format!("{:.0} ms", s * 1000.0)
    } else {
        format!("{s:.1} s")
    }
}

pub(crate) async fn page(
    State(st): State<AppState>,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let c = ctx(&q, &headers);
    let status = st.ingest.as_ref().map(|f| f());
    let since = chrono::Utc::now() - chrono::Duration::hours(24);
    let mut day: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for n in st
        .store
        .event_counts(&tocsin_store::hour_text(since))
        .await?
    {
        let e = day.entry(n.input).or_default();
        e.0 += n.events;
        e.1 += n.errors;
    }
    let mut inputs: Vec<InputRow> = status
        .iter()
        .flat_map(|s| s.inputs.iter())
        .map(|s| {
            let (day_events, day_errors) = day.remove(&s.name).unwrap_or_default();
            InputRow {
                mib: mib(s.bytes),
                s: s.clone(),
                day_events,
                day_errors,
            }
        })
        .collect();
    // Inputs seen in the last day that this server does not run (another
    // node, an earlier configuration, lost queue records under `queue`).
    inputs.extend(day.into_iter().map(|(name, (e, x))| InputRow {
        s: InputStatus {
            name,
            ..InputStatus::default()
        },
        mib: String::new(),
        day_events: e,
        day_errors: x,
    }));
    let formats = status
        .iter()
        .flat_map(|s| s.formats.iter())
        .filter(|f| f.parsed > 0)
        .map(|f| {
            let pct = format!("{:.2}", f.failed as f64 * 100.0 / f.parsed.max(1) as f64);
            (f.format.clone(), f.parsed, f.failed, pct)
        })
        .collect();
    let page = InputsPage {
        t: c.t,
        lang: c.lang,
        nav: "inputs",
        queue_mib: mib(status.as_ref().map_or(0, |s| s.queue_bytes)),
        p50: duration(status.as_ref().map_or(0.0, |s| s.latency_p50)),
        p99: duration(status.as_ref().map_or(0.0, |s| s.latency_p99)),
        status,
        inputs,
        formats,
    };
    render(&c, &page)
}

/// `GET /api/v1/ingest/status`: the same, as JSON (404 when this server
/// does not run the ingest stage).
pub(crate) async fn api(State(st): State<AppState>) -> Result<Response, AppError> {
    let f = st
        .ingest
        .as_ref()
        .ok_or_else(|| AppError::NotFound("this server does not run the ingest stage".into()))?;
    Ok(Json(f()).into_response())
}
