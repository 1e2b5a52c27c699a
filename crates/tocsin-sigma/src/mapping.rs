//! Field-name and logsource mappings, from data files (`mappings/*.yml`).
//!
//! Code knows nothing about Windows channels or Winlogbeat keys: both live in
//! YAML beside this crate, built into the binary, replaceable with
//! [`Mappings::from_yaml`].

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

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogsourcesFile {
    logsources: Vec<LogsourceEntry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogsourceEntry {
    #[serde(rename = "match")]
    on: HashMap<String, String>,
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
