//! Correlation rules: conclusions over several matches in a time window.
//!
//! Types: `event_count`, `value_count`, `temporal`, `temporal_ordered`,
//! `value_sum`, `value_avg`, `value_percentile`; with `group-by`, `timespan`,
//! `aliases` (a group-by name read from a different field per rule) and
//! `generate` (whether the referenced rules still alert on their own).
//! Correlations may refer to other correlations (chains are evaluated in
//! dependency order; a cycle is a load error).
//!
//! Memory is bounded: a group's state only holds matches inside its window
//! (older ones are dropped on every update and by [`Correlator::expire`]),
//! at most [`CorrelatorConfig::max_groups`] groups are tracked per
//! correlation and at most `max_events_per_group` entries per group
//! (identical matches share an entry unless their values are summed or
//! ranked); what does not fit is dropped and counted in [`CorrelatorStats`].

use std::collections::{HashMap, VecDeque};

use crate::compile::CompileCtx;
use crate::engine::{Engine, Rule};
use crate::record::{FieldId, Record};
use crate::rule::{Doc, LoadError, RuleMeta};

/// The kind of aggregation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CorrKind {
    /// Number of matches.
    EventCount,
    /// Number of distinct values of a field.
    ValueCount,
    /// Every referenced rule matched (any order).
    Temporal,
    /// Every referenced rule matched, in the listed order.
    TemporalOrdered,
    /// Sum of a numeric field.
    ValueSum,
    /// Average of a numeric field.
    ValueAvg,
    /// A percentile of a numeric field.
    ValuePercentile,
}

/// A comparison in a correlation condition.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CondOp {
    /// `lt`
    Lt,
    /// `lte`
    Lte,
    /// `gt`
    Gt,
    /// `gte`
    Gte,
    /// `eq`
    Eq,
    /// `neq`
    Neq,
}

impl CondOp {
    fn holds(self, x: f64, n: f64) -> bool {
        match self {
            CondOp::Lt => x < n,
            CondOp::Lte => x <= n,
            CondOp::Gt => x > n,
            CondOp::Gte => x >= n,
            CondOp::Eq => (x - n).abs() < f64::EPSILON,
            CondOp::Neq => (x - n).abs() >= f64::EPSILON,
        }
    }
}

/// What a correlation rule refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// A detection rule (index in the engine).
    Rule(usize),
    /// Another correlation (index in the engine's correlations).
    Correlation(usize),
}

/// A compiled correlation rule.
#[derive(Clone, Debug)]
pub struct CorrelationDef {
    /// Metadata (title, level, …).
    pub meta: RuleMeta,
    /// Aggregation.
    pub kind: CorrKind,
    /// Referenced rules, in the listed order.
    pub sources: Vec<Source>,
    /// Group-by names.
    pub group_by: Vec<String>,
    /// Per group-by name, per source: the field to read.
    group_fields: Vec<Vec<Option<FieldId>>>,
    /// Per source: the aggregated field (value_* types).
    value_fields: Vec<Option<FieldId>>,
    /// Window length in milliseconds.
    pub timespan_ms: i64,
    /// All must hold.
    pub condition: Vec<(CondOp, f64)>,
    /// For value_percentile.
    pub percentile: f64,
    /// Whether referenced rules also alert on their own.
    pub generate: bool,
    /// The names as written under `rules:` (resolving correlation chains).
    pub(crate) pending: Vec<String>,
}

fn parse_timespan(s: &str) -> Option<i64> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: i64 = num.parse().ok()?;
    let ms = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        "M" => 30 * 86_400_000,
        "y" => 365 * 86_400_000,
        _ => return None,
    };
    n.checked_mul(ms).filter(|v| *v > 0)
}

/// Parses a correlation document against the loaded rules. Correlation
/// references are resolved later (see [`resolve_chains`]) as `Rule`/
/// `Correlation` indices; names of correlations not yet known are kept by
/// name in `pending`.
pub(crate) fn parse_correlation(
    doc: &Doc,
    rules: &[Rule],
    cx: &mut CompileCtx<'_>,
) -> Result<CorrelationDef, LoadError> {
    use yaml_serde::Value;
    let meta = doc.meta()?;
    let Some(Value::Mapping(c)) = doc.value.get("correlation") else {
        return Err(doc.error("correlation:", "`correlation` must be a map"));
    };
    let get = |k: &str| c.get(k);
    let kind = match get("type").and_then(Value::as_str) {
        Some("event_count") => CorrKind::EventCount,
        Some("value_count") => CorrKind::ValueCount,
        Some("temporal") => CorrKind::Temporal,
        Some("temporal_ordered") => CorrKind::TemporalOrdered,
        Some("value_sum") => CorrKind::ValueSum,
        Some("value_avg") => CorrKind::ValueAvg,
        Some("value_percentile") => CorrKind::ValuePercentile,
        other => {
            return Err(doc.error("type:", format!(
                "correlation type {other:?} is not one of event_count, value_count, temporal, temporal_ordered, value_sum, value_avg, value_percentile"
            )));
        }
    };
    let names: Vec<String> = match get("rules") {
        Some(Value::Sequence(v)) => v.iter().filter_map(crate::rule::scalar_text).collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => {
            return Err(doc.error(
                "rules:",
                "correlation needs `rules`: the ids or names of the rules it correlates",
            ));
        }
    };
    let mut sources = Vec::new();
    for n in &names {
        match rules
            .iter()
            .position(|r| r.meta.id.as_deref() == Some(n) || r.meta.name.as_deref() == Some(n))
        {
            Some(i) => sources.push(Source::Rule(i)),
            // Possibly another correlation: resolved by the engine after all
            // correlations are parsed; keep a marker by name.
            None => sources.push(Source::Correlation(usize::MAX)),
        }
    }
    let group_by: Vec<String> = match get("group-by") {
        Some(Value::Sequence(v)) => v.iter().filter_map(crate::rule::scalar_text).collect(),
        Some(Value::String(s)) => vec![s.clone()],
        None => Vec::new(),
        Some(_) => return Err(doc.error("group-by:", "`group-by` must be a list of field names")),
    };
    let ts = get("timespan")
        .or_else(|| get("timeframe"))
        .and_then(crate::rule::scalar_text);
    let timespan_ms = match ts.as_deref().and_then(parse_timespan) {
        Some(v) => v,
        None => {
            return Err(doc.error(
                "timespan:",
                format!("`timespan` {ts:?} is not a duration like 30s, 5m, 1h, 2d"),
            ));
        }
    };
    let mut condition = Vec::new();
    let mut value_field: Option<String> = None;
    let mut percentile = 50.0;
    match get("condition") {
        Some(Value::Mapping(m)) => {
            for (k, v) in m {
                let key = k.as_str().unwrap_or("");
                let num = || v.as_f64().or_else(|| v.as_i64().map(|i| i as f64));
                let op = match key {
                    "lt" => CondOp::Lt,
                    "lte" => CondOp::Lte,
                    "gt" => CondOp::Gt,
                    "gte" => CondOp::Gte,
                    "eq" => CondOp::Eq,
                    "neq" => CondOp::Neq,
                    "field" => {
                        value_field = crate::rule::scalar_text(v);
                        continue;
                    }
                    "percentile" => {
                        percentile = num().ok_or_else(|| doc.error("percentile:", "`percentile` must be a number 0–100"))?;
                        continue;
                    }
                    other => return Err(doc.error("condition:", format!("unknown correlation condition key `{other}` (lt, lte, gt, gte, eq, neq, field, percentile)"))),
                };
                let n = num().ok_or_else(|| {
                    doc.error(&format!("{key}:"), format!("`{key}` needs a number"))
                })?;
                condition.push((op, n));
            }
        }
        None if matches!(kind, CorrKind::Temporal | CorrKind::TemporalOrdered) => {}
        _ => {
            return Err(doc.error(
                "condition:",
                "correlation `condition` must be a map such as {gte: 10}",
            ));
        }
    }
    if condition.is_empty() && !matches!(kind, CorrKind::Temporal | CorrKind::TemporalOrdered) {
        return Err(doc.error(
            "condition:",
            "correlation condition needs a comparison (lt, lte, gt, gte, eq, neq)",
        ));
    }
    let needs_field = matches!(
        kind,
        CorrKind::ValueCount | CorrKind::ValueSum | CorrKind::ValueAvg | CorrKind::ValuePercentile
    );
    if needs_field && value_field.is_none() {
        return Err(doc.error(
            "condition:",
            "this correlation type needs `field` in its condition",
        ));
    }
    // Aliases: name → {rule id/name → field}.
    let mut aliases: HashMap<String, HashMap<String, String>> = HashMap::new();
    if let Some(Value::Mapping(a)) = get("aliases") {
        for (k, v) in a {
            let (Some(name), Value::Mapping(per)) = (k.as_str(), v) else {
                return Err(doc.error("aliases:", "`aliases` maps a name to {rule: field}"));
            };
            let mut m = HashMap::new();
            for (r, f) in per {
                if let (Some(r), Some(f)) = (r.as_str(), f.as_str()) {
                    m.insert(r.to_string(), f.to_string());
                }
            }
            aliases.insert(name.to_string(), m);
        }
    }
    let field_for = |name: &str, src_name: &str, cx: &mut CompileCtx<'_>| -> Option<FieldId> {
        let f = aliases
            .get(name)
            .and_then(|m| m.get(src_name))
            .map_or(name, String::as_str);
        Some(cx.fields.intern(f))
    };
    let group_fields = group_by
        .iter()
        .map(|g| names.iter().map(|n| field_for(g, n, cx)).collect())
        .collect();
    let value_fields = names
        .iter()
        .map(|n| value_field.as_deref().and_then(|f| field_for(f, n, cx)))
        .collect();
    let generate = doc
        .value
        .get("generate")
        .or_else(|| get("generate"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok(CorrelationDef {
        meta,
        kind,
        sources,
        group_by,
        group_fields,
        value_fields,
        timespan_ms,
        condition,
        percentile,
        generate,
        pending: names,
    })
}

/// Resolves references to other correlations and orders correlations so
/// that each comes after those it consumes. Unknown names and cycles are
/// load errors (the correlation is dropped and reported).
pub(crate) fn resolve_chains(
    defs: Vec<CorrelationDef>,
    errors: &mut Vec<LoadError>,
) -> Vec<CorrelationDef> {
    let n = defs.len();
    let find = |name: &str| {
        defs.iter().position(|d| {
            d.meta.id.as_deref() == Some(name) || d.meta.name.as_deref() == Some(name)
        })
    };
    let mut ok = vec![true; n];
    let mut deps: Vec<Vec<usize>> = vec![Vec::new(); n];
    // Per correlation, per source: the correlation (old index) it names.
    let mut named: Vec<Vec<Option<usize>>> = vec![Vec::new(); n];
    for (i, d) in defs.iter().enumerate() {
        for (j, s) in d.sources.iter().enumerate() {
            let mut target = None;
            if *s == Source::Correlation(usize::MAX) {
                match find(&d.pending[j]) {
                    Some(k) if k != i => {
                        deps[i].push(k);
                        target = Some(k);
                    }
                    _ => {
                        ok[i] = false;
                        errors.push(LoadError {
                            file: d.meta.file.to_path_buf(),
                            line: d.meta.line,
                            rule: Some(d.meta.title.clone()),
                            reason: format!("correlation refers to `{}`, which is no loaded rule or correlation", d.pending[j]),
                        });
                    }
                }
            }
            named[i].push(target);
        }
    }
    // Kahn's algorithm over the dependency graph.
    let mut order = Vec::new();
    let mut placed = vec![false; n];
    loop {
        let before = order.len();
        for i in 0..n {
            if !placed[i] && ok[i] && deps[i].iter().all(|d| placed[*d]) {
                placed[i] = true;
                order.push(i);
            }
        }
        if order.len() == before {
            break;
        }
    }
    for i in 0..n {
        if !placed[i] && ok[i] {
            errors.push(LoadError {
                file: defs[i].meta.file.to_path_buf(),
                line: defs[i].meta.line,
                rule: Some(defs[i].meta.title.clone()),
                reason:
                    "correlation chain forms a cycle or depends on a correlation that did not load"
                        .into(),
            });
        }
    }
    let new_index: HashMap<usize, usize> = order
        .iter()
        .enumerate()
        .map(|(new, old)| (*old, new))
        .collect();
    let mut slots: Vec<Option<CorrelationDef>> = defs.into_iter().map(Some).collect();
    let mut out = Vec::with_capacity(order.len());
    for &old in &order {
        let Some(mut d) = slots[old].take() else {
            continue;
        };
        for (j, s) in d.sources.iter_mut().enumerate() {
            if let Some(k) = named[old][j] {
                *s = Source::Correlation(new_index[&k]);
            }
        }
        out.push(d);
    }
    out
}

/// Bounds on correlation state.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorrelatorConfig {
    /// Groups tracked per correlation rule.
    pub max_groups: usize,
    /// Entries kept per group (identical matches — same time, source and
    /// value — share one where the aggregate allows).
    pub max_events_per_group: usize,
}

impl Default for CorrelatorConfig {
    fn default() -> Self {
        CorrelatorConfig {
            max_groups: 100_000,
            max_events_per_group: 10_000,
        }
    }
}

/// Counters of what the bounds dropped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CorrelatorStats {
    /// New groups refused because a correlation had `max_groups`.
    pub groups_dropped: u64,
    /// Matches dropped from full groups (oldest first).
    pub events_dropped: u64,
    /// Groups alive now.
    pub groups: usize,
}

/// One event's contribution to one correlation source, as
/// [`Correlator::extract`] reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct CorrelationInput {
    correlation: usize,
    source: usize,
    key: String,
    group: Vec<(String, String)>,
    value: Option<String>,
}

/// A fired correlation.
#[derive(Clone, Debug, PartialEq)]
pub struct CorrelationMatch {
    /// Index into the engine's correlations.
    pub correlation: usize,
    /// (group-by name, value) pairs.
    pub group: Vec<(String, String)>,
    /// The aggregate that met the condition (count, distinct count, sum…).
    pub value: f64,
    /// Matches in the window.
    pub events: usize,
    /// Time of the first and last match in the window (ms).
    pub first_ms: i64,
    /// Time of the last match.
    pub last_ms: i64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Entry {
    ts: i64,
    source: usize,
    value: Option<String>,
    /// Identical matches (same time, source and value) folded into this
    /// one where the aggregate does not weigh values: a flood logged with
    /// one-second times keeps one entry per second, not one per request.
    #[serde(default = "one")]
    count: u64,
}

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
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CorrelatorSnapshot {
    correlations: Vec<SnapshotCorrelation>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct SnapshotCorrelation {
    rule: String,
    shape: String,
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

#[derive(Debug, Default)]
struct Group {
    entries: VecDeque<Entry>,
}

/// Streaming correlation state. Feed it every event's detection matches in
/// time order (roughly: late events inside the window still count).
pub struct Correlator {
    config: CorrelatorConfig,
    groups: Vec<HashMap<String, Group>>,
    stats: CorrelatorStats,
    /// Rules whose own matches are suppressed (referenced with generate: false).
    suppressed: Vec<bool>,
    /// Rules some correlation counts.
    feeds: Vec<bool>,
}

impl Correlator {
    /// State for `engine`'s correlations.
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
                if entries.is_empty()
                    || groups.contains_key(&key)
                    || groups.len() >= self.config.max_groups
                {
                    report.dropped += 1;
                    continue;
                }
                groups.insert(
                    key,
                    Group {
                        entries: entries.into(),
                    },
                );
                report.groups += 1;
            }
        }
        report
    }

    /// Drops state older than every window at `now_ms`.
    pub fn expire(&mut self, engine: &Engine, now_ms: i64) {
        for (ci, groups) in self.groups.iter_mut().enumerate() {
            let span = engine.correlations()[ci].timespan_ms;
            groups.retain(|_, g| {
                while g.entries.front().is_some_and(|e| e.ts < now_ms - span) {
                    g.entries.pop_front();
                }
                !g.entries.is_empty()
            });
        }
    }

    /// Processes one event: `matched` are its detection matches (rule
    /// indices), `ts_ms` its time. Returns the correlations that fired.
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

    fn add(
        &mut self,
        ci: usize,
        def: &CorrelationDef,
        key: String,
        group: Vec<(String, String)>,
        e: Entry,
    ) -> Option<CorrelationMatch> {
        let groups = &mut self.groups[ci];
        if !groups.contains_key(&key) && groups.len() >= self.config.max_groups {
            // Make room by dropping groups whose window has passed first.
            groups.retain(|_, g| {
                g.entries
                    .back()
                    .is_some_and(|x| x.ts >= e.ts - def.timespan_ms)
            });
            if groups.len() >= self.config.max_groups {
                self.stats.groups_dropped += 1;
                return None;
            }
        }
        let g = groups.entry(key.clone()).or_default();
        let now = e.ts;
        match g.entries.back_mut() {
            Some(last)
                if def.kind.folds()
                    && (last.ts, last.source, &last.value) == (e.ts, e.source, &e.value) =>
            {
                last.count += e.count;
            }
            _ => g.entries.push_back(e),
        }
        while g
            .entries
            .front()
            .is_some_and(|x| x.ts < now - def.timespan_ms)
        {
            g.entries.pop_front();
        }
        while g.entries.len() > self.config.max_events_per_group {
            if let Some(x) = g.entries.pop_front() {
                self.stats.events_dropped += x.count;
            }
        }
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
        groups.remove(&key);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespans() {
        assert_eq!(parse_timespan("30s"), Some(30_000));
        assert_eq!(parse_timespan("5m"), Some(300_000));
        assert_eq!(parse_timespan("1h"), Some(3_600_000));
        assert_eq!(parse_timespan("2d"), Some(172_800_000));
        assert_eq!(parse_timespan("5x"), None);
        assert_eq!(parse_timespan("m"), None);
        assert_eq!(parse_timespan("0s"), None);
    }
}
