//! Wildcard values with `*` only (`*\temp\*.ps1`), matched without a regex.
//!
//! Such a pattern is literal pieces in order: a piece anchored at the start
//! (no leading `*`), one anchored at the end (no trailing `*`), and the rest
//! each found after the previous one. Taking the leftmost occurrence of each
//! middle piece is never wrong for `*`-only patterns (an earlier end leaves
//! more room for what follows), so one forward pass of substring searches
//! decides. Patterns with `?` keep their regex.

use memchr::memmem;

use crate::value::Piece;

/// A compiled `*`-only wildcard pattern.
#[derive(Clone, Debug)]
pub struct StarGlob {
    /// The literal the value must start with (no leading `*`).
    head: Option<Box<str>>,
    /// The literals between `*`s, to be found in order.
    mids: Vec<memmem::Finder<'static>>,
    /// The literal the value must end with (no trailing `*`). Checked
    /// before the middle pieces, so they are searched only between the
    /// two ends and can never overlap them.
    tail: Option<Box<str>>,
}

impl StarGlob {
    /// The pattern of `pieces` (literals already in the case they are to be
    /// compared in), or `None` when it holds a `?`.
    pub fn new(pieces: &[Piece]) -> Option<StarGlob> {
        if pieces.iter().any(|p| matches!(p, Piece::One)) {
            return None;
        }
        let lits: Vec<&str> = pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Lit(l) if !l.is_empty() => Some(l.as_str()),
                _ => None,
            })
            .collect();
        let first_lit = matches!(pieces.first(), Some(Piece::Lit(l)) if !l.is_empty());
        let last_lit = matches!(pieces.last(), Some(Piece::Lit(l)) if !l.is_empty());
        let (mut from, mut to) = (0, lits.len());
        let head = (first_lit && to > from).then(|| {
            from += 1;
            Box::<str>::from(lits[0])
        });
        let tail = (last_lit && to > from).then(|| {
            to -= 1;
            Box::<str>::from(lits[to])
        });
        let mids = lits[from..to]
            .iter()
            .map(|l| memmem::Finder::new(l.as_bytes()).into_owned())
            .collect();
        Some(StarGlob { head, mids, tail })
    }

    /// Whether the whole of `hay` matches.
    #[inline]
    pub fn is_match(&self, hay: &str) -> bool {
        let mut h = hay.as_bytes();
        if let Some(p) = &self.head {
            match h.strip_prefix(p.as_bytes()) {
                Some(rest) => h = rest,
                None => return false,
            }
        }
        if let Some(t) = &self.tail {
            match h.strip_suffix(t.as_bytes()) {
                Some(rest) => h = rest,
                None => return false,
            }
        }
        for f in &self.mids {
            match f.find(h) {
                Some(i) => h = &h[i + f.needle().len()..],
                None => return false,
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::SigmaStr;

    fn glob(p: &str) -> StarGlob {
        StarGlob::new(&SigmaStr::parse(p).pieces).expect("star-only")
    }

    /// The same answers as the anchored regex the pattern used to compile to.
    #[test]
    fn agrees_with_the_regex() {
        let pats = [
            "a*b",
            "*a*b*",
            "a*",
            "*a",
            "*",
            "**",
            "a*a",
            "*ab*ba*",
            "x*y*z",
            "*\\temp\\*.ps1",
            "ab*cd*ef",
            "*cd*",
        ];
        let hays = [
            "",
            "a",
            "ab",
            "ba",
            "aa",
            "aba",
            "abba",
            "xyz",
            "xzy",
            "xyyz",
            "c:\\temp\\a.ps1",
            "c:\\temp\\.ps1x",
            "abcdef",
            "abxcdxef",
            "abef",
            "abcd",
            "cdcd",
        ];
        for p in pats {
            let g = glob(p);
            let mut re = String::from("(?s)\\A");
            for piece in SigmaStr::parse(p).pieces {
                match piece {
                    Piece::Lit(l) => re.push_str(&regex::escape(&l)),
                    Piece::Star => re.push_str(".*"),
                    Piece::One => re.push('.'),
                }
            }
            re.push_str("\\z");
            let re = regex::Regex::new(&re).expect("valid");
            for h in hays {
                assert_eq!(g.is_match(h), re.is_match(h), "{p} on {h:?}");
            }
        }
        assert!(StarGlob::new(&SigmaStr::parse("a?b").pieces).is_none());
    }
}
