//! Interface strings from `locales/vi.toml` and `locales/en.toml`.

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::http::HeaderMap;
use axum::http::header::COOKIE;

/// A console language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// Tiếng Việt, the default.
    Vi,
    /// English.
    En,
}

impl Lang {
    /// The code used in URLs and the cookie.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Vi => "vi",
            Lang::En => "en",
        }
    }

    /// The other language (for the switch link).
    pub fn other(self) -> Lang {
        match self {
            Lang::Vi => Lang::En,
            Lang::En => Lang::Vi,
        }
    }

    /// `?lang=` first, then the `lang` cookie, then Vietnamese.
    pub fn pick(query: Option<&str>, headers: &HeaderMap) -> Lang {
        let parse = |s: &str| match s {
            "en" => Some(Lang::En),
            "vi" => Some(Lang::Vi),
            _ => None,
        };
        if let Some(l) = query.and_then(parse) {
            return l;
        }
        headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| kv.trim().strip_prefix("lang="))
            .find_map(parse)
            .unwrap_or(Lang::Vi)
    }
}

const VI: &str = include_str!("../locales/vi.toml");
const EN: &str = include_str!("../locales/en.toml");

struct Locales {
    vi: HashMap<String, String>,
    en: HashMap<String, String>,
}

fn locales() -> &'static Locales {
    static L: OnceLock<Locales> = OnceLock::new();
    L.get_or_init(|| Locales {
        // The files are part of the binary and checked by `check_locales`
        // in the test suite, so a parse failure here cannot reach a user.
        vi: toml::from_str(VI).unwrap_or_default(),
        en: toml::from_str(EN).unwrap_or_default(),
    })
}

/// Parses both locale files and checks they define the same keys.
pub fn check_locales() -> Result<usize, String> {
    let vi: HashMap<String, String> = toml::from_str(VI).map_err(|e| format!("vi.toml: {e}"))?;
    let en: HashMap<String, String> = toml::from_str(EN).map_err(|e| format!("en.toml: {e}"))?;
    let mut missing: Vec<String> = vi
        .keys()
        .filter(|k| !en.contains_key(*k))
        .map(|k| format!("en.toml lacks {k}"))
        .chain(
            en.keys()
                .filter(|k| !vi.contains_key(*k))
                .map(|k| format!("vi.toml lacks {k}")),
        )
        .collect();
    missing.sort();
    if missing.is_empty() {
        Ok(vi.len())
    } else {
        Err(missing.join(", "))
    }
}

/// The translator a template holds.
#[derive(Clone, Copy, Debug)]
pub struct T {
    /// The language.
    pub lang: Lang,
}

impl T {
    /// The string for `key`; the key itself when missing (visible, not
    /// fatal; the test suite checks every key the templates use).
    pub fn t(&self, key: &str) -> String {
        let l = locales();
        let map = match self.lang {
            Lang::Vi => &l.vi,
            Lang::En => &l.en,
        };
        map.get(key).cloned().unwrap_or_else(|| key.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locales_are_complete() {
        let n = check_locales().unwrap();
        assert!(n > 50, "{n} keys");
        assert_eq!(T { lang: Lang::Vi }.t("nav.agencies"), "Cơ quan, đơn vị");
        assert_eq!(T { lang: Lang::En }.t("nav.agencies"), "Agencies");
    }

    /// Every `t.t("…")` key in the templates and sources exists in both files.
    #[test]
    fn every_used_key_is_defined() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
        let vi: HashMap<String, String> = toml::from_str(VI).unwrap();
        let mut used = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            for part in text.split("t.t(\"").skip(1) {
                let key = part.split('"').next().unwrap();
                assert!(
                    vi.contains_key(key),
                    "{}: unknown key {key}",
                    path.display()
                );
                used += 1;
            }
        }
        assert!(used > 40, "only {used} keys found");
    }

    #[test]
    fn language_choice() {
        let mut h = HeaderMap::new();
        assert_eq!(Lang::pick(None, &h), Lang::Vi);
        h.insert(COOKIE, "x=1; lang=en".parse().unwrap());
        assert_eq!(Lang::pick(None, &h), Lang::En);
        assert_eq!(Lang::pick(Some("vi"), &h), Lang::Vi);
    }
}
