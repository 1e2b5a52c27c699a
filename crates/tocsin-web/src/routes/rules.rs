//! The detection rules in force: `/rules` and `/api/v1/rules`.

use askama::Template;
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use tocsin_model::{Level, fold_vietnamese};

use crate::extract::{Q, empty_none};
use crate::i18n::{Lang, T};
use crate::routes::{Need, Routes};
use crate::view::{ctx, render};
use crate::{AppError, AppState, RuleInfo};
use tocsin_model::Permission;

pub(super) fn router() -> Routes {
    Routes::new()
        .get("/rules", Need::Signed(Permission::Operate), page)
        .get("/api/v1/rules", Need::Signed(Permission::Operate), api)
}

/// `?q=&level=&lang=`
#[derive(Debug, Default, Deserialize)]
struct RuleQuery {
    #[serde(default)]
    q: String,
    #[serde(default, deserialize_with = "empty_none")]
    level: Option<Level>,
    lang: Option<String>,
}

/// Rules matching the filters (`q` in title, id or tags; `level`).
fn filter<'a>(rules: &'a [RuleInfo], q: &RuleQuery) -> Vec<&'a RuleInfo> {
    let needle = fold_vietnamese(&q.q);
    rules
        .iter()
        .filter(|r| q.level.is_none_or(|l| r.level == l))
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
    rows: Vec<&'a RuleInfo>,
    total: usize,
}

async fn page(
    State(st): State<AppState>,
    Q(q): Q<RuleQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let c = ctx(q.lang.as_deref(), &headers);
    let rows = filter(&st.rules, &q);
    let levels = Level::ALL
        .iter()
        .rev()
        .map(|l| {
            (
                l.as_str(),
                c.t.t(&format!("level.{l}")),
                st.rules.iter().filter(|r| r.level == *l).count(),
            )
        })
        .collect();
    let page = RulesPage {
        t: c.t,
        lang: c.lang,
        nav: "rules",
        q: q.q.clone(),
        level: q.level.map_or("", Level::as_str).to_string(),
        levels,
        total: st.rules.len(),
        rows,
    };
    render(&c, &page)
}

async fn api(State(st): State<AppState>, Q(q): Q<RuleQuery>) -> Json<Value> {
    Json(json!({ "rules": filter(&st.rules, &q) }))
}
