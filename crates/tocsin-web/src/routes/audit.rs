//! The audit log, for auditors and administrators (`/audit`, its CSV export
//! `/audit.csv`, `/api/v1/audit`): every change with its actor, address,
//! object, before and after, and whether the hash chain is whole.

use askama::Template;
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tocsin_model::Permission;
use tocsin_store::{AuditEntry, AuditVerdict};

use crate::extract::Q;
use crate::i18n::{Lang, T};
use crate::routes::{Need, Routes};
use crate::view::{ctx, local_time, render};
use crate::{AppError, AppState};

const NEED: Need = Need::Signed(Permission::Audit);

pub(super) fn routes() -> Routes {
    Routes::new()
        .get("/audit", NEED, page)
        .get("/audit.csv", NEED, csv)
        .get("/api/v1/audit", NEED, api)
}

#[derive(Debug, Default, Deserialize)]
struct AuditQuery {
    lang: Option<String>,
    #[serde(default)]
    limit: Option<i64>,
}

struct Row {
    e: AuditEntry,
    when: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct Page {
    t: T,
    lang: Lang,
    nav: &'static str,
    rows: Vec<Row>,
    verdict: AuditVerdict,
}

async fn page(
    State(st): State<AppState>,
    Q(q): Q<AuditQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let c = ctx(q.lang.as_deref(), &headers);
    let rows = st
        .store
        .audit_log(q.limit.unwrap_or(500).clamp(1, 10_000))
        .await?
        .into_iter()
        .map(|e| Row {
            when: local_time(e.at),
            e,
        })
        .collect();
    let verdict = st.store.verify_audit().await?;
    render(
        &c,
        &Page {
            t: c.t,
            lang: c.lang,
            nav: "audit",
            rows,
            verdict,
        },
    )
}

/// One CSV field, quoted when it must be; a leading `=`, `+`, `-` or `@`
/// is prefixed with `'` so a spreadsheet does not run it as a formula.
fn field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

async fn csv(State(st): State<AppState>) -> Result<Response, AppError> {
    let mut out = String::from("seq,at,actor,address,action,object,before,after,detail\n");
    let mut all = st.store.audit_log(i64::MAX).await?;
    all.reverse();
    for e in &all {
        let cols = [
            e.seq.to_string(),
            e.at.to_rfc3339(),
            e.actor.clone(),
            e.address.clone().unwrap_or_default(),
            e.action.clone(),
            e.object.clone(),
            e.before.clone().unwrap_or_default(),
            e.after.clone().unwrap_or_default(),
            e.detail.clone(),
        ];
        out.push_str(&cols.iter().map(|c| field(c)).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                CONTENT_DISPOSITION,
                "attachment; filename=\"tocsin-audit.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}

async fn api(State(st): State<AppState>, Q(q): Q<AuditQuery>) -> Result<Json<Value>, AppError> {
    let entries = st
        .store
        .audit_log(q.limit.unwrap_or(1000).clamp(1, 100_000))
        .await?;
    let verdict = st.store.verify_audit().await?;
    Ok(Json(json!({ "entries": entries, "chain": verdict })))
}

#[cfg(test)]
mod tests {
    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(super::field("a,b"), "\"a,b\"");
        assert_eq!(
            super::field("=HYPERLINK(\"x\")"),
            "\"'=HYPERLINK(\"\"x\"\")\""
        );
        assert_eq!(super::field("Sở Y tế"), "Sở Y tế");
    }
}
