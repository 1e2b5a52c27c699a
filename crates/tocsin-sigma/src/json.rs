//! A JSON object → [`Record`] decoder, built for one job: walk a log line
//! once, hand every leaf to the record under its dotted path, allocate
//! nothing in steady state.
//!
//! Nested objects become dotted paths (`winlog.event_data.Image`); arrays
//! make multi-valued fields; EVTX's `#text` wrapper is folded into its parent
//! (`"EventID": {"#text": 4625}` → `EventID`). Limits: 64 levels of nesting;
//! the input must be one JSON object. Errors carry the byte offset.
//!
//! Why not serde_json: building a `Value` tree per event and then walking
//! it costs allocations the engine does not need. This decoder never builds
//! a tree: strings without escapes are handed over as slices of the input,
//! escaped ones are unescaped straight into the record, and a value whose
//! path no rule names is checked but not kept (unless as a keyword
//! string).
//! It is lenient where leniency is harmless (number syntax is not checked
//! beyond its characters, duplicate keys keep the first value) and strict
//! where it matters (UTF-8, string escapes, structure).

use std::fmt;

use crate::record::{FieldId, FieldIndex, Record, Scalar};

/// Why a line is not a JSON object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonError {
    /// Byte offset of the problem.
    pub offset: usize,
    /// What was expected. A fixed phrase, so reporting an error allocates
    /// nothing until it is displayed.
    pub reason: &'static str,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid JSON at byte {}: {}", self.offset, self.reason)
    }
}

impl std::error::Error for JsonError {}

/// Deepest nesting accepted: the decoder recurses per level, so hostile
/// input must not be able to exhaust the stack.
const MAX_DEPTH: usize = 64;

/// Reusable buffers for [`decode`].
///
/// One per thread, kept between events (the engine's scratch holds one):
/// its buffers and the remembered event shape are what make steady-state
/// decoding allocation-free. Works with any [`FieldIndex`]; switching
/// indexes only costs the remembered shape.
#[derive(Debug, Default)]
pub struct JsonScratch {
    /// The dotted path of the value being read.
    path: String,
    /// A buffer for unescaping keys.
    unescaped: String,
    /// The previous event's leaf paths in order, with their slots: events of
    /// a stream share their shape, so the n-th path is checked against the
    /// n-th remembered one (a comparison) before hashing it into the index.
    shape: Vec<(String, Option<FieldId>)>,
    /// The [`FieldIndex::version`] the shape was looked up in.
    shape_of: u64,
}

/// Paths remembered per event shape (deeper events look the rest up).
const SHAPE_LEAVES: usize = 512;

/// The parser: a cursor over one line, writing into one record.
struct P<'a, 'x> {
    /// The line, validated as UTF-8.
    s: &'a str,
    /// The same line as bytes, for scanning.
    b: &'a [u8],
    /// The next byte to read.
    i: usize,
    /// Leaves seen so far in this event.
    leaf: usize,
    /// Where paths become slots.
    idx: &'x FieldIndex,
    /// Where the leaves go.
    rec: &'x mut Record,
    /// Buffers and the remembered shape.
    scratch: &'x mut JsonScratch,
}

/// A [`JsonError`] at `offset`, as the `Err` of any result.
fn err<T>(offset: usize, reason: &'static str) -> Result<T, JsonError> {
    Err(JsonError { offset, reason })
}

/// Decodes one JSON object into `rec` (which the caller has cleared).
///
/// `rec` must have a slot for every field of `idx` (see
/// [`Record::ensure_fields`]). On error, `rec` may hold the leaves read
/// before the problem: clear it before reusing it for another event.
pub fn decode(
    line: &[u8],
    idx: &FieldIndex,
    rec: &mut Record,
    scratch: &mut JsonScratch,
) -> Result<(), JsonError> {
    // Vector validation (the std one for the error's position).
    let s = match simdutf8::basic::from_utf8(line) {
        Ok(s) => s,
        Err(_) => match std::str::from_utf8(line) {
            Ok(s) => s,
            Err(e) => return err(e.valid_up_to(), "not valid UTF-8"),
        },
    };
    scratch.path.clear();
    if scratch.shape_of != idx.version() {
        scratch.shape.clear();
        scratch.shape_of = idx.version();
    }
    let mut p = P {
        s,
        b: s.as_bytes(),
        i: 0,
        leaf: 0,
        idx,
        rec,
        scratch,
    };
    p.ws();
    if p.peek() != Some(b'{') {
        return err(p.i, "expected `{` (one JSON object per line)");
    }
    p.object(0)?;
    p.ws();
    if p.i != p.b.len() {
        return err(p.i, "unexpected data after the object");
    }
    Ok(())
}

impl P<'_, '_> {
    /// The slot of the current path, through the remembered shape.
    ///
    /// Called once per leaf, in document order: when this event's n-th
    /// path equals the previous event's n-th, the remembered answer is
    /// used; otherwise the index is asked and the shape updated.
    #[inline]
    fn field(&mut self) -> Option<FieldId> {
        let n = self.leaf;
        self.leaf += 1;
        let sc = &mut *self.scratch;
        if let Some((path, id)) = sc.shape.get(n)
            && *path == sc.path
        {
            return *id;
        }
        let id = self.idx.lookup(&sc.path);
        if let Some(slot) = sc.shape.get_mut(n) {
            slot.0.clear();
            slot.0.push_str(&sc.path);
            slot.1 = id;
        } else if n == sc.shape.len() && n < SHAPE_LEAVES {
            sc.shape.push((sc.path.clone(), id));
        }
        id
    }

    /// The byte at the cursor (`None` at the end).
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// Skips JSON whitespace.
    #[inline]
    fn ws(&mut self) {
        while let Some(c) = self.peek() {
            if matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    /// An object at the cursor (on its `{`): each member's key is appended
    /// to the path for the member's value, and the path is restored after.
    fn object(&mut self, depth: usize) -> Result<(), JsonError> {
        if depth >= MAX_DEPTH {
            return err(self.i, "nesting deeper than 64 levels");
        }
        self.i += 1; // {
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(());
        }
        let base = self.scratch.path.len();
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return err(self.i, "expected a key");
            }
            let (ks, ke, escaped) = self.string_span()?;
            // Build the path: parent + "." + key (`#text` folds into parent).
            self.scratch.path.truncate(base);
            let key_is_text = !escaped && &self.s[ks..ke] == "#text";
            if !key_is_text {
                if base > 0 {
                    self.scratch.path.push('.');
                }
                if escaped {
                    let mut tmp = std::mem::take(&mut self.scratch.unescaped);
                    tmp.clear();
                    unescape(&self.s[ks..ke], &mut tmp).map_err(|o| JsonError {
                        offset: ks + o,
                        reason: "bad escape in key",
                    })?;
                    self.scratch.path.push_str(&tmp);
                    self.scratch.unescaped = tmp;
                } else {
                    self.scratch.path.push_str(&self.s[ks..ke]);
                }
            }
            self.ws();
            if self.peek() != Some(b':') {
                return err(self.i, "expected `:`");
            }
            self.i += 1;
            self.ws();
            self.value(depth)?;
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    self.scratch.path.truncate(base);
                    return Ok(());
                }
                _ => return err(self.i, "expected `,` or `}`"),
            }
        }
    }

    /// A value at the cursor, pushed under the current path. Array elements
    /// share their array's path, so they become the values of one field.
    fn value(&mut self, depth: usize) -> Result<(), JsonError> {
        match self.peek() {
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => {
                // Arrays nest as deep as objects do: the same bound.
                if depth >= MAX_DEPTH {
                    return err(self.i, "nesting deeper than 64 levels");
                }
                self.i += 1;
                self.ws();
                if self.peek() == Some(b']') {
                    self.i += 1;
                    return Ok(());
                }
                loop {
                    self.ws();
                    self.value(depth + 1)?;
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(());
                        }
                        _ => return err(self.i, "expected `,` or `]`"),
                    }
                }
            }
            Some(b'"') => {
                let field = self.field();
                let start = self.i + 1;
                let unterminated = JsonError {
                    offset: self.i,
                    reason: "unterminated string",
                };
                let k = quote_or_escape(&self.b[start..]).ok_or(unterminated.clone())?;
                if self.b[start + k] == b'"' {
                    self.rec.push(field, Scalar::Str(&self.s[start..start + k]));
                    self.i = start + k + 1;
                    return Ok(());
                }
                // Escaped: unescape while looking for the end, straight
                // into the record.
                let s = self.s;
                let mut end = 0;
                self.rec
                    .push_str_with(field, |out| {
                        end = unescape_to_quote(s, start, start + k, out)?;
                        Ok(())
                    })
                    .map_err(|e: Option<usize>| match e {
                        Some(o) => JsonError {
                            offset: o,
                            reason: "bad escape in string",
                        },
                        None => unterminated,
                    })?;
                self.i = end + 1;
                Ok(())
            }
            Some(b't') => self.lit("true", Scalar::Bool(true)),
            Some(b'f') => self.lit("false", Scalar::Bool(false)),
            Some(b'n') => self.lit("null", Scalar::Null),
            Some(c) if c == b'-' || c.is_ascii_digit() => {
                let st = self.i;
                self.i += 1;
                while let Some(c) = self.peek() {
                    if c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-') {
                        self.i += 1;
                    } else {
                        break;
                    }
                }
                let field = self.field();
                self.rec.push(field, Scalar::Num(&self.s[st..self.i]));
                Ok(())
            }
            _ => err(self.i, "expected a value"),
        }
    }

    /// One of the literals `true`, `false`, `null`, pushed as `v`.
    fn lit(&mut self, word: &'static str, v: Scalar<'static>) -> Result<(), JsonError> {
        if self.b[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            let field = self.field();
            self.rec.push(field, v);
            Ok(())
        } else {
            err(self.i, "expected true, false or null")
        }
    }

    /// The raw span of a string (without quotes) and whether it has escapes.
    #[inline]
    fn string_span(&mut self) -> Result<(usize, usize, bool), JsonError> {
        let start = self.i + 1;
        let mut j = start;
        let mut escaped = false;
        loop {
            match quote_or_escape(&self.b[j..]) {
                None => return err(start - 1, "unterminated string"),
                Some(k) => {
                    j += k;
                    if self.b[j] == b'\\' {
                        escaped = true;
                        j += 2;
                        if j > self.b.len() {
                            return err(start - 1, "unterminated string");
                        }
                    } else {
                        self.i = j + 1;
                        return Ok((start, j, escaped));
                    }
                }
            }
        }
    }
}

/// The first `"` or `\\` in `b`: most keys and many values are short, so
/// the first bytes are looked at one by one before the vector search.
#[inline]
fn quote_or_escape(b: &[u8]) -> Option<usize> {
    const SHORT: usize = 24;
    let head = b.len().min(SHORT);
    if let Some(k) = b[..head].iter().position(|&c| c == b'"' || c == b'\\') {
        return Some(k);
    }
    memchr::memchr2(b'"', b'\\', &b[head..]).map(|k| k + head)
}

/// JSON string escapes → text. On error, the offset of the bad escape.
///
/// `raw` is a string's content without its quotes; the text is appended
/// to `out`. A lone or mismatched UTF-16 surrogate (`\ud800`) becomes
/// U+FFFD rather than an error, so such a line still decodes.
pub fn unescape(raw: &str, out: &mut String) -> Result<(), usize> {
    let b = raw.as_bytes();
    let mut i = 0;
    let mut lit_start = 0;
    while let Some(k) = memchr::memchr(b'\\', &b[i..]) {
        i += k;
        out.push_str(&raw[lit_start..i]);
        i = escape_at(b, i, out)?;
        lit_start = i;
    }
    out.push_str(&raw[lit_start..]);
    Ok(())
}

/// The rest of a string whose first escape is at `esc` (its text starts at
/// `start`), unescaped onto `out` in the same pass that finds its end.
/// Returns the offset of the closing quote; on error, the offset of the
/// bad escape, or `None` when the string never ends.
fn unescape_to_quote(
    s: &str,
    start: usize,
    esc: usize,
    out: &mut String,
) -> Result<usize, Option<usize>> {
    let b = s.as_bytes();
    out.push_str(&s[start..esc]);
    let mut i = escape_at(b, esc, out).map_err(Some)?;
    loop {
        let k = quote_or_escape(b.get(i..).unwrap_or_default()).ok_or(None)?;
        out.push_str(&s[i..i + k]);
        i += k;
        if b[i] == b'"' {
            return Ok(i);
        }
        i = escape_at(b, i, out).map_err(Some)?;
    }
}

/// Decodes the escape at `b[i]` (a backslash) onto `out`; returns the
/// offset after it, or the escape's offset when it is invalid.
#[inline]
fn escape_at(b: &[u8], i: usize, out: &mut String) -> Result<usize, usize> {
    let c = *b.get(i + 1).ok_or(i)?;
    let mut next = i + 2;
    match c {
        b'"' => out.push('"'),
        b'\\' => out.push('\\'),
        b'/' => out.push('/'),
        b'b' => out.push('\u{8}'),
        b'f' => out.push('\u{c}'),
        b'n' => out.push('\n'),
        b'r' => out.push('\r'),
        b't' => out.push('\t'),
        b'u' => {
            let hi = hex4(b, next).ok_or(i)?;
            next += 4;
            let cp = if (0xD800..0xDC00).contains(&hi) {
                // A surrogate pair: `\uD83D\uDE00`.
                if b.get(next) == Some(&b'\\') && b.get(next + 1) == Some(&b'u') {
                    let lo = hex4(b, next + 2).ok_or(next)?;
                    if (0xDC00..0xE000).contains(&lo) {
                        next += 6;
                        0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                    } else {
                        0xFFFD
                    }
                } else {
                    0xFFFD
                }
            } else {
                hi
            };
            out.push(char::from_u32(cp).unwrap_or('\u{FFFD}'));
        }
        _ => return Err(i),
    }
    Ok(next)
}

/// The four hex digits at `b[i..]` of a `\u` escape, or `None`.
fn hex4(b: &[u8], i: usize) -> Option<u32> {
    let s = b.get(i..i + 4)?;
    let mut v = 0u32;
    for &c in s {
        v = v * 16 + (c as char).to_digit(16)?;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_str(s: &str, fields: &[&str]) -> (Record, FieldIndex, Result<(), JsonError>) {
        let mut idx = FieldIndex::default();
        for f in fields {
            idx.intern(f);
        }
        let mut rec = Record::new(idx.len(), true);
        let mut sc = JsonScratch::default();
        let r = decode(s.as_bytes(), &idx, &mut rec, &mut sc);
        (rec, idx, r)
    }

    #[test]
    fn flat_nested_arrays_and_escapes() {
        let line = r##"{"Image":"C:\\Windows\\cmd.exe","EventID":4688,"Event":{"System":{"EventID":{"#attributes":{"Q":1},"#text":1}}},"tags":["a","b"],"ok":true,"n":null,"u":"\u00e9\ud83d\ude00"}"##;
        let (rec, idx, r) = decode_str(
            line,
            &[
                "Image",
                "EventID",
                "Event.System.EventID",
                "tags",
                "ok",
                "n",
                "u",
                "Event.System.EventID.#attributes.Q",
            ],
        );
        r.unwrap();
        let get = |f: &str| {
            rec.get(idx.lookup(f).unwrap())
                .map(|v| v.text.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(get("Image"), [r"C:\Windows\cmd.exe"]);
        assert_eq!(get("EventID"), ["4688"]);
        assert_eq!(get("Event.System.EventID"), ["1"]);
        assert_eq!(get("Event.System.EventID.#attributes.Q"), ["1"]);
        assert_eq!(get("tags"), ["a", "b"]);
        assert_eq!(get("ok"), ["true"]);
        assert_eq!(get("n"), [""]);
        assert_eq!(get("u"), ["é😀"]);
    }

    /// The remembered shape never changes an answer: events in another key
    /// order, a longer or shorter event, another index.
    #[test]
    fn remembered_shape_is_checked() {
        let mut idx = FieldIndex::default();
        let (a, b) = (idx.intern("A"), idx.intern("B"));
        let mut rec = Record::new(idx.len(), true);
        let mut sc = JsonScratch::default();
        let mut get = |line: &str, idx: &FieldIndex, f: FieldId| {
            rec.clear();
            rec.ensure_fields(idx.len());
            decode(line.as_bytes(), idx, &mut rec, &mut sc).unwrap();
            rec.get(f).map(|v| v.text.to_string()).collect::<Vec<_>>()
        };
        assert_eq!(get(r#"{"A":"1","B":"2"}"#, &idx, a), ["1"]);
        assert_eq!(get(r#"{"B":"3","A":"4"}"#, &idx, a), ["4"]);
        assert_eq!(get(r#"{"B":"3","A":"4"}"#, &idx, b), ["3"]);
        assert_eq!(get(r#"{"C":"5","A":"6","B":"7","D":"8"}"#, &idx, b), ["7"]);
        assert_eq!(get(r#"{"A":"9"}"#, &idx, b), Vec::<String>::new());
        // The same scratch with an index where `C` became a field.
        let mut idx2 = idx.clone();
        let c = idx2.intern("C");
        assert_ne!(idx2.version(), idx.version());
        assert_eq!(get(r#"{"C":"5","A":"6","B":"7","D":"8"}"#, &idx2, c), ["5"]);
        // An alias added later is seen too.
        idx2.alias("D", "A");
        assert_eq!(get(r#"{"D":"8"}"#, &idx2, a), ["8"]);
    }

    #[test]
    fn errors_have_offsets() {
        for (bad, at) in [
            (r#"{"a":1,}"#, 7),
            (r#"{"a" 1}"#, 5),
            (r#"["a"]"#, 0),
            (r#"{"a":"x"} trailing"#, 10),
            (r#"{"a":"unterminated}"#, 5),
            (r#"{"a":tru}"#, 5),
            (r#"{"a":"\q"}"#, 6),
        ] {
            let (_, _, r) = decode_str(bad, &["a"]);
            let e = r.unwrap_err();
            assert_eq!(e.offset, at, "{bad}: {e}");
        }
        let deep = format!("{}{}", "{\"a\":".repeat(70), "1");
        assert!(decode_str(&deep, &[]).2.unwrap_err().reason.contains("64"));
    }
}
