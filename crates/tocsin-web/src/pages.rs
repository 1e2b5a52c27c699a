//! The console's HTML pages.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use tocsin_model::{Agency, AgencyKind, Asset, AssetKind, Cidr, fold_vietnamese};
use tocsin_store::AuditEntry;

use crate::i18n::{Lang, T};
use crate::{AppError, AppState, Snapshot};

const PAGE: usize = 50;

/// Query string shared by the list pages.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    pub(crate) q: String,
    #[serde(default)]
    pub(crate) kind: String,
    #[serde(default)]
    pub(crate) level: String,
    #[serde(default)]
    pub(crate) page: usize,
    pub(crate) lang: Option<String>,
    #[serde(default)]
    pub(crate) ip: String,
}

pub(crate) struct Ctx {
    pub(crate) t: T,
    pub(crate) lang: Lang,
    set_cookie: bool,
}

pub(crate) fn ctx(q: &ListQuery, headers: &HeaderMap) -> Ctx {
    let lang = Lang::pick(q.lang.as_deref(), headers);
    Ctx {
        t: T { lang },
        lang,
        set_cookie: q.lang.is_some(),
    }
}

pub(crate) fn render(c: &Ctx, tpl: &impl Template) -> Result<Response, AppError> {
    let mut resp = Html(tpl.render()?).into_response();
    if c.set_cookie
        && let Ok(v) = HeaderValue::from_str(&format!(
            "lang={}; Path=/; Max-Age=31536000; SameSite=Lax",
            c.lang.code()
        ))
    {
        resp.headers_mut().insert(SET_COOKIE, v);
    }
    Ok(resp)
}

fn join_cidrs(v: &[Cidr]) -> String {
    v.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Matches a folded query against code and name, ignoring case, marks and spaces.
pub(crate) fn matches(q: &str, code: &str, name: &str) -> bool {
    q.is_empty() || fold_vietnamese(code).contains(q) || fold_vietnamese(name).contains(q)
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    t: T,
    lang: Lang,
    nav: &'static str,
    agencies: Vec<(&'static str, String, i64)>,
    assets: Vec<(&'static str, String, i64)>,
    total_agencies: i64,
    total_assets: i64,
    services: Vec<AssetRow>,
    audit: Vec<AuditEntry>,
    alert_levels: Vec<(&'static str, String, i64)>,
    events_24h: i64,
    /// (input, events, unparsed) over the last 24 hours.
    inputs_24h: Vec<(String, i64, i64)>,
    event_errors_24h: i64,
    latest: Vec<crate::alerts::AlertRow>,
}

pub(crate) async fn dashboard(
    State(st): State<AppState>,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let c = ctx(&q, &headers);
    let counts = st.store.inventory_counts().await?;
    let snap = st.snap.get();
    let agencies: Vec<_> = counts
        .agencies
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| (k.as_str(), c.t.t(&format!("kind.{k}")), *n))
        .collect();
    let assets: Vec<_> = counts
        .assets
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| (k.as_str(), c.t.t(&format!("asset.{k}")), *n))
        .collect();
    let day_ago = chrono::Utc::now() - chrono::Duration::hours(24);
    let levels = st
        .store
        .alert_levels(&tocsin_store::time_text(day_ago))
        .await?;
    let alert_levels = ["critical", "high", "medium", "low"]
        .into_iter()
        .map(|l| {
            let n = levels.iter().find(|x| x.level == l).map_or(0, |x| x.count);
            (l, c.t.t(&format!("level.{l}")), n)
        })
        .collect();
    let counts_24h = st
        .store
        .event_counts(&tocsin_store::hour_text(day_ago))
        .await?;
    let latest = crate::alerts::rows(
        &st,
        st.store
            .alerts(&tocsin_store::AlertFilter {
                limit: Some(10),
                ..Default::default()
            })
            .await?,
    );
    let page = DashboardPage {
        t: c.t,
        lang: c.lang,
        nav: "dashboard",
        total_agencies: counts.agencies.iter().map(|x| x.1).sum(),
        total_assets: counts.assets.iter().map(|x| x.1).sum(),
        agencies,
        assets,
        services: snap
            .inventory
            .assets
            .iter()
            .filter(|a| a.kind == AssetKind::Service)
            .map(|a| AssetRow::new(a, &c.t))
            .collect(),
        audit: st.store.audit_log(10).await?,
        alert_levels,
        events_24h: counts_24h.iter().map(|c| c.events).sum(),
        inputs_24h: {
            let mut by: std::collections::BTreeMap<&str, (i64, i64)> = Default::default();
            for c in &counts_24h {
                let e = by.entry(c.input.as_str()).or_default();
                e.0 += c.events;
                e.1 += c.errors;
            }
            by.into_iter()
                .map(|(k, (n, e))| (k.to_string(), n, e))
                .collect()
        },
        event_errors_24h: counts_24h.iter().map(|c| c.errors).sum(),
        latest,
    };
    render(&c, &page)
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

fn pager(base: &str, q: &ListQuery, total: usize) -> (Option<String>, Option<String>) {
    let link = |page: usize| {
        format!(
            "{base}?q={}&kind={}&level={}&page={page}",
            urlencode(&q.q),
            urlencode(&q.kind),
            urlencode(&q.level)
        )
    };
    let prev = (q.page > 0).then(|| link(q.page - 1));
    let next = ((q.page + 1) * PAGE < total).then(|| link(q.page + 1));
    (prev, next)
}

fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Agencies matching the list filters.
pub(crate) fn filter_agencies<'a>(snap: &'a Snapshot, q: &ListQuery) -> Vec<&'a Agency> {
    let needle = fold_vietnamese(&q.q);
    let kind: Option<AgencyKind> = q.kind.parse().ok();
    snap.inventory
        .agencies
        .iter()
        .filter(|a| kind.is_none_or(|k| a.kind == k))
        .filter(|a| matches(&needle, a.code.as_str(), &a.name))
        .collect()
}

/// Assets matching the list filters.
pub(crate) fn filter_assets<'a>(snap: &'a Snapshot, q: &ListQuery) -> Vec<&'a Asset> {
    let needle = fold_vietnamese(&q.q);
    let kind: Option<AssetKind> = q.kind.parse().ok();
    let level: Option<u8> = q.level.parse().ok();
    snap.inventory
        .assets
        .iter()
        .filter(|a| kind.is_none_or(|k| a.kind == k))
        .filter(|a| level.is_none_or(|l| a.level.get() == l))
        .filter(|a| {
            matches(&needle, a.code.as_str(), &a.name)
                || a.hostnames
                    .iter()
                    .any(|h| fold_vietnamese(h).contains(&needle))
        })
        .collect()
}

pub(crate) async fn agencies(
    State(st): State<AppState>,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let c = ctx(&q, &headers);
    let snap = st.snap.get();
    let all = filter_agencies(&snap, &q);
    let rows: Vec<AgencyRow> = all
        .iter()
        .skip(q.page * PAGE)
        .take(PAGE)
        .map(|a| AgencyRow {
            code: a.code.to_string(),
            name: a.name.clone(),
            kind: c.t.t(&format!("kind.{}", a.kind)),
            parent: a.parent.as_ref().map(|p| p.to_string()).unwrap_or_default(),
            ranges: join_cidrs(&a.ranges),
            assets: snap
                .inventory
                .assets
                .iter()
                .filter(|x| x.owner == a.code)
                .count(),
        })
        .collect();
    let (prev, next) = pager("/agencies", &q, all.len());
    let page = AgenciesPage {
        t: c.t,
        lang: c.lang,
        nav: "agencies",
        kinds: AgencyKind::ALL
            .iter()
            .map(|k| (k.as_str(), c.t.t(&format!("kind.{k}"))))
            .collect(),
        shown: rows.len(),
        total: all.len(),
        rows,
        q: q.q.clone(),
        kind: q.kind.clone(),
        prev,
        next,
    };
    render(&c, &page)
}

struct AssetRow {
    code: String,
    name: String,
    kind: String,
    owner: String,
    level: u8,
    addresses: String,
    urls: String,
}

impl AssetRow {
    fn new(a: &Asset, t: &T) -> Self {
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

pub(crate) async fn agency(
    State(st): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let c = ctx(&q, &headers);
    let snap = st.snap.get();
    let Some(a) = snap.inventory.agency(&code) else {
        return not_found_page(&c, &format!("/agencies/{code}"));
    };
    let inv = &snap.inventory;
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

pub(crate) async fn assets(
    State(st): State<AppState>,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let c = ctx(&q, &headers);
    let snap = st.snap.get();
    let all = filter_assets(&snap, &q);
    let rows: Vec<AssetRow> = all
        .iter()
        .skip(q.page * PAGE)
        .take(PAGE)
        .map(|a| AssetRow::new(a, &c.t))
        .collect();
    let (prev, next) = pager("/assets", &q, all.len());
    let page = AssetsPage {
        t: c.t,
        lang: c.lang,
        nav: "assets",
        kinds: AssetKind::ALL
            .iter()
            .map(|k| (k.as_str(), c.t.t(&format!("asset.{k}"))))
            .collect(),
        shown: rows.len(),
        total: all.len(),
        rows,
        q: q.q.clone(),
        kind: q.kind.clone(),
        level: q.level.clone(),
        prev,
        next,
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

pub(crate) async fn asset(
    State(st): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let c = ctx(&q, &headers);
    let snap = st.snap.get();
    let Some(a) = snap.inventory.asset(&code) else {
        return not_found_page(&c, &format!("/assets/{code}"));
    };
    let page = AssetPage {
        t: c.t,
        lang: c.lang,
        nav: "assets",
        kind: c.t.t(&format!("asset.{}", a.kind)),
        owner_name: snap
            .inventory
            .agency(a.owner.as_str())
            .map_or_else(|| a.owner.to_string(), |o| o.name.clone()),
        addresses: join_cidrs(&a.addresses),
        a,
    };
    render(&c, &page)
}

#[derive(Template)]
#[template(path = "lookup.html")]
struct LookupPage {
    t: T,
    lang: Lang,
    nav: &'static str,
    ip: String,
    searched: bool,
    error: Option<String>,
    agency: Option<(String, String)>,
    asset: Option<(String, String)>,
}

/// A record's (code, name).
pub(crate) type CodeName = (String, String);

/// (agency code, name), (asset code, name) for an address.
pub(crate) fn attribute(
    snap: &Arc<Snapshot>,
    ip: std::net::IpAddr,
) -> (Option<CodeName>, Option<CodeName>) {
    let hit = snap.attributor.lookup(ip);
    let agency = hit
        .agency
        .and_then(|i| snap.inventory.agencies.get(i))
        .map(|a| (a.code.to_string(), a.name.clone()));
    let asset = hit
        .asset
        .and_then(|i| snap.inventory.assets.get(i))
        .map(|a| (a.code.to_string(), a.name.clone()));
    (agency, asset)
}

pub(crate) async fn lookup(
    State(st): State<AppState>,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let c = ctx(&q, &headers);
    let ip = q.ip.trim().to_string();
    let mut page = LookupPage {
        t: c.t,
        lang: c.lang,
        nav: "lookup",
        searched: false,
        error: None,
        agency: None,
        asset: None,
        ip: ip.clone(),
    };
    if !ip.is_empty() {
        match ip.parse() {
            Ok(addr) => {
                let (agency, asset) = attribute(&st.snap.get(), addr);
                page.searched = true;
                page.agency = agency;
                page.asset = asset;
            }
            Err(_) => page.error = Some(ip),
        }
    }
    render(&c, &page)
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFoundPage {
    t: T,
    lang: Lang,
    nav: &'static str,
    what: String,
}

fn not_found_page(c: &Ctx, what: &str) -> Result<Response, AppError> {
    let page = NotFoundPage {
        t: c.t,
        lang: c.lang,
        nav: "",
        what: what.to_string(),
    };
    let mut r = render(c, &page)?;
    *r.status_mut() = StatusCode::NOT_FOUND;
    Ok(r)
}

pub(crate) async fn not_found(
    uri: axum::http::Uri,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    if uri.path().starts_with("/api/") {
        return Err(AppError::NotFound(uri.path().to_string()));
    }
    not_found_page(&ctx(&q, &headers), uri.path())
}

#[derive(rust_embed::RustEmbed)]
#[folder = "assets/"]
struct Assets;

pub(crate) async fn static_file(Path(file): Path<String>) -> Response {
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

/// Rules matching the list filters (`q` in title, id or tags; `level`).
pub(crate) fn filter_rules<'a>(
    rules: &'a [crate::RuleInfo],
    q: &ListQuery,
) -> Vec<&'a crate::RuleInfo> {
    let needle = fold_vietnamese(&q.q);
    rules
        .iter()
        .filter(|r| q.level.is_empty() || r.level == q.level)
        .filter(|r| {
            needle.is_empty()
                || fold_vietnamese(&r.title).contains(&needle)
                || fold_vietnamese(&r.id).contains(&needle)
                || r.tags.iter().any(|t| fold_vietnamese(t).contains(&needle))
        })
        .collect()
}

#[derive(Template)]
#[template(path = "rules.html")]
struct RulesPage<'a> {
    t: T,
    lang: Lang,
    nav: &'static str,
    q: String,
    level: String,
    levels: Vec<(&'static str, String, usize)>,
    rows: Vec<&'a crate::RuleInfo>,
    total: usize,
}

pub(crate) async fn rules(
    State(st): State<AppState>,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let c = ctx(&q, &headers);
    let rows = filter_rules(&st.rules, &q);
    let levels = ["critical", "high", "medium", "low", "informational"]
        .into_iter()
        .map(|l| {
            (
                l,
                c.t.t(&format!("level.{l}")),
                st.rules.iter().filter(|r| r.level == l).count(),
            )
        })
        .collect();
    let page = RulesPage {
        t: c.t,
        lang: c.lang,
        nav: "rules",
        q: q.q.clone(),
        level: q.level.clone(),
        levels,
        total: st.rules.len(),
        rows,
    };
    render(&c, &page)
}
