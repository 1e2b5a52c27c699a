//! The retro-hunt: when new indicators arrive, the recent raw archive is
//! read back and every archived event looked up in a set holding only the
//! new indicators. Hits are sightings marked late, and one alert per
//! device and indicator, tagged `found_late`.
//!
//! Synchronous (zstd and JSON over files): the node runs it on a blocking
//! thread, and reports progress through [`RetroProgress`] as it goes.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use serde_json::Value as J;
use tocsin_detect::alerts::{self, Evidence};
use tocsin_intel::{IndicatorSet, findings_of};
use tocsin_model::{AgencyCode, AssetCode, Event, NewAlert, Observer, Sighting, Timestamp};

/// How far a retro-hunt has got (read while it runs).
#[derive(Debug, Default)]
pub struct RetroProgress {
    /// Archive files to read.
    pub files_total: AtomicU64,
    /// Files read.
    pub files_done: AtomicU64,
    /// Events looked up.
    pub events: AtomicU64,
    /// Matches found.
    pub hits: AtomicU64,
    /// Lines that could not be read (torn frames, bad JSON).
    pub unreadable: AtomicU64,
}

/// What a retro-hunt found.
#[derive(Debug, Default)]
pub struct RetroHits {
    /// Every match, as a late sighting.
    pub sightings: Vec<Sighting>,
    /// One alert per (device or field, indicator).
    pub alerts: Vec<NewAlert>,
}

/// The stream retro-hunt alerts are stored under (with the queue position
/// of their event, so a second hunt over the same hours stores no
/// duplicates).
pub const RETRO_STREAM: &str = "retro-hunt";

/// The archive files of hours at or after `since_hour`, oldest first.
pub fn files_since(dir: &Path, since_hour: i64) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(inputs) = std::fs::read_dir(dir) else {
        return out;
    };
    for input in inputs.flatten() {
        let Ok(files) = std::fs::read_dir(input.path()) else {
            continue;
        };
        for f in files.flatten() {
            let p = f.path();
            let hour = p
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(crate::archive::hour_of_name);
            if hour.is_some_and(|h| h >= since_hour) {
                out.push(p);
            }
        }
    }
    out.sort_by(|a, b| a.file_name().cmp(&b.file_name()).then(a.cmp(b)));
    out
}

/// An archived line as an event again: its fields, time, input and
/// attribution. `None` for a line that is not a JSON object.
fn event_of(line: &[u8]) -> Option<(Event, u64, DateTime<Utc>)> {
    let J::Object(m) = serde_json::from_slice::<J>(line).ok()? else {
        return None;
    };
    let t = m
        .get("@timestamp")
        .and_then(J::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))?;
    let received = m
        .get("tocsin.received")
        .and_then(J::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map_or(t, |t| t.with_timezone(&Utc));
    let original = m.get("event.original").and_then(J::as_str).unwrap_or("");
    let observer = Observer {
        name: m
            .get("observer.name")
            .and_then(J::as_str)
            .unwrap_or("archive")
            .to_string(),
        ..Observer::default()
    };
    let mut ev = Event::new(Timestamp::received(t), observer, original);
    ev.attribution.agency = m
        .get("organization.id")
        .and_then(J::as_str)
        .map(|s| AgencyCode(s.to_string()));
    ev.attribution.asset = m
        .get("tocsin.asset")
        .and_then(J::as_str)
        .map(|s| AssetCode(s.to_string()));
    let seq = m.get("tocsin.seq").and_then(J::as_u64).unwrap_or(0);
    let mut fields = Vec::with_capacity(m.len());
    for (k, v) in &m {
        if matches!(
            k.as_str(),
            "@timestamp"
                | "event.original"
                | "observer.name"
                | "organization.id"
                | "tocsin.asset"
                | "tocsin.seq"
                | "tocsin.received"
                | "error.message"
        ) {
            continue;
        }
        if let Some(v) = tocsin_parse::json_value(v) {
            fields.push((std::borrow::Cow::Owned(k.clone()), v));
        }
    }
    ev.fields.extend_unsorted(fields);
    Some((ev, seq, received))
}

/// Searches the archive in `dir` from `since_hour` for `set`'s
/// indicators. Stops early when `stop` is set; keeps at most `max_hits`
/// sightings (the rest are counted in `progress.hits`).
pub fn retro_hunt(
    dir: &Path,
    since_hour: i64,
    set: &IndicatorSet,
    max_hits: usize,
    progress: &RetroProgress,
    stop: &AtomicBool,
) -> RetroHits {
    let files = files_since(dir, since_hour);
    progress
        .files_total
        .store(files.len() as u64, Ordering::Relaxed);
    let mut out = RetroHits::default();
    let mut alerted: HashSet<(String, String)> = HashSet::new();
    let mut obs = Vec::new();
    for path in files {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let rel = path
            .strip_prefix(dir)
            .unwrap_or(&path)
            .display()
            .to_string();
        if let Ok(f) = std::fs::File::open(&path)
            && let Ok(z) = zstd::Decoder::new(f)
        {
            let mut r = BufReader::new(z);
            let mut line = Vec::new();
            loop {
                line.clear();
                match r.read_until(b'\n', &mut line) {
                    Ok(0) => break,
                    Ok(_) => {}
                    // A torn last frame: what came before it counts.
                    Err(_) => {
                        progress.unreadable.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                }
                let Some((ev, seq, received)) = event_of(&line) else {
                    progress.unreadable.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                progress.events.fetch_add(1, Ordering::Relaxed);
                for mut f in findings_of(set, &ev, &mut obs, 64) {
                    progress.hits.fetch_add(1, Ordering::Relaxed);
                    f.tags.push("found_late".into());
                    if let Some(mut s) = alerts::sighting(&f, &ev)
                        && out.sightings.len() < max_hits
                    {
                        s.late = true;
                        out.sightings.push(s);
                    }
                    let Some(hit) = &f.intel else { continue };
                    let entity = hit
                        .device
                        .as_ref()
                        .map_or_else(|| hit.field.clone(), |d| d.key.clone());
                    if alerted.insert((entity, hit.indicator.clone())) {
                        f.summary = f.summary.map(|s| format!("{s} — found late"));
                        let archive = format!("{rel}#seq={seq}");
                        let (a, _) = alerts::alert(
                            f,
                            Evidence {
                                event: &ev,
                                seq,
                                received,
                                archive: Some(&archive),
                                max_bytes: 64 << 10,
                            },
                        );
                        out.alerts.push(a);
                    }
                }
            }
        } else {
            progress.unreadable.fetch_add(1, Ordering::Relaxed);
        }
        progress.files_done.fetch_add(1, Ordering::Relaxed);
    }
    out
}
