//! The configuration file and its environment overrides.
//!
//! See `tocsin.example.toml` at the top of the repository for every key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

/// What the command line and the environment say over the file.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--config` / `TOCSIN_CONFIG`: the file (else ./tocsin.toml when it
    /// exists).
    pub config: Option<PathBuf>,
    /// `--database` / `TOCSIN_DATABASE`.
    pub database: Option<String>,
    /// `--log` / `TOCSIN_LOG`.
    pub log: Option<String>,
}

/// Everything `tocsin.toml` can say.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `[database]`
    pub database: tocsin_store::StoreConfig,
    /// `[web]`
    pub web: tocsin_web::WebConfig,
    /// `[log]`
    pub log: LogConfig,
    /// `[hunt]`
    pub hunt: HuntConfig,
    /// `[ingest]`: live inputs and the detection pipeline of `tocsin serve`.
    pub ingest: IngestConfig,
    /// `[intel]`: threat-intelligence feeds.
    pub intel: tocsin_feeds::FeedsConfig,
    /// The file this came from, if any.
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

/// `[ingest]` in tocsin.toml: the inputs, the queue between them and the
/// pipeline, the pipeline and its raw archive.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// Turn live ingest on (`tocsin serve` then listens on the inputs).
    pub enabled: bool,
    /// Where the queue, file checkpoints and archive live (default: beside
    /// a SQLite database file, else `tocsin-data/`).
    pub data_dir: Option<PathBuf>,
    /// `[ingest.queue]`
    pub queue: QueueSettings,
    /// `[[ingest.syslog]]`
    pub syslog: Vec<tocsin_ingest::syslog::SyslogConfig>,
    /// `[ingest.http]`
    pub http: Option<tocsin_ingest::http::HttpConfig>,
    /// `[[ingest.files]]`
    pub files: Vec<tocsin_ingest::tail::FileConfig>,
    /// `[ingest.pipeline]`
    pub pipeline: tocsin_pipeline::PipelineConfig,
    /// `[ingest.archive]`
    pub archive: tocsin_pipeline::ArchiveConfig,
}

impl IngestConfig {
    /// The inputs part.
    pub fn inputs(&self) -> tocsin_ingest::InputsConfig {
        tocsin_ingest::InputsConfig {
            syslog: self.syslog.clone(),
            http: self.http.clone(),
            files: self.files.clone(),
        }
    }
}

/// `[ingest.queue]`: sizes of the embedded queue.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct QueueSettings {
    /// Segment file size, MiB.
    pub segment_mib: u64,
    /// Unconsumed data at which senders are slowed down, MiB.
    pub max_mib: u64,
}

impl Default for QueueSettings {
    fn default() -> Self {
        QueueSettings {
            segment_mib: 64,
            max_mib: 4096,
        }
    }
}

/// `[log]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// Filter in `tracing` syntax: `info`, `warn,tocsin_web=debug`.
    pub level: String,
}

/// `[hunt]`
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HuntConfig {
    /// Rule directories used when `--rules` is not given.
    pub rules: Vec<PathBuf>,
    /// Values for `|expand` placeholders, e.g. `known_cdcs = ["DC01", "10.36.250.5"]`.
    pub placeholders: std::collections::HashMap<String, Vec<String>>,
    /// Per evaluating thread, MiB remembering what rule scans found in lines
    /// already seen (unset: the engine's default, 4; 0: off).
    pub scan_cache_mib: Option<usize>,
    /// Longest JSON record read from evidence, bytes (default 16 MiB): a
    /// longer one is skipped unbuffered and reported.
    pub max_record: Option<usize>,
    /// Most bytes one compressed file or archive member may inflate to
    /// (default 64 GiB): the rest is not read, and it is reported.
    pub max_inflated: Option<u64>,
    /// Follow symbolic links out of the given directories (`--follow-links`).
    pub follow_links: bool,
}

impl HuntConfig {
    /// The reading limits these settings ask for.
    pub fn limits(&self) -> tocsin_hunt::ReadLimits {
        let d = tocsin_hunt::ReadLimits::default();
        tocsin_hunt::ReadLimits {
            max_record: self.max_record.unwrap_or(d.max_record),
            max_inflated: self.max_inflated.unwrap_or(d.max_inflated),
            follow_links: self.follow_links,
        }
    }

    /// The engine configuration these settings ask for.
    pub fn engine(&self, routing: bool) -> tocsin_sigma::EngineConfig {
        let mut cfg = tocsin_sigma::EngineConfig {
            routing,
            placeholders: self.placeholders.clone(),
            ..Default::default()
        };
        if let Some(mib) = self.scan_cache_mib {
            cfg.scan_cache_mib = mib;
        }
        cfg
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".into(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database: tocsin_store::StoreConfig::new("tocsin-data/tocsin.db"),
            web: tocsin_web::WebConfig::default(),
            log: LogConfig::default(),
            hunt: HuntConfig::default(),
            ingest: IngestConfig::default(),
            intel: tocsin_feeds::FeedsConfig::default(),
            source: None,
        }
    }
}

impl Config {
    /// File (explicit, or ./tocsin.toml when present), then flags and
    /// environment (clap has already merged those two).
    pub fn load(g: &Overrides) -> anyhow::Result<Config> {
        let path = match &g.config {
            Some(p) => Some(p.clone()),
            None => Some(PathBuf::from("tocsin.toml")).filter(|p| p.exists()),
        };
        let mut cfg = match &path {
            Some(p) => Self::from_file(p)?,
            None => Config::default(),
        };
        if let Some(db) = &g.database {
            cfg.database.url = db.clone();
        }
        if let Some(l) = &g.log {
            cfg.log.level = l.clone();
        }
        if let Ok(listen) = std::env::var("TOCSIN_LISTEN") {
            cfg.web.listen = listen.parse::<SocketAddr>().with_context(|| {
                format!("TOCSIN_LISTEN=`{listen}` is not an address like 127.0.0.1:8080")
            })?;
        }
        Ok(cfg)
    }

    /// Where ingest keeps its queue, checkpoints and archive when the
    /// configuration does not say: beside a SQLite database file, else
    /// `tocsin-data/`.
    pub fn data_dir(&self) -> PathBuf {
        if let Some(d) = &self.ingest.data_dir {
            return d.clone();
        }
        let url = &self.database.url;
        if !url.contains("://") || url.starts_with("sqlite:") {
            let path = url
                .trim_start_matches("sqlite://")
                .trim_start_matches("sqlite:");
            if let Some(dir) = Path::new(path).parent()
                && !dir.as_os_str().is_empty()
            {
                return dir.to_path_buf();
            }
        }
        PathBuf::from("tocsin-data")
    }

    /// Reads one configuration file (errors name the file and line).
    pub fn from_file(p: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(p)
            .with_context(|| format!("cannot read config file {}", p.display()))?;
        let mut cfg: Config = toml::from_str(&text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
                .unwrap_or(0);
            anyhow::anyhow!("{}:{line}: {}", p.display(), e.message().trim())
        })?;
        cfg.source = Some(p.to_path_buf());
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_config_parses_and_matches_defaults() {
        let text = include_str!("../../../tocsin.example.toml");
        let cfg: Config = toml::from_str(text).unwrap();
        assert_eq!(cfg.database, Config::default().database);
        assert_eq!(cfg.web, Config::default().web);
        // The limits it states are the defaults.
        assert_eq!(cfg.ingest.pipeline, Config::default().ingest.pipeline);
        assert_eq!(cfg.hunt.limits(), tocsin_hunt::ReadLimits::default());
        assert_eq!(cfg.intel, Config::default().intel);
        // The example states the engine's default scan cache.
        assert_eq!(
            cfg.hunt.engine(true).scan_cache_mib,
            tocsin_sigma::EngineConfig::default().scan_cache_mib
        );
        let off: Config = toml::from_str("[hunt]\nscan_cache_mib = 0\n").unwrap();
        assert_eq!(off.hunt.engine(false).scan_cache_mib, 0);
    }

    /// Typed values refuse typos instead of quietly meaning something else.
    #[test]
    fn typed_values_refuse_typos_with_their_line() {
        let dir = tempfile::tempdir().unwrap();
        for (text, line, what) in [
            ("[ingest.pipeline]\nmin_level = \"hihg\"\n", 2, "hihg"),
            (
                "[ingest]\n[[ingest.syslog]]\nname = \"a\"\nprotocol = \"udp\"\nlisten = \"127.0.0.1:514\"\nscope = \"everyone\"\n",
                6,
                "everyone",
            ),
        ] {
            let p = dir.path().join("bad.toml");
            std::fs::write(&p, text).unwrap();
            let e = Config::from_file(&p).unwrap_err().to_string();
            assert!(e.contains(&format!("bad.toml:{line}")), "{e}");
            assert!(e.contains(what), "{e}");
        }
        let ok: Config = toml::from_str("[ingest.pipeline]\nmin_level = \"high\"\n").unwrap();
        assert_eq!(ok.ingest.pipeline.min_level, tocsin_model::Level::High);
    }

    #[test]
    fn unknown_keys_are_errors_with_line() {
        let dir = std::env::temp_dir().join(format!("tocsin-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("bad.toml");
        std::fs::write(
            &p,
            "[database]\nurl = \"x.db\"\n\n[web]\nlisten = \"127.0.0.1:8080\"\nport = 1\n",
        )
        .unwrap();
        let e = Config::from_file(&p).unwrap_err().to_string();
        assert!(e.contains("bad.toml:6"), "{e}");
        assert!(e.contains("port"), "{e}");
        std::fs::remove_dir_all(dir).ok();
    }
}
