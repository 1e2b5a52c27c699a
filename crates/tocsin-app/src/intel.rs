//! Threat intelligence in a node — the feed loader beside the pipeline,
//! and the retro-hunt it starts when new indicators arrive — and the
//! `tocsin intel` commands.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use tocsin_feeds::{Feeds, Round};
use tocsin_intel::IntelHandle;
pub use tocsin_intel::feeds::FeedFormat;
use tocsin_model::Actor;
use tocsin_pipeline::retro::{RETRO_STREAM, RetroProgress, retro_hunt};
use tocsin_store::{RetroStatus, Store};

use crate::config::Config;

/// The most late sightings one retro-hunt keeps (the rest are counted).
const MAX_RETRO_HITS: usize = 100_000;

/// The feed loader, running until `stop`. Retro-hunts search `archive`
/// (when archiving) for indicators that arrive after the first load.
///
/// The first load is awaited here, before the pipeline starts: events
/// queued while the node was down must meet the indicators, not an empty
/// set (a feed that fails now is recorded and retried on its interval).
pub async fn start(
    config: &Config,
    store: Store,
    handle: Arc<IntelHandle>,
    archive: Option<PathBuf>,
    stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    if config.intel.feeds.is_empty() {
        return Ok(None);
    }
    let mut feeds = Feeds::new(config.intel.clone(), handle, store.clone())
        .map_err(|e| anyhow::anyhow!("[intel]: {e}"))?;
    let first = feeds.poll().await;
    tracing::info!(
        loaded = ?first.loaded,
        failed = ?first.failed,
        in_force = first.in_force,
        "intel feeds read at start"
    );
    let days = config.intel.retro_hunt_days;
    let busy = Arc::new(AtomicBool::new(false));
    let task = tokio::spawn(async move {
        let stopping = stop.clone();
        feeds
            .run(stop, move |round: Round| {
                tracing::info!(
                    loaded = ?round.loaded,
                    failed = round.failed.len(),
                    in_force = round.in_force,
                    "intel feeds read"
                );
                let (Some(new), Some(dir)) = (round.new, archive.clone()) else {
                    return;
                };
                if days == 0 || busy.swap(true, Ordering::AcqRel) {
                    // One retro-hunt at a time; the next round's new
                    // indicators get theirs.
                    return;
                }
                let store = store.clone();
                let busy = busy.clone();
                let stopping = stopping.clone();
                tokio::spawn(async move {
                    if let Err(e) = retro(store, dir, new, days, stopping).await {
                        tracing::error!(error = %e, "retro-hunt failed");
                    }
                    busy.store(false, Ordering::Release);
                });
            })
            .await;
    });
    Ok(Some(task))
}

/// Searches the last `days` of the archive in `dir` for `set`, recording
/// progress as it goes, then stores what it found.
pub async fn retro(
    store: Store,
    dir: PathBuf,
    set: tocsin_intel::IndicatorSet,
    days: u32,
    stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<RetroStatus> {
    let since = Utc::now() - chrono::Duration::days(i64::from(days));
    let since_hour = since.timestamp().div_euclid(3600);
    let id = store.retro_started(set.len() as i64, since).await?;
    tracing::info!(id, indicators = set.len(), days, "retro-hunt started");
    let progress = Arc::new(RetroProgress::default());
    let halt = Arc::new(AtomicBool::new(false));
    let (p, h) = (progress.clone(), halt.clone());
    let mut job = tokio::task::spawn_blocking(move || {
        retro_hunt(&dir, since_hour, &set, MAX_RETRO_HITS, &p, &h)
    });
    let status = |error: Option<String>| {
        let g = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed) as i64;
        RetroStatus {
            id,
            files_total: g(&progress.files_total),
            files_done: g(&progress.files_done),
            events: g(&progress.events),
            hits: g(&progress.hits),
            error,
            ..RetroStatus::default()
        }
    };
    // The server stopping halts the search between two files.
    let h = halt.clone();
    let mut stop = stop;
    let watcher = tokio::spawn(async move {
        let _ = stop.wait_for(|s| *s).await;
        h.store(true, Ordering::Relaxed);
    });
    let hits = loop {
        tokio::select! {
            r = &mut job => break r,
            () = tokio::time::sleep(Duration::from_secs(1)) => {
                store.retro_progress(id, &status(None), false).await?;
            }
        }
    };
    watcher.abort();
    let hits = match hits {
        Ok(h) => h,
        Err(e) => {
            let s = status(Some(format!("the search failed: {e}")));
            store.retro_progress(id, &s, true).await?;
            return Ok(s);
        }
    };
    store.commit_alerts(RETRO_STREAM, &hits.alerts, 0).await?;
    store
        .import_sightings(
            &hits.sightings,
            &Actor::system("retro-hunt"),
            &format!("retro-hunt {id}"),
        )
        .await?;
    let error = halt
        .load(Ordering::Relaxed)
        .then(|| "stopped with the server; searched in part".to_string());
    let s = status(error);
    store.retro_progress(id, &s, true).await?;
    tracing::info!(
        id,
        events = s.events,
        hits = s.hits,
        alerts = hits.alerts.len(),
        "retro-hunt done"
    );
    Ok(s)
}

/// A `tocsin intel` command.
#[derive(Debug, Clone)]
pub enum Command {
    /// Each feed's last load, from the database.
    Status,
    /// Reads a feed file and reports what it holds and every bad row.
    Check {
        /// The file.
        path: PathBuf,
        /// How it is written.
        format: FeedFormat,
    },
    /// Imports the national center's list of the province's botnet
    /// addresses as sightings for the agencies owning them.
    ImportNational {
        /// The spreadsheet or CSV file.
        path: PathBuf,
        /// The source name shown with the sightings.
        source: String,
    },
}

/// Runs a `tocsin intel` command.
pub async fn run(cmd: Command, config: &Config) -> anyhow::Result<()> {
    match cmd {
        Command::Check { path, format } => check(&path, format),
        Command::Status => {
            let store = crate::inventory::open_store(config).await?;
            let feeds = store.feeds().await?;
            if feeds.is_empty() {
                println!(
                    "no feed has been read yet (configure [[intel.feeds]] and run `tocsin serve`)"
                );
            }
            for f in feeds {
                println!(
                    "{:<16} {:<14} {:>9} indicators  {:>6} rejected  loaded {}  {}",
                    f.name,
                    f.format,
                    f.indicators,
                    f.rejected,
                    f.loaded_at.map_or("never".into(), |t| t.to_rfc3339()),
                    f.error
                        .map(|e| format!("LAST TRY FAILED: {e}"))
                        .unwrap_or_default()
                );
            }
            store.close().await;
            Ok(())
        }
        Command::ImportNational { path, source } => {
            let bytes =
                std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            let store = crate::inventory::open_store(config).await?;
            let actor = Actor::system("cli");
            let what = format!("national list {}", path.display());
            let r = tocsin_feeds::national::import(&store, &bytes, &source, &actor, &what).await?;
            store.close().await;
            println!("{}: {} sightings imported", path.display(), r.imported);
            for (line, ip) in &r.unowned {
                println!("  line {line}: {ip} belongs to no agency of the inventory; not imported");
            }
            for p in &r.problems {
                println!("  {p}");
            }
            if r.rejected > r.problems.len() as u64 {
                println!("  … {} rows refused in all", r.rejected);
            }
            Ok(())
        }
    }
}

fn check(path: &Path, format: FeedFormat) -> anyhow::Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    if format == FeedFormat::NationalCsv {
        let (rows, p) = tocsin_intel::feeds::parse_national(&bytes);
        println!(
            "{}: {} rows read, {} refused",
            path.display(),
            rows.len(),
            p.rejected
        );
        for pr in &p.problems {
            println!("  {pr}");
        }
        return Ok(());
    }
    let p = tocsin_intel::feeds::parse(format, &bytes, &Default::default())
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let mut kinds = std::collections::BTreeMap::new();
    for i in &p.indicators {
        *kinds.entry(i.kind.as_str()).or_insert(0usize) += 1;
    }
    println!(
        "{}: {} indicators ({}), {} rows refused",
        path.display(),
        p.indicators.len(),
        kinds
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect::<Vec<_>>()
            .join(", "),
        p.rejected
    );
    for pr in &p.problems {
        println!("  {pr}");
    }
    Ok(())
}
