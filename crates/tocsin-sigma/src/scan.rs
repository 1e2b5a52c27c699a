//! The prefilter's text scans: one Aho-Corasick automaton per rule field
//! (and one for keywords) run over an event's values line by line, each
//! line's findings remembered in the [`ScanCache`].

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use crate::scan_cache::{MAX_LINE, ScanCache};

/// The automaton tag of the keyword scan in the cache (fields use their id).
pub(crate) const KEYWORD_TAG: u32 = u32::MAX;

/// Marks a pattern of the second scan in a combined result (see [`scan_text`]).
pub(crate) const EXTRA: u32 = 1 << 31;

/// One automaton and what its patterns mean.
pub(crate) struct Scan {
    /// The automaton over `pats`; pattern ids are indices into `pats`.
    pub(crate) ac: AhoCorasick,
    /// No pattern holds a line break: lines can be scanned (and remembered)
    /// one by one.
    pub(crate) by_line: bool,
    /// The shortest pattern's length: shorter text holds none.
    pub(crate) min_len: usize,
    /// Pattern → rules it guards.
    pub(crate) rules: Vec<Vec<u32>>,
    /// The patterns, sorted (pattern id = index).
    pub(crate) pats: Vec<String>,
}

/// The scan for `needles` (needle, rule it guards or `u32::MAX`).
///
/// `u32::MAX` marks a needle that guards no rule but whose presence must
/// still be recorded (a keyword decider). Needles are deduplicated, each
/// keeping the rules it guards. Up to 2,000 patterns get a DFA (fastest to
/// run, memory grows with the patterns); larger sets let the crate choose.
/// `ascii_ci`: match ASCII letters in any case, for text not lowercased
/// beforehand. `None` when there are no needles or the automaton cannot
/// be built.
pub(crate) fn build(needles: Vec<(String, u32)>, ascii_ci: bool) -> Option<Scan> {
    if needles.is_empty() {
        return None;
    }
    let mut pats: Vec<String> = Vec::new();
    let mut rules: Vec<Vec<u32>> = Vec::new();
    let mut sorted = needles;
    sorted.sort();
    for (n, r) in sorted {
        if pats.last() != Some(&n) {
            pats.push(n);
            rules.push(Vec::new());
        }
        if let Some(last) = rules.last_mut()
            && last.last() != Some(&r)
            && r != u32::MAX
        {
            last.push(r);
        }
    }
    let kind = if pats.len() <= 2_000 {
        Some(AhoCorasickKind::DFA)
    } else {
        None
    };
    let ac = AhoCorasick::builder()
        .match_kind(MatchKind::Standard)
        .ascii_case_insensitive(ascii_ci)
        .kind(kind)
        .build(&pats)
        .ok()?;
    Some(Scan {
        ac,
        by_line: !pats.iter().any(|p| p.contains('\n')),
        min_len: pats.iter().map(String::len).min().unwrap_or(0),
        rules,
        pats,
    })
}

/// Every occurrence in `line` of `scan`'s patterns, then of `extra`'s
/// (marked with [`EXTRA`]).
fn findings<'a>(
    scan: &'a Scan,
    extra: Option<&'a Scan>,
    line: &'a str,
) -> impl Iterator<Item = u32> + 'a {
    let first = scan
        .ac
        .find_overlapping_iter(line)
        .map(|m| m.pattern().as_u32());
    let second = extra
        .into_iter()
        .flat_map(move |x| x.ac.find_overlapping_iter(line))
        .map(|m| m.pattern().as_u32() | EXTRA);
    first.chain(second)
}

/// Calls `hit` with each pattern of `scan` that occurs in `text` (one may
/// be reported more than once), scanning only lines the cache has not seen.
/// With `extra`, that scan's patterns are reported too, marked with
/// [`EXTRA`], under the same lookup (a named field's string is searched for
/// its field's needles and for keywords at once).
///
/// `tag` names the automaton (with `extra`) in the cache: calls with
/// different automata must use different tags, or one would be answered
/// with the other's findings. `found` is a buffer, reused between calls.
#[inline]
pub(crate) fn scan_text(
    scan: &Scan,
    extra: Option<&Scan>,
    tag: u32,
    text: &str,
    cache: &mut ScanCache,
    found: &mut Vec<u32>,
    mut hit: impl FnMut(u32),
) {
    let min_len = extra.map_or(scan.min_len, |x| x.min_len.min(scan.min_len));
    if text.len() < min_len {
        return;
    }
    let mut line = |line: &str| {
        if line.len() < min_len {
            return;
        }
        if line.len() > MAX_LINE {
            cache.count_uncached(line.len());
            findings(scan, extra, line).for_each(&mut hit);
            return;
        }
        if let Some(ps) = cache.get(tag, line.as_bytes()) {
            ps.iter().for_each(|&p| hit(p));
            return;
        }
        found.clear();
        for p in findings(scan, extra, line) {
            if !found.contains(&p) {
                found.push(p);
                hit(p);
            }
        }
        cache.insert(tag, line.as_bytes(), found);
    };
    let by_line = scan.by_line && extra.is_none_or(|x| x.by_line);
    if by_line {
        // memchr's vector search: most strings are one line, some are one
        // very long line.
        let mut from = 0;
        for nl in memchr::memchr_iter(b'\n', text.as_bytes()) {
            line(&text[from..nl]);
            from = nl + 1;
        }
        line(&text[from..]);
    } else {
        line(text);
    }
}
