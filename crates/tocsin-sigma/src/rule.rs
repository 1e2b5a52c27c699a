//! Sigma documents as read from YAML: detection rules, filters and
//! correlations, with their metadata and where they were written.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use yaml_serde::{Mapping, Value};

pub use tocsin_model::Level;

/// `logsource:`
///
/// Values are lowercased (ASCII) when read, so routing and filters compare
/// them without regard to case.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Logsource {
    /// `product`
    pub product: Option<String>,
    /// `category`
    pub category: Option<String>,
    /// `service`
    pub service: Option<String>,
}

/// What a rule says about itself.
#[derive(Clone, Debug)]
pub struct RuleMeta {
    /// `id`
    pub id: Option<String>,
    /// `name` (how correlations and filters may refer to it)
    pub name: Option<String>,
    /// `title` (`(untitled)` when missing).
    pub title: String,
    /// `level` (medium when missing).
    pub level: Level,
    /// `status`
    pub status: Option<String>,
    /// `description`
    pub description: Option<String>,
    /// `author`
    pub author: Option<String>,
    /// `tags`
    pub tags: Vec<String>,
    /// `references`
    pub references: Vec<String>,
    /// `falsepositives`
    pub falsepositives: Vec<String>,
    /// `logsource`
    pub logsource: Logsource,
    /// The file it came from.
    pub file: Arc<Path>,
    /// Line where its document starts.
    pub line: usize,
    /// The title and description in Vietnamese, from the custom field
    /// `tocsin: {vi: {title, description}}` (Tocsin's own rules carry it;
    /// the console shows it to Vietnamese readers).
    pub vi: Option<Localized>,
}

/// A rule's title and description in another language.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Localized {
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
}

impl RuleMeta {
    /// The rule's identity across runs and rule-set changes: its id, else
    /// its name, else its title.
    pub fn key(&self) -> &str {
        self.id
            .as_deref()
            .or(self.name.as_deref())
            .unwrap_or(&self.title)
    }
}

/// A document that could not be loaded, and exactly why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    /// File.
    pub file: PathBuf,
    /// 1-based line (of the offending key when it can be found); 0 when the
    /// problem is with the whole file (missing, unreadable).
    pub line: usize,
    /// The rule's title or id, when known.
    pub rule: Option<String>,
    /// Why.
    pub reason: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.file.display(), self.line)?;
        if let Some(r) = &self.rule {
            write!(f, "rule `{r}`: ")?;
        }
        f.write_str(&self.reason)
    }
}

impl std::error::Error for LoadError {}

/// One YAML document of a rule file, with its text for locating keys.
#[derive(Clone, Debug)]
pub struct Doc {
    /// The parsed document.
    pub value: Mapping,
    /// The file.
    pub file: Arc<Path>,
    /// First line of the document in the file.
    pub line: usize,
    /// The document's lines (for error locations).
    pub text: Arc<str>,
}

impl Doc {
    /// The line of the first occurrence of `needle` in this document, else
    /// the document's first line.
    ///
    /// A text search, because the parsed YAML keeps no positions: good
    /// enough to point a person at the right key, though a comment holding
    /// the same text earlier in the document would be found first.
    pub fn locate(&self, needle: &str) -> usize {
        self.text
            .lines()
            .position(|l| l.contains(needle))
            .map_or(self.line, |i| self.line + i)
    }

    /// A load error at the line where `needle` appears.
    pub fn error(&self, needle: &str, reason: impl Into<String>) -> LoadError {
        LoadError {
            file: self.file.to_path_buf(),
            line: self.locate(needle),
            rule: self.label(),
            reason: reason.into(),
        }
    }

    /// A string field.
    pub fn str(&self, key: &str) -> Option<&str> {
        self.value.get(key).and_then(Value::as_str)
    }

    /// The title or id, for messages.
    pub fn label(&self) -> Option<String> {
        self.str("title")
            .or_else(|| self.str("id"))
            .map(str::to_string)
    }

    /// A list of strings (a single string counts as a list of one).
    pub fn str_list(&self, key: &str) -> Vec<String> {
        match self.value.get(key) {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Sequence(v)) => v.iter().filter_map(scalar_text).collect(),
            _ => Vec::new(),
        }
    }

    /// Reads the metadata common to every document kind.
    ///
    /// Lenient about what is only descriptive (missing title, author, tags),
    /// strict about what changes behaviour: an unknown `level` is an error.
    pub fn meta(&self) -> Result<RuleMeta, LoadError> {
        let level = match self.value.get("level") {
            None | Some(Value::Null) => Level::Medium,
            Some(v) => {
                let s = scalar_text(v).unwrap_or_default();
                Level::parse(&s).ok_or_else(|| {
                    self.error(
                        "level:",
                        format!(
                            "level `{s}` is not one of informational, low, medium, high, critical"
                        ),
                    )
                })?
            }
        };
        let logsource = match self.value.get("logsource") {
            Some(Value::Mapping(m)) => {
                let g = |k: &str| {
                    m.get(k)
                        .and_then(scalar_text)
                        .map(|s| s.to_ascii_lowercase())
                };
                Logsource {
                    product: g("product"),
                    category: g("category"),
                    service: g("service"),
                }
            }
            _ => Logsource::default(),
        };
        Ok(RuleMeta {
            id: self.str("id").map(str::to_string),
            name: self.str("name").map(str::to_string),
            title: self.str("title").unwrap_or("(untitled)").to_string(),
            level,
            status: self.str("status").map(str::to_string),
            description: self.str("description").map(str::to_string),
            author: self.str("author").map(str::to_string),
            tags: self.str_list("tags"),
            references: self.str_list("references"),
            falsepositives: self.str_list("falsepositives"),
            logsource,
            file: self.file.clone(),
            line: self.line,
            vi: self.localized("vi"),
        })
    }

    /// `tocsin: {<lang>: {title, description}}`, when it has a title.
    fn localized(&self, lang: &str) -> Option<Localized> {
        let Value::Mapping(t) = self.value.get("tocsin")? else {
            return None;
        };
        let Value::Mapping(l) = t.get(lang)? else {
            return None;
        };
        let text = |k: &str| {
            l.get(k)
                .and_then(scalar_text)
                .filter(|s| !s.trim().is_empty())
        };
        Some(Localized {
            title: text("title")?,
            description: text("description"),
        })
    }
}

/// Text of a scalar (strings, numbers, booleans).
pub fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Splits a YAML file into documents (`---` separators), parsing each.
/// A document that does not parse is reported with its line and skipped;
/// the others still load.
///
/// The file is split by hand, not by the YAML parser, so that one broken
/// document cannot take the rest of its file with it and each document
/// knows its first line. Documents holding only comments or separators
/// are skipped; a document that is not a mapping is an error.
pub fn parse_file(text: &str, file: &Path) -> Vec<Result<Doc, LoadError>> {
    let file: Arc<Path> = Arc::from(file);
    let mut out = Vec::new();
    // Document boundaries: lines that are exactly `---` (with optional comment).
    let mut starts = vec![0usize];
    let mut offset = 0usize;
    let mut line_starts = vec![];
    for (i, l) in text.split_inclusive('\n').enumerate() {
        line_starts.push(offset);
        let t = l.trim_end();
        if i > 0 && (t == "---" || t.starts_with("--- ")) {
            starts.push(offset);
        }
        offset += l.len();
    }
    starts.push(text.len());
    for w in starts.windows(2) {
        let chunk = &text[w[0]..w[1]];
        let first_line = line_starts.partition_point(|s| *s < w[0]) + 1;
        if chunk.lines().all(|l| {
            let t = l.trim();
            t.is_empty() || t.starts_with('#') || t == "---" || t == "..."
        }) {
            continue;
        }
        let value: Value = match yaml_serde::from_str(chunk) {
            Ok(v) => v,
            Err(e) => {
                let line = e
                    .location()
                    .map_or(first_line, |l| first_line + l.line().saturating_sub(1));
                out.push(Err(LoadError {
                    file: file.to_path_buf(),
                    line,
                    rule: None,
                    reason: format!("YAML: {e}"),
                }));
                continue;
            }
        };
        match value {
            Value::Mapping(m) => out.push(Ok(Doc {
                value: m,
                file: file.clone(),
                line: first_line,
                text: Arc::from(chunk),
            })),
            _ => out.push(Err(LoadError {
                file: file.to_path_buf(),
                line: first_line,
                rule: None,
                reason: "a Sigma document must be a mapping (title:, logsource:, detection:, …)"
                    .into(),
            })),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_documents_and_reports_lines() {
        let text = "title: a\ndetection: {}\n---\ntitle: b\nlevel: high\n---\n: : bad\n  - x\n";
        let docs = parse_file(text, Path::new("r.yml"));
        assert_eq!(docs.len(), 3);
        let a = docs[0].as_ref().unwrap();
        assert_eq!((a.line, a.str("title")), (1, Some("a")));
        let b = docs[1].as_ref().unwrap();
        assert_eq!(b.line, 3);
        assert_eq!(b.locate("level:"), 5);
        assert_eq!(b.meta().unwrap().level, Level::High);
        let e = docs[2].as_ref().unwrap_err();
        assert!(e.line >= 6, "{e}");
    }
}
