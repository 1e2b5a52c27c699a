//! Ingest: the first running stage — inputs, and nothing else.
//!
//! ```text
//!  syslog UDP/TCP/TLS ─┐
//!  HTTP NDJSON,        ├─► [tocsin-queue] ─► pipeline (tocsin-pipeline)
//!  Elastic _bulk ──────┤    durable, fsynced
//!  files (tail) ───────┘
//! ```
//!
//! Each input receives raw records and appends them, with how they arrived
//! (a [`tocsin_queue::Envelope`]), to the durable queue; it acknowledges
//! (HTTP 200, the next TCP read) only once its records are on disk, so a
//! slow pipeline slows the senders down instead of losing data. Inputs
//! count what they receive, drop and refuse in their
//! [`tocsin_telemetry::InputMetrics`]. This crate knows nothing of parsing
//! beyond the format an input declares, nor of detection or the store.
//!
//! [`InputsConfig::start`] binds every input; [`InputsConfig::sources`]
//! says what each may speak for, for the attribution policy.

pub mod bulk;
pub mod framer;
pub mod http;
pub mod syslog;
pub mod tail;
mod tcp;
mod udp;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use tocsin_model::{ScopeSetting, SourceTrust};
use tocsin_queue::Queue;
use tocsin_telemetry::{InputMetrics, Metrics};

/// The inputs of `[ingest]`: `[[ingest.syslog]]`, `[ingest.http]` and
/// `[[ingest.files]]`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InputsConfig {
    /// Syslog listeners.
    pub syslog: Vec<syslog::SyslogConfig>,
    /// The HTTP listener and its senders.
    pub http: Option<http::HttpConfig>,
    /// Followed files.
    pub files: Vec<tail::FileConfig>,
}

/// Why ingest could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// A listener could not bind.
    #[error("input `{name}` cannot listen on {addr}: {source}")]
    Bind {
        /// Input name.
        name: String,
        /// Address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// A configuration problem.
    #[error("ingest configuration: {0}")]
    Config(String),
}

/// The inputs, running: their bound addresses and how to stop them.
pub struct Inputs {
    /// (input name, bound address) of each listener.
    pub addrs: Vec<(String, SocketAddr)>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Inputs {
    /// The address input `name` listens on.
    pub fn addr(&self, name: &str) -> Option<SocketAddr> {
        self.addrs.iter().find(|(n, _)| n == name).map(|(_, a)| *a)
    }

    /// Stops every input (what they acknowledged is in the queue).
    pub fn shutdown(self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl InputsConfig {
    /// Checks names and keys: every input named once, HTTP keys distinct
    /// and long enough.
    pub fn check(&self) -> Result<(), IngestError> {
        let mut names: Vec<&str> = self.syslog.iter().map(|s| s.name.as_str()).collect();
        names.extend(self.files.iter().map(|f| f.name.as_str()));
        if let Some(h) = &self.http {
            names.extend(h.senders.iter().map(|s| s.name.as_str()));
            let mut keys: Vec<&str> = h.senders.iter().map(|s| s.key.expose()).collect();
            keys.sort_unstable();
            if keys.windows(2).any(|w| w[0] == w[1]) {
                return Err(IngestError::Config("two HTTP senders share a key".into()));
            }
            if let Some(s) = h.senders.iter().find(|s| s.key.expose().len() < 16) {
                return Err(IngestError::Config(format!(
                    "HTTP sender `{}`: key is shorter than 16 characters",
                    s.name
                )));
            }
        }
        let mut sorted = names.clone();
        sorted.sort_unstable();
        if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
            return Err(IngestError::Config(format!(
                "two inputs are named `{}`",
                w[0]
            )));
        }
        Ok(())
    }

    /// What each input (an HTTP sender is an input of its own) may speak
    /// for, by input name: the attribution policy's table.
    pub fn sources(&self) -> HashMap<String, SourceTrust> {
        let mut out = HashMap::new();
        let mut add = |name: &str, agency: &Option<String>, scope: &ScopeSetting, asset, sensor| {
            out.insert(
                name.to_string(),
                SourceTrust {
                    agency: agency.as_deref().map(Into::into),
                    scope: scope.clone(),
                    asset,
                    sensor,
                },
            );
        };
        for s in &self.syslog {
            add(&s.name, &s.agency, &s.scope, None, s.sensor);
        }
        for f in &self.files {
            let asset = f.asset.as_deref().map(Into::into);
            add(&f.name, &f.agency, &f.scope, asset, f.sensor);
        }
        for s in self.http.iter().flat_map(|h| &h.senders) {
            add(&s.name, &s.agency, &s.scope, None, s.sensor);
        }
        out
    }

    /// Binds every input and starts it appending to `queue`; file
    /// checkpoints are kept in `data_dir`.
    pub async fn start(
        &self,
        data_dir: &Path,
        queue: Arc<dyn Queue>,
        metrics: &Metrics,
    ) -> Result<Inputs, IngestError> {
        self.check()?;
        let mut addrs = Vec::new();
        let mut tasks = Vec::new();
        for s in &self.syslog {
            let bind_err = |e| IngestError::Bind {
                name: s.name.clone(),
                addr: s.listen,
                source: e,
            };
            let input = s.clone().bind(metrics).await.map_err(bind_err)?;
            let addr = input.local_addr().map_err(bind_err)?;
            tracing::info!(input = %s.name, %addr, protocol = ?s.protocol, "syslog input listening");
            addrs.push((s.name.clone(), addr));
            tasks.push(tokio::spawn(input.run(queue.clone())));
        }
        if let Some(h) = &self.http {
            let bind_err = |e| IngestError::Bind {
                name: "http".into(),
                addr: h.listen,
                source: e,
            };
            let l = tokio::net::TcpListener::bind(h.listen)
                .await
                .map_err(bind_err)?;
            let tls = h
                .tls
                .as_ref()
                .map(|t| t.http_acceptor())
                .transpose()
                .map_err(bind_err)?;
            let server = h.limits.build("ingest", l, &h.allow, tls, metrics);
            let addr = server.local_addr().map_err(bind_err)?;
            tracing::info!(%addr, senders = h.senders.len(), tls = h.tls.is_some(), "HTTP ingest listening (NDJSON, Elasticsearch _bulk)");
            addrs.push(("http".into(), addr));
            let app = h.router(queue.clone(), metrics);
            tasks.push(tokio::spawn(server.serve(app, std::future::pending())));
        }
        if !self.files.is_empty() {
            let ck = Arc::new(tail::Checkpoints::load(
                data_dir.join("file-checkpoints.json"),
                metrics,
            ));
            for f in &self.files {
                let input = f.clone().build(ck.clone(), metrics);
                tasks.push(tokio::spawn(input.run(queue.clone())));
            }
        }
        Ok(Inputs { addrs, tasks })
    }
}

/// Appends an input's records and counts them once durable. When the queue
/// cannot take them (full, or failing to write: a full disk), the input
/// waits and tries again — it holds its sender back (TCP stops reading, a
/// file stops advancing) instead of losing what it read — and counts each
/// hold in `pushback`. Fails only when the queue is closed (shutdown) or a
/// record is larger than any queue holds.
pub(crate) async fn deliver(
    queue: &Arc<dyn Queue>,
    mut records: Vec<Vec<u8>>,
    m: &InputMetrics,
) -> std::io::Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    let n = records.len() as u64;
    let mut pause = std::time::Duration::from_millis(50);
    loop {
        match queue.append(records).await {
            Ok(_) => {
                m.received.add(n);
                return Ok(());
            }
            Err(r) => match r.error {
                tocsin_queue::QueueError::Closed | tocsin_queue::QueueError::TooLarge { .. } => {
                    return Err(std::io::Error::other(r.error.to_string()));
                }
                _ => {
                    m.pushback.inc();
                    // Said once per hold, not at every retry.
                    if pause == std::time::Duration::from_millis(50) {
                        tracing::warn!(error = %r.error, records = n, "input: the queue cannot take records; holding the sender back and retrying");
                    }
                    records = r.records;
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(std::time::Duration::from_secs(5));
                }
            },
        }
    }
}
