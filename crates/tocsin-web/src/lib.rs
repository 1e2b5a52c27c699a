//! The console and the JSON API: the end of Tocsin's flow, where analysts,
//! agencies' IT contacts and the center's leadership see what the pipeline
//! found.
//!
//! Built on axum. [`WebConfig`] → [`WebConfig::build`] → [`Web`], whose
//! [`Web::router`] serves:
//!
//! * the console, server-rendered HTML (askama templates, htmx for live
//!   filtering), in Vietnamese by default and English (`?lang=en`, remembered
//!   in a cookie); every string comes from `locales/{vi,en}.toml`;
//! * `/api/v1/…`, JSON for scripts and other tools, with one error shape
//!   (`{"error": {"code", "message"}}`);
//! * `/healthz` and `/metrics` (Prometheus), and the inputs page that shows
//!   the same ingest figures to people.
//!
//! The console reads an in-memory snapshot of the inventory (with its
//! [`tocsin_model::Attributor`]) that is reloaded when the stored inventory
//! changes, so page views never wait on the database for it.

mod alerts;
mod api;
mod error;
mod i18n;
mod inputs;
mod pages;
mod snapshot;

pub use error::AppError;
pub use i18n::{Lang, check_locales};
pub use inputs::{FormatStatus, IngestStatus, IngestStatusFn, InputStatus};
pub use snapshot::Snapshot;

/// A detection rule as the console lists it (kept free of the engine's
/// types: the binary fills it from whatever rules it loaded).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RuleInfo {
    /// Rule id.
    pub id: String,
    /// Title.
    pub title: String,
    /// informational, low, medium, high, critical.
    pub level: String,
    /// `rule` or `correlation`.
    pub kind: String,
    /// `product/category/service`, as the rule states it.
    pub logsource: String,
    /// Tags (ATT&CK techniques…).
    pub tags: Vec<String>,
    /// Description.
    pub description: String,
    /// The file it came from.
    pub file: String,
}

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use tocsin_store::Store;

/// Where and how the console listens.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    /// Address to listen on.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Seconds between checks for a changed inventory.
    #[serde(default = "default_reload")]
    pub reload_secs: u64,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

fn default_reload() -> u64 {
    10
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            listen: default_listen(),
            reload_secs: default_reload(),
        }
    }
}

impl WebConfig {
    /// Loads the first snapshot from the store.
    pub async fn build(&self, store: Store) -> Result<Web, tocsin_store::StoreError> {
        let snap = snapshot::Shared::load(&store).await?;
        Ok(Web {
            state: AppState {
                store,
                snap: Arc::new(snap),
                rules: Arc::new(Vec::new()),
                metrics: None,
                ingest: None,
            },
            config: self.clone(),
        })
    }
}

/// Shared by every handler.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) store: Store,
    pub(crate) snap: Arc<snapshot::Shared>,
    pub(crate) rules: Arc<Vec<RuleInfo>>,
    pub(crate) metrics: Option<MetricsFn>,
    pub(crate) ingest: Option<IngestStatusFn>,
}

/// Renders the Prometheus text for `/metrics` (the ingest stage's counters).
pub type MetricsFn = Arc<dyn Fn() -> String + Send + Sync>;

/// The console and API, ready to serve.
pub struct Web {
    state: AppState,
    config: WebConfig,
}

impl Web {
    /// The detection rules in force, for the rules page and API.
    pub fn with_rules(mut self, rules: Vec<RuleInfo>) -> Self {
        self.state.rules = Arc::new(rules);
        self
    }

    /// What `/metrics` serves.
    pub fn with_metrics(mut self, f: MetricsFn) -> Self {
        self.state.metrics = Some(f);
        self
    }

    /// What the inputs page and `/api/v1/ingest/status` show (the ingest
    /// stage's state; without it they say the stage is not running here).
    pub fn with_ingest_status(mut self, f: IngestStatusFn) -> Self {
        self.state.ingest = Some(f);
        self
    }

    /// Every route.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/", get(pages::dashboard))
            .route("/agencies", get(pages::agencies))
            .route("/agencies/{code}", get(pages::agency))
            .route("/assets", get(pages::assets))
            .route("/assets/{code}", get(pages::asset))
            .route("/lookup", get(pages::lookup))
            .route("/rules", get(pages::rules))
            .route("/alerts", get(alerts::page))
            .route("/alerts/{id}", get(alerts::detail))
            .route("/inputs", get(inputs::page))
            .route("/api/v1/ingest/status", get(inputs::api))
            .route(
                "/alerts/{id}/status",
                axum::routing::post(alerts::set_status),
            )
            .route("/api/v1/alerts", get(alerts::api_list))
            .route("/api/v1/alerts/{id}", get(alerts::api_one))
            .route("/api/v1/events/counts", get(alerts::api_event_counts))
            .route("/metrics", get(alerts::metrics))
            .route("/api/v1/rules", get(api::rules))
            .route("/static/{file}", get(pages::static_file))
            .route("/healthz", get(api::healthz))
            .route("/api/v1/inventory/counts", get(api::counts))
            .route("/api/v1/agencies", get(api::agencies))
            .route("/api/v1/agencies/{code}", get(api::agency))
            .route("/api/v1/assets", get(api::assets))
            .route("/api/v1/assets/{code}", get(api::asset))
            .route("/api/v1/attribution/{ip}", get(api::attribution))
            .fallback(pages::not_found)
            .with_state(self.state.clone())
    }

    /// Re-reads the inventory now (after an import in this process).
    pub async fn reload(&self) -> Result<(), tocsin_store::StoreError> {
        self.state.snap.reload_if_changed(&self.state.store).await
    }

    /// Serves until `shutdown` resolves; refreshes the snapshot meanwhile.
    pub async fn serve(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let listener = tokio::net::TcpListener::bind(self.config.listen).await?;
        tracing::info!(addr = %listener.local_addr()?, "console listening");
        let state = self.state.clone();
        let every = Duration::from_secs(self.config.reload_secs.max(1));
        let reloader = tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                if let Err(e) = state.snap.reload_if_changed(&state.store).await {
                    tracing::warn!(error = %e, "inventory reload failed; keeping the previous one");
                }
            }
        });
        let r = axum::serve(listener, self.router())
            .with_graceful_shutdown(shutdown)
            .await;
        reloader.abort();
        r
    }
}
