//! The correlator: the bounded, windowed state of correlation rules at run
//! time, fed each event's matches in time order.
//!
//! Memory is bounded: a group's state only holds matches inside its window
//! (older ones are dropped on every update and by [`Correlator::expire`]),
//! at most [`CorrelatorConfig::max_groups`] groups are tracked per
//! correlation, at most `max_events_per_group` entries per group
//! (identical matches share an entry unless their values are summed or
//! ranked), and at most `max_bytes` in all (keys and values are what a
//! sender writes, so their size counts, not only their number); what does
//! not fit is dropped and counted in [`CorrelatorStats`]. A full
//! correlation looks for passed windows to drop at most once per sixteenth
//! of its window, so a flood of new keys costs constant time each.
//!
//! Work is split so that the part needing the event runs anywhere and the
//! part needing the state runs in order:
//!
//! ```text
//! event + its matches ─extract─► CorrelationInputs ─feed (event order)─► fired
//!      (any thread, stateless)                       (one owner, stateful)
//! ```
//!
//! A group fires when its aggregate meets the condition, and then starts
//! afresh: a sustained attack fires once per accumulation, not once per
//! event after the threshold. Time is what the caller passes with each
//! event (the event's own time, in milliseconds), never the clock, so
//! replaying old logs correlates as live ones would.

use std::collections::{HashMap, VecDeque};

use crate::correlation::{CorrKind, CorrelationDef, Source};
use crate::engine::Engine;
use crate::record::Record;

/// Bounds on correlation state.
///
/// They cap memory against what an attacker controls: a spray from many
/// addresses makes many groups, a flood from one makes a long window. The
/// two bounds multiply: in the worst case one correlation holds
/// `max_groups × max_events_per_group` entries, so lower them where memory
/// is tight.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorrelatorConfig {
    /// Groups tracked per correlation rule (default 100,000). When full,
    /// groups whose window has passed are dropped first; if it is still
    /// full, the new group is refused.
    pub max_groups: usize,
    /// Entries kept per group (identical matches — same time, source and
    /// value — share one where the aggregate allows). Default 10,000; a
    /// full group drops its oldest entries.
    pub max_events_per_group: usize,
    /// Bytes of state in all correlations together (keys, values, entries;
    /// an estimate within a small factor of the heap used). Default 256
    /// MiB. When reached, new groups are refused as when `max_groups` is.
    pub max_bytes: usize,
}

impl Default for CorrelatorConfig {
    fn default() -> Self {
        CorrelatorConfig {
            max_groups: 100_000,
            max_events_per_group: 10_000,
            max_bytes: 256 << 20,
        }
    }
}

/// What a group costs beyond its key and entries (map slot, deque header).
const GROUP_COST: usize = 96;

/// What one entry costs.
fn entry_cost(e: &Entry) -> usize {
    std::mem::size_of::<Entry>() + e.value.as_ref().map_or(0, String::capacity)
}

/// What a group costs, key included.
fn group_cost(key: &str, g: &Group) -> usize {
    GROUP_COST + key.len() + g.bytes
}

/// Counters of what the bounds dropped. Non-zero drop counts mean some
/// correlation may have missed what it was meant to see: a sign the bounds
/// are too tight for the traffic, or of an attempt to flood them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CorrelatorStats {
    /// New groups refused because a correlation had `max_groups`, or the
    /// state had `max_bytes`.
    pub groups_dropped: u64,
    /// Matches dropped from full groups (oldest first).
    pub events_dropped: u64,
    /// Groups alive now.
    pub groups: usize,
    /// Bytes of state now (see [`CorrelatorConfig::max_bytes`]).
    pub bytes: usize,
}

/// One event's contribution to one correlation source, as
/// [`Correlator::extract`] reads it.
///
/// Owns its strings, so it can outlive the record it was read from and be
/// sent to the thread that feeds the correlator.
#[derive(Clone, Debug, PartialEq)]
pub struct CorrelationInput {
    /// Index into the engine's correlations.
    correlation: usize,
    /// Index into that correlation's sources.
    source: usize,
    /// The group-by values joined (each followed by U+001F, which values do
    /// not contain in practice): the group's key.
    key: String,
    /// (group-by name, value) pairs, for the match report.
    group: Vec<(String, String)>,
    /// The aggregated field's first value, for the value_* kinds.
    value: Option<String>,
}

/// A fired correlation.
#[derive(Clone, Debug, PartialEq)]
pub struct CorrelationMatch {
    /// Index into the engine's correlations.
    pub correlation: usize,
    /// (group-by name, value) pairs. A field missing from the event counts
    /// as the empty value.
    pub group: Vec<(String, String)>,
    /// The aggregate that met the condition (count, distinct count, sum…).
    pub value: f64,
    /// Matches in the window (folded duplicates counted each).
    pub events: usize,
    /// Time of the first match in the window (ms since the epoch).
    pub first_ms: i64,
    /// Time of the last match.
    pub last_ms: i64,
}

/// One match (or several identical ones) in a group's window. Serialized
/// as is in snapshots.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Entry {
    /// The event's time (ms since the epoch).
    ts: i64,
    /// Which of the correlation's sources matched.
    source: usize,
    /// The aggregated field's value, when the kind reads one.
    value: Option<String>,
    /// Identical matches (same time, source and value) folded into this
    /// one where the aggregate does not weigh values: a flood logged with
    /// one-second times keeps one entry per second, not one per request.
    #[serde(default = "one")]
    count: u64,
}

/// The count of an entry saved without one (snapshots written before
/// identical matches were folded).
fn one() -> u64 {
    1
}

impl CorrKind {
    /// Whether identical matches can share an entry (the aggregate counts
    /// them or ignores repeats, but never sums or ranks their values).
    fn folds(self) -> bool {
        !matches!(
            self,
            CorrKind::ValueSum | CorrKind::ValueAvg | CorrKind::ValuePercentile
        )
    }
}

/// Correlation windows kept across a restart ([`Correlator::snapshot`],
/// [`Correlator::restore`]). Correlations are named by their rule's id (not
/// their place in the engine) with a fingerprint of what their state means
/// (kind, window, group-by, sources): the state of a rule that changed or
/// was removed is dropped on restore rather than misread.
///
/// Serializable with serde; its layout is private, so treat the serialized
/// form as opaque and hand it back only to [`Correlator::restore`].
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CorrelatorSnapshot {
    /// The correlations that had state, each with its groups.
    correlations: Vec<SnapshotCorrelation>,
}

/// One correlation's saved groups.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct SnapshotCorrelation {
    /// The correlation rule's key ([`RuleMeta::key`](crate::RuleMeta::key)).
    rule: String,
    /// What its state means (see `shape`); restore needs an exact match.
    shape: String,
    /// (group key, entries oldest first).
    groups: Vec<(String, Vec<Entry>)>,
}

impl CorrelatorSnapshot {
    /// Groups held.
    pub fn groups(&self) -> usize {
        self.correlations.iter().map(|c| c.groups.len()).sum()
    }
}

/// What [`Correlator::restore`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RestoreReport {
    /// Groups brought back.
    pub groups: usize,
    /// Groups dropped: their rule is gone or changed, or the bounds are full.
    pub dropped: usize,
}

/// What a correlation's state means; a change makes saved state unusable.
///
/// Kind, window, group-by names and the sources by their rules' keys (not
/// indices, which shift when rules are added): entries name their source
/// by position, so reordering the sources must invalidate them too.
fn shape(engine: &Engine, def: &CorrelationDef) -> String {
    let sources: Vec<&str> = def
        .sources
        .iter()
        .map(|s| match s {
            Source::Rule(r) => engine.rules().get(*r).map_or("?", |x| x.meta.key()),
            Source::Correlation(c) => engine.correlations().get(*c).map_or("?", |x| x.meta.key()),
        })
        .collect();
    format!(
        "{:?}|{}|{}|{}",
        def.kind,
        def.timespan_ms,
        def.group_by.join(","),
        sources.join(",")
    )
}

/// The window of one group of one correlation.
#[derive(Debug, Default)]
struct Group {
    /// Matches in arrival order (oldest at the front), which is time order
    /// when events come in time order.
    entries: VecDeque<Entry>,
    /// What the entries cost ([`entry_cost`]).
    bytes: usize,
}

impl Group {
    fn new(entries: VecDeque<Entry>) -> Group {
        let bytes = entries.iter().map(entry_cost).sum();
        Group { entries, bytes }
    }

    fn pop_front(&mut self) -> Option<Entry> {
        let e = self.entries.pop_front()?;
        self.bytes -= entry_cost(&e);
        Some(e)
    }
}

/// Streaming correlation state. Feed it every event's detection matches in
/// time order (roughly: late events inside the window still count).
///
/// Made for one engine ([`Correlator::new`]) and valid only with it: the
/// methods take that engine to read the correlation definitions.
pub struct Correlator {
    /// The bounds.
    config: CorrelatorConfig,
    /// Per correlation (engine order): group key → window.
    groups: Vec<HashMap<String, Group>>,
    /// Drop counters (`groups` is filled in when read).
    stats: CorrelatorStats,
    /// What the state costs now ([`group_cost`] of every group).
    bytes: usize,
    /// Per correlation: the event time of its last search for passed
    /// windows when full.
    swept_ms: Vec<i64>,
    /// Rules whose own matches are suppressed (referenced with generate: false).
    suppressed: Vec<bool>,
    /// Rules some correlation counts.
    feeds: Vec<bool>,
}

impl Correlator {
    /// State for `engine`'s correlations. A rule referenced by several
    /// correlations is suppressed when any of them has `generate: false`.
    pub fn new(engine: &Engine, config: CorrelatorConfig) -> Self {
        let mut suppressed = vec![false; engine.rules().len()];
        let mut feeds = vec![false; engine.rules().len()];
        for c in engine.correlations() {
            for s in &c.sources {
                if let Source::Rule(r) = s {
                    feeds[*r] = true;
                    suppressed[*r] |= !c.generate;
                }
            }
        }
        Correlator {
            feeds,
            config,
            groups: engine
                .correlations()
                .iter()
                .map(|_| HashMap::new())
                .collect(),
            stats: CorrelatorStats::default(),
            bytes: 0,
            swept_ms: vec![i64::MIN; engine.correlations().len()],
            suppressed,
        }
    }

    /// Whether some correlation counts this rule's matches (events matching
    /// no such rule need not reach [`Correlator::extract`]).
    pub fn feeds(&self, rule: usize) -> bool {
        self.feeds.get(rule).copied().unwrap_or(false)
    }

    /// Whether a rule's own match should not alert (it only feeds a
    /// correlation that has `generate: false`).
    pub fn suppressed(&self, rule: usize) -> bool {
        self.suppressed.get(rule).copied().unwrap_or(false)
    }

    /// What the bounds dropped so far.
    pub fn stats(&self) -> CorrelatorStats {
        CorrelatorStats {
            groups: self.groups.iter().map(HashMap::len).sum(),
            bytes: self.bytes,
            ..self.stats.clone()
        }
    }

    /// The windows now, to keep across a restart: at most `max_entries`
    /// matches in all, from the most recently active groups and, within a
    /// group, its newest matches (a flood of distinct sources must not make
    /// the copy as large as the state).
    pub fn snapshot(&self, engine: &Engine, max_entries: usize) -> CorrelatorSnapshot {
        let mut recent: Vec<(i64, usize, &String, &Group)> = self
            .groups
            .iter()
            .enumerate()
            .flat_map(|(ci, groups)| {
                groups
                    .iter()
                    .map(move |(k, g)| (g.entries.back().map_or(i64::MIN, |e| e.ts), ci, k, g))
            })
            .collect();
        recent.sort_unstable_by_key(|r| std::cmp::Reverse(r.0));
        let mut budget = max_entries;
        let mut per: Vec<Vec<(String, Vec<Entry>)>> = vec![Vec::new(); self.groups.len()];
        for (_, ci, key, g) in recent {
            if budget == 0 {
                break;
            }
            let take = g.entries.len().min(budget);
            budget -= take;
            let entries = g
                .entries
                .iter()
                .skip(g.entries.len() - take)
                .cloned()
                .collect();
            per[ci].push((key.clone(), entries));
        }
        let correlations = engine
            .correlations()
            .iter()
            .zip(per)
            .filter(|(_, groups)| !groups.is_empty())
            .map(|(def, groups)| SnapshotCorrelation {
                rule: def.meta.key().to_string(),
                shape: shape(engine, def),
                groups,
            })
            .collect();
        CorrelatorSnapshot { correlations }
    }

    /// Brings back windows from [`Correlator::snapshot`] (of this engine or
    /// an earlier one), within this correlator's bounds; groups already held
    /// are kept as they are.
    pub fn restore(&mut self, engine: &Engine, snap: CorrelatorSnapshot) -> RestoreReport {
        let mut report = RestoreReport::default();
        for sc in snap.correlations {
            let found = engine
                .correlations()
                .iter()
                .position(|d| d.meta.key() == sc.rule && shape(engine, d) == sc.shape);
            let Some(ci) = found else {
                report.dropped += sc.groups.len();
                continue;
            };
            let sources = engine.correlations()[ci].sources.len();
            let groups = &mut self.groups[ci];
            for (key, mut entries) in sc.groups {
                entries.retain(|e| e.source < sources);
                let excess = entries
                    .len()
                    .saturating_sub(self.config.max_events_per_group);
                entries.drain(..excess);
                let g = Group::new(entries.into());
                let cost = group_cost(&key, &g);
                if g.entries.is_empty()
                    || groups.contains_key(&key)
                    || groups.len() >= self.config.max_groups
                    || self.bytes + cost > self.config.max_bytes
                {
                    report.dropped += 1;
                    continue;
                }
                self.bytes += cost;
                groups.insert(key, g);
                report.groups += 1;
            }
        }
        report
    }

    /// Drops state older than every window at `now_ms`.
    ///
    /// Updates already trim the group they touch; this reclaims groups no
    /// event has touched since, so call it now and then with the newest
    /// event time seen (not the wall clock, when replaying old logs).
    pub fn expire(&mut self, engine: &Engine, now_ms: i64) {
        for ci in 0..self.groups.len() {
            let span = engine.correlations()[ci].timespan_ms;
            self.expire_one(ci, now_ms.saturating_sub(span));
        }
    }

    /// Drops correlation `ci`'s entries older than `oldest_ms`, and the
    /// groups left empty.
    fn expire_one(&mut self, ci: usize, oldest_ms: i64) {
        let bytes = &mut self.bytes;
        self.groups[ci].retain(|key, g| {
            let before = g.bytes;
            while g.entries.front().is_some_and(|e| e.ts < oldest_ms) {
                g.pop_front();
            }
            *bytes -= before - g.bytes;
            if g.entries.is_empty() {
                *bytes -= GROUP_COST + key.len();
                return false;
            }
            true
        });
    }

    /// Processes one event: `matched` are its detection matches (rule
    /// indices), `ts_ms` its time. Returns the correlations that fired.
    ///
    /// [`Correlator::extract`] then [`Correlator::feed`], for callers that
    /// do both on one thread.
    pub fn process(
        &mut self,
        engine: &Engine,
        rec: &Record,
        matched: &[u32],
        ts_ms: i64,
    ) -> Vec<CorrelationMatch> {
        let inputs = Correlator::extract(engine, rec, matched);
        self.feed(engine, inputs, ts_ms)
    }

    /// What one event contributes to the correlations, read from its record
    /// (group-by and value fields). Needs no state, so it can run on any
    /// thread while the event's record is at hand; [`Correlator::feed`]
    /// then applies the inputs in event order.
    ///
    /// Group-by and value fields take their first value when the event has
    /// several. The inputs come in correlation order, which `feed` relies on
    /// for chains.
    pub fn extract(engine: &Engine, rec: &Record, matched: &[u32]) -> Vec<CorrelationInput> {
        let mut out = Vec::new();
        if matched.is_empty() {
            return out;
        }
        for (ci, def) in engine.correlations().iter().enumerate() {
            for (si, src) in def.sources.iter().enumerate() {
                // Rule sources only when they matched; correlation sources
                // (chains) always, since whether they fire is known in feed.
                if let Source::Rule(r) = src
                    && !matched.contains(&(*r as u32))
                {
                    continue;
                }
                let mut group = Vec::with_capacity(def.group_by.len());
                let mut key = String::new();
                for (gi, name) in def.group_by.iter().enumerate() {
                    let v = def.group_fields[gi][si]
                        .and_then(|f| rec.get(f).next().map(|v| v.text.to_string()))
                        .unwrap_or_default();
                    key.push_str(&v);
                    key.push('\u{1f}');
                    group.push((name.clone(), v));
                }
                let value = def.value_fields[si]
                    .and_then(|f| rec.get(f).next().map(|v| v.text.to_string()));
                out.push(CorrelationInput {
                    correlation: ci,
                    source: si,
                    key,
                    group,
                    value,
                });
            }
        }
        out
    }

    /// Applies one event's inputs (from [`Correlator::extract`]); returns
    /// the correlations that fired.
    pub fn feed(
        &mut self,
        engine: &Engine,
        inputs: Vec<CorrelationInput>,
        ts_ms: i64,
    ) -> Vec<CorrelationMatch> {
        let mut fired: Vec<CorrelationMatch> = Vec::new();
        // Inputs come in correlation order, so a chain sees what fired
        // before it for this same event.
        for inp in inputs {
            let def = &engine.correlations()[inp.correlation];
            if let Source::Correlation(c) = def.sources[inp.source]
                && !fired.iter().any(|f| f.correlation == c)
            {
                continue;
            }
            if let Some(m) = self.add(
                inp.correlation,
                def,
                inp.key,
                inp.group,
                Entry {
                    ts: ts_ms,
                    source: inp.source,
                    value: inp.value,
                    count: 1,
                },
            ) {
                fired.push(m);
            }
        }
        fired
    }

    /// Adds one entry to a group of correlation `ci`: makes room for a new
    /// group if needed, folds an identical last entry, trims the window to
    /// the entry's time, enforces the per-group bound, then tests the
    /// condition. A group that fires is removed.
    fn add(
        &mut self,
        ci: usize,
        def: &CorrelationDef,
        key: String,
        group: Vec<(String, String)>,
        e: Entry,
    ) -> Option<CorrelationMatch> {
        let full = |c: &Self| {
            c.groups[ci].len() >= c.config.max_groups
                || c.bytes + GROUP_COST + key.len() > c.config.max_bytes
        };
        if !self.groups[ci].contains_key(&key) && full(self) {
            // Make room by dropping windows that have passed — but look at
            // most once per sixteenth of the window: a flood of new keys
            // into a full correlation must not scan every group each time.
            let step = (def.timespan_ms / 16).max(1);
            if e.ts >= self.swept_ms[ci].saturating_add(step) {
                self.swept_ms[ci] = e.ts;
                self.expire_one(ci, e.ts.saturating_sub(def.timespan_ms));
            }
            if full(self) {
                self.stats.groups_dropped += 1;
                return None;
            }
        }
        let groups = &mut self.groups[ci];
        let g = match groups.get_mut(&key) {
            Some(g) => g,
            None => {
                self.bytes += GROUP_COST + key.len();
                groups.entry(key.clone()).or_default()
            }
        };
        let before = g.bytes;
        let now = e.ts;
        match g.entries.back_mut() {
            Some(last)
                if def.kind.folds()
                    && (last.ts, last.source, &last.value) == (e.ts, e.source, &e.value) =>
            {
                last.count += e.count;
            }
            _ => {
                g.bytes += entry_cost(&e);
                g.entries.push_back(e);
            }
        }
        while g
            .entries
            .front()
            .is_some_and(|x| x.ts < now - def.timespan_ms)
        {
            g.pop_front();
        }
        while g.entries.len() > self.config.max_events_per_group {
            if let Some(x) = g.pop_front() {
                self.stats.events_dropped += x.count;
            }
        }
        self.bytes = self.bytes + g.bytes - before;
        let value = aggregate(def, g)?;
        if !def.condition.iter().all(|(op, n)| op.holds(value, *n)) {
            return None;
        }
        let m = CorrelationMatch {
            correlation: ci,
            group,
            value,
            events: g.entries.iter().map(|e| e.count as usize).sum(),
            first_ms: g.entries.front().map_or(now, |x| x.ts),
            last_ms: g.entries.back().map_or(now, |x| x.ts),
        };
        // Fire once per accumulation: start the group afresh.
        if let Some(g) = groups.remove(&key) {
            self.bytes -= group_cost(&key, &g);
        }
        Some(m)
    }
}

/// The group's aggregate, or `None` when a temporal condition is not met.
fn aggregate(def: &CorrelationDef, g: &Group) -> Option<f64> {
    let nums = || {
        g.entries
            .iter()
            .filter_map(|e| e.value.as_deref()?.trim().parse::<f64>().ok())
    };
    Some(match def.kind {
        CorrKind::EventCount => g.entries.iter().map(|e| e.count).sum::<u64>() as f64,
        CorrKind::ValueCount => {
            let mut vals: Vec<&str> = g
                .entries
                .iter()
                .filter_map(|e| e.value.as_deref())
                .collect();
            vals.sort_unstable();
            vals.dedup();
            vals.len() as f64
        }
        CorrKind::Temporal => {
            let mut seen = vec![false; def.sources.len()];
            for e in &g.entries {
                seen[e.source] = true;
            }
            let n = seen.iter().filter(|s| **s).count();
            if def.condition.is_empty() && n < def.sources.len() {
                return None;
            }
            n as f64
        }
        CorrKind::TemporalOrdered => {
            // Every source, in order: greedy walk over the window.
            let mut next = 0;
            for e in &g.entries {
                if next < def.sources.len() && e.source == next {
                    next += 1;
                }
            }
            if def.condition.is_empty() && next < def.sources.len() {
                return None;
            }
            next as f64
        }
        CorrKind::ValueSum => nums().sum(),
        CorrKind::ValueAvg => {
            let v: Vec<f64> = nums().collect();
            if v.is_empty() {
                return None;
            }
            v.iter().sum::<f64>() / v.len() as f64
        }
        CorrKind::ValuePercentile => {
            let mut v: Vec<f64> = nums().collect();
            if v.is_empty() {
                return None;
            }
            v.sort_by(f64::total_cmp);
            // Nearest-rank percentile.
            let rank = ((def.percentile / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
            v[rank.min(v.len()) - 1]
        }
    })
}
