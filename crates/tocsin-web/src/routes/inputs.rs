//! The ingest stage's live state (`/inputs`, `/api/v1/ingest/status`): what
//! each input received and dropped, how the parsers fared, the queue's
//! backlog and the pipeline's latency and failures — the console view of
//! `/metrics` (the same typed counters), with the last 24 hours' event
//! counts from the store.

use askama::Template;
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use tocsin_telemetry::{IngestStatus, InputStatus};

use crate::extract::{Caller, LangQuery, Q};
use crate::i18n::{Lang, T};
use crate::routes::{Need, Routes};
use crate::view::{ctx, render};
use crate::{AppError, AppState};
use tocsin_model::Permission;

pub(super) fn router() -> Routes {
    Routes::new()
        .get("/inputs", Need::Signed(Permission::Operate), page)
        .get(
            "/api/v1/ingest/status",
            Need::Signed(Permission::Operate),
            api,
        )
}

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
    /// (format, parsed, failed, failed %, panics).
    formats: Vec<(String, u64, u64, String, u64)>,
    /// Dead letters waiting for a replay.
    dead_letters: i64,
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

async fn page(
    State(st): State<AppState>,
    caller: Caller,
    Q(q): Q<LangQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let c = ctx(q.lang.as_deref(), &headers);
    let status = st.ingest_status();
    let since = chrono::Utc::now() - chrono::Duration::hours(24);
    let mut day = super::per_input(&st.store.event_counts(&caller.scope, since).await?);
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
            (f.format.clone(), f.parsed, f.failed, pct, f.panics)
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
        dead_letters: st.store.open_dead_letters(&caller.scope).await?,
    };
    render(&c, &page)
}

/// `GET /api/v1/ingest/status`: the same, as JSON (404 when this server
/// does not run the ingest stage).
async fn api(State(st): State<AppState>) -> Result<Response, AppError> {
    let s = st
        .ingest_status()
        .ok_or_else(|| AppError::NotFound("this server does not run the ingest stage".into()))?;
    Ok(Json(s).into_response())
}
