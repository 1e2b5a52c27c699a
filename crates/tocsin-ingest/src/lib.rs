//! Live ingest: the first stage of `tocsin serve`.
//!
//! ```text
//!  syslog UDP/TCP ─┐
//!  HTTP NDJSON,    ├─► [queue] ─► pipeline: parse (tocsin-parse) ─► attribute ─► Sigma ─► alerts (tocsin-store)
//!  Elastic _bulk ──┤   durable,
//!  files (tail) ───┘   fsynced
//! ```
//!
//! Inputs append raw records with how they arrived ([`Envelope`]) to a
//! durable [`queue::Queue`]; an input acknowledges (HTTP 200, the next TCP
//! read) only once its records are on disk, so a slow pipeline slows the
//! senders down instead of losing data. The [`pipeline::Pipeline`] reads
//! batches, parses, attributes to agencies and assets, evaluates the Sigma
//! engine and commits the batch's alerts together with its queue position,
//! so each queued record is processed exactly once across crashes.
//! [`metrics::Metrics`] feeds `/metrics`.

pub mod archive;
pub mod envelope;
pub mod http;
pub mod loadgen;
pub mod metrics;
pub mod pipeline;
pub mod queue;
pub mod syslog;
pub mod tail;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

pub use envelope::Envelope;
pub use metrics::{Metrics, Sample};
pub use pipeline::{Pipeline, PipelineConfig};
pub use queue::{DiskQueue, DiskQueueConfig, Queue};

use tocsin_sigma::Engine;
use tocsin_store::Store;

/// `[ingest]` in tocsin.toml.
#[derive(Clone, Debug, Default, serde::Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// Turn live ingest on (`tocsin serve` then listens on the inputs).
    pub enabled: bool,
    /// Where the queue and file checkpoints live.
    pub data_dir: Option<PathBuf>,
    /// `[ingest.queue]`
    pub queue: QueueSettings,
    /// `[[ingest.syslog]]`
    pub syslog: Vec<syslog::SyslogConfig>,
    /// `[ingest.http]`
    pub http: Option<http::HttpConfig>,
    /// `[[ingest.files]]`
    pub files: Vec<tail::FileConfig>,
    /// `[ingest.pipeline]`
    pub pipeline: PipelineConfig,
    /// `[ingest.archive]`
    pub archive: archive::ArchiveConfig,
}

/// `[ingest.queue]`: sizes of the embedded queue.
#[derive(Clone, Debug, serde::Deserialize, PartialEq)]
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

/// Why ingest could not start.
#[derive(Debug, thiserror::Error)]
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
    /// The queue could not open.
    #[error(transparent)]
    Queue(#[from] queue::QueueError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] tocsin_store::StoreError),
    /// A configuration problem.
    #[error("ingest configuration: {0}")]
    Config(String),
}

/// Ingest, running: its bound addresses and how to stop it.
pub struct Running {
    /// (input name, bound address) of each listener.
    pub addrs: Vec<(String, SocketAddr)>,
    /// The queue (for metrics and tests).
    pub queue: Arc<dyn Queue>,
    stop: tokio::sync::watch::Sender<bool>,
    pipeline: tokio::task::JoinHandle<()>,
    inputs: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// The address input `name` listens on.
    pub fn addr(&self, name: &str) -> Option<SocketAddr> {
        self.addrs.iter().find(|(n, _)| n == name).map(|(_, a)| *a)
    }

    /// Stops the inputs, lets the pipeline finish its batch, and returns.
    pub async fn shutdown(self) {
        for h in &self.inputs {
            h.abort();
        }
        let _ = self.stop.send(true);
        let _ = self.pipeline.await;
    }
}

impl IngestConfig {
    fn check(&self) -> Result<(), IngestError> {
        let mut names: Vec<&str> = self.syslog.iter().map(|s| s.name.as_str()).collect();
        names.extend(self.files.iter().map(|f| f.name.as_str()));
        if let Some(h) = &self.http {
            names.extend(h.senders.iter().map(|s| s.name.as_str()));
            let mut keys: Vec<&str> = h.senders.iter().map(|s| s.key.as_str()).collect();
            keys.sort_unstable();
            if keys.windows(2).any(|w| w[0] == w[1]) {
                return Err(IngestError::Config("two HTTP senders share a key".into()));
            }
            if let Some(s) = h.senders.iter().find(|s| s.key.len() < 16) {
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

    /// Opens the queue, binds every input and starts the pipeline.
    pub async fn start(
        &self,
        data_dir: PathBuf,
        store: Store,
        engine: Arc<Engine>,
        metrics: Arc<Metrics>,
    ) -> Result<Running, IngestError> {
        self.check()?;
        let dir = self.data_dir.clone().unwrap_or(data_dir);
        let stream = "events";
        let position = store.ingest_position(stream).await?;
        let queue: Arc<dyn Queue> = Arc::new(
            DiskQueueConfig {
                segment_bytes: self.queue.segment_mib.max(1) << 20,
                max_bytes: self.queue.max_mib.max(1) << 20,
                ..DiskQueueConfig::in_dir(dir.join("queue"))
            }
            .build(stream, position)?,
        );
        let mut addrs = Vec::new();
        let mut inputs = Vec::new();
        for s in &self.syslog {
            let input = s
                .clone()
                .bind(&metrics)
                .await
                .map_err(|e| IngestError::Bind {
                    name: s.name.clone(),
                    addr: s.listen,
                    source: e,
                })?;
            let addr = input.local_addr().map_err(|e| IngestError::Bind {
                name: s.name.clone(),
                addr: s.listen,
                source: e,
            })?;
            tracing::info!(input = %s.name, %addr, protocol = ?s.protocol, "syslog input listening");
            addrs.push((s.name.clone(), addr));
            inputs.push(tokio::spawn(input.run(queue.clone())));
        }
        if let Some(h) = &self.http {
            let l =
                tokio::net::TcpListener::bind(h.listen)
                    .await
                    .map_err(|e| IngestError::Bind {
                        name: "http".into(),
                        addr: h.listen,
                        source: e,
                    })?;
            let addr = l.local_addr().map_err(|e| IngestError::Bind {
                name: "http".into(),
                addr: h.listen,
                source: e,
            })?;
            tracing::info!(%addr, senders = h.senders.len(), "HTTP ingest listening (NDJSON, Elasticsearch _bulk)");
            addrs.push(("http".into(), addr));
            let app = h
                .router(queue.clone(), &metrics)
                .into_make_service_with_connect_info::<SocketAddr>();
            inputs.push(tokio::spawn(async move {
                if let Err(e) = axum::serve(l, app).await {
                    tracing::error!(error = %e, "HTTP ingest stopped");
                }
            }));
        }
        if !self.files.is_empty() {
            let ck = Arc::new(tail::Checkpoints::load(dir.join("file-checkpoints.json")));
            for f in &self.files {
                let input = f.clone().build(ck.clone(), &metrics);
                inputs.push(tokio::spawn(input.run(queue.clone())));
            }
        }
        let mut pipeline =
            Pipeline::new(self.pipeline.clone(), queue.clone(), store, engine, metrics).await?;
        if self.archive.enabled {
            let adir = self
                .archive
                .dir
                .clone()
                .unwrap_or_else(|| dir.join("archive"));
            tracing::info!(dir = %adir.display(), "raw archive on");
            pipeline = pipeline
                .with_archive(archive::Archive::new(adir).keeping_days(self.archive.keep_days));
        }
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let pipeline = tokio::spawn(pipeline.run(async move {
            let _ = stopped.wait_for(|s| *s).await;
        }));
        Ok(Running {
            addrs,
            queue,
            stop,
            pipeline,
            inputs,
        })
    }
}
