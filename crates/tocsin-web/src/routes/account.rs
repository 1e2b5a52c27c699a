//! One's own account (`/account`): change the password, turn the TOTP
//! second factor on or off, make and revoke personal API tokens (shown
//! once; only their digest is kept).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;
use tocsin_access::{ApiToken, Secret, Totp};
use tocsin_model::{Permission, Role};
use tocsin_store::{ApiTokenInfo, User};

use crate::extract::{Caller, F, LangQuery, Q, empty_none};
use crate::i18n::{Lang, T};
use crate::routes::{Need, Routes};
use crate::view::{ctx, local_time, render};
use crate::{AppError, AppState};

const NEED: Need = Need::Signed(Permission::Read);

pub(super) fn routes() -> Routes {
    Routes::new()
        .get("/account", NEED, page)
        .post("/account/password", NEED, change_password)
        .post("/account/totp", NEED, totp_begin)
        .post("/account/totp/confirm", NEED, totp_confirm)
        .post("/account/totp/off", NEED, totp_off)
        .post("/account/tokens", NEED, create_token)
        .post("/account/tokens/{id}/revoke", NEED, revoke_token)
}

struct TokenRow {
    tk: ApiTokenInfo,
    created: String,
    expires: String,
    role: String,
}

#[derive(Template)]
#[template(path = "account.html")]
struct Page {
    t: T,
    lang: Lang,
    nav: &'static str,
    user: User,
    role: String,
    tokens: Vec<TokenRow>,
    roles: Vec<(&'static str, String)>,
    /// A message for people (an error or what was done).
    message: String,
    /// A token just made, shown this once.
    new_token: String,
    /// A TOTP secret being set up: (hex, base32, otpauth link).
    totp_setup: Option<(String, String, String)>,
}

/// The caller's own user (sessions and tokens both name one).
async fn me(st: &AppState, caller: &Caller) -> Result<User, AppError> {
    let id = caller.actor.user.ok_or(AppError::Unauthorized)?;
    st.store.user(id).await?.ok_or(AppError::Unauthorized)
}

async fn show(
    st: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    lang: Option<&str>,
    message: String,
    new_token: String,
    totp_setup: Option<(String, String, String)>,
) -> Result<Response, AppError> {
    let c = ctx(lang, headers);
    let user = me(st, caller).await?;
    let tokens = st
        .store
        .tokens_of(user.id)
        .await?
        .into_iter()
        .map(|tk| TokenRow {
            created: local_time(tk.created_at),
            expires: tk.expires_at.map(local_time).unwrap_or_default(),
            role: c.t.t(&format!("role.{}", tk.role.as_str())),
            tk,
        })
        .collect();
    let roles = Role::ALL
        .iter()
        .filter(|r| user.role.covers(**r))
        .map(|r| (r.as_str(), c.t.t(&format!("role.{}", r.as_str()))))
        .collect();
    render(
        &c,
        &Page {
            t: c.t,
            lang: c.lang,
            nav: "account",
            role: c.t.t(&format!("role.{}", user.role.as_str())),
            user,
            tokens,
            roles,
            message,
            new_token,
            totp_setup,
        },
    )
}

async fn page(
    State(st): State<AppState>,
    caller: Caller,
    Q(q): Q<LangQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    show(
        &st,
        &caller,
        &headers,
        q.lang.as_deref(),
        String::new(),
        String::new(),
        None,
    )
    .await
}

#[derive(Debug, Deserialize)]
struct PasswordForm {
    current: String,
    password: String,
}

async fn change_password(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    F(f): F<PasswordForm>,
) -> Result<Response, AppError> {
    let user = me(&st, &caller).await?;
    let creds = st
        .store
        .credentials(&user.username)
        .await?
        .ok_or(AppError::Unauthorized)?;
    let hasher = st.access.hasher.clone();
    let (cur, new) = (f.current.clone(), f.password.clone());
    let name = user.username.clone();
    let result = tokio::task::spawn_blocking(move || {
        if !hasher.verify(Some(&creds.password_hash), &cur) {
            return Ok(None);
        }
        hasher
            .check_policy(&name, &new)
            .map_err(|e| e.to_string())?;
        hasher.hash(&new).map(Some).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| AppError::BadRequest(e.to_string()))?;
    let c = ctx(None, &headers);
    let msg = match result {
        Ok(None) => c.t.t("account.wrong_current"),
        Err(e) => e,
        Ok(Some(h)) => {
            st.store.set_password(&caller.actor, user.id, &h).await?;
            // Every session of the account ended with the change, this one too.
            return Ok(Redirect::to("/login").into_response());
        }
    };
    show(&st, &caller, &headers, None, msg, String::new(), None).await
}

async fn totp_begin(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let user = me(&st, &caller).await?;
    let t = Totp::generate().map_err(|e| AppError::BadRequest(e.to_string()))?;
    let setup = (
        t.secret_hex(),
        t.secret_base32(),
        t.url("Tocsin", &user.username),
    );
    show(
        &st,
        &caller,
        &headers,
        None,
        String::new(),
        String::new(),
        Some(setup),
    )
    .await
}

#[derive(Debug, Deserialize)]
struct TotpConfirm {
    secret: String,
    code: String,
}

async fn totp_confirm(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    F(f): F<TotpConfirm>,
) -> Result<Response, AppError> {
    let user = me(&st, &caller).await?;
    let t = Totp::from_hex(&f.secret).map_err(|e| AppError::BadRequest(e.to_string()))?;
    let c = ctx(None, &headers);
    if t.check(&f.code, Utc::now().timestamp().max(0) as u64)
        .is_none()
    {
        let setup = (
            t.secret_hex(),
            t.secret_base32(),
            t.url("Tocsin", &user.username),
        );
        return show(
            &st,
            &caller,
            &headers,
            None,
            c.t.t("account.totp_wrong"),
            String::new(),
            Some(setup),
        )
        .await;
    }
    st.store
        .set_totp(&caller.actor, user.id, Some(&t.secret_hex()))
        .await?;
    show(
        &st,
        &caller,
        &headers,
        None,
        c.t.t("account.totp_on"),
        String::new(),
        None,
    )
    .await
}

async fn totp_off(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let user = me(&st, &caller).await?;
    st.store.set_totp(&caller.actor, user.id, None).await?;
    show(
        &st,
        &caller,
        &headers,
        None,
        String::new(),
        String::new(),
        None,
    )
    .await
}

#[derive(Debug, Deserialize)]
struct TokenForm {
    name: String,
    role: Role,
    #[serde(default, deserialize_with = "empty_none")]
    days: Option<i64>,
}

async fn create_token(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    F(f): F<TokenForm>,
) -> Result<Response, AppError> {
    let user = me(&st, &caller).await?;
    if !user.role.covers(f.role) {
        return Err(AppError::Forbidden(
            "a token cannot have a stronger role than its owner".into(),
        ));
    }
    let secret = Secret::new();
    let expires = f
        .days
        .filter(|d| *d > 0)
        .map(|d| Utc::now() + chrono::Duration::days(d.min(3650)));
    let name = f.name.trim().chars().take(100).collect::<String>();
    let id = st
        .store
        .create_token(
            &caller.actor,
            user.id,
            &name,
            &secret.digest(),
            f.role,
            user.agency.as_ref(),
            expires,
        )
        .await?;
    let text = ApiToken { id, secret }.text();
    show(&st, &caller, &headers, None, String::new(), text, None).await
}

async fn revoke_token(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let user = me(&st, &caller).await?;
    if !st
        .store
        .revoke_token(&caller.actor, id, Some(user.id))
        .await?
    {
        return Err(AppError::NotFound(format!("token {id}")));
    }
    Ok(Redirect::to("/account").into_response())
}
