//! Dead letters: what the pipeline could not store, kept with the reason
//! (`/dead-letters`, `/api/v1/dead-letters`), and replayed once the cause
//! is fixed (`POST /dead-letters/{id}/replay`).

use askama::Template;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Value, json};
use tocsin_store::{DeadLetter, DeadLetterId, Replay};

use crate::extract::{Caller, LangQuery, Q};
use crate::i18n::{Lang, T};
use crate::routes::{Need, Routes};
use crate::view::{ctx, local_time, render};
use crate::{AppError, AppState};
use tocsin_model::Permission;

pub(super) fn router() -> Routes {
    Routes::new()
        .get("/dead-letters", Need::Signed(Permission::Operate), page)
        .post(
            "/dead-letters/{id}/replay",
            Need::Signed(Permission::Triage),
            replay,
        )
        .get(
            "/api/v1/dead-letters",
            Need::Signed(Permission::Operate),
            api,
        )
        .post(
            "/api/v1/dead-letters/{id}/replay",
            Need::Signed(Permission::Triage),
            api_replay,
        )
}

struct Row {
    d: DeadLetter,
    when: String,
}

#[derive(Template)]
#[template(path = "dead_letters.html")]
struct Page {
    t: T,
    lang: Lang,
    nav: &'static str,
    rows: Vec<Row>,
}

async fn page(
    State(st): State<AppState>,
    caller: Caller,
    Q(q): Q<LangQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let c = ctx(q.lang.as_deref(), &headers);
    let rows = st
        .store
        .dead_letters(&caller.scope, false, 500)
        .await?
        .into_iter()
        .map(|d| Row {
            when: local_time(d.created_at),
            d,
        })
        .collect();
    render(
        &c,
        &Page {
            t: c.t,
            lang: c.lang,
            nav: "inputs",
            rows,
        },
    )
}

async fn replay_one(st: &AppState, caller: &Caller, id: i64) -> Result<(), AppError> {
    match st
        .store
        .replay_dead_letter(&caller.scope, DeadLetterId(id), &caller.actor)
        .await
    {
        Ok(Replay::Stored) => Ok(()),
        Ok(Replay::NotFound) => Err(AppError::NotFound(format!("open dead letter {id}"))),
        // Still refused: say why, as a request the data makes impossible.
        Err(e) if !e.is_transient() => Err(AppError::BadRequest(format!(
            "dead letter {id} is still refused by the database: {e}"
        ))),
        Err(e) => Err(e.into()),
    }
}

async fn replay(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    replay_one(&st, &caller, id).await?;
    Ok(Redirect::to("/dead-letters").into_response())
}

async fn api(State(st): State<AppState>, caller: Caller) -> Result<Json<Value>, AppError> {
    let list = st.store.dead_letters(&caller.scope, false, 1000).await?;
    Ok(Json(json!({ "dead_letters": list })))
}

async fn api_replay(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Value>, AppError> {
    replay_one(&st, &caller, id).await?;
    Ok(Json(json!({ "replayed": id })))
}
