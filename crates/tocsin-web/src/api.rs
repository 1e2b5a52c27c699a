//! `/api/v1`: the same data as the console, as JSON.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::pages::{ListQuery, attribute, filter_agencies, filter_assets};
use crate::{AppError, AppState};

pub(crate) async fn healthz(State(st): State<AppState>) -> (StatusCode, Json<Value>) {
    match st.store.ping().await {
        Ok(()) => (StatusCode::OK, Json(json!({ "status": "ok" }))),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable", "database": "unreachable" })),
            )
        }
    }
}

pub(crate) async fn counts(State(st): State<AppState>) -> Result<Json<Value>, AppError> {
    let c = st.store.inventory_counts().await?;
    let agencies: serde_json::Map<String, Value> = c
        .agencies
        .iter()
        .map(|(k, n)| (k.to_string(), json!(n)))
        .collect();
    let assets: serde_json::Map<String, Value> = c
        .assets
        .iter()
        .map(|(k, n)| (k.to_string(), json!(n)))
        .collect();
    Ok(Json(json!({ "agencies": agencies, "assets": assets })))
}

pub(crate) async fn agencies(
    State(st): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Json<Value> {
    let snap = st.snap.get();
    Json(json!({ "agencies": filter_agencies(&snap, &q) }))
}

pub(crate) async fn agency(
    State(st): State<AppState>,
    Path(code): Path<String>,
) -> Result<Json<Value>, AppError> {
    let snap = st.snap.get();
    let a = snap
        .inventory
        .agency(&code)
        .ok_or_else(|| AppError::NotFound(format!("agency {code}")))?;
    let assets: Vec<_> = snap
        .inventory
        .assets
        .iter()
        .filter(|x| x.owner == a.code)
        .collect();
    Ok(Json(json!({ "agency": a, "assets": assets })))
}

pub(crate) async fn assets(State(st): State<AppState>, Query(q): Query<ListQuery>) -> Json<Value> {
    let snap = st.snap.get();
    Json(json!({ "assets": filter_assets(&snap, &q) }))
}

pub(crate) async fn asset(
    State(st): State<AppState>,
    Path(code): Path<String>,
) -> Result<Json<Value>, AppError> {
    let snap = st.snap.get();
    let a = snap
        .inventory
        .asset(&code)
        .ok_or_else(|| AppError::NotFound(format!("asset {code}")))?;
    Ok(Json(json!({ "asset": a })))
}

pub(crate) async fn attribution(
    State(st): State<AppState>,
    Path(ip): Path<String>,
) -> Result<Json<Value>, AppError> {
    let addr: std::net::IpAddr = ip
        .parse()
        .map_err(|_| AppError::BadRequest(format!("`{ip}` is not an IP address")))?;
    let (agency, asset) = attribute(&st.snap.get(), addr);
    let pair =
        |p: Option<(String, String)>| p.map(|(code, name)| json!({ "code": code, "name": name }));
    Ok(Json(
        json!({ "ip": addr.to_string(), "agency": pair(agency), "asset": pair(asset) }),
    ))
}

pub(crate) async fn rules(State(st): State<AppState>, Query(q): Query<ListQuery>) -> Json<Value> {
    Json(json!({ "rules": crate::pages::filter_rules(&st.rules, &q) }))
}
