//! Precise, collected error reports.
//!
//! An inventory is edited by people, often in a spreadsheet, and may hold
//! many mistakes at once. Reporting them one per run would make fixing a
//! file a long loop, so every stage collects [`Diagnostic`]s and fails
//! with all of them as one [`Diagnostics`]. Each names the file, the line
//! and the field, in the `file:line: …` form editors and terminals can
//! jump to.

use std::fmt;
use std::path::Path;

/// One problem in an inventory source: where, which field, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file (or `database` for records already stored).
    pub file: String,
    /// 1-based line; 0 when the problem concerns the whole file.
    pub line: usize,
    /// The field at fault, when there is one.
    pub field: Option<String>,
    /// What is wrong, and when it helps, what was meant.
    pub message: String,
}

impl Diagnostic {
    /// A problem at a line and field. `field` is the name as written in the
    /// file (`ranges`, `contacts.emails`…), so the user can find it.
    pub fn at(file: &str, line: usize, field: &str, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.to_string(),
            line,
            field: Some(field.to_string()),
            message: message.into(),
        }
    }

    /// A problem with a whole file (it cannot be read, or is of no known
    /// kind): no line, no field.
    pub fn file(path: &Path, message: String) -> Self {
        Diagnostic {
            file: path.display().to_string(),
            line: 0,
            field: None,
            message,
        }
    }
}

impl fmt::Display for Diagnostic {
    /// `file:line: field `name`: message`, leaving out the line when it is
    /// 0 and the field when there is none.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found; loading stops only after collecting them all.
///
/// In the order the checks found them, not sorted. Never empty when
/// returned as an error. Displays one problem per line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

/// Byte offset → 1-based line, by binary search over line starts (a large
/// file has thousands of values; rescanning the text for each was quadratic).
pub(crate) struct LineIndex {
    /// Byte offset where each line starts; the first is always 0.
    starts: Vec<usize>,
}

impl LineIndex {
    /// Indexes `text` (one pass over its bytes).
    pub(crate) fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr_newlines(text));
        LineIndex { starts }
    }

    /// The 1-based line holding byte `offset`. An offset at a newline
    /// belongs to the line that newline ends.
    pub(crate) fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|s| *s <= offset)
    }
}

/// The offset just after each `\n` in `text`: where each line but the
/// first starts. (A plain byte scan, despite the name.)
fn memchr_newlines(text: &str) -> impl Iterator<Item = usize> + '_ {
    text.bytes()
        .enumerate()
        .filter(|(_, b)| *b == b'\n')
        .map(|(i, _)| i + 1)
}
