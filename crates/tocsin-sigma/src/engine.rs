//! The engine: rules loaded and compiled once, events evaluated many times.
//!
//! Building happens in a fixed order, each step needing the ones before:
//!
//! ```text
//! documents ─► detection rules ─► filters ANDed into the rules they name
//!           ─► correlations (resolved against rules, then each other)
//!           ─► routing preconditions ─► format aliases ─► prefilter
//!           ─► keyword tests wired to the prefilter ─► string lists gathered
//! ```
//!
//! Once built, an [`Engine`] is immutable and shared; evaluation state is
//! per thread in a [`Scratch`]. A match is a rule's index in
//! [`Engine::rules`]: rules keep the order their documents were added in
//! (files of a directory sorted by path), so the same rule set gives the
//! same indices.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::compile::{CompileCtx, CompiledDetections, compile_detection};
use crate::condition::Cond;
use crate::correlation::{CorrelationDef, parse_correlation, resolve_chains};
use crate::json::{JsonError, JsonScratch, decode};
use crate::mapping::Mappings;
use crate::matcher::Detection;
use crate::prefilter::{Prefilter, PrefilterScratch, cond_guard};
use crate::record::{FieldIndex, Record, Scalar};
use crate::rule::{Doc, LoadError, RuleMeta, parse_file};
use crate::scan_cache::ScanCacheStats;

/// How to build an engine.
///
/// Deserialized from configuration; every field has a default and unknown
/// keys are refused.
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    /// Route each rule only to the events its `logsource` applies to (by the
    /// mapping files). Off: every rule sees every event.
    ///
    /// On suits mixed streams (Sysmon and Security events side by side),
    /// where a process-creation rule must not fire on another kind of
    /// event that happens to have the same fields. It relies on the events
    /// carrying the fields the mappings test (`Channel`, `EventID`…).
    pub routing: bool,
    /// Values for `|expand` placeholders: `known_cdcs = ["DC1", "10.0.0.5"]`.
    pub placeholders: HashMap<String, Vec<String>>,
    /// Memory for remembering what the prefilter found in lines of text
    /// already seen, per evaluating thread, in MiB (0: scan every line).
    /// Default 4. Each [`Engine::scratch`] gets its own cache of this size.
    pub scan_cache_mib: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            routing: false,
            placeholders: HashMap::new(),
            scan_cache_mib: 4,
        }
    }
}

/// A compiled detection rule.
#[derive(Debug)]
pub struct Rule {
    /// What the rule says about itself.
    pub meta: RuleMeta,
    /// Its detections, then those of the filters applied to it.
    pub(crate) dets: Vec<Detection>,
    /// The condition over `dets` (filters ANDed in).
    pub(crate) cond: Cond,
    /// The logsource's conditions (routing), evaluated first.
    pub(crate) pre: Option<Detection>,
}

/// What loading found: how many of each, and every problem.
///
/// Loading never stops at a bad document: the engine holds what loaded and
/// this report says what did not, so one broken rule in a large set costs
/// that rule only.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Detection rules compiled.
    pub rules: usize,
    /// Filters applied (to at least one rule).
    pub filters: usize,
    /// Correlation rules compiled.
    pub correlations: usize,
    /// Documents that did not load, each with file, line and reason.
    pub errors: Vec<LoadError>,
    /// Rules that loaded but deserve a look: a placeholder with no
    /// configured value, a filter that names no loaded rule.
    pub warnings: Vec<LoadError>,
}

/// Collects rule files, then builds an [`Engine`].
///
/// Adding only reads and splits YAML; nothing is compiled until
/// [`EngineBuilder::build`], which is when filters and correlations can be
/// matched with the rules they name, wherever those were added.
#[derive(Debug, Default)]
pub struct EngineBuilder {
    /// How to build.
    config: EngineConfig,
    /// Documents read so far, in the order added.
    docs: Vec<Doc>,
    /// Problems met while reading (unreadable files, bad YAML).
    errors: Vec<LoadError>,
    /// Mappings to use instead of the built-in ones.
    mappings: Option<Mappings>,
}

impl EngineBuilder {
    /// A builder with this configuration.
    pub fn new(config: EngineConfig) -> Self {
        EngineBuilder {
            config,
            ..Default::default()
        }
    }

    /// Uses these field and logsource mappings instead of the built-in ones.
    pub fn mappings(mut self, m: Mappings) -> Self {
        self.mappings = Some(m);
        self
    }

    /// Adds the documents of one YAML text. `file` names it in errors and
    /// in each rule's metadata; it is not read.
    pub fn add_text(&mut self, text: &str, file: &Path) {
        for d in parse_file(text, file) {
            match d {
                Ok(doc) => self.docs.push(doc),
                Err(e) => self.errors.push(e),
            }
        }
    }

    /// Adds a rule file, or every `.yml`/`.yaml` file under a directory.
    ///
    /// Directories are walked recursively and the files taken in path
    /// order, so rule indices do not depend on the file system's listing
    /// order. Other files in a directory are skipped silently; a path that
    /// does not exist, or a file that cannot be read, is a load error.
    pub fn add_path(&mut self, path: &Path) {
        let mut files = Vec::new();
        collect_yaml(path, &mut files, &mut self.errors);
        files.sort();
        for f in files {
            match std::fs::read_to_string(&f) {
                Ok(text) => self.add_text(&text, &f),
                Err(e) => self.errors.push(LoadError {
                    file: f.clone(),
                    line: 0,
                    rule: None,
                    reason: format!("cannot read: {e}"),
                }),
            }
        }
    }

    /// Compiles everything added. Every document is either in the engine or
    /// in the report's errors.
    ///
    /// A document with `correlation:` is a correlation, one with `filter:`
    /// a filter, anything else must be a detection rule. Filters apply to
    /// the rules they name (by id or name) or, naming none, to every rule
    /// their logsource covers.
    pub fn build(self) -> (Engine, LoadReport) {
        let mappings = self.mappings.unwrap_or_else(Mappings::builtin);
        let mut report = LoadReport {
            errors: self.errors,
            ..Default::default()
        };
        let mut fields = FieldIndex::default();
        let mut rules: Vec<Rule> = Vec::new();
        let mut filters: Vec<(Doc, yaml_serde::Mapping)> = Vec::new();
        let mut corr_docs: Vec<Doc> = Vec::new();
        let mut cx = CompileCtx {
            fields: &mut fields,
            placeholders: &self.config.placeholders,
            warnings: Vec::new(),
        };
        for doc in self.docs {
            if doc.value.contains_key("correlation") {
                corr_docs.push(doc);
                continue;
            }
            if let Some(f) = doc.value.get("filter") {
                match f {
                    yaml_serde::Value::Mapping(m) => {
                        let m = m.clone();
                        filters.push((doc, m));
                    }
                    _ => report.errors.push(doc.error(
                        "filter:",
                        "`filter` must be a map with rules, selections and a condition",
                    )),
                }
                continue;
            }
            match compile_rule(&doc, &mut cx) {
                Ok(r) => rules.push(r),
                Err(e) => report.errors.push(e),
            }
        }
        for (doc, f) in &filters {
            match apply_filter(doc, f, &mut rules, &mut cx) {
                Ok(n) if n > 0 => report.filters += 1,
                Ok(_) => report
                    .warnings
                    .push(doc.error("rules:", "filter names no loaded rule; it has no effect")),
                Err(e) => report.errors.push(e),
            }
        }
        let mut correlations = Vec::new();
        for doc in &corr_docs {
            let metas: Vec<&RuleMeta> = rules.iter().map(|r| &r.meta).collect();
            match parse_correlation(doc, &metas, &mut cx) {
                Ok(c) => correlations.push(c),
                Err(e) => report.errors.push(e),
            }
        }
        let correlations = resolve_chains(correlations, &mut report.errors);
        report.warnings.append(&mut cx.warnings);
        if self.config.routing {
            for r in &mut rules {
                r.pre = mappings.precondition(&r.meta.logsource, &mut fields);
            }
        }
        // Where events keep their time (for correlation windows and output).
        let time_fields = TIME_FIELDS.iter().map(|f| fields.intern(f)).collect();
        // After routing, which may add fields (Channel, EventID) of its own.
        mappings.apply_aliases(&mut fields);
        let guards = rules
            .iter()
            .map(|r| {
                let g = cond_guard(&r.cond, &r.dets);
                // A routed rule's guard may also come from its logsource.
                match (&g, &r.pre) {
                    (Some(_), _) | (None, None) => g,
                    (None, Some(pre)) => cond_guard(&Cond::Det(0), std::slice::from_ref(pre)),
                }
            })
            .collect();
        // Keyword `contains` tests (case-insensitive) are answered by the
        // keyword scan: record each needle's presence there.
        let mut deciders = Vec::new();
        for r in &rules {
            for i in r
                .dets
                .iter()
                .flat_map(|d| d.groups.iter().flatten())
                .filter(|i| i.field.is_none())
            {
                for m in &i.matchers {
                    if let crate::Matcher::Str {
                        op: crate::matcher::StrOp::Contains,
                        ci: true,
                        needle,
                        ..
                    } = m
                        && needle.len() >= crate::prefilter::MIN_KEYWORD_NEEDLE
                    {
                        deciders.push(needle.to_string());
                    }
                }
            }
        }
        let prefilter = Prefilter::build(guards, fields.len(), deciders);
        for r in &mut rules {
            for i in r
                .dets
                .iter_mut()
                .flat_map(|d| d.groups.iter_mut().flatten())
                .filter(|i| i.field.is_none())
            {
                for m in &mut i.matchers {
                    if let crate::Matcher::Str {
                        op: crate::matcher::StrOp::Contains,
                        ci: true,
                        needle,
                        kw,
                        ..
                    } = m
                    {
                        *kw = prefilter.keyword_pattern(needle);
                    }
                }
            }
        }
        // Last: the prefilter and the keyword wiring above read the string
        // tests one by one, before they are gathered into sets.
        for i in rules
            .iter_mut()
            .flat_map(|r| r.dets.iter_mut())
            .flat_map(|d| d.groups.iter_mut().flatten())
        {
            i.gather_strings();
        }
        report.rules = rules.len();
        report.correlations = correlations.len();
        let keep_strings = prefilter.wants_strings()
            || rules.iter().any(|r| {
                r.dets
                    .iter()
                    .any(|d| d.groups.iter().flatten().any(|i| i.field.is_none()))
            });
        (
            Engine {
                fields,
                rules,
                prefilter,
                keep_strings,
                correlations,
                time_fields,
                scan_cache_mib: self.config.scan_cache_mib,
            },
            report,
        )
    }
}

/// The YAML files at `path` (itself, or under it, recursively), unsorted.
fn collect_yaml(path: &Path, out: &mut Vec<PathBuf>, errors: &mut Vec<LoadError>) {
    if path.is_dir() {
        match std::fs::read_dir(path) {
            Ok(rd) => {
                for e in rd.flatten() {
                    collect_yaml(&e.path(), out, errors);
                }
            }
            Err(e) => errors.push(LoadError {
                file: path.to_path_buf(),
                line: 0,
                rule: None,
                reason: format!("cannot read directory: {e}"),
            }),
        }
    } else if matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yml" | "yaml")
    ) {
        out.push(path.to_path_buf());
    } else if !path.exists() {
        errors.push(LoadError {
            file: path.to_path_buf(),
            line: 0,
            rule: None,
            reason: "no such file or directory".into(),
        });
    }
}

/// A detection rule: its metadata, a `detection` map and a `logsource`
/// (required even when routing is off, as the specification requires it).
fn compile_rule(doc: &Doc, cx: &mut CompileCtx<'_>) -> Result<Rule, LoadError> {
    let meta = doc.meta()?;
    let det = match doc.value.get("detection") {
        Some(yaml_serde::Value::Mapping(m)) => m,
        Some(_) => return Err(doc.error("detection:", "`detection` must be a map")),
        None => {
            return Err(doc.error(
                "title:",
                "not a Sigma rule: no `detection`, `correlation` or `filter`",
            ));
        }
    };
    if doc.value.get("logsource").is_none() {
        return Err(doc.error("detection:", "rule has no `logsource`"));
    }
    let CompiledDetections { dets, cond } = compile_detection(doc, det, cx)?;
    Ok(Rule {
        meta,
        dets,
        cond,
        pre: None,
    })
}

/// Appends a filter's detections to each rule it names and ANDs its
/// condition to theirs. Returns how many rules it applied to.
fn apply_filter(
    doc: &Doc,
    f: &yaml_serde::Mapping,
    rules: &mut [Rule],
    cx: &mut CompileCtx<'_>,
) -> Result<usize, LoadError> {
    let targets: Vec<String> = match f.get("rules") {
        Some(yaml_serde::Value::Sequence(v)) => {
            v.iter().filter_map(crate::rule::scalar_text).collect()
        }
        Some(yaml_serde::Value::String(s)) => vec![s.clone()],
        None => Vec::new(),
        Some(_) => {
            return Err(doc.error(
                "rules:",
                "filter `rules` must be a list of rule ids or names",
            ));
        }
    };
    let mut det_map = f.clone();
    det_map.remove("rules");
    let compiled = compile_detection(doc, &det_map, cx)?;
    let logsource = doc.meta()?.logsource;
    let mut applied = 0;
    for r in rules.iter_mut() {
        let named = targets
            .iter()
            .any(|t| r.meta.id.as_deref() == Some(t) || r.meta.name.as_deref() == Some(t));
        let by_logsource = targets.is_empty() && logsource_covers(&logsource, &r.meta.logsource);
        if !(named || by_logsource) {
            continue;
        }
        let offset = r.dets.len();
        r.dets.extend(compiled.dets.iter().cloned());
        let fcond = shift(&compiled.cond, offset);
        r.cond = Cond::And(vec![
            std::mem::replace(&mut r.cond, Cond::And(vec![])),
            fcond,
        ]);
        applied += 1;
    }
    Ok(applied)
}

/// Whether a filter's logsource takes in a rule's: every key the filter
/// gives must be equal in the rule; keys it leaves out match anything.
fn logsource_covers(filter: &crate::rule::Logsource, rule: &crate::rule::Logsource) -> bool {
    let f = |a: &Option<String>, b: &Option<String>| a.is_none() || a == b;
    f(&filter.product, &rule.product)
        && f(&filter.category, &rule.category)
        && f(&filter.service, &rule.service)
}

/// `c` with every detection index moved up by `by`: a filter's condition,
/// renumbered for its detections appended after the rule's own.
fn shift(c: &Cond, by: usize) -> Cond {
    match c {
        Cond::Det(i) => Cond::Det(i + by),
        Cond::And(v) => Cond::And(v.iter().map(|x| shift(x, by)).collect()),
        Cond::Or(v) => Cond::Or(v.iter().map(|x| shift(x, by)).collect()),
        Cond::Not(x) => Cond::Not(Box::new(shift(x, by))),
    }
}

/// Compiled rules, ready to evaluate events. Share it between threads; give
/// each thread its own [`Scratch`].
pub struct Engine {
    /// Every field the rules, correlations and mappings read.
    fields: FieldIndex,
    /// The detection rules; a match is an index here.
    rules: Vec<Rule>,
    /// Which rules an event can possibly match.
    prefilter: Prefilter,
    /// Whether records must keep every string (some rule has keywords).
    keep_strings: bool,
    /// Correlation rules, each after the correlations it consumes.
    correlations: Vec<CorrelationDef>,
    /// Slots of [`TIME_FIELDS`], in the same order.
    time_fields: Vec<u32>,
    /// Scan cache size per scratch, in MiB.
    scan_cache_mib: usize,
}

/// Fields holding an event's time, in order of preference.
const TIME_FIELDS: &[&str] = &[
    "@timestamp",
    "TimeCreated",
    "UtcTime",
    "EventTime",
    "timestamp",
    "time",
];

/// Milliseconds since the epoch from the time formats logs use.
///
/// RFC 3339 (offset honoured); `YYYY-MM-DD HH:MM:SS[.fff]` with a space or
/// a `T`, taken as UTC; or a number of epoch seconds (fractions kept), read
/// as milliseconds when above 10¹¹. `None` for anything else.
pub fn parse_time_ms(t: &str) -> Option<i64> {
    use chrono::{DateTime, NaiveDateTime};
    let t = t.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Some(d.timestamp_millis());
    }
    for f in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(d) = NaiveDateTime::parse_from_str(t, f) {
            return Some(d.and_utc().timestamp_millis());
        }
    }
    let n: f64 = t.parse().ok()?;
    // Epoch seconds or milliseconds.
    Some(if n > 1e11 {
        n as i64
    } else {
        (n * 1000.0) as i64
    })
}

/// Per-thread buffers: the decoded record and the prefilter's marks.
///
/// Made by [`Engine::scratch`] for that engine only (its sizes follow the
/// engine's fields and rules). Reusing one across events is what keeps
/// evaluation from allocating, and what lets the scan cache learn.
pub struct Scratch {
    /// The current event, decoded.
    pub record: Record,
    /// The JSON decoder's buffers.
    json: JsonScratch,
    /// The prefilter's marks and scan cache.
    pre: PrefilterScratch,
    /// Rules to evaluate for the current event.
    cands: Vec<u32>,
    /// Rules that matched, sorted; what the `eval_*` methods return.
    matched: Vec<u32>,
}

impl Engine {
    /// Fresh buffers for one thread.
    pub fn scratch(&self) -> Scratch {
        Scratch {
            record: Record::new(self.fields.len(), self.keep_strings),
            json: JsonScratch::default(),
            pre: self.prefilter.scratch(
                self.rules.len(),
                self.scan_cache_mib.saturating_mul(1 << 20),
            ),
            cands: Vec::new(),
            matched: Vec::new(),
        }
    }

    /// How this thread's scan cache has done so far.
    pub fn scan_cache_stats(&self, s: &Scratch) -> ScanCacheStats {
        Prefilter::cache_stats(&s.pre)
    }

    /// The rules, by index (matches are indices into this).
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Correlation rules, for a [`crate::Correlator`].
    pub fn correlations(&self) -> &[CorrelationDef] {
        &self.correlations
    }

    /// The field table (for decoders outside this crate).
    pub fn fields(&self) -> &FieldIndex {
        &self.fields
    }

    /// (needle atoms in the prefilter, rules evaluated on every event).
    pub fn prefilter_stats(&self) -> (usize, usize) {
        self.prefilter.stats()
    }

    /// The event's own time as written, from the first time field present.
    pub fn event_time_text<'r>(&self, rec: &'r Record) -> Option<&'r str> {
        self.time_fields
            .iter()
            .find_map(|f| rec.get(*f).next().map(|v| v.text))
    }

    /// The event's time in milliseconds since the epoch, when readable.
    pub fn event_time_ms(&self, rec: &Record) -> Option<i64> {
        self.event_time_text(rec).and_then(parse_time_ms)
    }

    /// Decodes a JSON object and evaluates it; returns the matching rules.
    ///
    /// The indices are sorted and borrowed from `s`, valid until its next
    /// use. The decoded event stays in `s.record` (for correlation or
    /// output). A line that is not one JSON object is a [`JsonError`].
    pub fn eval_json<'s>(&self, line: &[u8], s: &'s mut Scratch) -> Result<&'s [u32], JsonError> {
        s.record.clear();
        decode(line, &self.fields, &mut s.record, &mut s.json)?;
        Ok(self.eval_record(s))
    }

    /// Evaluates a Tocsin event (its ECS-style fields).
    pub fn eval_event<'s>(&self, ev: &tocsin_model::Event, s: &'s mut Scratch) -> &'s [u32] {
        self.load_event(ev, s);
        self.eval_record(s)
    }

    /// Decodes a Tocsin event into `s.record` without evaluating it (for a
    /// [`crate::Correlator`] fed by matches computed elsewhere).
    pub fn load_event(&self, ev: &tocsin_model::Event, s: &mut Scratch) {
        s.record.clear();
        for (k, v) in ev.fields.iter() {
            push_model_value(&mut s.record, self.fields.lookup(k), v);
        }
    }

    /// Evaluates the record already in `s` (filled by a caller's decoder).
    ///
    /// The prefilter names the candidates; only they and the unguarded
    /// rules are evaluated in full.
    pub fn eval_record<'s>(&self, s: &'s mut Scratch) -> &'s [u32] {
        s.cands.clear();
        s.matched.clear();
        self.prefilter
            .candidates(&s.record, &mut s.pre, &mut s.cands);
        s.cands.extend_from_slice(self.prefilter.unguarded());
        for &r in &s.cands {
            if self.matches_with(r as usize, &s.record, Some(&s.pre)) {
                s.matched.push(r);
            }
        }
        s.matched.sort_unstable();
        &s.matched
    }

    /// Full evaluation of one rule (no prefilter): the reference the
    /// prefilter is tested against.
    pub fn matches(&self, r: usize, rec: &Record) -> bool {
        self.matches_with(r, rec, None)
    }

    /// `kw`: the prefilter state of this very event, whose keyword scan
    /// answers keyword `contains` tests.
    fn matches_with(&self, r: usize, rec: &Record, kw: Option<&PrefilterScratch>) -> bool {
        let rule = &self.rules[r];
        if let Some(pre) = &rule.pre
            && !pre.eval(rec, kw)
        {
            return false;
        }
        rule.cond.eval(&mut |i| rule.dets[i].eval(rec, kw))
    }

    /// Evaluates every rule without the prefilter (tests, diagnosis).
    pub fn eval_all<'s>(&self, s: &'s mut Scratch) -> &'s [u32] {
        s.matched.clear();
        for r in 0..self.rules.len() {
            if self.matches(r, &s.record) {
                s.matched.push(r as u32);
            }
        }
        &s.matched
    }
}

/// One field of a Tocsin event into the record: numbers as their decimal
/// text, lists as multi-valued fields (nested lists flattened).
fn push_model_value(rec: &mut Record, f: Option<u32>, v: &tocsin_model::Value) {
    use tocsin_model::Value as V;
    match v {
        V::Null => rec.push(f, Scalar::Null),
        V::Bool(b) => rec.push(f, Scalar::Bool(*b)),
        V::Int(i) => rec.push(f, Scalar::Num(&i.to_string())),
        V::Float(x) => rec.push(f, Scalar::Num(&x.to_string())),
        V::Str(s) => rec.push(f, Scalar::Str(s)),
        V::List(l) => {
            for x in l {
                push_model_value(rec, f, x);
            }
        }
    }
}
