//! Precise, collected error reports.

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
    /// A problem at a line and field.
    pub fn at(file: &str, line: usize, field: &str, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.to_string(),
            line,
            field: Some(field.to_string()),
            message: message.into(),
        }
    }

    /// A problem with a whole file.
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
    starts: Vec<usize>,
}

impl LineIndex {
    pub(crate) fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr_newlines(text));
        LineIndex { starts }
    }

    pub(crate) fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|s| *s <= offset)
    }
}

fn memchr_newlines(text: &str) -> impl Iterator<Item = usize> + '_ {
    text.bytes()
        .enumerate()
        .filter(|(_, b)| *b == b'\n')
        .map(|(i, _)| i + 1)
}
