//! Reading JSON records from a stream: JSON lines, pretty-printed objects
//! one after another, or one array of objects — without holding the file.
//!
//! The reader keeps one buffer (1 MiB, grown only for a record that needs
//! it, never past `max_record`), so memory does not depend on the file's
//! size. JSON lines are found with `memchr` and handed out in place; a
//! malformed line costs that line only. Otherwise a string-aware brace
//! scanner finds each top-level object, its state kept across reads; it
//! counts depth in an integer, so nesting costs no stack. A record longer
//! than `max_record` is skipped without being buffered and reported with
//! its line; an object that never closes is reported and ends the stream.

use std::io::{self, Read};

/// The first read buffer.
const FIRST: usize = 1 << 20;

/// One item of a stream: a record's text, or why the bytes at a line are
/// not one.
#[derive(Debug, PartialEq, Eq)]
pub enum Item<'a> {
    /// A record starting at `line` (1-based); its bytes are not yet checked
    /// (the engine's decoder checks UTF-8 and structure).
    Record {
        /// Line where it starts.
        line: usize,
        /// Its bytes.
        text: &'a [u8],
    },
    /// Bytes that are not a record.
    Bad {
        /// Line where they start.
        line: usize,
        /// Why.
        reason: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Lines,
    Objects,
}

/// What [`JsonReader::span`] found, as offsets into the buffer.
enum Span {
    Record {
        line: usize,
        start: usize,
        end: usize,
    },
    Bad {
        line: usize,
        reason: String,
    },
}

/// Records of a stream, one at a time (each borrowed until the next).
pub struct JsonReader<R> {
    src: R,
    buf: Vec<u8>,
    /// Unconsumed bytes are `buf[lo..hi]`.
    lo: usize,
    hi: usize,
    eof: bool,
    /// Line of `buf[lo]`.
    line: usize,
    mode: Option<Mode>,
    max_record: usize,
    done: bool,
    /// Bytes read from the source so far.
    read: u64,
}

impl<R: Read> JsonReader<R> {
    /// A reader of `src` refusing records longer than `max_record` bytes.
    pub fn new(src: R, max_record: usize) -> Self {
        JsonReader {
            src,
            buf: Vec::new(),
            lo: 0,
            hi: 0,
            eof: false,
            line: 1,
            mode: None,
            max_record: max_record.max(64),
            done: false,
            read: 0,
        }
    }

    /// Bytes read from the source so far.
    pub fn bytes_read(&self) -> u64 {
        self.read
    }

    /// The next item, `None` at the end. An error is the source's (a read
    /// or decompression error); items before it were good.
    pub fn next_item(&mut self) -> io::Result<Option<Item<'_>>> {
        Ok(match self.span()? {
            None => None,
            Some(Span::Record { line, start, end }) => Some(Item::Record {
                line,
                text: &self.buf[start..end],
            }),
            Some(Span::Bad { line, reason }) => Some(Item::Bad { line, reason }),
        })
    }

    /// Moves the unconsumed bytes to the front and reads more; grows the
    /// buffer when the unconsumed part fills it (up to `max_record` + 1).
    /// Returns false at the end of the source.
    fn fill(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.lo > 0 {
            self.buf.copy_within(self.lo..self.hi, 0);
            self.hi -= self.lo;
            self.lo = 0;
        }
        if self.hi == self.buf.len() {
            let want = (self.buf.len() * 2).max(FIRST).min(self.max_record + 1);
            if want <= self.buf.len() {
                return Ok(true); // full at max_record + 1: the caller skips
            }
            self.buf.resize(want, 0);
        }
        loop {
            match self.src.read(&mut self.buf[self.hi..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.hi += n;
                    self.read += n as u64;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// JSON lines when the first non-blank line is a whole object by itself.
    fn detect(&mut self) -> io::Result<Mode> {
        loop {
            let b = &self.buf[self.lo..self.hi];
            let b = b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b);
            let first = b.iter().position(|c| !c.is_ascii_whitespace());
            if let Some(f) = first
                && let Some(nl) = memchr::memchr(b'\n', &b[f..])
            {
                let l = b[f..f + nl].trim_ascii();
                return Ok(lines_first(l));
            }
            let full = self.hi - self.lo > self.max_record;
            if full || !self.fill()? {
                let b = self.buf[self.lo..self.hi].trim_ascii();
                let b = b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b);
                return Ok(if b.is_empty() || full {
                    Mode::Lines
                } else {
                    lines_first(b)
                });
            }
        }
    }

    fn span(&mut self) -> io::Result<Option<Span>> {
        if self.done {
            return Ok(None);
        }
        let mode = match self.mode {
            Some(m) => m,
            None => {
                let m = self.detect()?;
                // A byte-order mark is not part of the first record.
                if self.buf[self.lo..self.hi].starts_with(b"\xEF\xBB\xBF") {
                    self.lo += 3;
                }
                self.mode = Some(m);
                m
            }
        };
        match mode {
            Mode::Lines => self.line_span(),
            Mode::Objects => self.object_span(),
        }
    }

    fn line_span(&mut self) -> io::Result<Option<Span>> {
        loop {
            if let Some(i) = memchr::memchr(b'\n', &self.buf[self.lo..self.hi]) {
                let (start, end) = (self.lo, self.lo + i);
                let at = self.line;
                self.lo = end + 1;
                self.line += 1;
                let (s, e) = trimmed(&self.buf, start, end);
                if s == e {
                    continue;
                }
                return Ok(Some(Span::Record {
                    line: at,
                    start: s,
                    end: e,
                }));
            }
            if self.hi - self.lo > self.max_record {
                return self.skip_line().map(Some);
            }
            if !self.fill()? {
                if self.lo == self.hi {
                    return Ok(None);
                }
                // The last line, without its newline.
                let (start, end) = (self.lo, self.hi);
                self.lo = self.hi;
                let at = self.line;
                self.line += 1;
                let (s, e) = trimmed(&self.buf, start, end);
                if s == e {
                    return Ok(None);
                }
                return Ok(Some(Span::Record {
                    line: at,
                    start: s,
                    end: e,
                }));
            }
        }
    }

    /// Skips the rest of a line longer than `max_record` (never buffering
    /// more than the buffer holds) and says so.
    fn skip_line(&mut self) -> io::Result<Span> {
        let at = self.line;
        let mut len = 0u64;
        loop {
            if let Some(i) = memchr::memchr(b'\n', &self.buf[self.lo..self.hi]) {
                len += i as u64;
                self.lo += i + 1;
                break;
            }
            len += (self.hi - self.lo) as u64;
            self.lo = self.hi;
            if !self.fill()? {
                break;
            }
        }
        self.line += 1;
        Ok(Span::Bad {
            line: at,
            reason: format!(
                "a line of {len} bytes, longer than max_record ({}); skipped",
                self.max_record
            ),
        })
    }

    fn object_span(&mut self) -> io::Result<Option<Span>> {
        // Skip blanks, commas and one enclosing array between objects.
        loop {
            while self.lo < self.hi {
                match self.buf[self.lo] {
                    b'\n' => {
                        self.line += 1;
                        self.lo += 1;
                    }
                    b' ' | b'\t' | b'\r' | b',' | b'[' | b']' => self.lo += 1,
                    _ => break,
                }
            }
            if self.lo < self.hi {
                break;
            }
            if !self.fill()? {
                return Ok(None);
            }
        }
        let at = self.line;
        if self.buf[self.lo] != b'{' {
            self.done = true;
            return Ok(Some(Span::Bad {
                line: at,
                reason: "expected a JSON object".into(),
            }));
        }
        // Scan the object; its start stays at `lo` while the buffer refills.
        let mut sc = Scan::default();
        let mut i = self.lo;
        let mut skipping = false;
        let mut skipped = 0u64;
        loop {
            if i == self.hi {
                if !skipping && self.hi - self.lo > self.max_record {
                    // Too long to keep: go on scanning, dropping as we go.
                    skipping = true;
                }
                if skipping {
                    skipped += (i - self.lo) as u64;
                    self.lo = i;
                }
                let before = self.lo;
                if !self.fill()? {
                    self.done = true;
                    return Ok(Some(Span::Bad {
                        line: at,
                        reason: "object is not closed before the end of the file".into(),
                    }));
                }
                i -= before - self.lo;
            }
            let end = sc.feed(&self.buf[i..self.hi], &mut self.line);
            match end {
                Some(n) => {
                    let end = i + n;
                    let start = self.lo;
                    self.lo = end;
                    // The read that closed it may have taken it one past
                    // the limit.
                    if skipping || end - start > self.max_record {
                        return Ok(Some(Span::Bad {
                            line: at,
                            reason: format!(
                                "an object of {} bytes, longer than max_record ({}); skipped",
                                skipped + (end - start) as u64,
                                self.max_record
                            ),
                        }));
                    }
                    return Ok(Some(Span::Record {
                        line: at,
                        start,
                        end,
                    }));
                }
                None => i = self.hi,
            }
        }
    }
}

/// JSON lines when the first line is a whole object by itself.
fn lines_first(l: &[u8]) -> Mode {
    let mut sc = Scan::default();
    let mut lines = 0;
    if l.first() == Some(&b'{') && sc.feed(l, &mut lines) == Some(l.len()) {
        Mode::Lines
    } else {
        Mode::Objects
    }
}

fn trimmed(b: &[u8], mut s: usize, mut e: usize) -> (usize, usize) {
    while s < e && b[s].is_ascii_whitespace() {
        s += 1;
    }
    while e > s && b[e - 1].is_ascii_whitespace() {
        e -= 1;
    }
    (s, e)
}

/// The brace scanner's state, kept across reads.
#[derive(Default)]
struct Scan {
    depth: usize,
    in_str: bool,
    escaped: bool,
}

impl Scan {
    /// Feeds bytes; returns the offset just past the byte closing the
    /// top-level object, if it is among them. Counts newlines into `lines`.
    fn feed(&mut self, b: &[u8], lines: &mut usize) -> Option<usize> {
        for (i, &c) in b.iter().enumerate() {
            if c == b'\n' {
                *lines += 1;
            }
            if self.in_str {
                if self.escaped {
                    self.escaped = false;
                } else if c == b'\\' {
                    self.escaped = true;
                } else if c == b'"' {
                    self.in_str = false;
                }
                continue;
            }
            match c {
                b'"' => self.in_str = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 {
                        return Some(i + 1);
                    }
                }
                _ => {}
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Reads `data` through a source that gives `chunk` bytes per read.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(self.1).min(out.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    type Got = Vec<(usize, Result<String, String>)>;

    fn collect_with(data: &[u8], chunk: usize, max: usize) -> Got {
        let mut r = JsonReader::new(Trickle(data, chunk), max);
        let mut out = Vec::new();
        while let Some(it) = r.next_item().unwrap() {
            out.push(match it {
                Item::Record { line, text } => {
                    (line, Ok(String::from_utf8_lossy(text).into_owned()))
                }
                Item::Bad { line, reason } => (line, Err(reason)),
            });
        }
        out
    }

    fn collect(s: &str) -> Got {
        collect_with(s.as_bytes(), usize::MAX, 1 << 20)
    }

    #[test]
    fn json_lines_keep_going_after_a_bad_line() {
        let r = collect("{\"a\":1}\n{\"a\":\n\n{\"a\":3}\n");
        assert_eq!(r.len(), 3);
        assert_eq!(r[1], (2, Ok("{\"a\":".to_string())));
        assert_eq!(r[2].0, 4);
    }

    #[test]
    fn pretty_objects_and_arrays() {
        let r = collect("{\n  \"a\": \"}\"\n}\n{\n \"b\": [1, {\"c\": 2}]\n}\n");
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].0, 1);
        assert_eq!(r[1].0, 4);
        let r = collect("[\n {\"a\": 1},\n {\"a\": 2}\n]\n");
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].0, 3);
        let r = collect("{\n \"a\": 1\n");
        assert!(r[0].1.is_err());
    }

    #[test]
    fn a_byte_order_mark_and_a_last_line_without_newline() {
        let r = collect("\u{feff}{\"tên\":\"Nguyễn\"}\n{\"a\":2}");
        assert_eq!(
            r,
            vec![
                (1, Ok("{\"tên\":\"Nguyễn\"}".to_string())),
                (2, Ok("{\"a\":2}".to_string()))
            ]
        );
    }

    #[test]
    fn records_longer_than_the_limit_are_skipped_unbuffered() {
        let long = format!("{{\"a\":\"{}\"}}", "x".repeat(5000));
        let text = format!("{{\"a\":1}}\n{long}\n{{\"a\":3}}\n");
        let r = collect_with(text.as_bytes(), 100, 1000);
        assert_eq!(r.len(), 3, "{r:?}");
        assert!(
            r[1].1
                .as_ref()
                .unwrap_err()
                .contains("longer than max_record"),
            "{r:?}"
        );
        assert_eq!(r[2], (3, Ok("{\"a\":3}".to_string())));
        // The same in pretty objects.
        let text = format!("{{\n\"a\": 1\n}}\n{long}\n{{\n\"a\": 3\n}}\n");
        let r = collect_with(text.as_bytes(), 100, 1000);
        assert_eq!(r.len(), 3, "{r:?}");
        assert!(
            r[1].1
                .as_ref()
                .unwrap_err()
                .contains("longer than max_record"),
            "{r:?}"
        );
        assert_eq!(r[2].0, 5);
    }

    /// Found by fuzzing (hunt_json): an object closed by the read that
    /// took it one byte past the limit was handed out.
    #[test]
    fn fuzz_an_object_one_byte_past_the_limit_is_refused() {
        let obj = format!("{{\n\"a\": \"{}\"}}", "x".repeat(247));
        assert_eq!(obj.len(), 257);
        let r = collect_with(obj.as_bytes(), 1, 256);
        assert_eq!(r.len(), 1, "{r:?}");
        assert!(
            r[0].1
                .as_ref()
                .unwrap_err()
                .contains("longer than max_record"),
            "{r:?}"
        );
        let r = collect_with(obj.as_bytes(), 1, 257);
        assert!(r[0].1.is_ok(), "{r:?}");
    }

    #[test]
    fn deep_nesting_costs_no_stack() {
        let deep = format!("{}{}", "[".repeat(1_000_000), "]".repeat(1_000_000));
        let text = format!("{{\n\"a\": {deep}\n}}\n");
        let r = collect_with(text.as_bytes(), 4096, 4 << 20);
        assert_eq!(r.len(), 1);
        assert!(r[0].1.is_ok());
    }

    proptest::proptest! {
        /// However the stream is cut into reads, the records are the same.
        #[test]
        fn reads_of_any_size_give_the_same_records(
            recs in proptest::collection::vec("[a-zđư\\\\\"{}\\[\\] ]{0,40}", 1..12),
            pretty in proptest::bool::ANY,
            chunk in 1usize..64,
        ) {
            let mut text = String::new();
            for r in &recs {
                let body = serde_json::to_string(r).unwrap();
                if pretty {
                    text.push_str(&format!("{{\n  \"m\": {body}\n}}\n"));
                } else {
                    text.push_str(&format!("{{\"m\":{body}}}\n"));
                }
            }
            let whole = collect_with(text.as_bytes(), usize::MAX, 1 << 20);
            let cut = collect_with(text.as_bytes(), chunk, 1 << 20);
            proptest::prop_assert_eq!(&whole, &cut);
            proptest::prop_assert_eq!(whole.len(), recs.len());
        }
    }
}
