//! Splitting a buffer into JSON records: JSON lines, pretty-printed objects
//! one after another, or one array of objects.
//!
//! JSON lines are read line by line, so a malformed line costs that line
//! only. Otherwise a string-aware brace scanner finds each top-level object;
//! an object that never closes is reported and ends the file.

/// One record: its first line and its text (or why it is not one).
#[derive(Debug)]
pub struct JsonRecord<'a> {
    /// 1-based line where it starts.
    pub line: usize,
    /// The object's text, or the reason it was skipped.
    pub text: Result<&'a str, String>,
}

/// Iterator over the records of a buffer.
pub struct JsonRecords<'a> {
    data: &'a [u8],
    pos: usize,
    line: usize,
    lines_mode: bool,
    done: bool,
}

/// The records of `data`.
pub fn records(data: &[u8]) -> JsonRecords<'_> {
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    JsonRecords {
        lines_mode: looks_like_lines(data),
        data,
        pos: 0,
        line: 1,
        done: false,
    }
}

/// JSON lines when the first non-blank line is a whole object by itself.
fn looks_like_lines(data: &[u8]) -> bool {
    let first = data
        .split(|b| *b == b'\n')
        .map(|l| l.trim_ascii())
        .find(|l| !l.is_empty());
    match first {
        Some(l) => l.first() == Some(&b'{') && object_end(l, 0) == Some(l.len()),
        None => true,
    }
}

/// The end (exclusive) of the object starting at `start`, string-aware.
fn object_end(b: &[u8], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_str = false;
    let mut i = start;
    while i < b.len() {
        let c = b[i];
        if in_str {
            match c {
                b'\\' => i += 1,
                b'"' => in_str = false,
                _ => {}
            }
        } else {
            match c {
                b'"' => in_str = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return Some(i + 1);
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    None
}

fn text(b: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(b).map_err(|e| format!("not valid UTF-8 at byte {}", e.valid_up_to()))
}

impl<'a> Iterator for JsonRecords<'a> {
    type Item = JsonRecord<'a>;

    fn next(&mut self) -> Option<JsonRecord<'a>> {
        if self.done {
            return None;
        }
        let b = self.data;
        if self.lines_mode {
            loop {
                if self.pos >= b.len() {
                    return None;
                }
                let end = memchr_nl(b, self.pos);
                let line = b[self.pos..end].trim_ascii();
                let at = self.line;
                self.pos = end + 1;
                self.line += 1;
                if line.is_empty() {
                    continue;
                }
                return Some(JsonRecord {
                    line: at,
                    text: text(line),
                });
            }
        }
        // Scanner mode: skip blanks, commas and one enclosing array.
        while self.pos < b.len() {
            match b[self.pos] {
                b'\n' => {
                    self.line += 1;
                    self.pos += 1;
                }
                b' ' | b'\t' | b'\r' | b',' | b'[' | b']' => self.pos += 1,
                _ => break,
            }
        }
        if self.pos >= b.len() {
            return None;
        }
        let start = self.pos;
        let at = self.line;
        if b[start] != b'{' {
            self.done = true;
            return Some(JsonRecord {
                line: at,
                text: Err("expected a JSON object".into()),
            });
        }
        match object_end(b, start) {
            Some(end) => {
                self.line += b[start..end].iter().filter(|c| **c == b'\n').count();
                self.pos = end;
                Some(JsonRecord {
                    line: at,
                    text: text(&b[start..end]),
                })
            }
            None => {
                self.done = true;
                Some(JsonRecord {
                    line: at,
                    text: Err("object is not closed before the end of the file".into()),
                })
            }
        }
    }
}

fn memchr_nl(b: &[u8], from: usize) -> usize {
    b[from..]
        .iter()
        .position(|c| *c == b'\n')
        .map_or(b.len(), |i| from + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(s: &str) -> Vec<(usize, Result<String, String>)> {
        records(s.as_bytes())
            .map(|r| (r.line, r.text.map(str::to_string)))
            .collect()
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
}
