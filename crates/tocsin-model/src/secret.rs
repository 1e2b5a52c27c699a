//! Secrets in the configuration (API keys, database passwords): given
//! inline, or — so they need not sit in a file many can read — named by a
//! file or an environment variable. Never shown: `Debug` and `Serialize`
//! print `***`, so a logged or displayed configuration leaks nothing.

use std::fmt;

/// A secret value. Configured as a string, `{ file = "/etc/tocsin/key" }`
/// (the file's content, trailing newline removed) or `{ env = "VAR" }`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// A secret with this value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value, for the one place that needs it (a comparison, a
    /// connection). Do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Secret {
        Secret(s.to_string())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

/// Where the configuration says a secret is.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum Source {
    Inline(String),
    File { file: std::path::PathBuf },
    Env { env: String },
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        use serde::de::Error;
        let value = match Source::deserialize(d).map_err(|_| {
            D::Error::custom("a secret is a string, { file = \"path\" } or { env = \"VARIABLE\" }")
        })? {
            Source::Inline(s) => s,
            Source::File { file } => {
                let s = std::fs::read_to_string(&file).map_err(|e| {
                    D::Error::custom(format!(
                        "cannot read the secret file {}: {e}",
                        file.display()
                    ))
                })?;
                s.trim_end_matches(['\r', '\n']).to_string()
            }
            Source::Env { env } => std::env::var(&env).map_err(|e| {
                D::Error::custom(format!("the secret's environment variable {env}: {e}"))
            })?,
        };
        if value.is_empty() {
            return Err(D::Error::custom("a secret may not be empty"));
        }
        Ok(Secret(value))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    struct C {
        key: Secret,
    }

    fn parse(v: serde_json::Value) -> Result<C, String> {
        serde_json::from_value::<C>(v).map_err(|e| e.to_string())
    }

    #[test]
    fn inline_file_and_environment() {
        assert_eq!(
            parse(serde_json::json!({"key": "khóa-bí-mật"}))
                .unwrap()
                .key
                .expose(),
            "khóa-bí-mật"
        );
        let dir = std::env::temp_dir().join(format!("tocsin-secret-{}", std::process::id()));
        std::fs::write(&dir, "từ-tệp\n").unwrap();
        let c = parse(serde_json::json!({"key": {"file": dir}})).unwrap();
        assert_eq!(c.key.expose(), "từ-tệp");
        std::fs::remove_file(&dir).unwrap();
        let e = parse(serde_json::json!({"key": {"file": dir}})).unwrap_err();
        assert!(e.contains("cannot read the secret file"), "{e}");
        // PATH is set wherever tests run.
        let c = parse(serde_json::json!({"key": {"env": "PATH"}})).unwrap();
        assert_eq!(c.key.expose(), std::env::var("PATH").unwrap());
        let e =
            parse(serde_json::json!({"key": {"env": "TOCSIN_NO_SUCH_VARIABLE_X"}})).unwrap_err();
        assert!(e.contains("TOCSIN_NO_SUCH_VARIABLE_X"), "{e}");
        assert!(parse(serde_json::json!({"key": ""})).is_err());
        assert!(parse(serde_json::json!({"key": 7})).is_err());
    }

    #[test]
    fn never_shown() {
        let c = parse(serde_json::json!({"key": "hunter2"})).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
        assert_eq!(serde_json::to_string(&c.key).unwrap(), "\"***\"");
    }
}
