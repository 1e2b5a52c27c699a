//! Which agency and asset an address belongs to: `/lookup` and
//! `/api/v1/attribution/{ip}` — the pipeline's attribution policy, read
//! through the caller's scope.

use askama::Template;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::extract::{Caller, Q};
use crate::i18n::{Lang, T};
use crate::routes::{Need, Routes};
use crate::view::{ctx, render};
use crate::{AppError, AppState, Snapshot};
use tocsin_model::Permission;

pub(super) fn router() -> Routes {
    Routes::new()
        .get("/lookup", Need::Signed(Permission::Read), page)
        .get(
            "/api/v1/attribution/{ip}",
            Need::Signed(Permission::Read),
            api,
        )
}

/// A record's (code, name).
type CodeName = (String, String);

/// (agency code, name), (asset code, name) for an address, as far as the
/// caller may see them.
fn attribute(
    snap: &Snapshot,
    caller: &Caller,
    ip: std::net::IpAddr,
) -> (Option<CodeName>, Option<CodeName>) {
    let (agency, asset) = snap.policy.lookup(ip);
    let agency = agency.filter(|a| caller.scope.allows(Some(&a.code)));
    let asset = asset.filter(|a| caller.scope.allows(Some(&a.owner)));
    (
        agency.map(|a| (a.code.to_string(), a.name.clone())),
        asset.map(|a| (a.code.to_string(), a.name.clone())),
    )
}

#[derive(Debug, Default, Deserialize)]
struct LookupQuery {
    #[serde(default)]
    ip: String,
    lang: Option<String>,
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
    agency: Option<CodeName>,
    asset: Option<CodeName>,
}

async fn page(
    State(st): State<AppState>,
    caller: Caller,
    Q(q): Q<LookupQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let c = ctx(q.lang.as_deref(), &headers);
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
                let (agency, asset) = attribute(&st.snap.get(), &caller, addr);
                page.searched = true;
                page.agency = agency;
                page.asset = asset;
            }
            Err(_) => page.error = Some(ip),
        }
    }
    render(&c, &page)
}

async fn api(
    State(st): State<AppState>,
    caller: Caller,
    Path(ip): Path<String>,
) -> Result<Json<Value>, AppError> {
    let addr: std::net::IpAddr = ip
        .parse()
        .map_err(|_| AppError::BadRequest(format!("`{ip}` is not an IP address")))?;
    let (agency, asset) = attribute(&st.snap.get(), &caller, addr);
    let pair = |p: Option<CodeName>| p.map(|(code, name)| json!({ "code": code, "name": name }));
    Ok(Json(
        json!({ "ip": addr.to_string(), "agency": pair(agency), "asset": pair(asset) }),
    ))
}
