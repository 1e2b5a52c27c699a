//! Detection sections → compiled [`Detection`]s over field slots.
//!
//! A rule's `detection:` holds named entries and a `condition`. Each entry
//! becomes a [`Detection`] (an OR of AND-groups of [`Item`]s); each
//! `field|modifiers: values` line an [`Item`]; each value one or more
//! [`Matcher`]s. The condition is parsed against the entry names, so at run
//! time detections are found by index and nothing is looked up by name.
//!
//! Everything that can be decided once is decided here, not per event:
//! field names become slots, case-insensitive needles are lowercased,
//! substring searchers are built, wildcard values that are really a plain
//! `contains`/`startswith`/`endswith` become one, and a regex's shortest
//! possible match is computed. A value that cannot compile fails its rule
//! with a [`LoadError`] naming the key and the line; other rules still load.

use std::collections::HashMap;

use memchr::memmem;
use yaml_serde::{Mapping, Value};

use crate::condition::{self, Cond};
use crate::encode;
use crate::glob::StarGlob;
use crate::matcher::{Detection, Item, Matcher, NumOp, StrOp};
use crate::modifier::{Cmp, Modifiers};
use crate::record::{FieldIndex, lower};
use crate::rule::{Doc, LoadError, scalar_text};
use crate::value::{Piece, SigmaStr};

/// What compilation needs besides the rule.
///
/// One context serves every document of a build, so all rules and
/// correlations share one field table (the logsource mappings compile into
/// the same table).
pub struct CompileCtx<'a> {
    /// Field slots, grown as rules name fields.
    pub fields: &'a mut FieldIndex,
    /// `|expand` placeholders: name (without `%`) → values.
    pub placeholders: &'a HashMap<String, Vec<String>>,
    /// Notes about rules that load but deserve a look (unset placeholders).
    pub warnings: Vec<LoadError>,
}

/// A compiled detection section: named detections and the condition.
#[derive(Clone, Debug)]
pub struct CompiledDetections {
    /// The detections, in the order the rule names them (the indices
    /// [`Cond::Det`] uses).
    pub dets: Vec<Detection>,
    /// The condition over them. Several `condition` entries are ORed.
    pub cond: Cond,
}

/// A rule value as YAML gave it.
///
/// The YAML type matters: `EventID: 4625` compiles to a numeric test that
/// also accepts `"4625"` or `4625.0` in the event, while `EventID: '4625'`
/// compares text.
enum RawVal {
    /// A string.
    Str(String),
    /// An integer.
    Int(i64),
    /// Any other number.
    Float(f64),
    /// `true` / `false`.
    Bool(bool),
    /// `null` (or an empty value).
    Null,
}

/// A YAML scalar as a [`RawVal`]; `None` for maps, lists and tagged values.
fn raw_val(v: &Value) -> Option<RawVal> {
    Some(match v {
        Value::String(s) => RawVal::Str(s.clone()),
        Value::Number(n) => match n.as_i64() {
            Some(i) => RawVal::Int(i),
            None => RawVal::Float(n.as_f64()?),
        },
        Value::Bool(b) => RawVal::Bool(*b),
        Value::Null => RawVal::Null,
        _ => return None,
    })
}

/// A value as text, for the tests that compare text (null is empty).
fn raw_text(v: &RawVal) -> String {
    match v {
        RawVal::Str(s) => s.clone(),
        RawVal::Int(i) => i.to_string(),
        RawVal::Float(f) => f.to_string(),
        RawVal::Bool(b) => b.to_string(),
        RawVal::Null => String::new(),
    }
}

/// Compiles `detection:` of a document.
///
/// Fails on the first problem: a detection that does not compile, a
/// condition naming a detection that does not exist, no condition at all,
/// or Sigma 1.0's `timeframe` (which belongs in a correlation rule now).
pub fn compile_detection(
    doc: &Doc,
    det: &Mapping,
    cx: &mut CompileCtx<'_>,
) -> Result<CompiledDetections, LoadError> {
    let mut names = Vec::new();
    let mut dets = Vec::new();
    let mut conds: Vec<String> = Vec::new();
    for (k, v) in det {
        let Some(name) = k.as_str() else {
            return Err(doc.error("detection:", "detection names must be strings"));
        };
        if name == "condition" {
            match v {
                Value::String(s) => conds.push(s.clone()),
                Value::Sequence(list) => {
                    for c in list {
                        match c.as_str() {
                            Some(s) => conds.push(s.to_string()),
                            None => {
                                return Err(doc.error(
                                    "condition:",
                                    "condition list entries must be strings",
                                ));
                            }
                        }
                    }
                }
                _ => {
                    return Err(doc.error(
                        "condition:",
                        "condition must be a string or a list of strings",
                    ));
                }
            }
            continue;
        }
        if name == "timeframe" {
            return Err(doc.error(
                "timeframe:",
                "`timeframe` in a detection is Sigma 1.0; write a correlation rule with `timespan`",
            ));
        }
        let d = compile_named(doc, name, v, cx)?;
        names.push(name.to_string());
        dets.push(d);
    }
    if conds.is_empty() {
        return Err(doc.error("detection:", "detection has no `condition`"));
    }
    let mut parsed = Vec::new();
    for c in &conds {
        parsed.push(
            condition::parse(c, &names)
                .map_err(|e| doc.error("condition:", format!("condition `{c}`: {e}")))?,
        );
    }
    let cond = if parsed.len() == 1 {
        parsed.remove(0)
    } else {
        Cond::Or(parsed)
    };
    Ok(CompiledDetections { dets, cond })
}

/// Compiles one named detection, whatever its shape:
///
/// * a map: one AND-group, one item per key;
/// * a list of maps: one group per map, ORed;
/// * a list of plain values, or one plain value: keywords, searched for in
///   every string of the event.
///
/// Also compiles the conditions of the logsource mappings, which use the
/// same syntax.
pub(crate) fn compile_named(
    doc: &Doc,
    name: &str,
    v: &Value,
    cx: &mut CompileCtx<'_>,
) -> Result<Detection, LoadError> {
    let key = format!("{name}:");
    match v {
        Value::Mapping(m) => Ok(Detection {
            groups: vec![compile_map(doc, name, m, cx)?],
        }),
        Value::Sequence(list)
            if list.iter().all(|x| matches!(x, Value::Mapping(_))) && !list.is_empty() =>
        {
            let mut groups = Vec::new();
            for x in list {
                if let Value::Mapping(m) = x {
                    groups.push(compile_map(doc, name, m, cx)?);
                }
            }
            Ok(Detection { groups })
        }
        Value::Sequence(list) => {
            // Keywords: plain values searched in every string of the event.
            if list
                .iter()
                .any(|x| matches!(x, Value::Mapping(_) | Value::Sequence(_)))
            {
                return Err(doc.error(
                    &key,
                    format!("detection `{name}` mixes maps and plain values"),
                ));
            }
            let item = compile_item(doc, name, None, &Modifiers::default(), list, cx)?;
            Ok(Detection {
                groups: vec![vec![item]],
            })
        }
        Value::String(_) | Value::Number(_) | Value::Bool(_) => {
            let item = compile_item(
                doc,
                name,
                None,
                &Modifiers::default(),
                std::slice::from_ref(v),
                cx,
            )?;
            Ok(Detection {
                groups: vec![vec![item]],
            })
        }
        Value::Null => Err(doc.error(&key, format!("detection `{name}` is empty"))),
        Value::Tagged(_) => Err(doc.error(
            &key,
            format!("detection `{name}` uses an unsupported YAML tag"),
        )),
    }
}

/// One AND-group: each `field|modifier|…: value(s)` key of the map becomes
/// an item. A key with no field name (`|re: …`) is a keyword item over
/// every string of the event. The field is interned, so the event decoder
/// keeps its values.
fn compile_map(
    doc: &Doc,
    name: &str,
    m: &Mapping,
    cx: &mut CompileCtx<'_>,
) -> Result<Vec<Item>, LoadError> {
    let mut items = Vec::new();
    for (k, v) in m {
        let key = match k {
            Value::String(s) => s.clone(),
            other => scalar_text(other).unwrap_or_default(),
        };
        let mut parts = key.split('|');
        let field = parts.next().unwrap_or("").trim();
        let mods: Vec<&str> = parts.collect();
        let modifiers = Modifiers::parse(&mods)
            .map_err(|e| doc.error(&format!("{key}:"), format!("`{key}` in `{name}`: {e}")))?;
        let values: Vec<Value> = match v {
            Value::Sequence(list) => list.clone(),
            Value::Mapping(_) => {
                return Err(doc.error(
                    &format!("{key}:"),
                    format!(
                        "`{key}` in `{name}`: a field's value must be a value or a list, not a map"
                    ),
                ));
            }
            other => vec![other.clone()],
        };
        let field_id = if field.is_empty() {
            None
        } else {
            Some(cx.fields.intern(field))
        };
        items.push(compile_item(
            doc,
            name,
            field_id.map(|f| (f, key.as_str())),
            &modifiers,
            &values,
            cx,
        )?);
    }
    if items.is_empty() {
        return Err(doc.error(
            &format!("{name}:"),
            format!("detection `{name}` has an empty map"),
        ));
    }
    Ok(items)
}

/// One item: every value of one key under the same modifiers. `field` is
/// the slot and the key as written (for messages), `None` for keywords.
/// Errors name the key and its detection.
fn compile_item(
    doc: &Doc,
    name: &str,
    field: Option<(u32, &str)>,
    m: &Modifiers,
    values: &[Value],
    cx: &mut CompileCtx<'_>,
) -> Result<Item, LoadError> {
    let key = field.map_or_else(|| format!("{name}:"), |(_, k)| format!("{k}:"));
    let fail = |msg: String| {
        doc.error(
            &key,
            format!("`{}` in `{name}`: {msg}", key.trim_end_matches(':')),
        )
    };
    if values.is_empty() {
        return Err(fail("has no values".into()));
    }
    let mut matchers = Vec::new();
    for v in values {
        let Some(raw) = raw_val(v) else {
            return Err(fail(
                "values must be strings, numbers, booleans or null".into(),
            ));
        };
        compile_value(
            &raw,
            m,
            field.map(|f| f.0).is_none(),
            cx,
            doc,
            &key,
            &mut matchers,
        )
        .map_err(fail)?;
    }
    Ok(Item {
        field: field.map(|f| f.0),
        matchers,
        all: m.all,
        neq: m.neq,
    })
}

/// The matchers of one value under `m`, pushed onto `out`.
///
/// The modifiers are tried in a fixed order: `exists`, a time part, a
/// comparison, `re`, `cidr`, then string tests. Of the string tests,
/// `fieldref` compares with another field; `null`, booleans and numbers
/// compare by type when no string operation or encoding is asked for;
/// everything else becomes text, expanded (`expand`), encoded (`base64…`,
/// `windash`) and matched with its wildcards. `keyword` (no field) makes
/// the plain test a `contains`. One value may give several matchers (each
/// expansion, encoding offset or dash variant). The error is the message
/// alone; the caller adds the key.
fn compile_value(
    raw: &RawVal,
    m: &Modifiers,
    keyword: bool,
    cx: &mut CompileCtx<'_>,
    doc: &Doc,
    key: &str,
    out: &mut Vec<Matcher>,
) -> Result<(), String> {
    let ci = !m.cased;
    if m.exists {
        return match raw {
            RawVal::Bool(b) => {
                out.push(Matcher::Exists(*b));
                Ok(())
            }
            _ => Err("`exists` takes true or false".into()),
        };
    }
    if let Some(part) = m.time {
        out.push(Matcher::Time(part, number(raw, "a time modifier")?));
        return Ok(());
    }
    if let Some(cmp) = m.cmp {
        let n = number(raw, "a comparison")?;
        let op = match cmp {
            Cmp::Lt => NumOp::Lt,
            Cmp::Lte => NumOp::Lte,
            Cmp::Gt => NumOp::Gt,
            Cmp::Gte => NumOp::Gte,
        };
        out.push(Matcher::Num(op, n));
        return Ok(());
    }
    if m.re {
        // The size limit keeps one hostile or careless pattern from
        // taking the engine's memory; rules in the wild stay far below it.
        let pat = raw_text(raw);
        let re = regex::RegexBuilder::new(&pat)
            .case_insensitive(m.re_i)
            .multi_line(m.re_m)
            .dot_matches_new_line(m.re_s)
            .size_limit(20 << 20)
            .build()
            .map_err(|e| {
                format!(
                    "regular expression does not compile: {}",
                    e.to_string().lines().last().unwrap_or("")
                )
            })?;
        // The shortest text the pattern can match (`.{1000,}`: 1,000
        // bytes): shorter values are ruled out without running it.
        let min_len = regex_syntax::ParserBuilder::new()
            .case_insensitive(m.re_i)
            .multi_line(m.re_m)
            .dot_matches_new_line(m.re_s)
            .build()
            .parse(&pat)
            .ok()
            .and_then(|h| h.properties().minimum_len())
            .unwrap_or(0);
        out.push(Matcher::Re { re, min_len });
        return Ok(());
    }
    if m.cidr {
        let s = raw_text(raw);
        out.push(Matcher::Cidr(parse_cidr_lenient(&s)?));
        return Ok(());
    }
    let op = if m.contains {
        StrOp::Contains
    } else if m.startswith {
        StrOp::Starts
    } else if m.endswith {
        StrOp::Ends
    } else if keyword {
        StrOp::Contains // keywords search inside the text
    } else {
        StrOp::Eq
    };
    if m.fieldref {
        let name = raw_text(raw);
        let other = cx.fields.intern(name.trim());
        out.push(Matcher::FieldRef { other, op, ci });
        return Ok(());
    }
    match raw {
        RawVal::Null => {
            if op != StrOp::Eq {
                return Err("null cannot be combined with contains/startswith/endswith".into());
            }
            out.push(Matcher::Null);
            return Ok(());
        }
        RawVal::Bool(b) if op == StrOp::Eq && !m.base64 && !m.base64offset => {
            out.push(Matcher::Bool(*b));
            return Ok(());
        }
        RawVal::Int(i) if op == StrOp::Eq && !m.base64 && !m.base64offset && !m.windash => {
            out.push(Matcher::Num(NumOp::Eq, *i as f64));
            return Ok(());
        }
        RawVal::Float(f) if op == StrOp::Eq && !m.base64 && !m.base64offset && !m.windash => {
            out.push(Matcher::Num(NumOp::Eq, *f));
            return Ok(());
        }
        _ => {}
    }
    let text = raw_text(raw);
    // `expand`: placeholders from the configuration, each value a variant.
    let texts: Vec<String> = if m.expand {
        let expanded = expand(&text, cx.placeholders);
        if expanded.is_empty() {
            cx.warnings.push(doc.error(
                key,
                format!("placeholder in `{text}` has no value in the configuration (sigma.placeholders); this value never matches"),
            ));
            out.push(Matcher::Never);
            return Ok(());
        }
        expanded
    } else {
        vec![text]
    };
    for text in texts {
        if m.base64 || m.base64offset {
            // The encoded forms of the literal text; wildcards do not survive encoding.
            let bytes = if m.utf16le {
                encode::utf16le(&text)
            } else if m.utf16be {
                encode::utf16be(&text)
            } else if m.utf16 {
                encode::utf16bom(&text)
            } else {
                text.clone().into_bytes()
            };
            if m.base64 {
                push_str(out, op, &encode::base64(&bytes), ci);
            } else {
                for v in encode::base64_offsets(&bytes) {
                    // base64offset finds the value inside longer text.
                    push_str(out, StrOp::Contains, &v, ci);
                }
            }
            continue;
        }
        let variants = if m.windash {
            encode::windash(&text)?
        } else {
            vec![text]
        };
        for v in variants {
            push_sigma(out, op, &v, ci)?;
        }
    }
    Ok(())
}

/// A rule value that must be a number (`what` names the modifier).
fn number(raw: &RawVal, what: &str) -> Result<f64, String> {
    match raw {
        RawVal::Int(i) => Ok(*i as f64),
        RawVal::Float(f) => Ok(*f),
        RawVal::Str(s) => s
            .trim()
            .parse()
            .map_err(|_| format!("{what} needs a number, got `{s}`")),
        _ => Err(format!("{what} needs a number")),
    }
}

/// A plain string test of `s` (no wildcards). Case-insensitive needles are
/// stored lowercased, to be compared with the record's lowercased text; a
/// `contains` gets its substring searcher built now. `kw` is filled in by
/// the engine once the prefilter exists.
fn push_str(out: &mut Vec<Matcher>, op: StrOp, s: &str, ci: bool) {
    let needle: Box<str> = if ci { lower(s).into() } else { s.into() };
    let finder = (op == StrOp::Contains)
        .then(|| Box::new(memmem::Finder::new(needle.as_bytes()).into_owned()));
    out.push(Matcher::Str {
        op,
        needle,
        ci,
        finder,
        kw: None,
    });
}

/// A Sigma string (with wildcards) under a string operation.
///
/// `contains`, `startswith` and `endswith` are wildcards at the ends, so
/// they are added as such first. What is left is a plain test when there
/// are no wildcards or only `*`s around one literal (`*\cmd.exe`), and a
/// [`Matcher::Glob`] otherwise: an anchored regex, a regex-free matcher
/// when the pattern has `*` only, and its longest literal as the
/// prefilter's needle.
fn push_sigma(out: &mut Vec<Matcher>, op: StrOp, raw: &str, ci: bool) -> Result<(), String> {
    let mut s = SigmaStr::parse(raw);
    if let Some(plain) = s.as_plain() {
        push_str(out, op, &plain, ci);
        return Ok(());
    }
    if matches!(op, StrOp::Contains | StrOp::Ends) {
        s.star_front();
    }
    if matches!(op, StrOp::Contains | StrOp::Starts) {
        s.star_back();
    }
    // `*text*` and friends are plain string operations after all.
    let lits: Vec<&str> = s
        .pieces
        .iter()
        .filter_map(|p| {
            if let Piece::Lit(l) = p {
                Some(l.as_str())
            } else {
                None
            }
        })
        .collect();
    let only_stars = s.pieces.iter().all(|p| !matches!(p, Piece::One));
    if only_stars && lits.len() == 1 {
        let starts = s.pieces.first() == Some(&Piece::Star);
        let ends = s.pieces.last() == Some(&Piece::Star);
        let op = match (starts, ends) {
            (true, true) => StrOp::Contains,
            (true, false) => StrOp::Ends,
            (false, true) => StrOp::Starts,
            (false, false) => StrOp::Eq,
        };
        push_str(out, op, lits[0], ci);
        return Ok(());
    }
    if ci {
        for p in &mut s.pieces {
            if let Piece::Lit(l) = p {
                *l = lower(l);
            }
        }
    }
    let star = StarGlob::new(&s.pieces).map(Box::new);
    let mut pat = String::from("(?s)\\A");
    for p in &s.pieces {
        match p {
            Piece::Lit(l) => pat.push_str(&regex::escape(l)),
            Piece::Star => pat.push_str(".*"),
            Piece::One => pat.push('.'),
        }
    }
    pat.push_str("\\z");
    let re = regex::Regex::new(&pat)
        .map_err(|e| format!("wildcard pattern `{raw}` does not compile: {e}"))?;
    let hint = lower(s.longest_literal().unwrap_or("")).into();
    out.push(Matcher::Glob { re, star, ci, hint });
    Ok(())
}

/// Replaces `%name%` placeholders with every configured value (cartesian).
///
/// Empty when a placeholder has no configured values: the caller turns that
/// into a matcher that never matches, with a warning, rather than a rule
/// that fails to load. A lone `%` with no closing one is kept as text.
fn expand(text: &str, vars: &HashMap<String, Vec<String>>) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut rest = text;
    while let Some(a) = rest.find('%') {
        let Some(b) = rest[a + 1..].find('%') else {
            break;
        };
        let name = &rest[a + 1..a + 1 + b];
        let Some(vals) = vars.get(name) else {
            return Vec::new();
        };
        let prefix = &rest[..a];
        out = out
            .iter()
            .flat_map(|o| vals.iter().map(move |v| format!("{o}{prefix}{v}")))
            .collect();
        rest = &rest[a + b + 2..];
    }
    for o in &mut out {
        o.push_str(rest);
    }
    out
}

/// CIDR from a rule: host bits are cleared rather than refused (rules in the
/// wild write `192.168.1.1/24`).
fn parse_cidr_lenient(s: &str) -> Result<tocsin_model::Cidr, String> {
    match s.parse::<tocsin_model::Cidr>() {
        Ok(c) => Ok(c),
        Err(tocsin_model::CidrError::HostBitsSet(net)) => {
            net.parse().map_err(|e| format!("`{s}`: {e}"))
        }
        Err(e) => Err(format!("`{s}` is not a CIDR range: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_placeholders() {
        let mut v = HashMap::new();
        v.insert("dc".to_string(), vec!["DC1".to_string(), "DC2".to_string()]);
        assert_eq!(expand("x-%dc%-y", &v), ["x-DC1-y", "x-DC2-y"]);
        assert!(expand("%nope%", &v).is_empty());
        assert_eq!(expand("plain", &v), ["plain"]);
    }

    #[test]
    fn wildcards_become_plain_ops_when_possible() {
        let mut out = Vec::new();
        push_sigma(&mut out, StrOp::Eq, r"*\cmd.exe", true).unwrap();
        push_sigma(&mut out, StrOp::Contains, "a*b", true).unwrap();
        assert!(
            matches!(&out[0], Matcher::Str { op: StrOp::Ends, needle, .. } if &**needle == r"\cmd.exe")
        );
        assert!(matches!(&out[1], Matcher::Glob { .. }));
    }
}
