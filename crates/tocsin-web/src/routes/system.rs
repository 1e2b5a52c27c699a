//! What is not a resource: `/healthz`, `/metrics`, static files, the
//! inventory counts, and the page for addresses that lead nowhere.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::extract::Caller;
use crate::routes::{Need, Routes};
use crate::{AppError, AppState};
use tocsin_model::Permission;

pub(super) fn router() -> Routes {
    Routes::new()
        .get("/healthz", Need::Anyone, healthz)
        .get("/metrics", Need::Metrics, metrics)
        .get("/static/{file}", Need::Anyone, static_file)
        .get(
            "/api/v1/inventory/counts",
            Need::Signed(Permission::Read),
            counts,
        )
}

/// `ok` (200), or `degraded` (503) with each part that is not doing its
/// work and why: the database unreachable, the pipeline paused or
/// restarting, the queue unable to write.
async fn healthz(State(st): State<AppState>) -> (StatusCode, Json<Value>) {
    let mut problems = serde_json::Map::new();
    if let Err(e) = st.store.ping().await {
        tracing::error!(error = %e, "health check: database unreachable");
        problems.insert("database".into(), json!("unreachable"));
    }
    if let Some(m) = &st.metrics {
        for (part, why) in m.health().problems() {
            problems.insert(part.into(), json!(why));
        }
    }
    if problems.is_empty() {
        (StatusCode::OK, Json(json!({ "status": "ok" })))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "degraded", "problems": problems })),
        )
    }
}

async fn metrics(State(st): State<AppState>) -> Response {
    let body = st.metrics.as_ref().map(|m| m.render()).unwrap_or_default();
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        body,
    )
        .into_response()
}

/// Agencies and assets per kind, in the caller's scope.
async fn counts(State(st): State<AppState>, caller: Caller) -> Json<Value> {
    let snap = st.snap.get();
    let inv = snap.inventory();
    let mut agencies = serde_json::Map::new();
    for k in tocsin_model::AgencyKind::ALL {
        let n = inv
            .agencies
            .iter()
            .filter(|a| a.kind == *k && caller.scope.allows(Some(&a.code)))
            .count();
        agencies.insert(k.to_string(), json!(n));
    }
    let mut assets = serde_json::Map::new();
    for k in tocsin_model::AssetKind::ALL {
        let n = inv
            .assets
            .iter()
            .filter(|a| a.kind == *k && caller.scope.allows(Some(&a.owner)))
            .count();
        assets.insert(k.to_string(), json!(n));
    }
    Json(json!({ "agencies": agencies, "assets": assets }))
}

#[derive(rust_embed::RustEmbed)]
#[folder = "assets/"]
struct Assets;

async fn static_file(Path(file): Path<String>) -> Response {
    // Stable public names; the vendored file keeps its version in its name.
    let (name, mime) = match file.as_str() {
        "htmx.min.js" => ("htmx-2.0.11.min.js", "text/javascript; charset=utf-8"),
        "tocsin.css" => ("tocsin.css", "text/css; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    match Assets::get(name) {
        Some(f) => (
            [
                (CONTENT_TYPE, mime),
                (CACHE_CONTROL, "public, max-age=3600"),
            ],
            f.data.into_owned(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Whatever no route answers.
pub(crate) async fn not_found(uri: Uri) -> AppError {
    AppError::NotFound(uri.path().to_string())
}
