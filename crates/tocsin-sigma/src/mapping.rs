//! Field-name and logsource mappings, from data files (`mappings/*.yml`).
//!
//! Code knows nothing about Windows channels or Winlogbeat keys: both live in
//! YAML beside this crate, built into the binary, replaceable with
//! [`Mappings::from_yaml`].
//!
//! Two files, two jobs. `formats.yml` says how log formats spell the
//! fields rules use (prefixes to strip, keys to alias), so one rule reads
//! Winlogbeat and EVTX events alike. `logsources.yml` says which events a
//! `logsource` means, as detection conditions; they are used only when
//! the engine routes rules by logsource.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use crate::compile::{CompileCtx, compile_named};
use crate::matcher::Detection;
use crate::record::FieldIndex;
use crate::rule::{Doc, Logsource};

const FORMATS: &str = include_str!("../mappings/formats.yml");
const LOGSOURCES: &str = include_str!("../mappings/logsources.yml");

/// `formats.yml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct FormatsFile {
    formats: Vec<Format>,
}

/// One log format's naming.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Format {
    /// Short name.
    pub name: String,
    /// What it is.
    #[serde(default)]
    pub description: String,
    /// Key prefixes wrapping Sigma names.
    #[serde(default)]
    pub strip_prefixes: Vec<String>,
    /// Event key → Sigma field.
    #[serde(default)]
    pub aliases: HashMap<String, String>,
}

/// `logsources.yml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogsourcesFile {
    logsources: Vec<LogsourceEntry>,
}

/// One logsource mapping.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogsourceEntry {
    /// `match:` the logsource keys (product, category, service) that must
    /// all be equal for the entry to apply.
    #[serde(rename = "match")]
    on: HashMap<String, String>,
    /// The events it means, in detection syntax (a map is AND, a list of
    /// maps OR); compiled when a rule needs it.
    conditions: yaml_serde::Value,
}

/// Every format and logsource mapping in force.
#[derive(Debug, Clone)]
pub struct Mappings {
    formats: Vec<Format>,
    logsources: Vec<LogsourceEntry>,
}

impl Mappings {
    /// The mappings shipped in `mappings/`.
    pub fn builtin() -> Self {
        // Shipped files are checked by this crate's tests; a parse failure
        // cannot reach a user.
        Self::from_yaml(FORMATS, LOGSOURCES).unwrap_or(Mappings {
            formats: Vec::new(),
            logsources: Vec::new(),
        })
    }

    /// Mappings from the texts of a formats file and a logsources file.
    pub fn from_yaml(formats: &str, logsources: &str) -> Result<Self, String> {
        let f: FormatsFile = yaml_serde::from_str(formats).map_err(|e| format!("formats: {e}"))?;
        let l: LogsourcesFile =
            yaml_serde::from_str(logsources).map_err(|e| format!("logsources: {e}"))?;
        Ok(Mappings {
            formats: f.formats,
            logsources: l.logsources,
        })
    }

    /// The formats.
    pub fn formats(&self) -> &[Format] {
        &self.formats
    }

    /// Registers prefixes and aliases for the fields rules use.
    ///
    /// Call after every rule field is interned: an alias to a field no rule
    /// uses is skipped, as nothing would read it.
    pub fn apply_aliases(&self, fields: &mut FieldIndex) {
        for f in &self.formats {
            for p in &f.strip_prefixes {
                fields.strip_prefix(p);
            }
            for (alias, name) in &f.aliases {
                fields.alias(alias, name);
            }
        }
    }

    /// The condition events must meet for a rule of this logsource, if the
    /// mapping knows one.
    ///
    /// The most specific entry wins: of those whose keys all match, the
    /// one naming the most keys. `None` (no condition: every event) when no
    /// entry matches or the entry's conditions do not compile. Compiling
    /// interns the fields the conditions test.
    pub fn precondition(&self, ls: &Logsource, fields: &mut FieldIndex) -> Option<Detection> {
        let get = |k: &str| match k {
            "product" => ls.product.as_deref(),
            "category" => ls.category.as_deref(),
            "service" => ls.service.as_deref(),
            _ => None,
        };
        let entry = self
            .logsources
            .iter()
            .filter(|e| e.on.iter().all(|(k, v)| get(k) == Some(v.as_str())))
            .max_by_key(|e| e.on.len())?;
        let doc = Doc {
            value: yaml_serde::Mapping::new(),
            file: Arc::from(Path::new("mappings/logsources.yml")),
            line: 0,
            text: Arc::from(""),
        };
        let placeholders = HashMap::new();
        let mut cx = CompileCtx {
            fields,
            placeholders: &placeholders,
            warnings: Vec::new(),
        };
        compile_named(&doc, "logsource", &entry.conditions, &mut cx).ok()
    }

    /// Checks every logsource entry compiles (for tests and `tocsin hunt
    /// --mappings`).
    pub fn check(&self) -> Result<usize, String> {
        let mut fields = FieldIndex::default();
        for e in &self.logsources {
            let ls = Logsource {
                product: e.on.get("product").cloned(),
                category: e.on.get("category").cloned(),
                service: e.on.get("service").cloned(),
            };
            if self.precondition(&ls, &mut fields).is_none() {
                return Err(format!("logsource {:?}: conditions do not compile", e.on));
            }
        }
        Ok(self.logsources.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_files_parse_and_compile() {
        let m = Mappings::from_yaml(FORMATS, LOGSOURCES).unwrap();
        assert!(m.formats.len() >= 4);
        assert!(m.check().unwrap() > 50);
    }
}
