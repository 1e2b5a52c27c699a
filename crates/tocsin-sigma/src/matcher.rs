//! Compiled value matchers and detection items.
//!
//! The run-time half of a rule: [`Detection`]s of [`Item`]s of
//! [`Matcher`]s, as `compile` builds them, evaluated against a [`Record`].
//! A field with several values (a JSON array) matches when any of its
//! values does. Evaluation only reads the record: decoding and lowercasing
//! happened once, for every rule, when the event was loaded.

use std::net::IpAddr;

use memchr::memmem;
use tocsin_model::Cidr;

use crate::glob::StarGlob;
use crate::modifier::TimePart;
use crate::prefilter::{Prefilter, PrefilterScratch};
use crate::record::{FieldId, FieldVal, Kind, Record, push_lower};
use crate::strset::StrSet;

/// String comparison kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StrOp {
    /// Whole value.
    Eq,
    /// Substring.
    Contains,
    /// Prefix.
    Starts,
    /// Suffix.
    Ends,
}

/// Numeric comparison kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumOp {
    /// `==`
    Eq,
    /// `<`
    Lt,
    /// `<=`
    Lte,
    /// `>`
    Gt,
    /// `>=`
    Gte,
}

/// One compiled value test.
#[derive(Clone, Debug)]
pub enum Matcher {
    /// Plain string test. `needle` is already lowercased when `ci`.
    Str {
        /// Comparison.
        op: StrOp,
        /// The text looked for.
        needle: Box<str>,
        /// Case-insensitive (the default in Sigma).
        ci: bool,
        /// Substring searcher for `Contains` (boxed: it is large).
        finder: Option<Box<memmem::Finder<'static>>>,
        /// For keyword `contains`: the keyword scan's pattern id, whose
        /// presence answers the test without scanning again.
        kw: Option<u32>,
    },
    /// Wildcard pattern compiled to an anchored regex (on lowercase text when
    /// `ci`).
    Glob {
        /// The regex.
        re: regex::Regex,
        /// The same pattern without a regex, when it has only `*` wildcards.
        star: Option<Box<StarGlob>>,
        /// Whether it runs on the lowercase text.
        ci: bool,
        /// The longest literal piece, lowercased: any match contains it.
        hint: Box<str>,
    },
    /// Many case-insensitive string tests of one item, gathered (any holds).
    /// Built after the prefilter has read the individual tests, which it
    /// replaces in the item.
    AnyStr(Box<StrSet>),
    /// `|re`
    Re {
        /// The expression.
        re: regex::Regex,
        /// No text shorter than this (bytes) can match.
        min_len: usize,
    },
    /// `|cidr`
    Cidr(Cidr),
    /// Numeric comparison (numbers and numeric strings, hexadecimal `0x…`
    /// included). Equality allows for floating-point rounding.
    Num(NumOp, f64),
    /// Boolean value: `true`/`1`/`yes` or `false`/`0`/`no`, in any case.
    Bool(bool),
    /// `null`: absent or null.
    Null,
    /// `|exists`
    Exists(bool),
    /// `|fieldref`: compare with another field of the same event.
    FieldRef {
        /// The other field.
        other: FieldId,
        /// Comparison.
        op: StrOp,
        /// Case-insensitive.
        ci: bool,
    },
    /// A time part of a timestamp value (`|hour: 3`), read in UTC from
    /// RFC 3339, `YYYY-MM-DD HH:MM:SS`, or epoch seconds or milliseconds.
    Time(TimePart, f64),
    /// Never matches (an `|expand` placeholder without a configured value).
    Never,
}

/// A value read as a number: decimal (what `f64` parses) or `0x`
/// hexadecimal. The prefilter's exact-integer index reads values the same
/// way, so it never rules out a value this matcher would accept.
pub(crate) fn parse_num(s: &str) -> Option<f64> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    t.parse::<f64>().ok().or_else(|| {
        // Hexadecimal as Windows writes it (0x3e7).
        let h = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X"))?;
        u64::from_str_radix(h, 16).ok().map(|v| v as f64)
    })
}

/// The `part` of a timestamp, or `None` when the text is no time this
/// knows. A time with an offset is converted to UTC; one without is taken
/// as UTC. A bare integer above 10¹¹ is milliseconds, else seconds.
fn time_part(text: &str, part: TimePart) -> Option<f64> {
    use chrono::{DateTime, Datelike, NaiveDateTime, Timelike};
    let t = text.trim();
    let dt: NaiveDateTime = if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        d.naive_utc()
    } else if let Ok(d) = NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f") {
        d
    } else if let Ok(d) = NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f") {
        d
    } else if let Ok(n) = t.parse::<i64>() {
        // Epoch seconds or milliseconds.
        let secs = if n > 100_000_000_000 { n / 1000 } else { n };
        DateTime::from_timestamp(secs, 0)?.naive_utc()
    } else {
        return None;
    };
    Some(f64::from(match part {
        TimePart::Minute => dt.minute(),
        TimePart::Hour => dt.hour(),
        TimePart::Day => dt.day(),
        TimePart::Week => dt.iso_week().week(),
        TimePart::Month => dt.month(),
        TimePart::Year => dt.year() as u32,
    }))
}

/// `op` of `needle` on `hay`, both already in the case to compare in;
/// `finder`, when given, is `needle`'s prebuilt searcher.
#[inline]
fn str_test(op: StrOp, hay: &str, needle: &str, finder: Option<&memmem::Finder<'_>>) -> bool {
    match op {
        StrOp::Eq => hay == needle,
        StrOp::Contains => match finder {
            Some(f) => f.find(hay.as_bytes()).is_some(),
            None => hay.contains(needle),
        },
        StrOp::Starts => hay.starts_with(needle),
        StrOp::Ends => hay.ends_with(needle),
    }
}

impl Matcher {
    /// Tests one value of the field. `rec` is the whole event, for
    /// `fieldref`. A text test never matches a null value; `cidr` accepts
    /// an IPv4-mapped IPv6 address as its IPv4 form.
    #[inline]
    pub fn matches(&self, v: FieldVal<'_>, rec: &Record) -> bool {
        match self {
            // Text tests: the same as for free text, never on a null.
            Matcher::Str { .. }
            | Matcher::Glob { .. }
            | Matcher::Re { .. }
            | Matcher::AnyStr(_) => v.kind != Kind::Null && self.matches_text(v.text, v.lower),
            Matcher::Cidr(net) => v
                .text
                .trim()
                .parse::<IpAddr>()
                .is_ok_and(|ip| net.contains(normalize(ip))),
            Matcher::Num(op, n) => {
                if !matches!(v.kind, Kind::Num | Kind::Str) {
                    return false;
                }
                let Some(x) = parse_num(v.text) else {
                    return false;
                };
                match op {
                    NumOp::Eq => (x - n).abs() < f64::EPSILON,
                    NumOp::Lt => x < *n,
                    NumOp::Lte => x <= *n,
                    NumOp::Gt => x > *n,
                    NumOp::Gte => x >= *n,
                }
            }
            Matcher::Bool(b) => match v.lower {
                "true" | "1" | "yes" => *b,
                "false" | "0" | "no" => !*b,
                _ => false,
            },
            Matcher::Null => v.kind == Kind::Null,
            Matcher::Exists(e) => (v.kind != Kind::Null) == *e,
            Matcher::FieldRef { other, op, ci } => rec.get(*other).any(|o| {
                if *ci {
                    str_test(*op, v.lower, o.lower, None)
                } else {
                    str_test(*op, v.text, o.text, None)
                }
            }),
            Matcher::Time(part, n) => {
                time_part(v.text, *part).is_some_and(|x| (x - n).abs() < f64::EPSILON)
            }
            Matcher::Never => false,
        }
    }

    /// Whether an absent field satisfies this matcher: only `null` and
    /// `exists: false` do. The prefilter relies on this list: such matchers
    /// cannot be guarded by a needle.
    #[inline]
    pub fn matches_absent(&self) -> bool {
        matches!(self, Matcher::Null | Matcher::Exists(false))
    }

    /// Tests free text (keyword search: no field); `lowered` is `text`
    /// lowercased. Non-text matchers never match free text.
    #[inline]
    pub fn matches_text(&self, text: &str, lowered: &str) -> bool {
        match self {
            Matcher::Str {
                op,
                needle,
                ci,
                finder,
                ..
            } => str_test(
                *op,
                if *ci { lowered } else { text },
                needle,
                finder.as_deref(),
            ),
            Matcher::Glob { re, star, ci, .. } => {
                let hay = if *ci { lowered } else { text };
                match star {
                    Some(g) => g.is_match(hay),
                    None => re.is_match(hay),
                }
            }
            Matcher::Re { re, min_len } => text.len() >= *min_len && re.is_match(text),
            Matcher::AnyStr(set) => set.is_match(lowered),
            _ => false,
        }
    }
}

/// An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) as IPv4, so an IPv4
/// range matches it; any other address as it is.
fn normalize(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// One `field|modifiers: values` line of a detection.
#[derive(Clone, Debug)]
pub struct Item {
    /// The field (`None` for keywords: any string value of the event).
    pub field: Option<FieldId>,
    /// Matchers, one or more per value.
    pub matchers: Vec<Matcher>,
    /// `|all`: every matcher must match.
    pub all: bool,
    /// `|neq`: the field is present and no matcher matches.
    pub neq: bool,
}

impl Item {
    /// Gathers many case-insensitive string tests of a field into one
    /// [`StrSet`] (after the prefilter has read them one by one).
    pub(crate) fn gather_strings(&mut self) {
        if self.field.is_none() || self.all {
            return;
        }
        if let Some(set) = StrSet::gather(&mut self.matchers) {
            self.matchers.push(Matcher::AnyStr(Box::new(set)));
        }
    }

    /// Evaluates the item against a record.
    ///
    /// `kw` is the prefilter's state for this same record, when the
    /// prefilter ran on it: keyword `contains` tests are then answered from
    /// its scan. An absent field is decided by [`Matcher::matches_absent`]
    /// (and fails `neq`).
    #[inline]
    pub fn eval(&self, rec: &Record, kw: Option<&PrefilterScratch>) -> bool {
        let Some(f) = self.field else {
            return self.eval_keywords(rec, kw);
        };
        if !rec.has(f) {
            if self.neq {
                return false;
            }
            return if self.all {
                self.matchers.iter().all(Matcher::matches_absent)
            } else {
                self.matchers.iter().any(Matcher::matches_absent)
            };
        }
        let test = |m: &Matcher| rec.get(f).any(|v| m.matches(v, rec));
        let r = if self.all {
            self.matchers.iter().all(test)
        } else {
            self.matchers.iter().any(test)
        };
        r != self.neq
    }

    /// A keyword item: each matcher is tried on every string of the event,
    /// of any field. Strings whose lowercase the record did not make are
    /// lowercased here, into one reused buffer.
    fn eval_keywords(&self, rec: &Record, kw: Option<&PrefilterScratch>) -> bool {
        let mut buf = String::new();
        let mut test = |m: &Matcher| {
            // Answered by the keyword scan that already ran on this event.
            if let (Matcher::Str { kw: Some(p), .. }, Some(s)) = (m, kw) {
                return Prefilter::keyword_seen(s, *p);
            }
            rec.strings().any(|(s, lowered)| {
                let l = match lowered {
                    Some(l) => l,
                    None => {
                        buf.clear();
                        if push_lower(s, &mut buf) {
                            buf.as_str()
                        } else {
                            s
                        }
                    }
                };
                m.matches_text(s, l)
            })
        };
        let r = if self.all {
            self.matchers.iter().all(&mut test)
        } else {
            self.matchers.iter().any(&mut test)
        };
        r != self.neq
    }
}

/// A detection: OR of AND-groups of items (a map is one group; a list of
/// maps several).
#[derive(Clone, Debug, Default)]
pub struct Detection {
    /// The groups: any group holds when all its items do.
    pub groups: Vec<Vec<Item>>,
}

impl Detection {
    /// Evaluates the detection.
    #[inline]
    pub fn eval(&self, rec: &Record, kw: Option<&PrefilterScratch>) -> bool {
        self.groups
            .iter()
            .any(|g| g.iter().all(|i| i.eval(rec, kw)))
    }
}
