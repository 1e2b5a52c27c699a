//! Denial of service against the province's websites, as episodes. A
//! detection stage (synchronous, no I/O) beside the Sigma engine:
//!
//! ```text
//! web Event ─► observe: (site, time, source, 5xx?) ─► follow, in event order:
//!                                                     per site, one-minute buckets
//!                                                     ─► rate vs the site's baseline for
//!                                                        that hour of day (EWMA), error share
//!                                                     ─► episode: start ─► peak ─► end
//!                                                        (one alert, folded: started, ended)
//! ```
//!
//! A site is the asset the request is attributed to, else the host that
//! logged it. A minute is anomalous when its requests reach `factor` times
//! the site's usual rate at that hour (and at least `min_per_minute`), or
//! when most of a busy minute's answers are server errors (the site is
//! going down). The first anomalous minute opens an episode and raises a
//! finding; each further attack minute raises a repeat (so the alert stays
//! open and current however long the attack lasts); the episode ends after
//! `quiet_minutes` normal minutes with a last finding of the same entity.
//! The store folds them all into one alert, whose summary ends as start,
//! peak, end, total and top sources. Time is the events' own: `tick` judges
//! silent sites by the latest event time seen, not the wall clock. Normal minutes teach the baseline; anomalous ones do not, so a
//! long attack does not become the norm.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Timelike, Utc};
use tocsin_detect::{Detector, Reading};
use tocsin_model::{
    AlertKind, AttackClass, Category, Event, EventAttribution, Finding, Level, Observer, Timestamp,
};

/// Denial-of-service settings (`[ingest.pipeline.dos]`).
#[derive(Clone, Debug, serde::Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DosConfig {
    /// Whether web traffic is watched for floods.
    pub enabled: bool,
    /// A minute with fewer requests is never an attack.
    pub min_per_minute: u64,
    /// How many times the usual rate for the hour makes a minute anomalous.
    pub factor: f64,
    /// Share of 5xx answers that makes a busy minute anomalous (the site
    /// is failing under load).
    pub error_share: f64,
    /// Normal minutes after which an episode ends.
    pub quiet_minutes: u32,
    /// Weight of each new normal minute in the baseline (0–1).
    pub learning_rate: f64,
    /// Sites followed at most; more are counted and ignored.
    pub max_sites: usize,
    /// Sources counted per site and minute at most (for the top sources).
    pub max_sources: usize,
}

impl Default for DosConfig {
    fn default() -> Self {
        DosConfig {
            enabled: true,
            min_per_minute: 600,
            factor: 5.0,
            error_share: 0.5,
            quiet_minutes: 3,
            learning_rate: 0.1,
            max_sites: 10_000,
            max_sources: 5_000,
        }
    }
}

impl DosConfig {
    /// The detector these settings ask for.
    pub fn build(self) -> DosDetector {
        DosDetector {
            cfg: self,
            sites: HashMap::new(),
            dropped_sites: AtomicU64::new(0),
            episodes: 0,
            latest_ms: 0,
        }
    }
}

/// What one web event tells the detector.
#[derive(Clone, Debug)]
pub struct Request {
    site: String,
    /// The site's attribution and input, for an episode that ends when
    /// traffic stops (no event left to report it on).
    attribution: EventAttribution,
    input: String,
    ts_ms: i64,
    source: Option<IpAddr>,
    error: bool,
}

/// One minute of one site.
#[derive(Debug, Default)]
struct Minute {
    start_ms: i64,
    requests: u64,
    errors: u64,
    sources: HashMap<IpAddr, u64>,
}

/// An attack in progress.
#[derive(Debug)]
struct Episode {
    start_ms: i64,
    peak: u64,
    total: u64,
    quiet: u32,
    sources: HashMap<IpAddr, u64>,
    baseline: f64,
}

#[derive(Debug, Default)]
struct Site {
    /// Start of the last minute judged.
    judged_ms: i64,
    attribution: EventAttribution,
    input: String,
    minute: Minute,
    /// Usual requests per minute by hour of day (province time); 0 until
    /// learned.
    baseline: [f64; 24],
    episode: Option<Episode>,
}

/// Finds denial-of-service episodes (see the crate's docs).
#[derive(Debug)]
pub struct DosDetector {
    cfg: DosConfig,
    sites: HashMap<String, Site>,
    dropped_sites: AtomicU64,
    episodes: u64,
    /// The latest event time followed: the clock `tick` judges by, so a
    /// backlog replayed late is judged by its own times.
    latest_ms: i64,
}

const MINUTE_MS: i64 = 60_000;

fn hour_of(ms: i64) -> usize {
    // Province time (UTC+7): the baseline follows office hours.
    DateTime::<Utc>::from_timestamp_millis(ms + 7 * 3_600_000).map_or(0, |t| t.hour() as usize)
}

fn time_text(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

fn top(sources: &HashMap<IpAddr, u64>, n: usize) -> String {
    let mut v: Vec<_> = sources.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    v.iter()
        .take(n)
        .map(|(ip, c)| format!("{ip} ({c})"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl DosDetector {
    /// The site a web event is about.
    fn site_of(ev: &Event) -> Option<String> {
        if let Some(a) = &ev.attribution.asset {
            return Some(a.as_str().to_string());
        }
        ev.fields
            .get_str("url.domain")
            .or(ev.fields.get_str("host.name"))
            .map(str::to_string)
            .or_else(|| ev.observer.host.clone())
            .or_else(|| (!ev.observer.name.is_empty()).then(|| ev.observer.name.clone()))
    }

    /// Closes the site's minute that ended before `now_ms`, judging it.
    fn close_minute(
        cfg: &DosConfig,
        site_name: &str,
        s: &mut Site,
        episodes: &mut u64,
        out: &mut Vec<Finding>,
    ) {
        let m = std::mem::take(&mut s.minute);
        if m.requests == 0 {
            return;
        }
        s.judged_ms = m.start_ms;
        let hour = hour_of(m.start_ms);
        // The usual rate at this hour; an hour not learned yet borrows the
        // mean of those learned. A site with nothing learned (new, or just
        // started watching) needs `factor` times the floor: its first busy
        // minutes teach rather than alert.
        let learned: Vec<f64> = s.baseline.iter().copied().filter(|b| *b > 0.0).collect();
        let usual = match s.baseline[hour] {
            b if b > 0.0 => b,
            _ if !learned.is_empty() => learned.iter().sum::<f64>() / learned.len() as f64,
            _ => 0.0,
        };
        let floor = cfg.min_per_minute as f64;
        let threshold = if usual > 0.0 {
            (usual * cfg.factor).max(floor)
        } else {
            floor * cfg.factor
        };
        let errors = m.errors as f64 / m.requests as f64;
        let anomalous = m.requests as f64 >= threshold
            || (m.requests as f64 >= floor / 2.0 && errors >= cfg.error_share && usual > 0.0);
        if anomalous {
            match &mut s.episode {
                Some(e) => {
                    e.peak = e.peak.max(m.requests);
                    e.total += m.requests;
                    e.quiet = 0;
                    for (ip, c) in m.sources {
                        // Bounded across the episode too: a distributed
                        // flood's millionth source is not kept.
                        if e.sources.len() < cfg.max_sources || e.sources.contains_key(&ip) {
                            *e.sources.entry(ip).or_default() += c;
                        }
                    }
                    // Every minute of an episode is a repeat of its alert:
                    // it stays one alert however long the attack lasts, and
                    // its summary says where the attack is now.
                    out.push(finding(
                        site_name,
                        format!(
                            "Denial of service on {site_name} since {}: {} requests/min now, peak {}, {} requests so far against {}; top sources: {}",
                            time_text(e.start_ms),
                            m.requests,
                            e.peak,
                            e.total,
                            usual_text(e.baseline),
                            top(&e.sources, 5)
                        ),
                        level(e.peak, e.baseline),
                    ));
                }
                None => {
                    *episodes += 1;
                    let e = Episode {
                        start_ms: m.start_ms,
                        peak: m.requests,
                        total: m.requests,
                        quiet: 0,
                        sources: m.sources,
                        baseline: usual,
                    };
                    out.push(finding(
                        site_name,
                        format!(
                            "Denial of service on {site_name} started {}: {} requests/min ({}% server errors) against {}; top sources: {}",
                            time_text(e.start_ms),
                            e.peak,
                            (errors * 100.0).round(),
                            usual_text(usual),
                            top(&e.sources, 5)
                        ),
                        level(e.peak, usual),
                    ));
                    s.episode = Some(e);
                }
            }
            return;
        }
        // A normal minute: it teaches the baseline, and counts toward
        // ending an episode.
        let here = s.baseline[hour];
        s.baseline[hour] = if here == 0.0 {
            m.requests as f64
        } else {
            here + cfg.learning_rate * (m.requests as f64 - here)
        };
        Self::quiet_minute(cfg, site_name, s, m.start_ms, out);
    }

    /// A minute without attack (`start_ms` its start): counts toward
    /// ending the episode, which ends at the first quiet minute.
    fn quiet_minute(
        cfg: &DosConfig,
        site_name: &str,
        s: &mut Site,
        start_ms: i64,
        out: &mut Vec<Finding>,
    ) {
        s.judged_ms = start_ms;
        if let Some(e) = &mut s.episode {
            e.quiet += 1;
            if e.quiet >= cfg.quiet_minutes {
                let end_ms = start_ms - i64::from(e.quiet - 1) * MINUTE_MS;
                out.push(finding(
                    site_name,
                    format!(
                        "Denial of service on {site_name} from {} to {}: peak {} requests/min against {}, {} requests in all; top sources: {}",
                        time_text(e.start_ms),
                        time_text(end_ms),
                        e.peak,
                        usual_text(e.baseline),
                        e.total,
                        top(&e.sources, 5)
                    ),
                    level(e.peak, e.baseline),
                ));
                s.episode = None;
            }
        }
    }
}

/// The usual rate, or that none is learned yet (a site just watched).
fn usual_text(usual: f64) -> String {
    if usual > 0.0 {
        format!("a usual {usual:.0}")
    } else {
        "no usual rate learned yet".to_string()
    }
}

fn level(peak: u64, usual: f64) -> Level {
    if usual > 0.0 && peak as f64 >= usual * 20.0 {
        Level::Critical
    } else {
        Level::High
    }
}

fn finding(site: &str, summary: String, level: Level) -> Finding {
    Finding {
        rule_id: "tocsin:dos:episode".into(),
        title: "Denial of service against a website".into(),
        level,
        kind: AlertKind::Correlation,
        class: AttackClass::Dos,
        tags: vec![
            "attack.impact".into(),
            "attack.t1498".into(),
            "attack.t1499".into(),
        ],
        entity: Some(site.to_string()),
        summary: Some(summary),
        intel: None,
        repeat: false,
    }
}

impl Detector for DosDetector {
    type Worker = ();
    type Carry = Request;

    fn name(&self) -> &'static str {
        "dos"
    }

    fn worker(&self) {}

    fn interested(&self, ev: &Event) -> bool {
        self.cfg.enabled && ev.category == Category::Web
    }

    fn observe(&self, _: &mut (), ev: &Event, _out: &mut Vec<Finding>) -> Option<Request> {
        let status = ev
            .fields
            .get("http.response.status_code")
            .and_then(|v| v.as_i64())
            .unwrap_or(0);
        Some(Request {
            site: Self::site_of(ev)?,
            attribution: ev.attribution.clone(),
            input: ev.observer.name.clone(),
            ts_ms: ev.timestamp.utc.timestamp_millis(),
            source: ev.fields.get_str("source.ip").and_then(|s| s.parse().ok()),
            error: (500..600).contains(&status),
        })
    }

    fn follow(&mut self, r: Request, out: &mut Vec<Finding>) {
        if !self.sites.contains_key(&r.site) && self.sites.len() >= self.cfg.max_sites {
            self.dropped_sites.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.latest_ms = self.latest_ms.max(r.ts_ms);
        let cfg = &self.cfg;
        let s = self.sites.entry(r.site.clone()).or_default();
        s.attribution = r.attribution;
        s.input = r.input;
        let minute = r.ts_ms.div_euclid(MINUTE_MS) * MINUTE_MS;
        if s.minute.requests > 0 && minute > s.minute.start_ms {
            // Minutes with no request at all are normal minutes too.
            let gap = ((minute - s.minute.start_ms) / MINUTE_MS - 1).clamp(0, 10);
            Self::close_minute(cfg, &r.site, s, &mut self.episodes, out);
            for k in 0..gap {
                if s.episode.is_none() {
                    break;
                }
                Self::quiet_minute(cfg, &r.site, s, minute - (gap - k) * MINUTE_MS, out);
            }
        }
        if s.minute.requests == 0 || minute > s.minute.start_ms {
            s.minute.start_ms = minute;
        }
        // A late event (an earlier minute) counts in the current one.
        s.minute.requests += 1;
        s.minute.errors += u64::from(r.error);
        if let Some(ip) = r.source
            && (s.minute.sources.len() < cfg.max_sources || s.minute.sources.contains_key(&ip))
        {
            *s.minute.sources.entry(ip).or_default() += 1;
        }
    }

    /// Traffic that stopped: a site's last minute is judged once it is
    /// over, and an open episode ends after `quiet_minutes` of silence
    /// (a site knocked offline sends nothing more).
    fn tick(&mut self, now_ms: i64, out: &mut Vec<(Finding, Event)>) {
        // The event clock, not the wall clock: with a backlog the wall
        // clock would close minutes still being read.
        if self.latest_ms == 0 {
            return;
        }
        let now_ms = self.latest_ms.min(now_ms);
        let cfg = &self.cfg;
        for (name, s) in &mut self.sites {
            let idle = s.minute.requests > 0 && now_ms >= s.minute.start_ms + 2 * MINUTE_MS;
            let silent = s.minute.requests == 0 && s.episode.is_some();
            if !idle && !silent {
                continue;
            }
            let mut found = Vec::new();
            if idle {
                Self::close_minute(cfg, name, s, &mut self.episodes, &mut found);
            }
            // Silent minutes since the last judged one, each over.
            let mut k = 1;
            let last = s.judged_ms;
            while s.episode.is_some() && last + (k + 1) * MINUTE_MS <= now_ms && k <= 10 {
                Self::quiet_minute(cfg, name, s, last + k * MINUTE_MS, &mut found);
                k += 1;
            }
            for f in found {
                let mut ev = Event::new(
                    Timestamp::received(
                        DateTime::<Utc>::from_timestamp_millis(now_ms).unwrap_or_default(),
                    ),
                    Observer {
                        name: s.input.clone(),
                        kind: "dos".into(),
                        host: None,
                    },
                    String::new(),
                );
                ev.category = Category::Web;
                ev.attribution = s.attribution.clone();
                out.push((f, ev));
            }
        }
    }

    fn readings(&self) -> Vec<Reading> {
        vec![
            Reading {
                name: "tocsin_dos_sites",
                help: "Websites whose request rates the denial-of-service detector follows",
                value: self.sites.len() as u64,
                total: false,
            },
            Reading {
                name: "tocsin_dos_sites_dropped_total",
                help: "Web events of sites beyond [ingest.pipeline.dos] max_sites, not followed",
                value: self.dropped_sites.load(Ordering::Relaxed),
                total: true,
            },
            Reading {
                name: "tocsin_dos_episodes_total",
                help: "Denial-of-service episodes opened",
                value: self.episodes,
                total: true,
            },
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(site: &str, ms: i64, ip: &str, error: bool) -> Request {
        Request {
            site: site.into(),
            attribution: EventAttribution::default(),
            input: "test".into(),
            ts_ms: ms,
            source: ip.parse().ok(),
            error,
        }
    }

    /// `per_minute` requests in each of `minutes` minutes from `from`.
    fn traffic(
        d: &mut DosDetector,
        from: i64,
        minutes: i64,
        per_minute: i64,
        ip: &str,
        error: bool,
    ) -> Vec<Finding> {
        let mut out = Vec::new();
        for m in 0..minutes {
            for k in 0..per_minute {
                let ms = from + m * MINUTE_MS + k * (MINUTE_MS / per_minute.max(1));
                d.follow(req("portal", ms, ip, error), &mut out);
            }
        }
        out
    }

    #[test]
    fn one_episode_from_start_to_end_against_the_sites_own_baseline() {
        let mut d = DosConfig::default().build();
        let t0 = 1_764_900_000_000 - 1_764_900_000_000 % MINUTE_MS;
        // Forty normal minutes at 200/min teach the baseline.
        assert!(traffic(&mut d, t0, 40, 200, "10.36.1.5", false).is_empty());
        // An attack: five minutes at 3,000/min from one address.
        let start = traffic(&mut d, t0 + 40 * MINUTE_MS, 5, 3_000, "5.188.62.214", true);
        // The opening minute, then one repeat per further attack minute
        // judged (the fifth is judged when the next minute starts).
        assert_eq!(start.len(), 4, "{start:?}");
        let s = start[0].summary.as_deref().unwrap();
        assert!(s.contains("started") && s.contains("5.188.62.214"), "{s}");
        assert_eq!(start[0].class, AttackClass::Dos);
        assert_eq!(start[0].entity.as_deref(), Some("portal"));
        assert!(
            start[1..]
                .iter()
                .all(|f| f.rule_id == start[0].rule_id && f.entity == start[0].entity)
        );
        let s = start[3].summary.as_deref().unwrap();
        assert!(s.contains("12000 requests so far"), "{s}");
        // Back to normal: the episode ends after three quiet minutes.
        let end = traffic(&mut d, t0 + 45 * MINUTE_MS, 5, 200, "10.36.1.5", false);
        // The fifth attack minute, then the end.
        assert_eq!(end.len(), 2, "{end:?}");
        let s = end[1].summary.as_deref().unwrap();
        assert!(
            s.contains("peak 3000")
                && s.contains("15000 requests")
                && s.contains("5.188.62.214 (15000)"),
            "{s}"
        );
        assert_eq!(end[1].rule_id, start[0].rule_id);
        assert_eq!(d.readings()[2].value, 1);
    }

    #[test]
    fn a_busy_but_usual_site_and_a_small_site_raise_nothing() {
        let mut d = DosConfig::default().build();
        let t0 = 1_764_900_000_000 - 1_764_900_000_000 % MINUTE_MS;
        // The portal is always busy: 2,000/min is its normal.
        assert!(traffic(&mut d, t0, 60, 2_000, "10.36.1.5", false).is_empty());
        // A commune site doubling from 50 to 100/min is under the floor.
        let mut out = Vec::new();
        for k in 0..100 {
            d.follow(req("xa-hoa-an", t0 + k * 600, "10.36.2.9", false), &mut out);
        }
        assert!(out.is_empty());
    }

    #[test]
    fn an_episode_ends_when_the_site_goes_silent() {
        let mut d = DosConfig::default().build();
        let t0 = 1_764_900_000_000 - 1_764_900_000_000 % MINUTE_MS;
        traffic(&mut d, t0, 30, 100, "10.36.1.5", false);
        let start = traffic(&mut d, t0 + 30 * MINUTE_MS, 3, 4_000, "5.188.62.214", false);
        assert_eq!(start.len(), 2, "opened, then one minute more: {start:?}");
        let mut out = Vec::new();
        // The wall clock far ahead (a backlog) changes nothing: the event
        // clock has not moved.
        d.tick(t0 + 90 * MINUTE_MS, &mut out);
        assert!(out.is_empty(), "not yet: {out:?}");
        // Other sites' events move the event clock on; the silent site's
        // episode ends three quiet minutes after its last attack minute.
        let mut o = Vec::new();
        d.follow(req("other", t0 + 40 * MINUTE_MS, "10.0.0.9", false), &mut o);
        d.tick(t0 + 90 * MINUTE_MS, &mut out);
        let ended: Vec<_> = out
            .iter()
            .filter(|(f, _)| f.summary.as_deref().unwrap().contains(" to "))
            .collect();
        assert_eq!(ended.len(), 1, "{out:?}");
        let out = [ended[0].clone()];
        let s = out[0].0.summary.as_deref().unwrap();
        assert!(s.contains("12000 requests"), "{s}");
        // Three attack minutes from t0+30: it ended when t0+33 was quiet.
        let end = DateTime::<Utc>::from_timestamp_millis(t0 + 33 * MINUTE_MS).unwrap();
        assert!(
            s.contains(&end.format("to %Y-%m-%d %H:%M").to_string()),
            "{s}"
        );
    }

    #[test]
    fn sites_beyond_the_bound_are_counted() {
        let mut d = DosConfig {
            max_sites: 2,
            ..DosConfig::default()
        }
        .build();
        let mut out = Vec::new();
        for s in ["a", "b", "c", "d"] {
            d.follow(req(s, 0, "10.0.0.1", false), &mut out);
        }
        assert_eq!(d.readings()[1].value, 2);
    }
}
