//! Signing in and out (`/login`, `/logout`), and the first administrator
//! (`/setup`, with the one-time token printed at first start).
//!
//! A sign-in answers the same, in the same time, whether the name is
//! unknown, the account disabled or locked, the password or the code
//! wrong: the hash is always verified (against a dummy for unknown names).
//! Failures are throttled per address and lock the account after
//! `[web.auth] lock_after` in a row; every failure is in the audit log.

use std::time::Instant;

use askama::Template;
use axum::extract::{FromRequest as _, Request, State};
use axum::http::HeaderMap;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;
use tocsin_access::{Secret, Totp};
use tocsin_model::{Actor, Permission, Role};
use tocsin_store::{LoginOutcome, NewUser};

use crate::access::{Via, peer, session_id, user_agent};
use crate::extract::{Caller, F, LangQuery, Q};
use crate::i18n::{Lang, T};
use crate::routes::{Need, Routes};
use crate::view::{ctx, render};
use crate::{AppError, AppState};

pub(super) fn routes() -> Routes {
    Routes::new()
        .get("/login", Need::Anyone, page)
        .post("/login", Need::Anyone, sign_in)
        .post("/logout", Need::Signed(Permission::Read), sign_out)
        .get("/setup", Need::Anyone, setup_page)
        .post("/setup", Need::Anyone, setup)
        .get("/api/v1/me", Need::Signed(Permission::Read), me)
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    t: T,
    lang: Lang,
    nav: &'static str,
    next: String,
    username: String,
    failed: bool,
    lock_minutes: i64,
}

#[derive(Debug, Default, Deserialize)]
struct LoginQuery {
    lang: Option<String>,
    #[serde(default)]
    next: String,
}

/// Only paths of this console: never another site (`//evil`, `https://…`).
fn safe_next(next: &str) -> String {
    if next.starts_with('/') && !next.starts_with("//") && !next.starts_with("/\\") {
        next.to_string()
    } else {
        "/".to_string()
    }
}

async fn page(
    State(st): State<AppState>,
    Q(q): Q<LoginQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    if st.store.user_count().await? == 0 {
        return Ok(Redirect::to("/setup").into_response());
    }
    let c = ctx(q.lang.as_deref(), &headers);
    render(
        &c,
        &LoginPage {
            t: c.t,
            lang: c.lang,
            nav: "",
            next: safe_next(&q.next),
            username: String::new(),
            failed: false,
            lock_minutes: st.access.cfg.lock_minutes,
        },
    )
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    next: String,
}

/// Why a sign-in failed; all of them answer alike.
enum Failure {
    /// Count against the account (it exists).
    Account(tocsin_store::User),
    /// No such user: nothing to lock.
    Unknown,
    /// Disabled or locked: counted per address only.
    Closed,
}

async fn sign_in(State(st): State<AppState>, req: Request) -> Result<Response, AppError> {
    let address = peer(&req);
    let headers = req.headers().clone();
    let old = session_id(&headers);
    let F(f): F<LoginForm> = F::from_request(req, &st).await?;
    let key = address.map_or_else(|| "unknown".to_string(), |a| a.to_string());
    let access = st.access.clone();
    {
        let mut t = access.by_address.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(wait) = t.check(&key, Instant::now()) {
            return Err(AppError::TooMany(wait.as_secs().div_ceil(60)));
        }
    }
    let username = f.username.trim().to_string();
    let creds = st.store.credentials(&username).await?;
    // Verify whatever the account's state, so every failure takes as long.
    let hash = creds.as_ref().map(|c| c.password_hash.clone());
    let hasher = access.hasher.clone();
    let password = f.password.clone();
    let verified = {
        let _turn = access
            .hashing
            .acquire()
            .await
            .map_err(|_| AppError::Unauthorized)?;
        tokio::task::spawn_blocking(move || hasher.verify(hash.as_deref(), &password))
            .await
            .unwrap_or(false)
    };
    let actor = Actor {
        name: if creds.is_some() {
            username.clone()
        } else {
            "anonymous".into()
        },
        user: creds.as_ref().map(|c| c.user.id),
        address,
    };
    let now = Utc::now();
    let outcome = match creds {
        None => Err(Failure::Unknown),
        Some(c) if c.user.disabled || c.user.locked_until.is_some_and(|l| l > now) => {
            Err(Failure::Closed)
        }
        Some(c) if !verified => Err(Failure::Account(c.user)),
        Some(c) => match &c.totp_secret {
            None => Ok(c.user),
            Some(hex) => {
                let step = Totp::from_hex(hex)
                    .ok()
                    .and_then(|t| t.check(&f.code, now.timestamp().max(0) as u64));
                match step {
                    Some(s) if st.store.accept_totp_step(c.user.id, s).await? => Ok(c.user),
                    _ => Err(Failure::Account(c.user)),
                }
            }
        },
    };
    let user = match outcome {
        Ok(u) => u,
        Err(why) => {
            access
                .by_address
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .fail(&key, Instant::now());
            match why {
                Failure::Account(u) => {
                    let until = now + chrono::Duration::minutes(access.cfg.lock_minutes);
                    let o = st
                        .store
                        .record_login_failure(
                            u.id,
                            &u.username,
                            &actor,
                            access.cfg.lock_after,
                            until,
                        )
                        .await?;
                    if o == LoginOutcome::Locked {
                        tracing::warn!(user = %u.username, ?address, "account locked after repeated failed sign-ins");
                    }
                }
                Failure::Unknown => {
                    st.store
                        .record_refused_login(&username, &actor, "no such user")
                        .await?;
                }
                Failure::Closed => {
                    st.store
                        .record_refused_login(&username, &actor, "account disabled or locked")
                        .await?;
                }
            }
            let c = ctx(None, &headers);
            let mut r = render(
                &c,
                &LoginPage {
                    t: c.t,
                    lang: c.lang,
                    nav: "",
                    next: safe_next(&f.next),
                    username,
                    failed: true,
                    lock_minutes: access.cfg.lock_minutes,
                },
            )?;
            *r.status_mut() = axum::http::StatusCode::UNAUTHORIZED;
            return Ok(r);
        }
    };
    access
        .by_address
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clear(&key);
    // A new id at every sign-in; the one the browser had (if any) ends.
    if let Some(o) = old {
        st.store.end_session(&o.digest(), None).await?;
    }
    let id = Secret::new();
    let csrf = Secret::new();
    st.store
        .create_session(
            &user,
            &id.digest(),
            csrf.expose(),
            &actor,
            user_agent(&headers).as_deref(),
        )
        .await?;
    let mut r = Redirect::to(&safe_next(&f.next)).into_response();
    if let Ok(v) = access.session_cookie(&id).parse() {
        r.headers_mut().insert(SET_COOKIE, v);
    }
    Ok(r)
}

async fn sign_out(State(st): State<AppState>, caller: Caller) -> Result<Response, AppError> {
    if let Via::Session { digest, .. } = &caller.via {
        st.store.end_session(digest, Some(&caller.actor)).await?;
    }
    let mut r = Redirect::to("/login").into_response();
    if let Ok(v) = st.access.clear_cookie().parse() {
        r.headers_mut().insert(SET_COOKIE, v);
    }
    Ok(r)
}

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    t: T,
    lang: Lang,
    nav: &'static str,
    error: String,
}

async fn setup_open(st: &AppState) -> Result<bool, AppError> {
    let has_token = st
        .access
        .setup
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .is_some();
    Ok(has_token && st.store.user_count().await? == 0)
}

async fn setup_page(
    State(st): State<AppState>,
    Q(q): Q<LangQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    if !setup_open(&st).await? {
        return Err(AppError::NotFound("setup".into()));
    }
    let c = ctx(q.lang.as_deref(), &headers);
    render(
        &c,
        &SetupPage {
            t: c.t,
            lang: c.lang,
            nav: "",
            error: String::new(),
        },
    )
}

#[derive(Debug, Deserialize)]
struct SetupForm {
    token: String,
    username: String,
    display_name: String,
    password: String,
}

async fn setup(
    State(st): State<AppState>,
    headers: HeaderMap,
    req: Request,
) -> Result<Response, AppError> {
    let address = peer(&req);
    let F(f): F<SetupForm> = F::from_request(req, &st).await?;
    if !setup_open(&st).await? {
        return Err(AppError::NotFound("setup".into()));
    }
    let good = st
        .access
        .setup
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .is_some_and(|s| s.same_as(f.token.trim()));
    let c = ctx(None, &headers);
    let again = |error: String| {
        render(
            &c,
            &SetupPage {
                t: c.t,
                lang: c.lang,
                nav: "",
                error,
            },
        )
    };
    if !good {
        return again(c.t.t("setup.bad_token"));
    }
    let username = f.username.trim();
    if let Err(e) = st.access.hasher.check_policy(username, &f.password) {
        return again(e.to_string());
    }
    let hash = crate::access::hash_password(&st, &f.password).await?;
    let actor = Actor {
        name: "setup".into(),
        user: None,
        address,
    };
    let made = st
        .store
        .create_user(
            &actor,
            &NewUser {
                username: username.to_string(),
                display_name: f.display_name.trim().to_string(),
                role: Role::Admin,
                agency: None,
                password_hash: hash,
            },
        )
        .await?;
    if made.is_none() {
        return again(c.t.t("users.taken"));
    }
    *st.access.setup.lock().unwrap_or_else(|e| e.into_inner()) = None;
    Ok(Redirect::to("/login").into_response())
}

/// Who the caller is, for scripts checking their token.
async fn me(caller: Caller) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({
        "user": caller.actor.name,
        "role": caller.role,
        "scope": caller.scope.agencies().map(|s| s.iter().map(|a| a.as_str().to_string()).collect::<Vec<_>>()),
    }))
}
