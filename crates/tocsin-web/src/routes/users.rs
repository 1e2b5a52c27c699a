//! Users, for administrators (`/users`, `/api/v1/users`): list, create,
//! disable and enable, set a new password. Every change is audited by the
//! store.

use askama::Template;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tocsin_model::{AgencyCode, Permission, Role, UserId};
use tocsin_store::{NewUser, User};

use crate::extract::{Caller, F, LangQuery, Q};
use crate::i18n::{Lang, T};
use crate::routes::{Need, Routes};
use crate::view::{ctx, local_time, render};
use crate::{AppError, AppState};

const NEED: Need = Need::Signed(Permission::ManageUsers);

pub(super) fn routes() -> Routes {
    Routes::new()
        .get("/users", NEED, page)
        .post("/users", NEED, create)
        .post("/users/{id}/disable", NEED, disable)
        .post("/users/{id}/enable", NEED, enable)
        .post("/users/{id}/password", NEED, reset_password)
        .get("/api/v1/users", NEED, api_list)
}

struct Row {
    u: User,
    role: String,
    last: String,
}

#[derive(Template)]
#[template(path = "users.html")]
struct Page {
    t: T,
    lang: Lang,
    nav: &'static str,
    rows: Vec<Row>,
    roles: Vec<(&'static str, String)>,
    agencies: Vec<(String, String)>,
    error: String,
    done: String,
}

async fn show(
    st: &AppState,
    lang: Option<&str>,
    headers: &HeaderMap,
    error: String,
    done: String,
) -> Result<Response, AppError> {
    let c = ctx(lang, headers);
    let rows = st
        .store
        .users()
        .await?
        .into_iter()
        .map(|u| Row {
            role: c.t.t(&format!("role.{}", u.role.as_str())),
            last: u.last_login_at.map(local_time).unwrap_or_default(),
            u,
        })
        .collect();
    let snap = st.snap.get();
    let agencies = snap
        .inventory()
        .agencies
        .iter()
        .map(|a| (a.code.as_str().to_string(), a.name.clone()))
        .collect();
    let roles = Role::ALL
        .iter()
        .map(|r| (r.as_str(), c.t.t(&format!("role.{}", r.as_str()))))
        .collect();
    let mut r = render(
        &c,
        &Page {
            t: c.t,
            lang: c.lang,
            nav: "users",
            rows,
            roles,
            agencies,
            error: error.clone(),
            done,
        },
    )?;
    if !error.is_empty() {
        *r.status_mut() = axum::http::StatusCode::BAD_REQUEST;
    }
    Ok(r)
}

async fn page(
    State(st): State<AppState>,
    Q(q): Q<LangQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    show(
        &st,
        q.lang.as_deref(),
        &headers,
        String::new(),
        String::new(),
    )
    .await
}

#[derive(Debug, Deserialize)]
struct NewUserForm {
    username: String,
    #[serde(default)]
    display_name: String,
    role: Role,
    #[serde(default)]
    agency: String,
    password: String,
}

/// The form's agency, if one was chosen.
fn agency_of(f: &NewUserForm) -> Option<AgencyCode> {
    let a = f.agency.trim();
    (!a.is_empty()).then(|| AgencyCode(a.to_string()))
}

/// Checks a new user's fields; the error is for people.
fn check_new(st: &AppState, f: &NewUserForm) -> Result<(), String> {
    let name = f.username.trim();
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_alphanumeric() || "._-@".contains(c))
    {
        return Err("user names are letters, digits and . _ - @ (at most 64)".into());
    }
    match (f.role.is_agency_bound(), agency_of(f)) {
        (true, None) => return Err("an agency contact needs an agency".into()),
        (_, Some(a)) if st.snap.get().inventory().agency(a.as_str()).is_none() => {
            return Err(format!("no agency {a}"));
        }
        _ => {}
    }
    st.access
        .hasher
        .check_policy(name, &f.password)
        .map_err(|e| e.to_string())
}

async fn create(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    F(f): F<NewUserForm>,
) -> Result<Response, AppError> {
    if let Err(e) = check_new(&st, &f) {
        return show(&st, None, &headers, e, String::new()).await;
    }
    let u = NewUser {
        username: f.username.trim().to_string(),
        display_name: if f.display_name.trim().is_empty() {
            f.username.trim().to_string()
        } else {
            f.display_name.trim().to_string()
        },
        role: f.role,
        agency: agency_of(&f),
        password_hash: crate::access::hash_password(&st, &f.password).await?,
    };
    match st.store.create_user(&caller.actor, &u).await? {
        Some(_) => show(&st, None, &headers, String::new(), u.username).await,
        None => {
            let c = ctx(None, &headers);
            show(&st, None, &headers, c.t.t("users.taken"), String::new()).await
        }
    }
}

async fn set_disabled(
    st: &AppState,
    caller: &Caller,
    id: i64,
    disabled: bool,
) -> Result<Response, AppError> {
    if caller.actor.user == Some(UserId(id)) && disabled {
        return Err(AppError::BadRequest(
            "you cannot disable your own account".into(),
        ));
    }
    if !st
        .store
        .set_user_disabled(&caller.actor, UserId(id), disabled)
        .await?
    {
        return Err(AppError::NotFound(format!("user {id}")));
    }
    Ok(Redirect::to("/users").into_response())
}

async fn disable(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    set_disabled(&st, &caller, id, true).await
}

async fn enable(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    set_disabled(&st, &caller, id, false).await
}

#[derive(Debug, Deserialize)]
struct PasswordForm {
    password: String,
}

async fn reset_password(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<i64>,
    F(f): F<PasswordForm>,
) -> Result<Response, AppError> {
    let Some(u) = st.store.user(UserId(id)).await? else {
        return Err(AppError::NotFound(format!("user {id}")));
    };
    if let Err(e) = st.access.hasher.check_policy(&u.username, &f.password) {
        return show(&st, None, &headers, e.to_string(), String::new()).await;
    }
    let h = crate::access::hash_password(&st, &f.password).await?;
    st.store.set_password(&caller.actor, u.id, &h).await?;
    show(&st, None, &headers, String::new(), u.username).await
}

async fn api_list(State(st): State<AppState>) -> Result<Json<Value>, AppError> {
    Ok(Json(json!({ "users": st.store.users().await? })))
}
