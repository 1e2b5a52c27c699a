//! `[intel]` and each `[[intel.feeds]]` in tocsin.toml.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use tocsin_intel::feeds::{FeedDefaults, FeedFormat};
use tocsin_model::Threat;

/// The feeds, and the bounds on reading them.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct FeedsConfig {
    /// The feeds, in the order their indicators are reported.
    pub feeds: Vec<FeedConfig>,
    /// The largest feed read, MiB; a larger one is refused (the last good
    /// set stays) and counted.
    pub max_feed_mib: u64,
    /// How long a pull may take, seconds.
    pub timeout_secs: u64,
    /// Days of the raw archive searched for earlier contacts when new
    /// indicators arrive (0: no retro-hunt).
    pub retro_hunt_days: u32,
}

impl Default for FeedsConfig {
    fn default() -> Self {
        FeedsConfig {
            feeds: Vec::new(),
            max_feed_mib: 256,
            timeout_secs: 60,
            retro_hunt_days: 7,
        }
    }
}

/// One feed.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FeedConfig {
    /// A short name, shown with every match (`feodo`, `urlhaus`).
    pub name: String,
    /// How it is written.
    pub format: FeedFormat,
    /// Read from this file…
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// …or pulled from this URL.
    #[serde(default)]
    pub url: Option<String>,
    /// How often, seconds. Files are checked this often and read again
    /// when they changed; URLs are pulled this often — respect the
    /// source's terms (abuse.ch asks for no more than every 5 minutes).
    #[serde(default = "default_interval")]
    pub interval_secs: u64,
    /// abuse.ch's Auth-Key (required for its downloads since 2025), read
    /// from this file…
    #[serde(default)]
    pub auth_key_file: Option<PathBuf>,
    /// …or from this environment variable.
    #[serde(default)]
    pub auth_key_env: Option<String>,
    /// What its indicators point at, when the feed does not say (plain
    /// lists).
    #[serde(default)]
    pub threat: Option<Threat>,
    /// Their family, when the feed does not say.
    #[serde(default)]
    pub family: Option<String>,
    /// Their confidence, 0–100, when the feed does not say.
    #[serde(default)]
    pub confidence: Option<u8>,
    /// An allowlist (the province's own services, resolvers, CDNs): its
    /// matches suppress every other feed's.
    #[serde(default)]
    pub allow: bool,
}

fn default_interval() -> u64 {
    3600
}

/// The shortest interval for a URL: no source wants to be pulled more
/// often than this, whatever the file says.
pub const MIN_URL_INTERVAL: Duration = Duration::from_secs(300);

impl FeedConfig {
    /// A feed read from a file.
    pub fn file(name: &str, format: FeedFormat, path: PathBuf) -> Self {
        FeedConfig {
            name: name.into(),
            format,
            path: Some(path),
            url: None,
            interval_secs: 60,
            auth_key_file: None,
            auth_key_env: None,
            threat: None,
            family: None,
            confidence: None,
            allow: false,
        }
    }

    /// Where it is read from, for people.
    pub fn location(&self) -> String {
        match (&self.path, &self.url) {
            (Some(p), _) => p.display().to_string(),
            (None, Some(u)) => u.clone(),
            (None, None) => String::new(),
        }
    }

    /// How often it is read.
    pub fn interval(&self) -> Duration {
        let d = Duration::from_secs(self.interval_secs.max(1));
        if self.url.is_some() {
            d.max(MIN_URL_INTERVAL)
        } else {
            d
        }
    }

    /// What to assume where the feed says nothing.
    pub fn defaults(&self) -> FeedDefaults {
        let base = FeedDefaults::default();
        FeedDefaults {
            threat: self.threat.unwrap_or(base.threat),
            family: self.family.clone(),
            confidence: self.confidence.map_or(base.confidence, |c| c.min(100)),
        }
    }

    /// What is wrong with it, if anything.
    pub fn check(&self) -> Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("a feed needs a name".into());
        }
        match (&self.path, &self.url) {
            (Some(_), Some(_)) => Err(format!("feed {}: path or url, not both", self.name)),
            (None, None) => Err(format!("feed {}: give a path or a url", self.name)),
            (None, Some(u)) if !(u.starts_with("https://") || u.starts_with("http://")) => {
                Err(format!(
                    "feed {}: url must start with https:// or http://",
                    self.name
                ))
            }
            _ if self.format == FeedFormat::NationalCsv => Err(format!(
                "feed {}: the national list is imported with `tocsin intel import-national`, not watched as a feed",
                self.name
            )),
            _ => Ok(()),
        }
    }
}

impl FeedsConfig {
    /// What is wrong, if anything: each feed, and names used twice.
    pub fn check(&self) -> Result<(), String> {
        let mut seen = std::collections::HashSet::new();
        for f in &self.feeds {
            f.check()?;
            if !seen.insert(f.name.as_str()) {
                return Err(format!("two feeds are named {}", f.name));
            }
        }
        Ok(())
    }
}
