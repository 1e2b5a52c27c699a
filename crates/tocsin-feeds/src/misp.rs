//! A MISP feed: a `manifest.json` naming events by UUID, each event served
//! beside it as `<uuid>.json` (a directory, or a URL). Every event is read
//! and parsed; their indicators are one feed's. An event that cannot be
//! read is a problem of the feed, not its end.

use std::path::PathBuf;
use std::time::Duration;

use tocsin_intel::feeds::{self, FeedFormat, Parsed};

use crate::fetch::fetch;
use crate::settings::FeedConfig;

/// The most events read from one manifest.
pub(crate) const MAX_EVENTS: usize = 10_000;

/// Whether `f` is a MISP feed (a manifest) rather than one event file.
pub(crate) fn is_feed(f: &FeedConfig) -> bool {
    f.format == FeedFormat::Misp
        && (f
            .path
            .as_ref()
            .is_some_and(|p| p.is_dir() || p.ends_with("manifest.json"))
            || f.url
                .as_ref()
                .is_some_and(|u| u.ends_with('/') || u.ends_with("manifest.json")))
}

/// How to name an event beside the manifest.
type EventAt<'a> = Box<dyn Fn(&str) -> FeedConfig + 'a>;

/// Where the manifest is, and how to name an event beside it.
fn layout(f: &FeedConfig) -> (FeedConfig, EventAt<'_>) {
    if let Some(p) = &f.path {
        let dir: PathBuf = if p.is_dir() {
            p.clone()
        } else {
            p.parent().map(PathBuf::from).unwrap_or_default()
        };
        let manifest = FeedConfig {
            path: Some(dir.join("manifest.json")),
            ..f.clone()
        };
        let event = move |uuid: &str| FeedConfig {
            path: Some(dir.join(format!("{uuid}.json"))),
            ..f.clone()
        };
        return (manifest, Box::new(event));
    }
    let url = f.url.clone().unwrap_or_default();
    let base = url
        .strip_suffix("manifest.json")
        .unwrap_or(&url)
        .to_string();
    let base = if base.ends_with('/') {
        base
    } else {
        format!("{base}/")
    };
    let manifest = FeedConfig {
        url: Some(format!("{base}manifest.json")),
        ..f.clone()
    };
    let event = move |uuid: &str| FeedConfig {
        url: Some(format!("{base}{uuid}.json")),
        ..f.clone()
    };
    (manifest, Box::new(event))
}

/// Reads the manifest and every event it names, within `limit` bytes in
/// all.
pub(crate) fn load(f: &FeedConfig, limit: u64, timeout: Duration) -> Result<Parsed, String> {
    let (manifest, event) = layout(f);
    let bytes = fetch(&manifest, limit, timeout).map_err(|e| e.to_string())?;
    let m: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("manifest.json is not JSON: {e}"))?;
    let uuids: Vec<String> = m
        .as_object()
        .ok_or("manifest.json is not an object of events")?
        .keys()
        .filter(|k| k.len() <= 64 && k.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-'))
        .cloned()
        .collect();
    let mut out = Parsed::default();
    let mut left = limit.saturating_sub(bytes.len() as u64);
    for (k, uuid) in uuids.iter().enumerate() {
        let n = k as u64 + 1;
        if k >= MAX_EVENTS {
            out.problem(
                n,
                None,
                format!("more than {MAX_EVENTS} events; the rest are not read"),
            );
            break;
        }
        let ev = match fetch(&event(uuid), left, timeout) {
            Ok(b) => b,
            Err(e) => {
                out.problem(n, Some(uuid), e.to_string());
                continue;
            }
        };
        left = left.saturating_sub(ev.len() as u64);
        match feeds::parse(FeedFormat::Misp, &ev, &f.defaults()) {
            Ok(p) => {
                out.indicators.extend(p.indicators);
                out.rejected += p.rejected;
                for pr in p.problems {
                    out.keep(feeds::Problem {
                        line: n,
                        field: Some(uuid.clone()),
                        reason: format!("attribute {}: {}", pr.line, pr.reason),
                    });
                }
            }
            Err(e) => out.problem(n, Some(uuid), e.to_string()),
        }
    }
    Ok(out)
}
