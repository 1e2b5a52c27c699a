//! Correlation rules as loaded: conclusions over several matches in a time
//! window. The definitions only; the windows they keep at run time are the
//! `correlator` module's.
//!
//! Types: `event_count`, `value_count`, `temporal`, `temporal_ordered`,
//! `value_sum`, `value_avg`, `value_percentile`; with `group-by`, `timespan`,
//! `aliases` (a group-by name read from a different field per rule) and
//! `generate` (whether the referenced rules still alert on their own).
//! Correlations may refer to other correlations (chains are evaluated in
//! dependency order; a cycle is a load error).
//!
//! Loading is in two passes because a correlation may name a correlation
//! defined later, even in another file: [`parse_correlation`] resolves the
//! names of detection rules and keeps the others pending, then
//! [`resolve_chains`] resolves those against all parsed correlations and
//! sorts them so each comes after what it consumes. Field names (group-by,
//! aliases, the aggregated field) are interned like rule fields, so the
//! decoder keeps their values.

use std::collections::HashMap;

use crate::compile::CompileCtx;
use crate::record::FieldId;
use crate::rule::{Doc, LoadError, RuleMeta};

/// The kind of aggregation.
///
/// The aggregate is computed over a group's matches inside the window and
/// then compared with the condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CorrKind {
    /// Number of matches.
    EventCount,
    /// Number of distinct values of a field (compared as text).
    ValueCount,
    /// Every referenced rule matched (any order). With a condition, the
    /// number of distinct rules that matched is compared instead.
    Temporal,
    /// Every referenced rule matched, in the listed order. With a
    /// condition, how far along the list the matches got is compared.
    TemporalOrdered,
    /// Sum of a numeric field (values that are not numbers are skipped).
    ValueSum,
    /// Average of a numeric field (values that are not numbers are
    /// skipped; no numbers, no match).
    ValueAvg,
    /// A percentile of a numeric field (nearest rank; see
    /// [`CorrelationDef::percentile`]).
    ValuePercentile,
}

/// A comparison in a correlation condition: the aggregate on the left,
/// the rule's number on the right.
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
    /// Whether aggregate `x` compares to `n` as this operator says.
    /// Equality allows for floating-point rounding (an average is rarely
    /// exact).
    pub(crate) fn holds(self, x: f64, n: f64) -> bool {
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
    /// Group-by names. Matches are counted per distinct combination of
    /// their values; none means one group for everything.
    pub group_by: Vec<String>,
    /// Per group-by name, per source: the field to read.
    pub(crate) group_fields: Vec<Vec<Option<FieldId>>>,
    /// Per source: the aggregated field (value_* types).
    pub(crate) value_fields: Vec<Option<FieldId>>,
    /// Window length in milliseconds (always positive).
    pub timespan_ms: i64,
    /// All must hold. Empty only for the temporal kinds, which then
    /// require every source.
    pub condition: Vec<(CondOp, f64)>,
    /// For value_percentile: 0–100 (a value outside acts as the nearer
    /// end), default 50.
    pub percentile: f64,
    /// Whether referenced rules also alert on their own. Default false:
    /// rules written only to feed a correlation stay quiet.
    pub generate: bool,
    /// The names as written under `rules:` (resolving correlation chains).
    pub(crate) pending: Vec<String>,
}

/// A duration like `30s`, `5m`, `1h`, `2d`, `1w`, `1M` (30 days) or `1y`
/// (365 days), in milliseconds. One number and one unit; zero, overflow
/// or anything else is `None`.
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
///
/// `rules` are the loaded detection rules, by engine index. Sigma 1.0's
/// `timeframe` is accepted for `timespan`, and `generate` may sit at the
/// top of the document or inside `correlation:`.
pub(crate) fn parse_correlation(
    doc: &Doc,
    rules: &[&RuleMeta],
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
            .position(|r| r.id.as_deref() == Some(n) || r.name.as_deref() == Some(n))
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
    // The field a group-by (or value) name reads for one source: its alias
    // for that rule when there is one, else the name itself.
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
///
/// A correlation that depends on a dropped one is dropped too. The order
/// is what lets the correlator handle a whole chain within one event: a
/// correlation sees whether those before it fired for that same event.
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
