//! The condition grammar: `selection and not (filter_a or 1 of filter_*)`.
//!
//! ```text
//! expr    := and ("or" and)*
//! and     := unary ("and" unary)*
//! unary   := "not" unary | "(" expr ")" | quant | ident
//! quant   := ("1" | "any" | "all") "of" (pattern | "them")
//! ```
//!
//! Keywords are case-insensitive. Patterns (`selection_*`) and `them` are
//! resolved against the rule's detection names when the rule is compiled, so
//! evaluation never globs; `them` leaves out names starting with `_`.
//!
//! `not` binds tightest, then `and`, then `or`, as in the specification.
//! Detection names are matched exactly (case matters); a name or pattern
//! that matches no detection is a load error rather than a condition that
//! is silently always false. Sigma 1.0 aggregations (`| count() > 5`) are
//! refused with a pointer to correlation rules.

/// A resolved condition: detections by index.
///
/// `1 of x_*` is an `Or` and `all of x_*` an `And` of the detections the
/// pattern named when the rule was compiled. Filters extend a rule's
/// condition by wrapping it in an `And` with theirs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cond {
    /// The detection with this index.
    Det(usize),
    /// All must hold.
    And(Vec<Cond>),
    /// One must hold.
    Or(Vec<Cond>),
    /// Must not hold.
    Not(Box<Cond>),
}

/// A token of a condition.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `and`
    And,
    /// `or`
    Or,
    /// `not`
    Not,
    /// `of`
    Of,
    /// `1` or `any` (before `of`)
    One,
    /// `all` (before `of`)
    All,
    /// A detection name or name pattern, as written.
    Word(String),
}

/// Splits a condition into tokens. A word is a run of letters, digits and
/// `_ * - . ?`, so a name pattern like `sel_*` is one word. Errors give the
/// 1-based column.
fn lex(s: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut chars = s.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '(' {
            out.push(Tok::LParen);
            chars.next();
        } else if c == ')' {
            out.push(Tok::RParen);
            chars.next();
        } else if c == '|' {
            return Err(format!(
                "`|` at column {}: aggregations in conditions are Sigma 1.0 syntax; write a correlation rule",
                i + 1
            ));
        } else if c.is_alphanumeric() || matches!(c, '_' | '*' | '-' | '.' | '?') {
            let mut w = String::new();
            while let Some(&(_, c)) = chars.peek() {
                if c.is_alphanumeric() || matches!(c, '_' | '*' | '-' | '.' | '?') {
                    w.push(c);
                    chars.next();
                } else {
                    break;
                }
            }
            out.push(match w.to_ascii_lowercase().as_str() {
                "and" => Tok::And,
                "or" => Tok::Or,
                "not" => Tok::Not,
                "of" => Tok::Of,
                "1" | "any" => Tok::One,
                "all" => Tok::All,
                _ => Tok::Word(w),
            });
        } else {
            return Err(format!("unexpected `{c}` at column {}", i + 1));
        }
    }
    Ok(out)
}

/// A recursive-descent parser over the tokens, one function per rule of the
/// grammar above.
struct Parser<'a> {
    /// The condition's tokens.
    toks: Vec<Tok>,
    /// The next token to read.
    pos: usize,
    /// The rule's detection names, in order: a name's position is its
    /// index in [`Cond::Det`].
    names: &'a [String],
}

impl Parser<'_> {
    /// The next token, not consumed.
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    /// The next token, consumed (`None` past the end).
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    /// `expr := and ("or" and)*`; a single operand is returned unwrapped.
    fn expr(&mut self) -> Result<Cond, String> {
        let mut parts = vec![self.and()?];
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Cond::Or(parts)
        })
    }

    /// `and := unary ("and" unary)*`.
    fn and(&mut self) -> Result<Cond, String> {
        let mut parts = vec![self.unary()?];
        while self.peek() == Some(&Tok::And) {
            self.pos += 1;
            parts.push(self.unary()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Cond::And(parts)
        })
    }

    /// `unary`: a negation, a parenthesised expression, a quantifier over
    /// a name pattern, or a detection name.
    fn unary(&mut self) -> Result<Cond, String> {
        match self.next() {
            Some(Tok::Not) => Ok(Cond::Not(Box::new(self.unary()?))),
            Some(Tok::LParen) => {
                let e = self.expr()?;
                match self.next() {
                    Some(Tok::RParen) => Ok(e),
                    _ => Err("missing `)`".into()),
                }
            }
            Some(q @ (Tok::One | Tok::All)) => {
                if self.next() != Some(Tok::Of) {
                    return Err("expected `of` after `1`/`all`".into());
                }
                let target = match self.next() {
                    Some(Tok::Word(w)) => w,
                    other => {
                        return Err(format!(
                            "expected a name pattern or `them` after `of`, found {other:?}"
                        ));
                    }
                };
                let idx = self.resolve_pattern(&target)?;
                let dets: Vec<Cond> = idx.into_iter().map(Cond::Det).collect();
                Ok(match (q, dets.len()) {
                    (_, 1) => dets.into_iter().next().unwrap_or(Cond::And(vec![])),
                    (Tok::All, _) => Cond::And(dets),
                    _ => Cond::Or(dets),
                })
            }
            Some(Tok::Word(w)) => match self.names.iter().position(|n| *n == w) {
                Some(i) => Ok(Cond::Det(i)),
                None => Err(format!(
                    "condition names `{w}`, which is not a detection of this rule"
                )),
            },
            Some(t) => Err(format!("unexpected {t:?}")),
            None => Err("condition ends too early".into()),
        }
    }

    /// The detections a quantifier's target names, in rule order: `them`
    /// (any case) is every name not starting with `_`; anything else is a
    /// wildcard pattern. Naming none is an error.
    fn resolve_pattern(&self, pat: &str) -> Result<Vec<usize>, String> {
        let found: Vec<usize> = if pat.eq_ignore_ascii_case("them") {
            (0..self.names.len())
                .filter(|i| !self.names[*i].starts_with('_'))
                .collect()
        } else {
            (0..self.names.len())
                .filter(|i| glob(pat, &self.names[*i]))
                .collect()
        };
        if found.is_empty() {
            Err(format!("`of {pat}` matches no detection"))
        } else {
            Ok(found)
        }
    }
}

/// `*` any run, `?` one character; everything else literal.
///
/// The classic backtracking matcher that remembers only the last `*`:
/// linear in practice, and only run at load time on short names.
fn glob(pat: &str, s: &str) -> bool {
    let p: Vec<char> = pat.chars().collect();
    let t: Vec<char> = s.chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(sp) = star {
            pi = sp + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// Parses a condition against the rule's detection names.
///
/// The error is a message for a person (the caller adds the rule and
/// line). Tokens left over after a complete expression are an error, not
/// ignored.
pub fn parse(cond: &str, names: &[String]) -> Result<Cond, String> {
    let toks = lex(cond)?;
    if toks.is_empty() {
        return Err("condition is empty".into());
    }
    let mut p = Parser {
        toks,
        pos: 0,
        names,
    };
    let c = p.expr()?;
    if p.pos < p.toks.len() {
        return Err(format!(
            "unexpected {:?} after the end of the condition",
            p.toks[p.pos]
        ));
    }
    Ok(c)
}

impl Cond {
    /// Evaluates with `det(i)` giving detection results (short-circuiting).
    ///
    /// Detections are evaluated lazily, left to right, so a cheap first
    /// selection that fails spares the rest.
    #[inline]
    pub fn eval(&self, det: &mut impl FnMut(usize) -> bool) -> bool {
        match self {
            Cond::Det(i) => det(*i),
            Cond::And(v) => v.iter().all(|c| c.eval(det)),
            Cond::Or(v) => v.iter().any(|c| c.eval(det)),
            Cond::Not(c) => !c.eval(det),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn precedence_and_quantifiers() {
        let n = names(&["sel", "filter_a", "filter_b", "_aux"]);
        let c = parse("sel and not 1 of filter_*", &n).unwrap();
        assert_eq!(
            c,
            Cond::And(vec![
                Cond::Det(0),
                Cond::Not(Box::new(Cond::Or(vec![Cond::Det(1), Cond::Det(2)])))
            ])
        );
        let c = parse("a or b and c", &names(&["a", "b", "c"])).unwrap();
        assert_eq!(
            c,
            Cond::Or(vec![
                Cond::Det(0),
                Cond::And(vec![Cond::Det(1), Cond::Det(2)])
            ])
        );
        assert_eq!(
            parse("all of them", &n).unwrap(),
            Cond::And(vec![Cond::Det(0), Cond::Det(1), Cond::Det(2)])
        );
        assert_eq!(parse("1 of _*", &n).unwrap(), Cond::Det(3));
        assert_eq!(
            parse("(SEL) AND NOT filter_a", &names(&["SEL", "filter_a"])).unwrap(),
            Cond::And(vec![Cond::Det(0), Cond::Not(Box::new(Cond::Det(1)))])
        );
    }

    #[test]
    fn errors_say_why() {
        let n = names(&["sel"]);
        assert!(
            parse("sel and filter", &n)
                .unwrap_err()
                .contains("`filter`")
        );
        assert!(
            parse("1 of x*", &n)
                .unwrap_err()
                .contains("matches no detection")
        );
        assert!(parse("(sel", &n).unwrap_err().contains(")"));
        assert!(
            parse("sel | count() > 5", &n)
                .unwrap_err()
                .contains("correlation")
        );
        assert!(parse("sel sel", &n).is_err());
    }

    #[test]
    fn globbing() {
        assert!(glob("sel*", "selection"));
        assert!(glob("*_win", "proc_win"));
        assert!(glob("s?l", "sel"));
        assert!(!glob("sel*", "filter"));
    }
}
