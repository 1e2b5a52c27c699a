//! Sigma string values: literal text with `*` and `?` wildcards.
//!
//! Escapes follow the specification: `\*` and `\?` are literal, `\\` is one
//! backslash, and a backslash before any other character is itself literal
//! (so Windows paths need no doubling: `C:\Windows\*`).

/// One piece of a Sigma string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    /// Literal text.
    Lit(String),
    /// `*`: any run of characters, possibly empty.
    Star,
    /// `?`: exactly one character.
    One,
}

/// A parsed Sigma string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigmaStr {
    /// Pieces in order; adjacent literals are merged.
    pub pieces: Vec<Piece>,
}

impl SigmaStr {
    /// Parses wildcards and escapes.
    pub fn parse(s: &str) -> Self {
        let mut pieces = Vec::new();
        let mut lit = String::new();
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.peek() {
                    Some('*') | Some('?') | Some('\\') => {
                        lit.push(chars.next().unwrap_or('\\'));
                    }
                    _ => lit.push('\\'),
                },
                '*' | '?' => {
                    if !lit.is_empty() {
                        pieces.push(Piece::Lit(std::mem::take(&mut lit)));
                    }
                    pieces.push(if c == '*' { Piece::Star } else { Piece::One });
                }
                c => lit.push(c),
            }
        }
        if !lit.is_empty() {
            pieces.push(Piece::Lit(lit));
        }
        SigmaStr { pieces }
    }

    /// The text when there are no wildcards.
    pub fn as_plain(&self) -> Option<String> {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Lit(s) => out.push_str(s),
                _ => return None,
            }
        }
        Some(out)
    }

    /// Adds a leading `*` (contains, endswith).
    pub fn star_front(&mut self) {
        if self.pieces.first() != Some(&Piece::Star) {
            self.pieces.insert(0, Piece::Star);
        }
    }

    /// Adds a trailing `*` (contains, startswith).
    pub fn star_back(&mut self) {
        if self.pieces.last() != Some(&Piece::Star) {
            self.pieces.push(Piece::Star);
        }
    }

    /// The longest literal piece: a substring any match must contain.
    pub fn longest_literal(&self) -> Option<&str> {
        self.pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Lit(s) => Some(s.as_str()),
                _ => None,
            })
            .max_by_key(|s| s.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_and_escapes() {
        // `\*` is a literal asterisk (the specification's escape)…
        let s = SigmaStr::parse(r"C:\Windows\*\cmd?.exe");
        assert_eq!(
            s.pieces,
            vec![
                Piece::Lit(r"C:\Windows*\cmd".into()),
                Piece::One,
                Piece::Lit(".exe".into())
            ]
        );
        // …so a wildcard after a backslash needs the backslash doubled.
        let s = SigmaStr::parse(r"C:\Windows\\*\cmd.exe");
        assert_eq!(
            s.pieces,
            vec![
                Piece::Lit(r"C:\Windows\".into()),
                Piece::Star,
                Piece::Lit(r"\cmd.exe".into())
            ]
        );
        assert_eq!(SigmaStr::parse(r"a\*b").as_plain().as_deref(), Some("a*b"));
        assert_eq!(
            SigmaStr::parse(r"a\\*").pieces,
            vec![Piece::Lit(r"a\".into()), Piece::Star]
        );
        assert_eq!(SigmaStr::parse(r"a\?").as_plain().as_deref(), Some("a?"));
        assert_eq!(SigmaStr::parse(r"\x").as_plain().as_deref(), Some(r"\x"));
        assert_eq!(SigmaStr::parse("").pieces, vec![]);
    }
}
