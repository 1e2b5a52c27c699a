//! Alerts: `/alerts`, `/alerts/{id}`, `/alerts/{id}/status` and
//! `/api/v1/alerts…`, `/api/v1/events/counts`. Every read and change goes
//! through the caller's scope.

use askama::Template;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tocsin_model::{AgencyCode, Alert, AlertId, AlertStatus, AttackClass, Level};
use tocsin_store::AlertFilter;

use crate::extract::{Caller, F, LangQuery, Q, empty_none};
use crate::i18n::{Lang, T};
use crate::routes::{Need, Routes};
use crate::view::{ctx, local_time, render};
use crate::{AppError, AppState};
use tocsin_model::Permission;

pub(super) fn router() -> Routes {
    Routes::new()
        .get("/alerts", Need::Signed(Permission::Read), page)
        .get("/alerts/{id}", Need::Signed(Permission::Read), detail)
        .post(
            "/alerts/{id}/status",
            Need::Signed(Permission::Triage),
            set_status,
        )
        .get("/api/v1/alerts", Need::Signed(Permission::Read), api_list)
        .get(
            "/api/v1/alerts/{id}",
            Need::Signed(Permission::Read),
            api_one,
        )
        .get(
            "/api/v1/events/counts",
            Need::Signed(Permission::Read),
            api_event_counts,
        )
}

/// Filters of the alert list (page and API).
#[derive(Debug, Default, Deserialize)]
struct AlertQuery {
    #[serde(default, deserialize_with = "empty_none")]
    level: Option<Level>,
    #[serde(default, deserialize_with = "empty_none")]
    status: Option<AlertStatus>,
    #[serde(default, deserialize_with = "empty_none")]
    class: Option<AttackClass>,
    #[serde(default, deserialize_with = "empty_none")]
    agency: Option<String>,
    #[serde(default, deserialize_with = "empty_none")]
    before: Option<i64>,
    #[serde(default, deserialize_with = "empty_none")]
    limit: Option<i64>,
    lang: Option<String>,
}

impl AlertQuery {
    fn limit(&self) -> i64 {
        self.limit.unwrap_or(100).clamp(1, 1000)
    }

    fn filter(&self) -> AlertFilter {
        AlertFilter {
            agency: self.agency.as_deref().map(AgencyCode::from),
            level: self.level,
            status: self.status,
            class: self.class,
            before: self.before.map(AlertId),
            limit: Some(self.limit()),
        }
    }
}

/// An alert as lists show it.
pub(crate) struct AlertRow {
    pub(crate) a: Alert,
    pub(crate) agency_name: String,
    /// The event time in the province's zone (UTC+07:00), for people.
    pub(crate) when: String,
    /// The title in the reader's language where Tocsin wrote it (a
    /// threat-intelligence match), else the rule's own.
    pub(crate) title: String,
}

/// An intelligence alert's title in the reader's language: what was
/// contacted, and the family.
fn intel_title(t: &T, hit: &tocsin_model::IntelHit) -> String {
    let what = if matches!(hit.field.as_str(), "source.ip" | "client.ip") {
        t.t("intel.alert_inbound")
    } else {
        t.t(&format!("intel.alert_{}", hit.threat.as_str()))
    };
    match &hit.family {
        Some(f) => format!("{what}: {f}"),
        None => what,
    }
}

/// The title of Tocsin's own detectors (`tocsin:web:sqli`) in the
/// reader's language; `None` for rules, whose titles are their own.
fn own_title(t: &T, rule_id: &str) -> Option<String> {
    let key = rule_id.strip_prefix("tocsin:")?.replace(':', ".");
    let text = t.t(&format!("detector.{key}"));
    // A key the locale lacks comes back as itself.
    (!text.starts_with("detector.")).then_some(text)
}

impl AlertRow {
    pub(crate) fn all(st: &AppState, t: &T, alerts: Vec<Alert>) -> Vec<AlertRow> {
        let snap = st.snap.get();
        alerts
            .into_iter()
            .map(|a| {
                let agency_name = a
                    .body
                    .agency
                    .as_ref()
                    .map(|c| snap.agency_name(c.as_str()))
                    .unwrap_or_default();
                let title = match &a.body.intel {
                    Some(hit) => intel_title(t, hit),
                    None => own_title(t, &a.body.rule_id)
                        .or_else(|| {
                            st.rules
                                .iter()
                                .find(|r| r.id == a.body.rule_id)
                                .map(|r| r.title_in(t.lang).to_string())
                        })
                        .unwrap_or_else(|| a.body.rule_title.clone()),
                };
                AlertRow {
                    when: local_time(a.body.event_time),
                    title,
                    a,
                    agency_name,
                }
            })
            .collect()
    }
}

#[derive(Template)]
#[template(path = "alerts.html")]
struct AlertsPage {
    t: T,
    lang: Lang,
    nav: &'static str,
    level: String,
    status: String,
    class: String,
    classes: &'static [AttackClass],
    agency: String,
    rows: Vec<AlertRow>,
    next: Option<i64>,
    total: i64,
}

async fn page(
    State(st): State<AppState>,
    caller: Caller,
    Q(q): Q<AlertQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let c = ctx(q.lang.as_deref(), &headers);
    let list = st.store.alerts(&caller.scope, &q.filter()).await?;
    let next = (list.len() as i64 >= q.limit())
        .then(|| list.last().map(|a| a.id.0))
        .flatten();
    let page = AlertsPage {
        t: c.t,
        lang: c.lang,
        nav: "alerts",
        level: q.level.map_or("", Level::as_str).to_string(),
        status: q.status.map_or("", AlertStatus::as_str).to_string(),
        class: q.class.map_or("", AttackClass::as_str).to_string(),
        classes: AttackClass::ALL,
        agency: q.agency.clone().unwrap_or_default(),
        rows: AlertRow::all(&st, &c.t, list),
        next,
        total: st.store.alert_total(&caller.scope).await?,
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
    title: String,
    status: &'static str,
    level_label: String,
    status_label: String,
    kind_label: String,
    class_label: String,
    first_seen: String,
    last_seen: String,
    event: String,
}

async fn one(st: &AppState, caller: &Caller, id: i64) -> Result<Alert, AppError> {
    st.store
        .alert(&caller.scope, AlertId(id))
        .await?
        .ok_or_else(|| AppError::NotFound(format!("alert {id}")))
}

async fn detail(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Q(q): Q<LangQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let c = ctx(q.lang.as_deref(), &headers);
    let a = one(&st, &caller, id).await?;
    let event = serde_json::from_str::<Value>(&a.body.event)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_else(|_| a.body.event.clone());
    let row = AlertRow::all(&st, &c.t, vec![a])
        .pop()
        .ok_or_else(|| AppError::NotFound(format!("alert {id}")))?;
    let page = AlertPage {
        t: c.t,
        lang: c.lang,
        nav: "alerts",
        status: row.a.status.as_str(),
        level_label: c.t.t(&format!("level.{}", row.a.body.level)),
        status_label: c.t.t(&format!("alerts.status_{}", row.a.status.as_str())),
        kind_label: c.t.t(&format!("alerts.kind_{}", row.a.body.kind.as_str())),
        class_label: c.t.t(&format!("class.{}", row.a.body.class.as_str())),
        first_seen: local_time(row.a.body.event_time),
        last_seen: local_time(row.a.last_seen),
        when: row.when,
        title: row.title,
        a: row.a,
        agency_name: row.agency_name,
        event,
    };
    render(&c, &page)
}

#[derive(Debug, Deserialize)]
struct StatusForm {
    status: AlertStatus,
}

/// From the alert page's buttons.
async fn set_status(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    F(f): F<StatusForm>,
) -> Result<Response, AppError> {
    if !st
        .store
        .set_alert_status(&caller.scope, AlertId(id), f.status, &caller.actor)
        .await?
    {
        return Err(AppError::NotFound(format!("alert {id}")));
    }
    Ok(Redirect::to(&format!("/alerts/{id}")).into_response())
}

async fn api_list(
    State(st): State<AppState>,
    caller: Caller,
    Q(q): Q<AlertQuery>,
) -> Result<Json<Value>, AppError> {
    let list = st.store.alerts(&caller.scope, &q.filter()).await?;
    Ok(Json(json!({ "alerts": list })))
}

async fn api_one(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Value>, AppError> {
    Ok(Json(json!({ "alert": one(&st, &caller, id).await? })))
}

async fn api_event_counts(
    State(st): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, AppError> {
    let since = chrono::Utc::now() - chrono::Duration::hours(24);
    let counts = st.store.event_counts(&caller.scope, since).await?;
    Ok(Json(json!({ "since": since, "counts": counts })))
}
