//! Web-application attacks, found in the requests web servers, WAFs and
//! network sensors log. A detection stage (synchronous, no I/O) beside
//! the Sigma engine:
//!
//! ```text
//! web Event ─► Request::of ─► inspect ───────────────► WebHit ─► WebAttackDetector ─► Finding
//!              (url.original,  path, each parameter,            (class web_attack/recon,
//!               referrer,      referrer, agent:                  level by the response:
//!               agent, status) decode ─► sqli / xss /            404/403 is an attempt)
//!                              traversal / rfi / cmdi /
//!                              shell / scanner / recon
//! ```
//!
//! * [`decode`]: attackers' encodings undone, bounded.
//! * [`sqli`] and [`xss`]: tokenizers, not patterns.
//! * [`path`], [`cmdi`], [`recon`]: traversal and inclusion, command
//!   injection, web shells and scanners.
//! * [`inspect`] applies them to the parts of one request; the
//!   [`WebAttackDetector`] turns hits into findings.
//!
//! Measured against the OWASP CRS regression requests and libinjection's
//! own inputs, beside libinjection, by `tocsin bench web` (see
//! docs/detection-quality.md).

pub mod cmdi;
pub mod decode;
mod detector;
pub mod path;
pub mod recon;
pub mod sqli;
pub mod xss;

pub use detector::{WebAttackConfig, WebAttackDetector, WebWorker};

use std::borrow::Cow;

/// What kind of web attack a hit is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WebKind {
    /// SQL injection.
    Sqli,
    /// Cross-site scripting.
    Xss,
    /// Path traversal and local file inclusion.
    Traversal,
    /// Remote file inclusion.
    Rfi,
    /// OS command injection.
    Cmdi,
    /// A web shell's file or parameters.
    Webshell,
    /// A scanning tool named in the User-Agent.
    Scanner,
    /// A path only scanners ask for.
    Recon,
}

impl WebKind {
    /// Every kind.
    pub const ALL: [WebKind; 8] = [
        WebKind::Sqli,
        WebKind::Xss,
        WebKind::Traversal,
        WebKind::Rfi,
        WebKind::Cmdi,
        WebKind::Webshell,
        WebKind::Scanner,
        WebKind::Recon,
    ];

    /// Its stable name (`sqli`): rule ids, tags, locale keys.
    pub fn as_str(self) -> &'static str {
        match self {
            WebKind::Sqli => "sqli",
            WebKind::Xss => "xss",
            WebKind::Traversal => "traversal",
            WebKind::Rfi => "rfi",
            WebKind::Cmdi => "cmdi",
            WebKind::Webshell => "webshell",
            WebKind::Scanner => "scanner",
            WebKind::Recon => "recon",
        }
    }
}

/// Where in the request a hit was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The path.
    Path,
    /// A query parameter's value.
    Param,
    /// A query parameter's name.
    ParamName,
    /// The whole query string.
    Query,
    /// The Referer header.
    Referrer,
    /// The User-Agent header.
    Agent,
}

impl Part {
    /// Its name in summaries.
    pub fn as_str(self) -> &'static str {
        match self {
            Part::Path => "path",
            Part::Param => "parameter",
            Part::ParamName => "parameter name",
            Part::Query => "query",
            Part::Referrer => "referrer",
            Part::Agent => "user agent",
        }
    }
}

/// One thing found in a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebHit {
    /// What.
    pub kind: WebKind,
    /// Why (which judgement).
    pub reason: &'static str,
    /// Where.
    pub part: Part,
    /// The parameter's name, for parameters.
    pub name: Option<String>,
}

/// The parts of one request the detectors read, as logged.
#[derive(Clone, Copy, Debug, Default)]
pub struct Request<'a> {
    /// Path and query as sent (`url.original`).
    pub target: &'a str,
    /// The Referer header.
    pub referrer: Option<&'a str>,
    /// The User-Agent header.
    pub agent: Option<&'a str>,
}

/// Reusable buffers for [`inspect`].
#[derive(Default)]
pub struct Scratch {
    sql: sqli::Scratch,
}

/// The longest value inspected, bytes; the rest of a longer one is not
/// read (its start is where payloads are) and the caller counts it.
pub const MAX_VALUE: usize = 8192;

/// Everything found in `req`, at most one hit per kind and part. Returns
/// whether a value was longer than `max_value` and cut.
pub fn inspect(
    req: &Request<'_>,
    max_value: usize,
    s: &mut Scratch,
    out: &mut Vec<WebHit>,
) -> bool {
    let mut cut = false;
    let (path, query) = match req.target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (req.target, None),
    };
    let (path, c) = bounded(path, max_value);
    cut |= c;
    let p = decode::normalize(path, false);
    if let Some(r) = path::traversal(&p) {
        push(out, WebKind::Traversal, r, Part::Path, None);
    }
    if let Some(w) = recon::shell(&p) {
        let _ = w;
        push(out, WebKind::Webshell, "web shell file", Part::Path, None);
    } else if let Some(_r) = recon::recon_path(&p) {
        push(out, WebKind::Recon, "scanner target", Part::Path, None);
    }
    if p.bytes().any(|c| matches!(c, b'<' | b'"' | b'`'))
        && let Some(r) = xss::check(&p)
    {
        push(out, WebKind::Xss, r, Part::Path, None);
    }
    if p.bytes()
        .any(|c| matches!(c, b'\'' | b'"' | b'(' | b';' | b' '))
    {
        for seg in p.split('/') {
            if let Some(r) = sqli::check(seg, &mut s.sql) {
                push(out, WebKind::Sqli, r, Part::Path, None);
                break;
            }
        }
        if let Some(r) = cmdi::check(&p) {
            push(out, WebKind::Cmdi, r, Part::Path, None);
        }
    }
    if let Some(q) = query {
        let (q, c) = bounded(q, max_value);
        cut |= c;
        params(q, Part::Param, s, out);
    }
    if let Some(r) = req.referrer {
        let (r, c) = bounded(r, max_value);
        cut |= c;
        match r.split_once('?') {
            Some((_, q)) if r.starts_with("http") => params(q, Part::Referrer, s, out),
            _ => whole(r, Part::Referrer, s, out),
        }
    }
    if let Some(a) = req.agent {
        let (a, c) = bounded(a, max_value);
        cut |= c;
        if let Some(_tool) = recon::scanner(a) {
            push(out, WebKind::Scanner, "scanning tool", Part::Agent, None);
        }
        // Browsers' and tools' agents (`Mozilla/5.0 (…; …)`, `curl/8`)
        // start with a product and its version, and hold `;` and `()`
        // but none of the rest.
        let product = a.split_once('/').is_some_and(|(p, _)| {
            !p.is_empty()
                && p.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        });
        if !product
            || a.bytes().any(|c| {
                matches!(
                    c,
                    b'\'' | b'"' | b'<' | b'>' | b'=' | b'`' | b'$' | b'|' | b'{' | b'%' | b'\\'
                )
            })
            || memchr::memmem::find(a.as_bytes(), b"--").is_some()
            || memchr::memmem::find(a.as_bytes(), b"/*").is_some()
            || memchr::memmem::find(a.as_bytes(), b"..").is_some()
        {
            whole(a, Part::Agent, s, out);
        }
    }
    cut
}

/// `v` cut to at most `max` bytes on a character boundary.
fn bounded(v: &str, max: usize) -> (&str, bool) {
    if v.len() <= max {
        return (v, false);
    }
    let mut end = max;
    while !v.is_char_boundary(end) {
        end -= 1;
    }
    (&v[..end], true)
}

fn push(
    out: &mut Vec<WebHit>,
    kind: WebKind,
    reason: &'static str,
    part: Part,
    name: Option<&str>,
) {
    if out.iter().any(|h| h.kind == kind && h.part == part) {
        return;
    }
    out.push(WebHit {
        kind,
        reason,
        part,
        name: name.map(str::to_string),
    });
}

/// Each `name=value` of a query string; a piece without `=` is a value.
fn params(q: &str, part: Part, s: &mut Scratch, out: &mut Vec<WebHit>) {
    for piece in q.split('&') {
        if piece.is_empty() {
            continue;
        }
        let (name, value) = match piece.split_once('=') {
            Some((n, v)) => (Some(n), v),
            None => (None, piece),
        };
        let v = decode::normalize(value, true);
        let n: Option<Cow<'_, str>> = name.map(|n| decode::normalize(n, true));
        let shown = n.as_deref();
        if let Some(n) = shown {
            // `?<script>=1`, `?1' or 1=1-- =`: the payload as a name.
            if n.bytes().any(|c| {
                !(c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b'[' | b']'))
            }) {
                value_checks(n, Part::ParamName, Some(n), s, out);
            }
        }
        let part = if part == Part::Param && name.is_none() {
            Part::Query
        } else {
            part
        };
        value_checks(&v, part, shown, s, out);
        if shown.is_some_and(recon::shell_parameter) && cmdi::check(&v).is_none() {
            // `?cmd=whoami`: a shell's parameter with a bare command.
            let w = v.split_whitespace().next().unwrap_or("");
            if cmd_word(w) {
                push(
                    out,
                    WebKind::Webshell,
                    "shell command parameter",
                    part,
                    shown,
                );
            }
        }
    }
}

fn cmd_word(w: &str) -> bool {
    cmdi::check(&format!(";{w}")).is_some()
}

/// Every value check on one decoded value.
fn value_checks(v: &str, part: Part, name: Option<&str>, s: &mut Scratch, out: &mut Vec<WebHit>) {
    if v.is_empty() {
        return;
    }
    // One pass over the value says which detectors could fire at all;
    // most values (numbers, words, dates) need none but two.
    let (mut markup, mut pathy, mut colon) = (false, false, false);
    for c in v.bytes() {
        match c {
            b'<' | b'>' | b'"' | b'\'' | b'`' | b'(' | b'{' | b'=' => markup = true,
            b'.' | b'/' => pathy = true,
            b'\\' => {
                pathy = true;
                colon = true;
            }
            b':' => colon = true,
            _ => {}
        }
    }
    if let Some(r) = sqli::check(v, &mut s.sql) {
        push(out, WebKind::Sqli, r, part, name);
    }
    if (markup || colon)
        && let Some(r) = xss::check(v)
    {
        push(out, WebKind::Xss, r, part, name);
    }
    if (pathy || colon)
        && let Some(r) = path::traversal(v)
    {
        push(out, WebKind::Traversal, r, part, name);
    }
    if colon && let Some(r) = path::remote_include(v) {
        push(out, WebKind::Rfi, r, part, name);
    }
    if let Some(r) = cmdi::check(v) {
        push(out, WebKind::Cmdi, r, part, name);
    }
}

/// A header's whole value (decoded once more, since tools send it
/// encoded).
fn whole(v: &str, part: Part, s: &mut Scratch, out: &mut Vec<WebHit>) {
    let d = decode::normalize(v, false);
    value_checks(&d, part, None, s, out);
}

/// Where `n` first occurs in `h`.
pub(crate) fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    memchr::memmem::find(h, n)
}

/// A table of the bytes in `set`: the detectors' cheap first look at a
/// value.
pub(crate) const fn byte_set(set: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < set.len() {
        t[set[i] as usize] = true;
        i += 1;
    }
    t
}

/// Case-insensitive search of ASCII `n` in `h`.
pub(crate) fn find_ci(h: &[u8], n: &[u8]) -> Option<usize> {
    if n.is_empty() || h.len() < n.len() {
        return None;
    }
    h.windows(n.len()).position(|w| w.eq_ignore_ascii_case(n))
}
