//! What every page shares: the reader's language, rendering, and small
//! formatting helpers.

use askama::Template;
use axum::extract::Request;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use tocsin_model::Cidr;

use crate::AppError;
use crate::error::ErrorInfo;
use crate::i18n::{Lang, T};

/// The reader's language for one page, and whether to remember it.
pub(crate) struct Ctx {
    pub(crate) t: T,
    pub(crate) lang: Lang,
    set_cookie: bool,
}

/// The language a page is read in: `?lang=` (remembered in a cookie), the
/// cookie, else Vietnamese.
pub(crate) fn ctx(lang: Option<&str>, headers: &HeaderMap) -> Ctx {
    let l = Lang::pick(lang, headers);
    Ctx {
        t: T { lang: l },
        lang: l,
        set_cookie: lang.is_some(),
    }
}

/// `lang` out of a raw query string.
pub(crate) fn query_lang(query: Option<&str>) -> Option<String> {
    query?
        .split('&')
        .find_map(|kv| kv.strip_prefix("lang="))
        .map(str::to_string)
}

/// A page as HTML (and the language cookie when the page was asked with
/// `?lang=`).
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

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    t: T,
    lang: Lang,
    nav: &'static str,
    title_key: String,
    message: String,
    path: String,
}

/// The console's rendering of a failed request.
pub(crate) fn error_page(lang: Lang, status: StatusCode, info: &ErrorInfo, path: &str) -> Response {
    let page = ErrorPage {
        t: T { lang },
        lang,
        nav: "",
        title_key: format!("error.{}", info.code),
        message: info
            .key
            .map_or_else(|| info.message.clone(), |k| T { lang }.t(k)),
        path: path.to_string(),
    };
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "error page failed to render");
            (status, info.message.clone()).into_response()
        }
    }
}

/// Ranges as one line.
pub(crate) fn join_cidrs(v: &[Cidr]) -> String {
    v.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A query-string value, percent-encoded.
pub(crate) fn urlencode(s: &str) -> String {
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

/// A time in the province's zone (UTC+07:00), for people: `24/11/2026 10:00:00`.
pub(crate) fn local_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.with_timezone(&tocsin_model::vietnam_offset())
        .format("%d/%m/%Y %H:%M:%S")
        .to_string()
}

/// Console requests (anything outside `/api/`, `/metrics` and `/healthz`)
/// get an error as a page in their language; the API keeps the JSON.
pub(crate) async fn pages_for_people(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let api = path.starts_with("/api/") || path == "/metrics" || path == "/healthz";
    let lang = Lang::pick(query_lang(req.uri().query()).as_deref(), req.headers());
    let resp = next.run(req).await;
    if api {
        return resp;
    }
    match resp.extensions().get::<ErrorInfo>() {
        Some(info) => error_page(lang, resp.status(), info, &path),
        None => resp,
    }
}
