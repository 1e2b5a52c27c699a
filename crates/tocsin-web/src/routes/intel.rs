//! Threat intelligence: `/intel` (figures per agency for a period, the
//! feeds, retro-hunts, recent sightings), `/intel/devices` (infected
//! devices, one at a time with their status), `/intel/botnet` (agencies'
//! addresses seen talking to botnets) and the same under `/api/v1/intel`,
//! with the province's sightings exported as STIX 2.1 and MISP. Every
//! read goes through the caller's scope.

use askama::Template;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use tocsin_intel::export::{Seen, Sharer, misp_event, stix_bundle};
use tocsin_model::{AgencyCode, DeviceStatus, Permission};
use tocsin_store::{
    AgencyIntelCount, BotnetAddress, DeviceFilter, FeedStatus, InfectedDevice, RetroStatus,
    SightingRow,
};

use crate::extract::{Caller, F, LangQuery, Q, empty_none};
use crate::i18n::{Lang, T};
use crate::routes::{Need, Routes};
use crate::view::{ctx, local_time, render};
use crate::{AppError, AppState};

pub(super) fn router() -> Routes {
    let read = Need::Signed(Permission::Read);
    Routes::new()
        .get("/intel", read, overview)
        .get("/intel/devices", read, devices)
        .get("/intel/devices/{id}", read, device)
        .post(
            "/intel/devices/{id}/status",
            Need::Signed(Permission::Triage),
            set_status,
        )
        .get("/intel/botnet", read, botnet)
        .get("/api/v1/intel/counts", read, api_counts)
        .get("/api/v1/intel/devices", read, api_devices)
        .get("/api/v1/intel/devices/{id}", read, api_device)
        .post(
            "/api/v1/intel/devices/{id}/status",
            Need::Signed(Permission::Triage),
            api_set_status,
        )
        .get("/api/v1/intel/botnet", read, api_botnet)
        .get("/api/v1/intel/sightings", read, api_sightings)
        .get(
            "/api/v1/intel/feeds",
            Need::Signed(Permission::Operate),
            api_feeds,
        )
        .get("/api/v1/intel/export.stix.json", read, export_stix)
        .get("/api/v1/intel/export.misp.json", read, export_misp)
}

/// A period and filters, as pages and the API take them. Dates are
/// days in the province's time (`2026-11-01`); `to` is inclusive.
#[derive(Debug, Default, Deserialize)]
struct IntelQuery {
    #[serde(default, deserialize_with = "empty_none")]
    from: Option<NaiveDate>,
    #[serde(default, deserialize_with = "empty_none")]
    to: Option<NaiveDate>,
    #[serde(default, deserialize_with = "empty_none")]
    agency: Option<String>,
    #[serde(default, deserialize_with = "empty_none")]
    family: Option<String>,
    #[serde(default, deserialize_with = "empty_none")]
    status: Option<DeviceStatus>,
    #[serde(default)]
    botnet: Option<String>,
    #[serde(default, deserialize_with = "empty_none")]
    limit: Option<i64>,
    lang: Option<String>,
}

/// The start of a day in the province's time, as UTC.
fn day_start(d: NaiveDate) -> Option<DateTime<Utc>> {
    d.and_hms_opt(0, 0, 0)?
        .and_local_timezone(tocsin_model::vietnam_offset())
        .single()
        .map(|t| t.with_timezone(&Utc))
}

impl IntelQuery {
    /// The period: by default the last 30 days.
    fn period(&self) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
        let since = self.from.and_then(day_start).or_else(|| {
            if self.to.is_none() {
                Some(Utc::now() - chrono::Duration::days(30))
            } else {
                None
            }
        });
        let until = self.to.and_then(|d| d.succ_opt()).and_then(day_start);
        (since, until)
    }

    fn agency(&self) -> Option<AgencyCode> {
        self.agency.as_deref().map(|a| AgencyCode::from(a.trim()))
    }

    fn botnet(&self) -> bool {
        matches!(self.botnet.as_deref(), Some("1" | "true" | "on"))
    }

    fn device_filter(&self) -> DeviceFilter {
        let (since, until) = self.period();
        DeviceFilter {
            agency: self.agency(),
            family: self.family.clone(),
            status: self.status,
            since,
            until,
            botnet: self.botnet(),
            limit: Some(self.limit.unwrap_or(500).clamp(1, 10_000)),
        }
    }

    /// The period's dates as the form shows them.
    fn dates(&self) -> (String, String) {
        let (since, until) = self.period();
        let day = |t: DateTime<Utc>| {
            t.with_timezone(&tocsin_model::vietnam_offset())
                .format("%Y-%m-%d")
                .to_string()
        };
        (
            since.map(day).unwrap_or_default(),
            until
                .map(|t| day(t - chrono::Duration::days(1)))
                .unwrap_or_default(),
        )
    }
}

struct CountRow {
    c: AgencyIntelCount,
    name: String,
}

struct DeviceRow {
    d: InfectedDevice,
    name: String,
    last: String,
    first: String,
    status_label: String,
}

struct FeedRow {
    f: FeedStatus,
    loaded: String,
    attempted: String,
}

struct RetroRow {
    r: RetroStatus,
    started: String,
    percent: i64,
}

struct SightingView {
    s: SightingRow,
    last: String,
}

fn device_rows(st: &AppState, t: &T, list: Vec<InfectedDevice>) -> Vec<DeviceRow> {
    let snap = st.snap.get();
    list.into_iter()
        .map(|d| DeviceRow {
            name: snap.agency_name(d.agency.as_str()),
            last: local_time(d.last_seen),
            first: local_time(d.first_seen),
            status_label: t.t(&format!("intel.status_{}", d.status.as_str())),
            d,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "intel.html")]
struct OverviewPage {
    t: T,
    lang: Lang,
    nav: &'static str,
    from: String,
    to: String,
    counts: Vec<CountRow>,
    total_devices: i64,
    total_botnet: i64,
    total_contacts: i64,
    feeds: Vec<FeedRow>,
    show_feeds: bool,
    retro: Vec<RetroRow>,
    sightings: Vec<SightingView>,
}

async fn overview(
    State(st): State<AppState>,
    caller: Caller,
    Q(q): Q<IntelQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let c = ctx(q.lang.as_deref(), &headers);
    let (since, until) = q.period();
    let counts = st.store.intel_counts(&caller.scope, since, until).await?;
    // Feeds and retro-hunts are the center's machinery, not an agency's.
    let show_feeds = caller.may(Permission::Operate);
    let (feeds, retro) = if show_feeds {
        (st.store.feeds().await?, st.store.retro_hunts(5).await?)
    } else {
        (Vec::new(), Vec::new())
    };
    let (from, to) = q.dates();
    let snap = st.snap.get();
    let page = OverviewPage {
        t: c.t,
        lang: c.lang,
        nav: "intel",
        from,
        to,
        total_devices: counts.iter().map(|r| r.devices).sum(),
        total_botnet: counts.iter().map(|r| r.botnet_addresses).sum(),
        total_contacts: counts.iter().map(|r| r.contacts).sum(),
        counts: counts
            .into_iter()
            .map(|c| CountRow {
                name: snap.agency_name(c.agency.as_str()),
                c,
            })
            .collect(),
        feeds: feeds
            .into_iter()
            .map(|f| FeedRow {
                loaded: f.loaded_at.map(local_time).unwrap_or_default(),
                attempted: f.attempted_at.map(local_time).unwrap_or_default(),
                f,
            })
            .collect(),
        show_feeds,
        retro: retro
            .into_iter()
            .map(|r| RetroRow {
                started: r.started_at.map(local_time).unwrap_or_default(),
                percent: if r.files_total > 0 {
                    r.files_done * 100 / r.files_total
                } else if r.finished_at.is_some() {
                    100
                } else {
                    0
                },
                r,
            })
            .collect(),
        sightings: st
            .store
            .sightings(&caller.scope, 20)
            .await?
            .into_iter()
            .map(|s| SightingView {
                last: local_time(s.last_seen),
                s,
            })
            .collect(),
    };
    render(&c, &page)
}

#[derive(Template)]
#[template(path = "intel_devices.html")]
struct DevicesPage {
    t: T,
    lang: Lang,
    nav: &'static str,
    from: String,
    to: String,
    agency: String,
    family: String,
    status: String,
    botnet: bool,
    rows: Vec<DeviceRow>,
}

async fn devices(
    State(st): State<AppState>,
    caller: Caller,
    Q(q): Q<IntelQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let c = ctx(q.lang.as_deref(), &headers);
    let list = st
        .store
        .infected_devices(&caller.scope, &q.device_filter())
        .await?;
    let (from, to) = q.dates();
    let page = DevicesPage {
        rows: device_rows(&st, &c.t, list),
        t: c.t,
        lang: c.lang,
        nav: "intel",
        from,
        to,
        agency: q.agency.clone().unwrap_or_default(),
        family: q.family.clone().unwrap_or_default(),
        status: q.status.map_or("", DeviceStatus::as_str).to_string(),
        botnet: q.botnet(),
    };
    render(&c, &page)
}

#[derive(Template)]
#[template(path = "intel_device.html")]
struct DevicePage {
    t: T,
    lang: Lang,
    nav: &'static str,
    r: DeviceRow,
    status: &'static str,
    may_change: bool,
}

async fn one(st: &AppState, caller: &Caller, id: i64) -> Result<InfectedDevice, AppError> {
    st.store
        .infected_device(&caller.scope, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("device {id}")))
}

async fn device(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Q(q): Q<LangQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let c = ctx(q.lang.as_deref(), &headers);
    let d = one(&st, &caller, id).await?;
    let status = d.status.as_str();
    let r = device_rows(&st, &c.t, vec![d])
        .pop()
        .ok_or_else(|| AppError::NotFound(format!("device {id}")))?;
    let page = DevicePage {
        t: c.t,
        lang: c.lang,
        nav: "intel",
        r,
        status,
        may_change: caller.may(Permission::Triage),
    };
    render(&c, &page)
}

#[derive(Debug, Deserialize)]
struct StatusForm {
    status: DeviceStatus,
}

async fn change(st: &AppState, caller: &Caller, id: i64, s: DeviceStatus) -> Result<(), AppError> {
    if st
        .store
        .set_device_status(&caller.scope, id, s, &caller.actor)
        .await?
    {
        Ok(())
    } else {
        Err(AppError::NotFound(format!("device {id}")))
    }
}

async fn set_status(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    F(f): F<StatusForm>,
) -> Result<Response, AppError> {
    change(&st, &caller, id, f.status).await?;
    Ok(Redirect::to(&format!("/intel/devices/{id}")).into_response())
}

#[derive(Template)]
#[template(path = "intel_botnet.html")]
struct BotnetPage {
    t: T,
    lang: Lang,
    nav: &'static str,
    from: String,
    to: String,
    agency: String,
    rows: Vec<(BotnetAddress, String)>,
    agencies: usize,
}

async fn botnet(
    State(st): State<AppState>,
    caller: Caller,
    Q(q): Q<IntelQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let c = ctx(q.lang.as_deref(), &headers);
    let (since, until) = q.period();
    let list = st
        .store
        .botnet_addresses(&caller.scope, q.agency().as_ref(), since, until)
        .await?;
    let agencies = list
        .iter()
        .map(|b| b.agency.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let (from, to) = q.dates();
    let snap = st.snap.get();
    let page = BotnetPage {
        t: c.t,
        lang: c.lang,
        nav: "intel",
        from,
        to,
        agency: q.agency.clone().unwrap_or_default(),
        rows: list
            .into_iter()
            .map(|b| {
                let n = snap.agency_name(b.agency.as_str());
                (b, n)
            })
            .collect(),
        agencies,
    };
    render(&c, &page)
}

async fn api_counts(
    State(st): State<AppState>,
    caller: Caller,
    Q(q): Q<IntelQuery>,
) -> Result<Json<Value>, AppError> {
    let (since, until) = q.period();
    let counts = st.store.intel_counts(&caller.scope, since, until).await?;
    Ok(Json(json!({
        "since": since, "until": until,
        "devices": counts.iter().map(|r| r.devices).sum::<i64>(),
        "botnet_addresses": counts.iter().map(|r| r.botnet_addresses).sum::<i64>(),
        "agencies": counts,
    })))
}

async fn api_devices(
    State(st): State<AppState>,
    caller: Caller,
    Q(q): Q<IntelQuery>,
) -> Result<Json<Value>, AppError> {
    let list = st
        .store
        .infected_devices(&caller.scope, &q.device_filter())
        .await?;
    Ok(Json(json!({ "devices": list })))
}

async fn api_device(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Value>, AppError> {
    Ok(Json(json!({ "device": one(&st, &caller, id).await? })))
}

async fn api_set_status(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(f): Json<StatusForm>,
) -> Result<Json<Value>, AppError> {
    change(&st, &caller, id, f.status).await?;
    Ok(Json(json!({ "device": one(&st, &caller, id).await? })))
}

async fn api_botnet(
    State(st): State<AppState>,
    caller: Caller,
    Q(q): Q<IntelQuery>,
) -> Result<Json<Value>, AppError> {
    let (since, until) = q.period();
    let list = st
        .store
        .botnet_addresses(&caller.scope, q.agency().as_ref(), since, until)
        .await?;
    Ok(Json(
        json!({ "since": since, "until": until, "addresses": list }),
    ))
}

async fn api_sightings(
    State(st): State<AppState>,
    caller: Caller,
    Q(q): Q<IntelQuery>,
) -> Result<Json<Value>, AppError> {
    let list = st
        .store
        .sightings(&caller.scope, q.limit.unwrap_or(1000))
        .await?;
    Ok(Json(json!({ "sightings": list })))
}

async fn api_feeds(State(st): State<AppState>) -> Result<Json<Value>, AppError> {
    Ok(Json(json!({
        "feeds": st.store.feeds().await?,
        "retro_hunts": st.store.retro_hunts(20).await?,
    })))
}

/// The caller's sightings as export rows.
async fn seen(st: &AppState, caller: &Caller) -> Result<Vec<Seen>, AppError> {
    Ok(st
        .store
        .sightings(&caller.scope, 10_000)
        .await?
        .into_iter()
        .map(|s| Seen {
            indicator: s.indicator,
            kind: s.kind,
            threat: s.threat,
            family: s.family,
            source: s.source,
            count: s.count,
            first_seen: s.first_seen,
            last_seen: s.last_seen,
            agency: s.agency,
        })
        .collect())
}

fn sharer(st: &AppState) -> Sharer {
    Sharer {
        name: st.center_name.clone(),
        now: Utc::now(),
    }
}

fn download(v: &Value, name: &str) -> Response {
    let mut r = Json(v).into_response();
    if let Ok(h) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, h);
    }
    r
}

async fn export_stix(State(st): State<AppState>, caller: Caller) -> Result<Response, AppError> {
    let rows = seen(&st, &caller).await?;
    Ok(download(
        &stix_bundle(&rows, &sharer(&st)),
        "tocsin-sightings.stix.json",
    ))
}

async fn export_misp(State(st): State<AppState>, caller: Caller) -> Result<Response, AppError> {
    let rows = seen(&st, &caller).await?;
    let by = sharer(&st);
    let info = format!(
        "Indicators sighted by {} ({} sightings)",
        by.name,
        rows.len()
    );
    Ok(download(
        &misp_event(&rows, &by, &info),
        "tocsin-sightings.misp.json",
    ))
}
