//! Assets: `/assets`, `/assets/{code}`, `/api/v1/assets…`. An asset is
//! visible when its owner is in the caller's scope.

use askama::Template;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use tocsin_model::{Asset, AssetKind, fold_vietnamese};

use super::{Paged, matches};
use crate::extract::{Caller, LangQuery, Q, empty_none};
use crate::i18n::{Lang, T};
use crate::routes::{Need, Routes};
use crate::view::{ctx, join_cidrs, render, urlencode};
use crate::{AppError, AppState, Snapshot};
use tocsin_model::Permission;

pub(super) fn router() -> Routes {
    Routes::new()
        .get("/assets", Need::Signed(Permission::Read), list)
        .get("/assets/{code}", Need::Signed(Permission::Read), one)
        .get("/api/v1/assets", Need::Signed(Permission::Read), api_list)
        .get(
            "/api/v1/assets/{code}",
            Need::Signed(Permission::Read),
            api_one,
        )
}

/// `?q=&kind=&level=&page=&lang=`
#[derive(Debug, Default, Deserialize)]
struct AssetQuery {
    #[serde(default)]
    q: String,
    #[serde(default, deserialize_with = "empty_none")]
    kind: Option<AssetKind>,
    #[serde(default, deserialize_with = "empty_none")]
    level: Option<u8>,
    #[serde(default)]
    page: usize,
    lang: Option<String>,
}

/// Assets in the caller's scope matching the filters.
fn filter<'a>(snap: &'a Snapshot, q: &AssetQuery, caller: &Caller) -> Vec<&'a Asset> {
    let needle = fold_vietnamese(&q.q);
    snap.inventory()
        .assets
        .iter()
        .filter(|a| caller.scope.allows(Some(&a.owner)))
        .filter(|a| q.kind.is_none_or(|k| a.kind == k))
        .filter(|a| q.level.is_none_or(|l| a.level.get() == l))
        .filter(|a| {
            matches(&needle, a.code.as_str(), &a.name)
                || a.hostnames
                    .iter()
                    .any(|h| fold_vietnamese(h).contains(&needle))
        })
        .collect()
}

/// An asset as list rows show it.
pub(crate) struct AssetRow {
    pub(crate) code: String,
    pub(crate) name: String,
    pub(crate) kind: String,
    pub(crate) owner: String,
    pub(crate) level: u8,
    pub(crate) addresses: String,
    pub(crate) urls: String,
}

impl AssetRow {
    pub(crate) fn new(a: &Asset, t: &T) -> Self {
        AssetRow {
            code: a.code.to_string(),
            name: a.name.clone(),
            kind: t.t(&format!("asset.{}", a.kind)),
            owner: a.owner.to_string(),
            level: a.level.get(),
            addresses: join_cidrs(&a.addresses),
            urls: a.urls.join(", "),
        }
    }
}

#[derive(Template)]
#[template(path = "assets.html")]
struct AssetsPage {
    t: T,
    lang: Lang,
    nav: &'static str,
    q: String,
    kind: String,
    level: String,
    kinds: Vec<(&'static str, String)>,
    rows: Vec<AssetRow>,
    shown: usize,
    total: usize,
    prev: Option<String>,
    next: Option<String>,
}

async fn list(
    State(st): State<AppState>,
    caller: Caller,
    Q(q): Q<AssetQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let c = ctx(q.lang.as_deref(), &headers);
    let snap = st.snap.get();
    let all = filter(&snap, &q, &caller);
    let kind = q.kind.map_or("", |k| k.as_str());
    let level = q.level.map(|l| l.to_string()).unwrap_or_default();
    let p = Paged::of(
        &all,
        q.page,
        |a| AssetRow::new(a, &c.t),
        |n| {
            format!(
                "/assets?q={}&kind={kind}&level={level}&page={n}",
                urlencode(&q.q)
            )
        },
    );
    let page = AssetsPage {
        t: c.t,
        lang: c.lang,
        nav: "assets",
        kinds: AssetKind::ALL
            .iter()
            .map(|k| (k.as_str(), c.t.t(&format!("asset.{k}"))))
            .collect(),
        shown: p.rows.len(),
        total: p.total,
        rows: p.rows,
        q: q.q.clone(),
        kind: kind.to_string(),
        level,
        prev: p.prev,
        next: p.next,
    };
    render(&c, &page)
}

#[derive(Template)]
#[template(path = "asset.html")]
struct AssetPage<'a> {
    t: T,
    lang: Lang,
    nav: &'static str,
    a: &'a Asset,
    kind: String,
    owner_name: String,
    addresses: String,
}

/// The asset `code`, when the caller may see its owner.
fn visible<'a>(snap: &'a Snapshot, caller: &Caller, code: &str) -> Result<&'a Asset, AppError> {
    snap.inventory()
        .asset(code)
        .filter(|a| caller.scope.allows(Some(&a.owner)))
        .ok_or_else(|| AppError::NotFound(format!("asset {code}")))
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
    let page = AssetPage {
        t: c.t,
        lang: c.lang,
        nav: "assets",
        kind: c.t.t(&format!("asset.{}", a.kind)),
        owner_name: snap
            .inventory()
            .agency(a.owner.as_str())
            .map_or_else(|| a.owner.to_string(), |o| o.name.clone()),
        addresses: join_cidrs(&a.addresses),
        a,
    };
    render(&c, &page)
}

async fn api_list(State(st): State<AppState>, caller: Caller, Q(q): Q<AssetQuery>) -> Json<Value> {
    let snap = st.snap.get();
    Json(json!({ "assets": filter(&snap, &q, &caller) }))
}

async fn api_one(
    State(st): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
) -> Result<Json<Value>, AppError> {
    let snap = st.snap.get();
    Ok(Json(json!({ "asset": visible(&snap, &caller, &code)? })))
}
