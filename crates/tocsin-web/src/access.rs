//! The access layer: who is asking (a session cookie, a personal API token,
//! or nobody), whether they may, and what every response carries for it.
//!
//! ```text
//! request ─► Host allowed? ─► caller from cookie / Bearer token / anonymous
//!         ─► unsafe method: Origin or Referer of this host, and the session's
//!            CSRF token (form field `_csrf` or header `X-CSRF-Token`)
//!         ─► the route's Need (routes::Routes) ─► handler, through caller.scope
//! response ◄─ security headers; on pages, the signed-in bar and every form's
//!            CSRF field filled in here, so no handler can forget them
//! ```
//!
//! Sessions live in the store (only the SHA-256 of their id), with an idle
//! and an absolute timeout; the id is new at every sign-in. Cookies are
//! `HttpOnly`, `SameSite=Strict`, and `Secure` when the console serves TLS
//! or is told it sits behind a proxy that does.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{
    AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, COOKIE, HOST, ORIGIN, REFERER, USER_AGENT,
};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use tocsin_access::{ApiToken, PasswordConfig, PasswordHasher, Secret, Throttle, ThrottleConfig};
use tocsin_model::{Actor, Permission, Role, Scope};

use crate::extract::Caller;
use crate::{AppError, AppState};

/// The session cookie's name.
pub(crate) const COOKIE_NAME: &str = "tocsin_session";

/// Largest form body read to find its CSRF field (the console's forms are
/// a few hundred bytes).
const MAX_FORM: usize = 64 * 1024;

/// Sign-in and session settings (`[web.auth]`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// A session unused this long ends (default 30 minutes).
    pub idle_minutes: i64,
    /// A session ends this long after sign-in, used or not (default 12 h).
    pub absolute_hours: i64,
    /// Failed sign-ins in a row that lock an account (default 5).
    pub lock_after: i64,
    /// How long a locked account waits (default 15 minutes).
    pub lock_minutes: i64,
    /// Failed sign-ins allowed per address (default 20 per 15 minutes).
    pub per_address: ThrottleConfig,
    /// Password hashing and policy.
    pub password: PasswordConfig,
    /// Host names (with port) the console answers to; others get 421,
    /// which defeats DNS rebinding. Empty: the loopback names of the
    /// listening port when it listens on loopback, anything otherwise.
    pub hosts: Vec<String>,
    /// Mark cookies `Secure` although this process serves plain HTTP: set
    /// it when a reverse proxy in front terminates TLS.
    pub behind_tls_proxy: bool,
    /// A token Prometheus sends (`Authorization: Bearer …`) to read
    /// `/metrics` without a user; without one, only signed-in staff who may
    /// operate read it.
    pub metrics_token: Option<tocsin_model::Secret>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            idle_minutes: 30,
            absolute_hours: 12,
            lock_after: 5,
            lock_minutes: 15,
            per_address: ThrottleConfig {
                max_failures: 20,
                window_secs: 900,
                max_keys: 100_000,
            },
            password: PasswordConfig::default(),
            hosts: Vec::new(),
            behind_tls_proxy: false,
            metrics_token: None,
        }
    }
}

/// What the layer needs at run time.
pub(crate) struct Access {
    pub(crate) cfg: AuthConfig,
    pub(crate) hasher: Arc<PasswordHasher>,
    /// Failures per address.
    pub(crate) by_address: Mutex<Throttle>,
    /// The one-time token that creates the first administrator, while no
    /// user exists.
    pub(crate) setup: Mutex<Option<Secret>>,
    /// Argon2 runs at most this many at once (each takes its memory).
    pub(crate) hashing: tokio::sync::Semaphore,
    secure: bool,
    hosts: Vec<String>,
    metrics_token: Option<String>,
}

/// The configuration could not be made into the access layer.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// Bad Argon2 parameters.
    #[error("[web.auth.password]: {0}")]
    Password(#[from] tocsin_access::PasswordError),
}

impl Access {
    pub(crate) fn new(
        cfg: &AuthConfig,
        listen: SocketAddr,
        tls: bool,
    ) -> Result<Access, AccessError> {
        let hosts = if cfg.hosts.is_empty() && listen.ip().is_loopback() {
            let p = listen.port();
            vec![
                format!("127.0.0.1:{p}"),
                format!("localhost:{p}"),
                format!("[::1]:{p}"),
            ]
        } else {
            cfg.hosts.iter().map(|h| h.to_ascii_lowercase()).collect()
        };
        let metrics_token = cfg.metrics_token.as_ref().map(|s| s.expose().to_string());
        Ok(Access {
            hasher: Arc::new(cfg.password.build()?),
            by_address: Mutex::new(cfg.per_address.build()),
            setup: Mutex::new(None),
            hashing: tokio::sync::Semaphore::new(2),
            secure: tls || cfg.behind_tls_proxy,
            hosts,
            metrics_token,
            cfg: cfg.clone(),
        })
    }

    /// The `Set-Cookie` value for a new session id.
    pub(crate) fn session_cookie(&self, id: &Secret) -> String {
        format!(
            "{COOKIE_NAME}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
            id.expose(),
            self.cfg.absolute_hours.max(1) * 3600,
            if self.secure { "; Secure" } else { "" }
        )
    }

    /// The `Set-Cookie` value that removes the session cookie.
    pub(crate) fn clear_cookie(&self) -> String {
        format!(
            "{COOKIE_NAME}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
            if self.secure { "; Secure" } else { "" }
        )
    }

    fn host_allowed(&self, host: Option<&str>) -> bool {
        self.hosts.is_empty()
            || host.is_some_and(|h| self.hosts.iter().any(|a| a.eq_ignore_ascii_case(h)))
    }
}

/// How the caller proved who they are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Via {
    /// Nobody signed in.
    Anonymous,
    /// A browser session: the id's digest and its CSRF token.
    Session { digest: String, csrf: String },
    /// A personal API token.
    Token,
    /// The metrics token.
    Metrics,
}

/// The session id a request's cookie carries.
pub(crate) fn session_id(req: &axum::http::HeaderMap) -> Option<Secret> {
    req.get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| {
            kv.trim()
                .strip_prefix(&format!("{COOKIE_NAME}="))
                .map(str::to_string)
        })
        .and_then(|v| Secret::from_client(&v))
}

/// The peer's address, as the listener saw it.
pub(crate) fn peer(req: &Request) -> Option<IpAddr> {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

fn anonymous(address: Option<IpAddr>) -> Caller {
    Caller {
        actor: Actor {
            name: "anonymous".into(),
            user: None,
            address,
        },
        scope: Scope::Agencies(Arc::default()),
        role: None,
        via: Via::Anonymous,
    }
}

/// The scope of a role bound to `agency` (or the province).
fn scope_of(st: &AppState, role: Role, agency: Option<&tocsin_model::AgencyCode>) -> Scope {
    match (role.is_agency_bound(), agency) {
        (_, Some(a)) => st.snap.get().inventory().subtree(a),
        // An agency contact without an agency sees nothing.
        (true, None) => Scope::Agencies(Arc::default()),
        (false, None) => Scope::All,
    }
}

/// Who is asking: session, token, or nobody.
async fn caller_of(
    st: &AppState,
    headers: &axum::http::HeaderMap,
    address: Option<IpAddr>,
) -> Result<Caller, AppError> {
    let access = &st.access;
    if let Some(id) = session_id(headers) {
        let digest = id.digest();
        if let Some(s) = st.store.session(&digest).await? {
            let now = Utc::now();
            let idle = now - s.seen_at > chrono::Duration::minutes(access.cfg.idle_minutes);
            let old = now - s.created_at > chrono::Duration::hours(access.cfg.absolute_hours);
            if idle || old || s.user.disabled {
                st.store.end_session(&digest, None).await?;
            } else {
                if now - s.seen_at > chrono::Duration::seconds(60) {
                    st.store.touch_session(&digest).await?;
                }
                return Ok(Caller {
                    actor: Actor {
                        name: s.user.username.clone(),
                        user: Some(s.user.id),
                        address,
                    },
                    scope: scope_of(st, s.user.role, s.user.agency.as_ref()),
                    role: Some(s.user.role),
                    via: Via::Session {
                        digest,
                        csrf: s.csrf,
                    },
                });
            }
        }
    }
    let bearer = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    if let Some(b) = bearer {
        if let Some(t) = ApiToken::parse(b)
            && let Some((info, digest, user)) = st.store.token(t.id).await?
            && t.secret.matches(&digest)
            && info.revoked_at.is_none()
            && info.expires_at.is_none_or(|e| e > Utc::now())
            && !user.disabled
            // The owner's role may have been lowered since: never more.
            && user.role.covers(info.role)
        {
            let agency = info.agency.as_ref().or(user.agency.as_ref());
            return Ok(Caller {
                actor: Actor {
                    name: format!("{} (token {})", user.username, info.id),
                    user: Some(user.id),
                    address,
                },
                scope: scope_of(st, info.role, agency),
                role: Some(info.role),
                via: Via::Token,
            });
        }
        if let Some(m) = &access.metrics_token
            && tocsin_access::secrets_equal(m, b)
        {
            let mut c = anonymous(address);
            c.actor.name = "metrics".into();
            c.via = Via::Metrics;
            return Ok(c);
        }
    }
    Ok(anonymous(address))
}

/// Whether an unsafe request comes from this console's own pages: its
/// Origin (or, without one, its Referer) names the host it was sent to.
fn same_origin(req: &Request) -> bool {
    let host = req.headers().get(HOST).and_then(|v| v.to_str().ok());
    let from = req
        .headers()
        .get(ORIGIN)
        .or_else(|| req.headers().get(REFERER))
        .and_then(|v| v.to_str().ok());
    match (host, from) {
        (Some(h), Some(f)) => {
            let rest = f
                .strip_prefix("https://")
                .or_else(|| f.strip_prefix("http://"))
                .unwrap_or("");
            let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
            authority.eq_ignore_ascii_case(h)
        }
        _ => false,
    }
}

/// The `_csrf` field of a urlencoded form body.
fn form_csrf(body: &[u8]) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find_map(|(k, v)| (k == "_csrf").then_some(v))
}

/// The layer every request passes (see the module).
pub(crate) async fn identify(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if !st.access.host_allowed(host.as_deref()) {
        return (
            StatusCode::MISDIRECTED_REQUEST,
            "this console does not answer to that host name\n",
        )
            .into_response();
    }
    let address = peer(&req);
    let caller = match caller_of(&st, req.headers(), address).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let mut req = req;
    if !safe {
        // Requests carrying a bearer token are not sent by browsers on
        // their own; anything else must come from our own pages.
        if caller.via != Via::Token && !same_origin(&req) {
            return AppError::Refused("error.cross_site").into_response();
        }
        if let Via::Session { csrf, .. } = &caller.via {
            let header = req
                .headers()
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let sent = match header {
                Some(h) => Some(h),
                None => {
                    let is_form = req
                        .headers()
                        .get(CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
                    if is_form {
                        let (parts, body) = req.into_parts();
                        let bytes = match axum::body::to_bytes(body, MAX_FORM).await {
                            Ok(b) => b,
                            Err(_) => {
                                return AppError::BadRequest("form too large".into())
                                    .into_response();
                            }
                        };
                        let field = form_csrf(&bytes);
                        req = Request::from_parts(parts, Body::from(bytes));
                        field
                    } else {
                        None
                    }
                }
            };
            let expected = Secret::from_client(csrf);
            if !expected.is_some_and(|e| sent.is_some_and(|s| e.same_as(&s))) {
                return AppError::Refused("error.csrf").into_response();
            }
        }
    }
    req.extensions_mut().insert(caller.clone());
    let query = req.uri().query().map(str::to_string);
    // The language the page is rendered in, decided as `view::ctx` does.
    let lang = crate::Lang::pick(
        crate::view::query_lang(query.as_deref()).as_deref(),
        req.headers(),
    );
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'",
        ),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    if st.access.secure {
        h.insert(
            "strict-transport-security",
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    if caller.role.is_some() && !h.contains_key(CACHE_CONTROL) {
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    fill_page(resp, &caller, query.as_deref(), lang).await
}

/// On an HTML page, fills in what depends on the request: the bar naming
/// who is signed in (with sign-out), every form's CSRF field, and the
/// language switch's link with the page's own query.
async fn fill_page(
    resp: Response,
    caller: &Caller,
    query: Option<&str>,
    lang: crate::Lang,
) -> Response {
    let html = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !html {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 << 20).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let csrf = match &caller.via {
        Via::Session { csrf, .. } => csrf.as_str(),
        _ => "",
    };
    let field = format!("<input type=\"hidden\" name=\"_csrf\" value=\"{csrf}\">");
    let bar = user_bar(caller, csrf, lang);
    // The language switch keeps the page's filters: `?q=…&lang=en`.
    let kept: Vec<&str> = query
        .unwrap_or("")
        .split('&')
        .filter(|kv| !kv.is_empty() && !kv.starts_with("lang="))
        .collect();
    let switch = if kept.is_empty() {
        "id=\"lang-switch\" href=\"?lang=".to_string()
    } else {
        format!(
            "id=\"lang-switch\" href=\"?{}&amp;lang=",
            kept.join("&amp;").replace('"', "%22").replace('<', "%3C")
        )
    };
    // Nobody signed in: no links to pages that would only send them back
    // to sign in.
    let text = match (
        caller.role,
        text.find("<!--nav-->"),
        text.find("<!--/nav-->"),
    ) {
        (None, Some(a), Some(b)) if a < b => format!("{}{}", &text[..a], &text[b..]),
        _ => text.to_string(),
    };
    let text = text
        .replace("<!--csrf-->", &field)
        .replace("<!--user-->", &bar)
        .replacen("id=\"lang-switch\" href=\"?lang=", &switch, 1);
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(text))
}

/// The signed-in bar: name, role, links the role may use, sign-out.
#[derive(askama::Template)]
#[template(path = "user_bar.html")]
struct UserBar<'a> {
    t: crate::i18n::T,
    name: &'a str,
    role: String,
    csrf: &'a str,
    users: bool,
    audit: bool,
}

/// The bar for `caller` in the page's language (empty for nobody).
fn user_bar(caller: &Caller, csrf: &str, lang: crate::Lang) -> String {
    let Some(role) = caller.role else {
        return String::new();
    };
    let t = crate::i18n::T { lang };
    let bar = UserBar {
        t,
        name: &caller.actor.name,
        role: t.t(&format!("role.{}", role.as_str())),
        csrf,
        users: role.may(Permission::ManageUsers),
        audit: role.may(Permission::Audit),
    };
    askama::Template::render(&bar).unwrap_or_else(|e| {
        tracing::error!(error = %e, "the signed-in bar failed to render");
        String::new()
    })
}

/// What a route needs (see `routes::Routes`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Anyone, signed in or not: sign-in, setup, `/healthz`, static files.
    Anyone,
    /// A signed-in caller holding this permission.
    Signed(Permission),
    /// Staff who may operate, or the metrics token.
    Metrics,
}

/// Enforces a route's [`Need`]: nobody signed in gets the sign-in page (a
/// 401 on the API), a caller without the permission a 403.
pub(crate) async fn require(need: Need, req: Request, next: Next) -> Response {
    let Some(caller) = req.extensions().get::<Caller>() else {
        return AppError::Unauthorized.into_response();
    };
    let ok = match need {
        Need::Anyone => true,
        Need::Signed(p) => caller.may(p),
        Need::Metrics => caller.via == Via::Metrics || caller.may(Permission::Operate),
    };
    if ok {
        return next.run(req).await;
    }
    if caller.role.is_some() {
        return AppError::Refused("error.role").into_response();
    }
    let path = req.uri().path();
    let api = path.starts_with("/api/") || path == "/metrics";
    if api || req.method() != Method::GET {
        let mut r = AppError::Unauthorized.into_response();
        r.headers_mut()
            .insert("www-authenticate", HeaderValue::from_static("Bearer"));
        return r;
    }
    let next_url = req
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    axum::response::Redirect::to(&format!(
        "/login?next={}",
        crate::view::urlencode(&next_url)
    ))
    .into_response()
}

/// An Argon2id hash of `password` with the configured parameters, made on
/// the blocking pool (it takes tens of milliseconds and megabytes).
pub(crate) async fn hash_password(st: &AppState, password: &str) -> Result<String, AppError> {
    let hasher = st.access.hasher.clone();
    let pw = password.to_string();
    tokio::task::spawn_blocking(move || hasher.hash(&pw))
        .await
        .map_err(|e| AppError::BadRequest(e.to_string()))?
        .map_err(|e| AppError::BadRequest(e.to_string()))
}

/// The `User-Agent`, for the session list.
pub(crate) fn user_agent(h: &axum::http::HeaderMap) -> Option<String> {
    h.get(USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(200).collect())
}
