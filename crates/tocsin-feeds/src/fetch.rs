//! Reading a feed's bytes: a file, or a URL over HTTPS, bounded in size
//! and time, with abuse.ch's Auth-Key when one is configured. Blocking:
//! the loader runs it on tokio's blocking pool.

use std::io::Read;
use std::time::Duration;

use crate::settings::FeedConfig;

/// Why a feed could not be read. Each says what to do.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FetchError {
    /// The file could not be read.
    #[error("cannot read {path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// Larger than `max_feed_mib`.
    #[error(
        "larger than the limit of {limit} bytes (intel.max_feed_mib); the last good set stays in force"
    )]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// The server refused the key.
    #[error(
        "{url} answered 401: the Auth-Key was refused or is missing — abuse.ch downloads need one since 2025 (get it at https://auth.abuse.ch/ and give it with auth_key_file or auth_key_env)"
    )]
    Unauthorized {
        /// The URL.
        url: String,
    },
    /// Another HTTP status.
    #[error("{url} answered {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status.
        status: u16,
    },
    /// No answer (DNS, connection, TLS, timeout).
    #[error("cannot reach {url}: {reason}")]
    Network {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The key file or variable is missing or empty.
    #[error("the Auth-Key for feed {feed} cannot be read: {reason}")]
    Key {
        /// The feed.
        feed: String,
        /// Why.
        reason: String,
    },
}

/// The key a feed sends, if it has one configured.
fn auth_key(f: &FeedConfig) -> Result<Option<String>, FetchError> {
    let bad = |reason: String| FetchError::Key {
        feed: f.name.clone(),
        reason,
    };
    let key = if let Some(p) = &f.auth_key_file {
        std::fs::read_to_string(p).map_err(|e| bad(format!("{}: {e}", p.display())))?
    } else if let Some(v) = &f.auth_key_env {
        std::env::var(v).map_err(|_| bad(format!("${v} is not set")))?
    } else {
        return Ok(None);
    };
    let key = key.trim().to_string();
    if key.is_empty() || key.contains(['\r', '\n']) {
        return Err(bad("empty, or more than one line".into()));
    }
    Ok(Some(key))
}

/// The feed's bytes, at most `limit`.
pub fn fetch(f: &FeedConfig, limit: u64, timeout: Duration) -> Result<Vec<u8>, FetchError> {
    if let Some(path) = &f.path {
        let file = std::fs::File::open(path).map_err(|e| FetchError::File {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let mut out = Vec::new();
        file.take(limit + 1)
            .read_to_end(&mut out)
            .map_err(|e| FetchError::File {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
        if out.len() as u64 > limit {
            return Err(FetchError::TooLarge { limit });
        }
        return Ok(out);
    }
    let url = f.url.clone().unwrap_or_default();
    let key = auth_key(f)?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .user_agent(concat!("tocsin/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let mut req = agent.get(&url);
    if let Some(k) = &key {
        req = req.header("Auth-Key", k);
    }
    let mut resp = req.call().map_err(|e| FetchError::Network {
        url: url.clone(),
        reason: e.to_string(),
    })?;
    match resp.status().as_u16() {
        200 => {}
        401 | 403 => return Err(FetchError::Unauthorized { url }),
        status => return Err(FetchError::Status { url, status }),
    }
    resp.body_mut()
        .with_config()
        .limit(limit)
        .read_to_vec()
        .map_err(|e| match e {
            ureq::Error::BodyExceedsLimit(_) => FetchError::TooLarge { limit },
            e => FetchError::Network {
                url,
                reason: e.to_string(),
            },
        })
}
