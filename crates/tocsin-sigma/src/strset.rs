//! Many case-insensitive string tests of one item, answered in one pass.
//!
//! SigmaHQ rules often list dozens of values for one field
//! (`ImageLoaded|endswith:` with 300 DLL names, `Signature|contains:` with
//! 60 malware families). Tested one by one, each value costs a substring
//! search; gathered into one automaton, the field's value is scanned once and
//! each occurrence is checked against the operations its needle was given
//! (found anywhere for `contains`, at the start for `startswith`, at the end
//! for `endswith`, both for equality).

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use crate::matcher::{Matcher, StrOp};

/// Lists shorter than this are tested one by one (a few `starts_with` cost
/// less than a scan) unless they hold this many `contains` needles.
const MIN_LIST: usize = 16;
/// See [`MIN_LIST`]: `contains` needles each cost a full search, so a few
/// of them already pay for a set.
const MIN_CONTAINS: usize = 3;

/// Operation bit: the needle is the whole value.
const EQ: u8 = 1;
/// Operation bit: the needle occurs anywhere.
const CONTAINS: u8 = 2;
/// Operation bit: the needle starts the value.
const STARTS: u8 = 4;
/// Operation bit: the needle ends the value.
const ENDS: u8 = 8;

/// The gathered tests.
///
/// Replaces the individual matchers in their item, so it must give the
/// same answer as any of them would: only case-insensitive, non-empty
/// plain tests are gathered, and the haystack is the lowercased value.
#[derive(Clone, Debug)]
pub struct StrSet {
    /// Every distinct needle, lowercased; pattern id = index in `ops`.
    ac: AhoCorasick,
    /// Per pattern: the operations it was given.
    ops: Vec<u8>,
}

impl StrSet {
    /// Takes the case-insensitive, non-empty string tests out of `matchers`
    /// into one set, when there are enough of them to be worth it.
    pub fn gather(matchers: &mut Vec<Matcher>) -> Option<StrSet> {
        let eligible =
            |m: &Matcher| matches!(m, Matcher::Str { ci: true, needle, .. } if !needle.is_empty());
        let n = matchers.iter().filter(|m| eligible(m)).count();
        let contains = matchers
            .iter()
            .filter(|m| {
                eligible(m)
                    && matches!(
                        m,
                        Matcher::Str {
                            op: StrOp::Contains,
                            ..
                        }
                    )
            })
            .count();
        if n < MIN_LIST && contains < MIN_CONTAINS {
            return None;
        }
        let mut pats: Vec<(String, u8)> = Vec::with_capacity(n);
        let mut kept = Vec::with_capacity(matchers.len() - n);
        for m in matchers.drain(..) {
            match &m {
                Matcher::Str { op, needle, .. } if eligible(&m) => {
                    let bit = match op {
                        StrOp::Eq => EQ,
                        StrOp::Contains => CONTAINS,
                        StrOp::Starts => STARTS,
                        StrOp::Ends => ENDS,
                    };
                    pats.push((needle.to_string(), bit));
                }
                _ => kept.push(m),
            }
        }
        pats.sort();
        let mut needles: Vec<String> = Vec::new();
        let mut ops: Vec<u8> = Vec::new();
        for (p, bit) in pats {
            if needles.last() == Some(&p) {
                if let Some(o) = ops.last_mut() {
                    *o |= bit;
                }
            } else {
                needles.push(p);
                ops.push(bit);
            }
        }
        *matchers = kept;
        // A contiguous NFA: values are short, and a DFA per list would
        // multiply the engine's memory for little speed.
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .build(&needles)
            .ok()?;
        Some(StrSet { ac, ops })
    }

    /// Whether any gathered test holds for `hay` (already lowercased).
    #[inline]
    pub fn is_match(&self, hay: &str) -> bool {
        let len = hay.len();
        self.ac.find_overlapping_iter(hay).any(|m| {
            let ops = self.ops.get(m.pattern().as_usize()).copied().unwrap_or(0);
            let (at_start, at_end) = (m.start() == 0, m.end() == len);
            ops & CONTAINS != 0
                || (ops & STARTS != 0 && at_start)
                || (ops & ENDS != 0 && at_end)
                || (ops & EQ != 0 && at_start && at_end)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn str_m(op: StrOp, n: &str) -> Matcher {
        Matcher::Str {
            op,
            needle: n.into(),
            ci: true,
            finder: None,
            kw: None,
        }
    }

    /// The set answers as the tests one by one would.
    #[test]
    fn agrees_with_single_tests() {
        let mut ms = vec![
            str_m(StrOp::Ends, "\\version.dll"),
            str_m(StrOp::Ends, ".dll"),
            str_m(StrOp::Starts, "c:\\windows\\"),
            str_m(StrOp::Eq, "system"),
            str_m(StrOp::Contains, "mimikatz"),
            str_m(StrOp::Contains, "katz"),
            str_m(StrOp::Contains, "sekurlsa"),
            str_m(StrOp::Starts, "system"),
            Matcher::Null,
        ];
        let singles = ms.clone();
        let set = StrSet::gather(&mut ms).expect("three contains");
        assert_eq!(ms.len(), 1, "the null test stays");
        for hay in [
            "c:\\windows\\system32\\version.dll",
            "d:\\x\\version.dllx",
            "c:\\windows",
            "system",
            "systemd",
            "xsystem",
            "run mimikatz now",
            "sekurls",
            "",
            "a.dll",
        ] {
            let one_by_one = singles[..8].iter().any(|m| m.matches_text(hay, hay));
            assert_eq!(set.is_match(hay), one_by_one, "{hay:?}");
        }
        let mut few = vec![str_m(StrOp::Starts, "a"), str_m(StrOp::Ends, "b")];
        assert!(StrSet::gather(&mut few).is_none());
        assert_eq!(few.len(), 2);
    }
}
