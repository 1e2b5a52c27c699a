//! Alerts in the console (`/alerts`, `/alerts/{id}`) and the API
//! (`/api/v1/alerts`), plus the Prometheus `/metrics` hook.

use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tocsin_store::{Alert, AlertFilter, AlertStatus};

use crate::i18n::{Lang, T};
use crate::pages::{ListQuery, ctx, render};
use crate::{AppError, AppState};

/// Filters of the alert list (page and API).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct AlertQuery {
    #[serde(default)]
    level: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    agency: String,
    before: Option<i64>,
    limit: Option<i64>,
    lang: Option<String>,
}

impl AlertQuery {
    fn filter(&self) -> Result<AlertFilter, AppError> {
        let status = match self.status.as_str() {
            "" => None,
            s => Some(AlertStatus::parse(s).ok_or_else(|| {
                AppError::BadRequest(format!("status `{s}`: use new, acknowledged or closed"))
            })?),
        };
        let nonempty = |s: &str| Some(s.to_string()).filter(|s| !s.is_empty());
        Ok(AlertFilter {
            agency: nonempty(&self.agency),
            level: nonempty(&self.level),
            status,
            before_id: self.before,
            limit: Some(self.limit.unwrap_or(100).clamp(1, 1000)),
        })
    }

    fn list_query(&self) -> ListQuery {
        ListQuery {
            lang: self.lang.clone(),
            ..ListQuery::default()
        }
    }
}

pub(crate) struct AlertRow {
    pub(crate) a: Alert,
    pub(crate) agency_name: String,
    /// The event time in the province's zone (UTC+07:00), for people.
    pub(crate) when: String,
}

/// `2026-11-24T03:00:00.000000Z` → `24/11/2026 10:00:00` (Vietnam time).
pub(crate) fn local_time(utc: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(utc)
        .map(|d| {
            d.with_timezone(&tocsin_model::vietnam_offset())
                .format("%d/%m/%Y %H:%M:%S")
                .to_string()
        })
        .unwrap_or_else(|_| utc.to_string())
}

pub(crate) fn rows(st: &AppState, alerts: Vec<Alert>) -> Vec<AlertRow> {
    let snap = st.snap.get();
    alerts
        .into_iter()
        .map(|a| {
            let agency_name = a
                .agency
                .as_deref()
                .and_then(|c| snap.inventory.agency(c))
                .map(|x| x.name.clone())
                .unwrap_or_default();
            AlertRow {
                when: local_time(&a.event_time),
                a,
                agency_name,
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "alerts.html")]
struct AlertsPage {
    t: T,
    lang: Lang,
    nav: &'static str,
    level: String,
    status: String,
    agency: String,
    rows: Vec<AlertRow>,
    next: Option<i64>,
    total: i64,
}

pub(crate) async fn page(
    State(st): State<AppState>,
    Query(q): Query<AlertQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let c = ctx(&q.list_query(), &headers);
    let list = st.store.alerts(&q.filter()?).await?;
    let next = (list.len() as i64 >= q.limit.unwrap_or(100))
        .then(|| list.last().map(|a| a.id))
        .flatten();
    let page = AlertsPage {
        t: c.t,
        lang: c.lang,
        nav: "alerts",
        level: q.level.clone(),
        status: q.status.clone(),
        agency: q.agency.clone(),
        rows: rows(&st, list),
        next,
        total: st.store.alert_total().await?,
    };
    render(&c, &page)
}

#[derive(Template)]
#[template(path = "alert.html")]
struct AlertPage {
    t: T,
    lang: Lang,
    nav: &'static str,
    a: Alert,
    agency_name: String,
    when: String,
    status: &'static str,
    level_label: String,
    status_label: String,
    kind_label: String,
    event: String,
}

pub(crate) async fn detail(
    State(st): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let c = ctx(&q, &headers);
    let a = st
        .store
        .alert(id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("alert {id}")))?;
    let event = serde_json::from_str::<Value>(&a.event)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_else(|_| a.event.clone());
    let row = rows(&st, vec![a])
        .pop()
        .ok_or_else(|| AppError::NotFound(format!("alert {id}")))?;
    let page = AlertPage {
        t: c.t,
        lang: c.lang,
        nav: "alerts",
        status: row.a.status.as_str(),
        level_label: c.t.t(&format!("level.{}", row.a.level)),
        status_label: c.t.t(&format!("alerts.status_{}", row.a.status.as_str())),
        kind_label: c.t.t(&format!("alerts.kind_{}", row.a.kind.as_str())),
        when: row.when,
        a: row.a,
        agency_name: row.agency_name,
        event,
    };
    render(&c, &page)
}

#[derive(Debug, Deserialize)]
pub(crate) struct StatusForm {
    status: String,
}

/// From the alert page's buttons.
pub(crate) async fn set_status(
    State(st): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<StatusForm>,
) -> Result<Response, AppError> {
    let status = AlertStatus::parse(&f.status)
        .ok_or_else(|| AppError::BadRequest(format!("status `{}`", f.status)))?;
    if !st.store.set_alert_status(id, status, "console").await? {
        return Err(AppError::NotFound(format!("alert {id}")));
    }
    Ok(Redirect::to(&format!("/alerts/{id}")).into_response())
}

pub(crate) async fn api_list(
    State(st): State<AppState>,
    Query(q): Query<AlertQuery>,
) -> Result<Json<Value>, AppError> {
    let list = st.store.alerts(&q.filter()?).await?;
    Ok(Json(json!({ "alerts": list })))
}

pub(crate) async fn api_one(
    State(st): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<Value>, AppError> {
    let a = st
        .store
        .alert(id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("alert {id}")))?;
    Ok(Json(json!({ "alert": a })))
}

pub(crate) async fn api_event_counts(State(st): State<AppState>) -> Result<Json<Value>, AppError> {
    let since = tocsin_store::hour_text(chrono::Utc::now() - chrono::Duration::hours(24));
    Ok(Json(
        json!({ "since": since, "counts": st.store.event_counts(&since).await? }),
    ))
}

pub(crate) async fn metrics(State(st): State<AppState>) -> Response {
    let body = st.metrics.as_ref().map(|f| f()).unwrap_or_default();
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}
