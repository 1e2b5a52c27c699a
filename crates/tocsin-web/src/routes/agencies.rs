//! Agencies: `/agencies`, `/agencies/{code}`, `/api/v1/agencies…`. Read
//! through the caller's scope: an agency outside it does not exist.

use askama::Template;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use tocsin_model::{Agency, AgencyKind, fold_vietnamese};

use super::assets::AssetRow;
use super::{Paged, matches};
use crate::extract::{Caller, LangQuery, Q, empty_none};
use crate::i18n::{Lang, T};
use crate::routes::{Need, Routes};
use crate::view::{ctx, join_cidrs, render, urlencode};
use crate::{AppError, AppState, Snapshot};
use tocsin_model::Permission;

pub(super) fn router() -> Routes {
    Routes::new()
        .get("/agencies", Need::Signed(Permission::Read), list)
        .get("/agencies/{code}", Need::Signed(Permission::Read), one)
        .get("/api/v1/agencies", Need::Signed(Permission::Read), api_list)
        .get(
            "/api/v1/agencies/{code}",
            Need::Signed(Permission::Read),
            api_one,
        )
}

/// `?q=&kind=&page=&lang=`
#[derive(Debug, Default, Deserialize)]
struct AgencyQuery {
    #[serde(default)]
    q: String,
    #[serde(default, deserialize_with = "empty_none")]
    kind: Option<AgencyKind>,
    #[serde(default)]
    page: usize,
    lang: Option<String>,
}

/// Agencies in the caller's scope matching the filters.
fn filter<'a>(snap: &'a Snapshot, q: &AgencyQuery, caller: &Caller) -> Vec<&'a Agency> {
    let needle = fold_vietnamese(&q.q);
    snap.inventory()
        .agencies
        .iter()
        .filter(|a| caller.scope.allows(Some(&a.code)))
        .filter(|a| q.kind.is_none_or(|k| a.kind == k))
        .filter(|a| matches(&needle, a.code.as_str(), &a.name))
        .collect()
}

struct AgencyRow {
    code: String,
    name: String,
    kind: String,
    parent: String,
    ranges: String,
    assets: usize,
}

#[derive(Template)]
#[template(path = "agencies.html")]
struct AgenciesPage {
    t: T,
    lang: Lang,
    nav: &'static str,
    q: String,
    kind: String,
    kinds: Vec<(&'static str, String)>,
    rows: Vec<AgencyRow>,
    shown: usize,
    total: usize,
    prev: Option<String>,
    next: Option<String>,
}

async fn list(
    State(st): State<AppState>,
    caller: Caller,
    Q(q): Q<AgencyQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let c = ctx(q.lang.as_deref(), &headers);
    let snap = st.snap.get();
    let all = filter(&snap, &q, &caller);
    let kind = q.kind.map_or("", |k| k.as_str());
    let inv = snap.inventory();
    let p = Paged::of(
        &all,
        q.page,
        |a| AgencyRow {
            code: a.code.to_string(),
            name: a.name.clone(),
            kind: c.t.t(&format!("kind.{}", a.kind)),
            parent: a.parent.as_ref().map(|p| p.to_string()).unwrap_or_default(),
            ranges: join_cidrs(&a.ranges),
            assets: inv.assets.iter().filter(|x| x.owner == a.code).count(),
        },
        |n| format!("/agencies?q={}&kind={kind}&page={n}", urlencode(&q.q)),
    );
    let page = AgenciesPage {
        t: c.t,
        lang: c.lang,
        nav: "agencies",
        kinds: AgencyKind::ALL
            .iter()
            .map(|k| (k.as_str(), c.t.t(&format!("kind.{k}"))))
            .collect(),
        shown: p.rows.len(),
        total: p.total,
        rows: p.rows,
        q: q.q.clone(),
        kind: kind.to_string(),
        prev: p.prev,
        next: p.next,
    };
    render(&c, &page)
}

#[derive(Template)]
#[template(path = "agency.html")]
struct AgencyPage<'a> {
    t: T,
    lang: Lang,
    nav: &'static str,
    a: &'a Agency,
    kind: String,
    parent: Option<(String, String)>,
    ranges: String,
    children: Vec<(String, String)>,
    assets: Vec<AssetRow>,
}

/// The agency `code`, when the caller may see it.
fn visible<'a>(snap: &'a Snapshot, caller: &Caller, code: &str) -> Result<&'a Agency, AppError> {
    snap.inventory()
        .agency(code)
        .filter(|a| caller.scope.allows(Some(&a.code)))
        .ok_or_else(|| AppError::NotFound(format!("agency {code}")))
}

async fn one(
    State(st): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    Q(q): Q<LangQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let c = ctx(q.lang.as_deref(), &headers);
    let snap = st.snap.get();
    let a = visible(&snap, &caller, &code)?;
    let inv = snap.inventory();
    let page = AgencyPage {
        t: c.t,
        lang: c.lang,
        nav: "agencies",
        kind: c.t.t(&format!("kind.{}", a.kind)),
        parent: a.parent.as_ref().map(|p| {
            let name = inv
                .agency(p.as_str())
                .map_or_else(|| p.to_string(), |x| x.name.clone());
            (p.to_string(), name)
        }),
        ranges: join_cidrs(&a.ranges),
        children: inv
            .agencies
            .iter()
            .filter(|x| x.parent.as_ref() == Some(&a.code))
            .map(|x| (x.code.to_string(), x.name.clone()))
            .collect(),
        assets: inv
            .assets
            .iter()
            .filter(|x| x.owner == a.code)
            .map(|x| AssetRow::new(x, &c.t))
            .collect(),
        a,
    };
    render(&c, &page)
}

async fn api_list(State(st): State<AppState>, caller: Caller, Q(q): Q<AgencyQuery>) -> Json<Value> {
    let snap = st.snap.get();
    Json(json!({ "agencies": filter(&snap, &q, &caller) }))
}

async fn api_one(
    State(st): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
) -> Result<Json<Value>, AppError> {
    let snap = st.snap.get();
    let a = visible(&snap, &caller, &code)?;
    let assets: Vec<_> = snap
        .inventory()
        .assets
        .iter()
        .filter(|x| x.owner == a.code)
        .collect();
    Ok(Json(json!({ "agency": a, "assets": assets })))
}
