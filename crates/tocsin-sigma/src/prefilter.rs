//! The prefilter: which rules can possibly match this event?
//!
//! At build time each rule gets a *guard*: a set of (field, lowercase
//! needle) atoms such that the rule can only match when at least one needle
//! occurs in its field. Guards are derived from the condition — an AND needs
//! one guarded side, an OR needs every side guarded, a NOT guards nothing —
//! picking the rarest-looking needles. Per field, all needles of all rules go
//! into one Aho-Corasick automaton; an event runs each automaton once over
//! each present field's lowercased text and marks the rules whose needles
//! occur. Only those rules, and the unguarded ones, are evaluated in full.
//!
//! Contract (as ripgrep's literal optimisations): the prefilter may report
//! false positives, never false negatives. `tests/prefilter.rs` checks it
//! against evaluating every rule.
//!
//! Besides needles, a guard may require an exact integer in a field
//! (`EventID: 4625`, looked up in a hash map per field) or merely the
//! field's presence (for tests with no literal, such as `|re` or `|cidr`).
//! A rule whose condition cannot be guarded at all (typically through a
//! `not`, or a test that an absent field passes) is evaluated on every
//! event.
//!
//! ```text
//! build:  rule ─cond_guard─► atoms ─► per-field automata, integer maps,
//!                                      presence lists, keyword automaton
//! event:  present fields ─scan─► marked rules ─+ unguarded─► full evaluation
//! ```

use crate::condition::Cond;
use crate::matcher::{Detection, Item, Matcher, NumOp, parse_num};
use crate::record::{FieldId, FxMap, Kind, Record, push_lower};
use crate::scan::{self, EXTRA, KEYWORD_TAG, Scan, scan_text};
use crate::scan_cache::{ScanCache, ScanCacheStats};

/// Keyword needles (searched in every string of the event) shorter than
/// this would be found almost everywhere: not worth scanning for. A field's
/// needles may be as short as one byte: `Image|endswith: /w` is rare in
/// Windows paths, and scans of repeated lines are remembered anyway.
pub(crate) const MIN_KEYWORD_NEEDLE: usize = 3;

/// One thing whose presence in an event lets a rule through.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Atom {
    /// `None`: any string of the event (keywords).
    pub field: Option<FieldId>,
    /// What must be found in it.
    pub kind: AtomKind,
}

/// What an [`Atom`] looks for.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum AtomKind {
    /// This lowercase text occurs in the value.
    Needle(String),
    /// The value is this integer (`EventID: 4625`).
    Int(i64),
    /// The field is merely present.
    Present,
}

/// A guard: the condition can hold only if one of these atoms occurs.
/// `None` means no guard was found (always evaluate); an empty list is
/// treated the same way when the prefilter is built.
type Guard = Option<Vec<Atom>>;

/// The lowercase literal any text `m` accepts must contain, if it has one
/// long enough to be worth scanning for.
fn matcher_needle(m: &Matcher, keyword: bool) -> Option<String> {
    let n = match m {
        Matcher::Str { needle, ci, .. } => {
            if *ci {
                needle.to_string()
            } else {
                crate::record::lower(needle)
            }
        }
        Matcher::Glob { hint, .. } => hint.to_string(),
        _ => return None,
    };
    let min = if keyword { MIN_KEYWORD_NEEDLE } else { 1 };
    (n.len() >= min).then_some(n)
}

/// The guard of one item: one atom per matcher (any matcher can make the
/// item hold, so every one must be guarded), or the best single atom under
/// `|all`. When a matcher has no literal (`|re`, `|cidr`, a comparison),
/// the field's presence is the guard. `neq` and matchers an absent field
/// satisfies cannot be guarded.
fn item_guard(item: &Item) -> Guard {
    if item.neq || item.matchers.iter().any(Matcher::matches_absent) {
        return None;
    }
    let atoms = |m: &Matcher| {
        let kind = match m {
            Matcher::Num(NumOp::Eq, n)
                if n.fract() == 0.0 && n.abs() < 9.0e15 && item.field.is_some() =>
            {
                Some(AtomKind::Int(*n as i64))
            }
            _ => matcher_needle(m, item.field.is_none()).map(AtomKind::Needle),
        };
        kind.map(|kind| Atom {
            field: item.field,
            kind,
        })
    };
    let needles: Guard = if item.all {
        // Every matcher must hold: any one of them guards.
        item.matchers
            .iter()
            .filter_map(|m| atoms(m).map(|a| vec![a]))
            .max_by_key(|g| score(g))
    } else {
        item.matchers.iter().map(atoms).collect()
    };
    // No literal to look for: the field must at least be there.
    needles.or_else(|| {
        item.field.map(|f| {
            vec![Atom {
                field: Some(f),
                kind: AtomKind::Present,
            }]
        })
    })
}

/// Higher is better: long needles, few of them; presence guards last.
fn score(g: &[Atom]) -> i64 {
    let worth = |a: &Atom| match &a.kind {
        AtomKind::Needle(n) => n.len().min(12) as i64,
        // An exact number is about as selective as an 8-byte literal.
        AtomKind::Int(_) => 8,
        AtomKind::Present => -1,
    };
    let min = g.iter().map(worth).min().unwrap_or(0);
    if min < 0 {
        return -(g.len() as i64);
    }
    min * 64 - g.len() as i64
}

/// For conditions that all must hold: the best-scoring guard among them
/// (any one suffices); `None` only when none has a guard.
fn best(gs: impl Iterator<Item = Guard>) -> Guard {
    gs.flatten().max_by_key(|g| score(g))
}

/// For conditions of which any may hold: all their atoms together; `None`
/// as soon as one of them has no guard.
fn union(gs: impl Iterator<Item = Guard>) -> Guard {
    let mut out = Vec::new();
    for g in gs {
        out.extend(g?);
    }
    out.sort();
    out.dedup();
    Some(out)
}

/// A detection's guard: its groups are ORed, the items of a group ANDed.
fn det_guard(d: &Detection) -> Guard {
    union(d.groups.iter().map(|g| best(g.iter().map(item_guard))))
}

/// The guard of a condition over detections.
pub(crate) fn cond_guard(c: &Cond, dets: &[Detection]) -> Guard {
    match c {
        Cond::Det(i) => dets.get(*i).and_then(det_guard),
        Cond::And(v) => best(v.iter().map(|x| cond_guard(x, dets))),
        Cond::Or(v) => union(v.iter().map(|x| cond_guard(x, dets))),
        Cond::Not(x) => false_guard(x, dets),
    }
}

/// A guard for `c` being *false*. The one case known: a detection that is
/// exactly `field: null` (or `field|exists: false`) is false only when the
/// field is there — `not filter_null` (common as `not 1 of filter_*`)
/// needs the field present.
fn false_guard(c: &Cond, dets: &[Detection]) -> Guard {
    match c {
        Cond::Det(i) => {
            let d = dets.get(*i)?;
            let [group] = d.groups.as_slice() else {
                return None;
            };
            let [item] = group.as_slice() else {
                return None;
            };
            let field = item.field?;
            let only_absent = !item.neq
                && !item.matchers.is_empty()
                && item.matchers.iter().all(Matcher::matches_absent);
            only_absent.then(|| {
                vec![Atom {
                    field: Some(field),
                    kind: AtomKind::Present,
                }]
            })
        }
        // All false: any one of them being false guards.
        Cond::Or(v) => best(v.iter().map(|x| false_guard(x, dets))),
        // Some false: every one must be guarded.
        Cond::And(v) => union(v.iter().map(|x| false_guard(x, dets))),
        Cond::Not(x) => cond_guard(x, dets),
    }
}

/// Adds each rule not yet a candidate in this event (`epoch`) to `out`.
#[inline]
fn mark_all(marks: &mut [u32], epoch: u32, rules: &[u32], out: &mut Vec<u32>) {
    for &r in rules {
        if marks[r as usize] != epoch {
            marks[r as usize] = epoch;
            out.push(r);
        }
    }
}

/// The built prefilter. Read-only once built, shared by every thread;
/// what changes per event lives in a [`PrefilterScratch`].
pub(crate) struct Prefilter {
    /// Per field: the automaton of its needles, if any rule has one there.
    by_field: Vec<Option<Scan>>,
    /// Per field: rules guarded by the field being present.
    presence: Vec<Vec<u32>>,
    /// Per field: integer value → rules.
    ints: Vec<FxMap<i64, Vec<u32>>>,
    /// Keyword needles, searched in every string of the event; also holds
    /// the "deciders" whose presence answers keyword `contains` tests.
    keywords: Option<Scan>,
    /// Rules without a guard: evaluated on every event.
    unguarded: Vec<u32>,
    /// Atoms registered, for [`Prefilter::stats`].
    patterns: usize,
}

/// Per-event state of the prefilter.
///
/// Marks are stamped with the event's epoch rather than cleared, so
/// starting an event costs nothing however many rules and patterns there
/// are. One per thread, inside the engine's scratch; it also owns that
/// thread's scan cache.
#[derive(Debug, Default)]
pub struct PrefilterScratch {
    /// Per rule: the epoch in which it last became a candidate.
    rule_mark: Vec<u32>,
    /// Per field, per pattern: the epoch in which it was last found.
    pat_mark: Vec<Vec<u32>>,
    /// Per keyword pattern: the epoch in which it was last found (read by
    /// keyword `contains` tests through [`Prefilter::keyword_seen`]).
    kw_mark: Vec<u32>,
    /// The current event's number.
    epoch: u32,
    /// A buffer for lowercasing non-ASCII keyword strings.
    lower: String,
    /// What the automata found in lines already seen.
    cache: ScanCache,
    /// A buffer for one line's findings.
    found: Vec<u32>,
}

impl Prefilter {
    /// `guards[r]`: the guard of rule `r`. `deciders`: keyword needles whose
    /// presence the keyword scan must record even when they guard no rule
    /// (keyword `contains` tests are then answered from the scan).
    pub(crate) fn build(guards: Vec<Guard>, fields: usize, deciders: Vec<String>) -> Prefilter {
        let mut per_field: Vec<Vec<(String, u32)>> = vec![Vec::new(); fields];
        let mut presence: Vec<Vec<u32>> = vec![Vec::new(); fields];
        let mut ints: Vec<FxMap<i64, Vec<u32>>> = vec![FxMap::default(); fields];
        let mut kw = Vec::new();
        let mut unguarded = Vec::new();
        let mut patterns = 0;
        for (r, g) in guards.into_iter().enumerate() {
            let r = r as u32;
            match g {
                None => unguarded.push(r),
                Some(atoms) if atoms.is_empty() => unguarded.push(r),
                Some(atoms) => {
                    for a in atoms {
                        patterns += 1;
                        match (a.field, a.kind) {
                            (Some(f), AtomKind::Needle(n)) => per_field[f as usize].push((n, r)),
                            (Some(f), AtomKind::Int(v)) => {
                                let e = ints[f as usize].entry(v).or_default();
                                if e.last() != Some(&r) {
                                    e.push(r);
                                }
                            }
                            (Some(f), AtomKind::Present) => {
                                if presence[f as usize].last() != Some(&r) {
                                    presence[f as usize].push(r);
                                }
                            }
                            (None, AtomKind::Needle(n)) => kw.push((n, r)),
                            (None, _) => unguarded.push(r),
                        }
                    }
                }
            }
        }
        kw.extend(deciders.into_iter().map(|n| (n, u32::MAX)));
        let by_field = per_field
            .into_iter()
            .map(|n| scan::build(n, false))
            .collect();
        Prefilter {
            by_field,
            presence,
            ints,
            keywords: scan::build(kw, true),
            unguarded,
            patterns,
        }
    }

    /// The keyword pattern id of a needle, when the keyword scan records it.
    pub(crate) fn keyword_pattern(&self, needle: &str) -> Option<u32> {
        let scan = self.keywords.as_ref()?;
        scan.pats
            .binary_search_by(|p| p.as_str().cmp(needle))
            .ok()
            .map(|i| i as u32)
    }

    /// Rules that are always evaluated.
    pub(crate) fn unguarded(&self) -> &[u32] {
        &self.unguarded
    }

    /// (guarded needle atoms, unguarded rules).
    pub(crate) fn stats(&self) -> (usize, usize) {
        (self.patterns, self.unguarded.len())
    }

    /// Whether any rule searches keywords (the record must keep every string).
    pub(crate) fn wants_strings(&self) -> bool {
        self.keywords.is_some()
    }

    /// Fresh per-thread state for `rules` rules, with a scan cache of about
    /// `cache_bytes` (0: no cache).
    pub(crate) fn scratch(&self, rules: usize, cache_bytes: usize) -> PrefilterScratch {
        PrefilterScratch {
            rule_mark: vec![0; rules],
            pat_mark: self
                .by_field
                .iter()
                .map(|s| s.as_ref().map_or(Vec::new(), |s| vec![0; s.rules.len()]))
                .collect(),
            kw_mark: self
                .keywords
                .as_ref()
                .map_or(Vec::new(), |s| vec![0; s.rules.len()]),
            epoch: 0,
            lower: String::new(),
            cache: ScanCache::new(cache_bytes),
            found: Vec::new(),
        }
    }

    /// Whether keyword pattern `p` occurred in the current event.
    #[inline]
    pub(crate) fn keyword_seen(s: &PrefilterScratch, p: u32) -> bool {
        s.kw_mark.get(p as usize) == Some(&s.epoch)
    }

    /// How the scan cache of this scratch has done.
    pub(crate) fn cache_stats(s: &PrefilterScratch) -> ScanCacheStats {
        s.cache.stats()
    }

    /// Pushes the guarded rules whose needles occur in `rec` onto `out`.
    ///
    /// Each rule at most once, in no particular order; the unguarded rules
    /// are not included (see [`Prefilter::unguarded`]). Starts a new epoch
    /// in `s`, which keyword tests of the same event then read.
    pub(crate) fn candidates(&self, rec: &Record, s: &mut PrefilterScratch, out: &mut Vec<u32>) {
        s.epoch = s.epoch.wrapping_add(1);
        if s.epoch == 0 {
            s.rule_mark.iter_mut().for_each(|m| *m = 0);
            s.pat_mark.iter_mut().flatten().for_each(|m| *m = 0);
            s.kw_mark.iter_mut().for_each(|m| *m = 0);
            s.epoch = 1;
        }
        self.scan_fields(rec, s, out);
        self.scan_keywords(rec, s, out);
    }

    /// Field needles, exact integers and presence, field by field.
    #[inline(never)]
    fn scan_fields(&self, rec: &Record, s: &mut PrefilterScratch, out: &mut Vec<u32>) {
        let epoch = s.epoch;
        for &f in rec.present() {
            mark_all(&mut s.rule_mark, epoch, &self.presence[f as usize], out);
            let ints = &self.ints[f as usize];
            if !ints.is_empty() {
                for v in rec.get(f) {
                    // The same reading as the numeric matcher's.
                    let Some(x) = parse_num(v.text) else { continue };
                    let Some(rules) = ints.get(&(x.round() as i64)) else {
                        continue;
                    };
                    mark_all(&mut s.rule_mark, epoch, rules, out);
                }
            }
            let Some(scan) = self.by_field.get(f as usize).and_then(Option::as_ref) else {
                continue;
            };
            let marks = &mut s.pat_mark[f as usize];
            let (rule_mark, kw_mark) = (&mut s.rule_mark, &mut s.kw_mark);
            // The keyword scan rides along (its strings are skipped there);
            // its findings count for strings only, as in the keyword scan.
            let kw = self.keywords.as_ref();
            for v in rec.get(f) {
                let is_str = v.kind == Kind::Str;
                scan_text(scan, kw, f, v.lower, &mut s.cache, &mut s.found, |p| {
                    let (scan, marks, p) = match (kw, p & EXTRA != 0) {
                        (Some(k), true) if is_str => (k, &mut *kw_mark, (p & !EXTRA) as usize),
                        (_, true) => return,
                        (_, false) => (scan, &mut *marks, p as usize),
                    };
                    if marks[p] != epoch {
                        marks[p] = epoch;
                        mark_all(rule_mark, epoch, &scan.rules[p], out);
                    }
                });
            }
        }
    }

    /// Keyword needles in every string of the event.
    #[inline(never)]
    fn scan_keywords(&self, rec: &Record, s: &mut PrefilterScratch, out: &mut Vec<u32>) {
        let epoch = s.epoch;
        let Some(scan) = &self.keywords else { return };
        let kw_mark = &mut s.kw_mark;
        let rule_mark = &mut s.rule_mark;
        for (field, text, lowered) in rec.strings_by_field() {
            // Strings of scanned fields were searched for keywords there.
            if field.is_some_and(|f| self.by_field.get(f as usize).is_some_and(Option::is_some)) {
                continue;
            }
            // The keyword automaton is ASCII case-insensitive: ASCII text is
            // scanned as it is; other text is lowercased first (its
            // lowercase may differ beyond ASCII).
            let text = match lowered {
                Some(l) => l,
                None if text.is_ascii() => text,
                None => {
                    s.lower.clear();
                    if push_lower(text, &mut s.lower) {
                        s.lower.as_str()
                    } else {
                        text
                    }
                }
            };
            scan_text(
                scan,
                None,
                KEYWORD_TAG,
                text,
                &mut s.cache,
                &mut s.found,
                |p| {
                    let p = p as usize;
                    if kw_mark[p] != epoch {
                        kw_mark[p] = epoch;
                        mark_all(rule_mark, epoch, &scan.rules[p], out);
                    }
                },
            );
        }
    }
}
