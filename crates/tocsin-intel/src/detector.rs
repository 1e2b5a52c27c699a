//! [`IntelDetector`]: every event's observables looked up in the set in
//! force; a match is a finding of kind `intel`, with the indicator, its
//! source and family, and the agency's device.
//!
//! Lookups run on every worker ([`observe`](tocsin_detect::Detector::observe));
//! the ordered stage folds repeats — the same device and indicator within
//! `realert_after` — into the sighting counts without a new alert, so an
//! infected PC beaconing every minute is one alert and an exact count.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use tocsin_detect::{Detector, Reading};
use tocsin_model::{AlertKind, AttackClass, Event, Finding, IntelHit, Level, Threat};

use crate::observe::{Direction, Observable, device_of, observables_of};
use crate::set::{IndicatorSet, Matches};

/// The set in force, shared by the detector and whoever reloads feeds.
/// Swapping is one pointer under a lock taken only by the swap and by a
/// worker that sees the generation change; lookups take no lock.
#[derive(Debug, Default)]
pub struct IntelHandle {
    set: RwLock<Arc<IndicatorSet>>,
    generation: AtomicU64,
    empty: AtomicBool,
}

impl IntelHandle {
    /// A handle holding `set`.
    pub fn new(set: IndicatorSet) -> Arc<Self> {
        let empty = set.is_empty();
        Arc::new(IntelHandle {
            set: RwLock::new(Arc::new(set)),
            generation: AtomicU64::new(1),
            empty: AtomicBool::new(empty),
        })
    }

    /// Puts `set` in force; workers pick it up at their next event.
    pub fn swap(&self, set: IndicatorSet) {
        let empty = set.is_empty();
        let mut g = self.set.write().unwrap_or_else(|p| p.into_inner());
        *g = Arc::new(set);
        self.empty.store(empty, Ordering::Release);
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The set in force now.
    pub fn current(&self) -> Arc<IndicatorSet> {
        self.set.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// What the detector is told.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct IntelConfig {
    /// A repeat of the same device and indicator within this many seconds
    /// is counted, not alerted again.
    pub realert_after_secs: u64,
    /// The most (device, indicator) pairs remembered for folding; past it
    /// the oldest are forgotten (and may alert again), counted.
    pub max_tracked: usize,
    /// The most observables looked up per event.
    pub max_observables: usize,
}

impl Default for IntelConfig {
    fn default() -> Self {
        IntelConfig {
            realert_after_secs: 3600,
            max_tracked: 200_000,
            max_observables: 64,
        }
    }
}

/// Looks every event up in the indicator set.
#[derive(Debug)]
pub struct IntelDetector {
    handle: Arc<IntelHandle>,
    cfg: IntelConfig,
    /// (device or address, indicator) → event time (ms) of the last alert.
    last: HashMap<(String, String), i64>,
    forgotten: u64,
    folded: u64,
}

impl IntelDetector {
    /// A detector over `handle`.
    pub fn new(handle: Arc<IntelHandle>, cfg: IntelConfig) -> Self {
        IntelDetector {
            handle,
            cfg,
            last: HashMap::new(),
            forgotten: 0,
            folded: 0,
        }
    }
}

/// A worker's view of the set, refreshed when the generation moves.
pub struct IntelWorker {
    generation: u64,
    set: Arc<IndicatorSet>,
    obs: Vec<(&'static str, Observable, Direction)>,
}

/// A finding waiting for the ordered stage to decide whether it repeats,
/// with the time and entity it is folded by.
pub struct Pending {
    at_ms: i64,
    findings: Vec<Finding>,
}

fn title(hit: &IntelHit, inbound: bool) -> String {
    let what = match (hit.threat, inbound) {
        (_, true) => "Connection from a listed address",
        (Threat::BotnetCc, false) => "Contact with a botnet C2 server",
        (Threat::MalwareDownload, false) => "Malware download address contacted",
        (Threat::Payload, false) => "Known malware file",
        (Threat::Phishing, false) => "Phishing address contacted",
        (Threat::Attacker | Threat::Other, false) => "Contact with a listed address",
    };
    match &hit.family {
        Some(f) => format!("{what}: {f}"),
        None => what.to_string(),
    }
}

fn level(hit: &IntelHit, inbound: bool) -> Level {
    if inbound {
        return Level::Low;
    }
    let base = match hit.threat {
        Threat::BotnetCc | Threat::Payload => Level::High,
        Threat::MalwareDownload | Threat::Phishing => Level::High,
        Threat::Attacker | Threat::Other => Level::Medium,
    };
    if hit.confidence < 50 {
        Level::Medium.min(base)
    } else {
        base
    }
}

fn finding(hit: IntelHit, inbound: bool) -> Finding {
    let class = if hit.threat.is_botnet() {
        AttackClass::Botnet
    } else {
        AttackClass::Malware
    };
    let summary = format!(
        "{} {} ({}{})",
        hit.field,
        hit.indicator,
        hit.source,
        hit.family
            .as_deref()
            .map(|f| format!(", {f}"))
            .unwrap_or_default()
    );
    let mut tags = vec![format!("intel.{}", hit.kind)];
    if hit.threat.is_botnet() && !inbound {
        tags.push("attack.t1071".into());
    }
    Finding {
        rule_id: format!("intel:{}:{}", hit.kind, hit.indicator),
        title: title(&hit, inbound),
        level: level(&hit, inbound),
        kind: AlertKind::Intel,
        class,
        tags,
        entity: None,
        summary: Some(summary),
        intel: Some(Box::new(hit)),
        repeat: false,
    }
}

/// The matches of one event, as findings (no folding yet).
pub fn findings_of(
    set: &IndicatorSet,
    ev: &Event,
    obs: &mut Vec<(&'static str, Observable, Direction)>,
    max: usize,
) -> Vec<Finding> {
    observables_of(ev, set.wanted(), max, obs);
    if obs.is_empty() {
        return Vec::new();
    }
    let now = ev.timestamp.utc.timestamp().clamp(0, i64::from(u32::MAX)) as u32;
    let mut matches: Matches<'_> = Vec::new();
    let mut fields = Vec::new();
    for (field, o, dir) in obs.iter() {
        let before = matches.len();
        match o {
            Observable::Ip(ip, port) => set.lookup_ip(*ip, *port, now, &mut matches),
            Observable::Domain(d) => set.lookup_domain(d, now, &mut matches),
            Observable::Url(u) => set.lookup_url(u, now, &mut matches),
            Observable::Hash(h) => set.lookup_hash(h, now, &mut matches),
        }
        for _ in before..matches.len() {
            fields.push((*field, *dir));
        }
    }
    if matches.is_empty() {
        return Vec::new();
    }
    // An allowlisted observable suppresses every match on it.
    if set.has_allowlist() && matches.iter().any(|m| m.source().allow) {
        return Vec::new();
    }
    let mut out: Vec<Finding> = Vec::new();
    for (m, (field, dir)) in matches.iter().zip(fields) {
        let inbound = dir == Direction::Inbound;
        let hit = IntelHit {
            indicator: m.value(),
            kind: m.kind(),
            source: m.source().name.clone(),
            threat: m.threat(),
            family: m.family().map(str::to_string),
            confidence: m.confidence(),
            field: field.to_string(),
            // Only an agency's own device reaching out is an infection
            // sign; an inbound contact has no device of ours to blame.
            device: if inbound || ev.attribution.agency.is_none() {
                None
            } else {
                device_of(ev, field)
            },
        };
        // One finding per indicator: two feeds listing it are one alert.
        let seen = out.iter().any(|f| {
            f.intel
                .as_ref()
                .is_some_and(|h| h.kind == hit.kind && h.indicator == hit.indicator)
        });
        if !seen {
            out.push(finding(hit, inbound));
        }
    }
    out
}

impl Detector for IntelDetector {
    type Worker = IntelWorker;
    type Carry = Pending;

    fn name(&self) -> &'static str {
        "intel"
    }

    fn worker(&self) -> IntelWorker {
        IntelWorker {
            generation: self.handle.generation.load(Ordering::Acquire),
            set: self.handle.current(),
            obs: Vec::new(),
        }
    }

    fn interested(&self, _: &Event) -> bool {
        !self.handle.empty.load(Ordering::Relaxed)
    }

    fn observe(&self, w: &mut IntelWorker, ev: &Event, _: &mut Vec<Finding>) -> Option<Pending> {
        let g = self.handle.generation.load(Ordering::Acquire);
        if g != w.generation {
            w.set = self.handle.current();
            w.generation = g;
        }
        let findings = findings_of(&w.set, ev, &mut w.obs, self.cfg.max_observables);
        (!findings.is_empty()).then(|| Pending {
            at_ms: ev.timestamp.utc.timestamp_millis(),
            findings,
        })
    }

    fn follow(&mut self, carry: Pending, out: &mut Vec<Finding>) {
        let window = i64::try_from(self.cfg.realert_after_secs)
            .unwrap_or(i64::MAX / 2)
            .saturating_mul(1000);
        for mut f in carry.findings {
            let Some(hit) = &f.intel else { continue };
            let entity = hit
                .device
                .as_ref()
                .map(|d| d.key.clone())
                .unwrap_or_else(|| hit.field.clone());
            let key = (entity, hit.indicator.clone());
            match self.last.get(&key) {
                Some(&t) if carry.at_ms >= t && carry.at_ms - t < window => {
                    f.repeat = true;
                    self.folded += 1;
                }
                _ => {
                    if self.last.len() >= self.cfg.max_tracked {
                        // Forget the oldest half: bounded, and a forgotten
                        // pair at worst alerts once more.
                        let mut times: Vec<i64> = self.last.values().copied().collect();
                        let mid = times.len() / 2;
                        let (_, cut, _) = times.select_nth_unstable(mid);
                        let cut = *cut;
                        let before = self.last.len();
                        self.last.retain(|_, t| *t > cut);
                        self.forgotten += (before - self.last.len()) as u64;
                    }
                    self.last.insert(key, carry.at_ms);
                }
            }
            out.push(f);
        }
    }

    fn readings(&self) -> Vec<Reading> {
        let set = self.handle.current();
        vec![
            Reading {
                name: "tocsin_intel_indicators",
                help: "Threat-intelligence indicators in force.",
                value: set.len() as u64,
                total: false,
            },
            Reading {
                name: "tocsin_intel_tracked_pairs",
                help: "Device and indicator pairs remembered for folding repeats.",
                value: self.last.len() as u64,
                total: false,
            },
            Reading {
                name: "tocsin_intel_folded_total",
                help: "Indicator matches folded into an earlier alert (counted as sightings).",
                value: self.folded,
                total: true,
            },
            Reading {
                name: "tocsin_intel_forgotten_total",
                help: "Pairs forgotten at the intel.max_tracked bound.",
                value: self.forgotten,
                total: true,
            },
        ]
    }
}
