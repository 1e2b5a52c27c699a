//! The feed loader: every feed read when due, parsed on the blocking
//! pool, the whole set rebuilt and swapped in one step when any feed
//! changed. A feed that fails keeps its last good indicators in force; its
//! failure is recorded in the store, where the console shows it.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use chrono::Utc;
use tocsin_intel::feeds::{self, Parsed};
use tocsin_intel::{Indicator, IndicatorSet, IntelHandle, SetBuilder, Source};
use tocsin_model::IndicatorKind;
use tocsin_store::{FeedStatus, Store};

use crate::fetch::fetch;
use crate::settings::{FeedConfig, FeedsConfig};

/// A feed's last good load.
#[derive(Clone, Debug)]
struct Loaded {
    indicators: Arc<Vec<Indicator>>,
    /// The file's time and length when read (files are read again only
    /// when these change).
    stamp: Option<(SystemTime, u64)>,
}

/// What one round of [`Feeds::poll`] did.
#[derive(Debug, Default)]
pub struct Round {
    /// Feeds read and put in force.
    pub loaded: Vec<String>,
    /// Feeds that failed, with why.
    pub failed: Vec<(String, String)>,
    /// Indicators in force after the round.
    pub in_force: usize,
    /// Indicators no feed held before this round (what a retro-hunt
    /// looks for), as a set of their own; `None` when nothing is new or
    /// this was the first load.
    pub new: Option<IndicatorSet>,
}

/// Every configured feed and what it last gave.
pub struct Feeds {
    cfg: FeedsConfig,
    handle: Arc<IntelHandle>,
    store: Store,
    loaded: Vec<Option<Loaded>>,
    due: Vec<Instant>,
    first_round: bool,
}

impl Feeds {
    /// The loader for `cfg`, swapping sets into `handle` and recording
    /// each load in `store`. Refuses a configuration with mistakes.
    pub fn new(cfg: FeedsConfig, handle: Arc<IntelHandle>, store: Store) -> Result<Self, String> {
        cfg.check()?;
        let n = cfg.feeds.len();
        Ok(Feeds {
            cfg,
            handle,
            store,
            loaded: vec![None; n],
            due: vec![Instant::now(); n],
            first_round: true,
        })
    }

    /// When the next feed is due.
    pub fn next_due(&self) -> Option<Instant> {
        self.due.iter().min().copied()
    }

    /// Reads the feeds that are due; when any changed, builds the new set
    /// and swaps it in.
    pub async fn poll(&mut self) -> Round {
        let mut round = Round::default();
        let now = Instant::now();
        let limit = self.cfg.max_feed_mib.max(1) << 20;
        let timeout = Duration::from_secs(self.cfg.timeout_secs.max(1));
        let mut changed = false;
        for i in 0..self.cfg.feeds.len() {
            if self.due[i] > now {
                continue;
            }
            let f = self.cfg.feeds[i].clone();
            self.due[i] = now + f.interval();
            let stamp = f.path.as_ref().and_then(|p| {
                let m = std::fs::metadata(p).ok()?;
                Some((m.modified().ok()?, m.len()))
            });
            if let (Some(l), Some(s)) = (&self.loaded[i], stamp)
                && l.stamp == Some(s)
            {
                continue; // the file has not changed
            }
            match load(f.clone(), limit, timeout).await {
                Ok(parsed) => {
                    let status = FeedStatus {
                        name: f.name.clone(),
                        format: f.format.to_string(),
                        location: f.location(),
                        attempted_at: Some(Utc::now()),
                        loaded_at: Some(Utc::now()),
                        indicators: parsed.indicators.len() as i64,
                        rejected: parsed.rejected as i64,
                        error: None,
                        problems: parsed.problems.iter().map(ToString::to_string).collect(),
                    };
                    self.record(&status).await;
                    tracing::info!(
                        feed = %f.name,
                        indicators = parsed.indicators.len(),
                        rejected = parsed.rejected,
                        "intel feed loaded"
                    );
                    self.loaded[i] = Some(Loaded {
                        indicators: Arc::new(parsed.indicators),
                        stamp,
                    });
                    round.loaded.push(f.name.clone());
                    changed = true;
                }
                Err(why) => {
                    tracing::warn!(feed = %f.name, error = %why, "intel feed not loaded; its last good set stays");
                    let status = FeedStatus {
                        name: f.name.clone(),
                        format: f.format.to_string(),
                        location: f.location(),
                        attempted_at: Some(Utc::now()),
                        error: Some(why.clone()),
                        ..FeedStatus::default()
                    };
                    self.record(&status).await;
                    round.failed.push((f.name.clone(), why));
                }
            }
        }
        if changed {
            let before = self.handle.current();
            let feeds: Vec<(FeedConfig, Option<Arc<Vec<Indicator>>>)> = self
                .cfg
                .feeds
                .iter()
                .cloned()
                .zip(
                    self.loaded
                        .iter()
                        .map(|l| l.as_ref().map(|l| l.indicators.clone())),
                )
                .collect();
            let first = self.first_round;
            let built = tokio::task::spawn_blocking(move || {
                let set = build_set(&feeds);
                let new = if first {
                    None
                } else {
                    new_only(&before, &feeds)
                };
                (set, new)
            })
            .await;
            match built {
                Ok((set, new)) => {
                    round.in_force = set.len();
                    self.handle.swap(set);
                    round.new = new;
                }
                Err(e) => {
                    tracing::error!(error = %e, "building the indicator set failed; the old set stays")
                }
            }
        } else {
            round.in_force = self.handle.current().len();
        }
        self.first_round = false;
        round
    }

    async fn record(&self, s: &FeedStatus) {
        if let Err(e) = self.store.record_feed(s).await {
            tracing::warn!(feed = %s.name, error = %e, "cannot record the feed's status");
        }
    }

    /// Polls until `stop`, calling `on_round` after each round that
    /// loaded something.
    pub async fn run<F>(mut self, mut stop: tokio::sync::watch::Receiver<bool>, on_round: F)
    where
        F: Fn(Round) + Send,
    {
        loop {
            let round = self.poll().await;
            if !round.loaded.is_empty() || !round.failed.is_empty() {
                on_round(round);
            }
            let wait = self
                .next_due()
                .map_or(Duration::from_secs(3600), |d| {
                    d.saturating_duration_since(Instant::now())
                })
                .max(Duration::from_millis(200));
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    }
}

/// Reads and parses one feed on the blocking pool.
async fn load(f: FeedConfig, limit: u64, timeout: Duration) -> Result<Parsed, String> {
    tokio::task::spawn_blocking(move || {
        if crate::misp::is_feed(&f) {
            return crate::misp::load(&f, limit, timeout);
        }
        let bytes = fetch(&f, limit, timeout).map_err(|e| e.to_string())?;
        feeds::parse(f.format, &bytes, &f.defaults()).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| format!("the reader failed: {e}"))?
}

/// Every feed's last good indicators as one set, in configuration order.
pub fn build_set(feeds: &[(FeedConfig, Option<Arc<Vec<Indicator>>>)]) -> IndicatorSet {
    let mut b = SetBuilder::new();
    b.reserve(
        feeds
            .iter()
            .filter_map(|(_, l)| l.as_ref())
            .map(|l| l.len())
            .sum(),
    );
    for (f, l) in feeds {
        b.add(
            Source {
                name: f.name.clone(),
                allow: f.allow,
            },
            l.as_ref().map_or(&[][..], |l| &l[..]),
        );
    }
    b.build()
}

/// The indicators of `feeds` that `before` did not hold, as a set (for
/// the retro-hunt); `None` when there are none.
fn new_only(
    before: &IndicatorSet,
    feeds: &[(FeedConfig, Option<Arc<Vec<Indicator>>>)],
) -> Option<IndicatorSet> {
    let mut b = SetBuilder::new();
    let mut any = false;
    let mut seen: HashSet<(IndicatorKind, &str)> = HashSet::new();
    for (f, l) in feeds {
        let Some(l) = l else { continue };
        let fresh: Vec<Indicator> = l
            .iter()
            .filter(|i| !f.allow && seen.insert((i.kind, i.value.as_str())) && !holds(before, i))
            .cloned()
            .collect();
        any |= !fresh.is_empty();
        b.add(
            Source {
                name: f.name.clone(),
                allow: f.allow,
            },
            &fresh,
        );
    }
    any.then(|| b.build())
}

/// Whether `set` already matches `i`'s value.
fn holds(set: &IndicatorSet, i: &Indicator) -> bool {
    let mut out = Vec::new();
    match i.kind {
        IndicatorKind::Ip => {
            if let Ok(ip) = i.value.parse() {
                set.lookup_ip(ip, None, 0, &mut out);
            }
        }
        IndicatorKind::IpPort => {
            if let Some((ip, p)) = tocsin_intel::parse_ip_port(&i.value) {
                set.lookup_ip(ip, Some(p), 0, &mut out);
            }
        }
        IndicatorKind::Cidr => {
            if let Ok(c) = i.value.parse::<tocsin_model::Cidr>() {
                set.lookup_ip(c.addr(), None, 0, &mut out);
            }
        }
        IndicatorKind::Domain => set.lookup_domain(&i.value, 0, &mut out),
        IndicatorKind::Url => set.lookup_url(&i.value, 0, &mut out),
        IndicatorKind::Md5 | IndicatorKind::Sha1 | IndicatorKind::Sha256 => {
            set.lookup_hash(&i.value, 0, &mut out)
        }
    }
    out.iter()
        .any(|m| m.kind() == i.kind && m.value() == i.value)
}
