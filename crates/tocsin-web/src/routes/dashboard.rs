//! `/`: the province at a glance — alerts of the last day, events per
//! input, the inventory, the services, recent changes.

use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use tocsin_model::{AgencyKind, AssetKind, Level};
use tocsin_store::{AlertFilter, AuditEntry};

use super::AlertRow;
use super::assets::AssetRow;
use crate::extract::{Caller, LangQuery, Q};
use crate::i18n::{Lang, T};
use crate::routes::{Need, Routes};
use crate::view::{ctx, render};
use crate::{AppError, AppState};
use tocsin_model::Permission;

pub(super) fn router() -> Routes {
    Routes::new().get("/", Need::Signed(Permission::Read), dashboard)
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    t: T,
    lang: Lang,
    nav: &'static str,
    agencies: Vec<(&'static str, String, usize)>,
    assets: Vec<(&'static str, String, usize)>,
    total_agencies: usize,
    total_assets: usize,
    services: Vec<AssetRow>,
    audit: Vec<AuditEntry>,
    alert_levels: Vec<(&'static str, String, i64)>,
    events_24h: i64,
    /// (input, events, unparsed) over the last 24 hours.
    inputs_24h: Vec<(String, i64, i64)>,
    event_errors_24h: i64,
    latest: Vec<AlertRow>,
}

async fn dashboard(
    State(st): State<AppState>,
    caller: Caller,
    Q(q): Q<LangQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let c = ctx(q.lang.as_deref(), &headers);
    let snap = st.snap.get();
    let inv = snap.inventory();
    let scope = &caller.scope;
    let agencies: Vec<_> = AgencyKind::ALL
        .iter()
        .map(|k| {
            let n = inv
                .agencies
                .iter()
                .filter(|a| a.kind == *k && scope.allows(Some(&a.code)))
                .count();
            (k.as_str(), c.t.t(&format!("kind.{k}")), n)
        })
        .filter(|x| x.2 > 0)
        .collect();
    let assets: Vec<_> = AssetKind::ALL
        .iter()
        .map(|k| {
            let n = inv
                .assets
                .iter()
                .filter(|a| a.kind == *k && scope.allows(Some(&a.owner)))
                .count();
            (k.as_str(), c.t.t(&format!("asset.{k}")), n)
        })
        .filter(|x| x.2 > 0)
        .collect();
    let day_ago = chrono::Utc::now() - chrono::Duration::hours(24);
    let levels = st.store.alert_levels(scope, day_ago).await?;
    let alert_levels = [Level::Critical, Level::High, Level::Medium, Level::Low]
        .into_iter()
        .map(|l| {
            let n = levels.iter().find(|x| x.level == l).map_or(0, |x| x.count);
            (l.as_str(), c.t.t(&format!("level.{l}")), n)
        })
        .collect();
    let counts_24h = st.store.event_counts(scope, day_ago).await?;
    let latest = AlertRow::all(
        &st,
        &c.t,
        st.store
            .alerts(
                scope,
                &AlertFilter {
                    limit: Some(10),
                    ..Default::default()
                },
            )
            .await?,
    );
    let page = DashboardPage {
        t: c.t,
        lang: c.lang,
        nav: "dashboard",
        total_agencies: agencies.iter().map(|x| x.2).sum(),
        total_assets: assets.iter().map(|x| x.2).sum(),
        agencies,
        assets,
        services: inv
            .assets
            .iter()
            .filter(|a| a.kind == AssetKind::Service && scope.allows(Some(&a.owner)))
            .map(|a| AssetRow::new(a, &c.t))
            .collect(),
        // The audit log is the center's; an agency's view shows none.
        audit: if scope.is_all() {
            st.store.audit_log(10).await?
        } else {
            Vec::new()
        },
        alert_levels,
        events_24h: counts_24h.iter().map(|c| c.events).sum(),
        inputs_24h: super::per_input(&counts_24h)
            .into_iter()
            .map(|(k, (n, e))| (k, n, e))
            .collect(),
        event_errors_24h: counts_24h.iter().map(|c| c.errors).sum(),
        latest,
    };
    render(&c, &page)
}
