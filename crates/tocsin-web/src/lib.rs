//! The console and the JSON API: the end of Tocsin's flow, where analysts,
//! agencies' IT contacts and the center's leadership see what the pipeline
//! found. A running stage; it reads the store and the telemetry and knows
//! nothing of the inputs or the pipeline.
//!
//! ```text
//! request ─► identify (Caller: actor + Scope) ─► one router per resource ─► store (through the scope)
//!                                                 dashboard, agencies, assets, alerts,   snapshot (inventory,
//!                                                 inputs, lookup, rules, system           attribution policy)
//!        ◄── error: JSON for /api, a page in the reader's language for people
//! ```
//!
//! Built on axum. [`WebConfig`] → [`WebConfig::build`] → [`Web`], whose
//! [`Web::router`] serves:
//!
//! * the console, server-rendered HTML (askama templates, htmx for live
//!   filtering), in Vietnamese by default and English (`?lang=en`, remembered
//!   in a cookie); every string comes from `locales/{vi,en}.toml`;
//! * `/api/v1/…`, JSON for scripts and other tools, with one error shape
//!   (`{"error": {"code", "message"}}`) — the same errors render as a page
//!   for people;
//! * `/healthz` and `/metrics` (Prometheus), and the inputs page that shows
//!   the same ingest figures to people.
//!
//! Every handler reads agency-owned data through the [`Caller`]'s
//! [`tocsin_model::Scope`], which a layer sets on each request; a bad query
//! or form value is a 400 naming the field. The console reads an in-memory
//! snapshot of the inventory (with the [`tocsin_detect::AttributionPolicy`]
//! the pipeline uses) that is reloaded when the stored inventory changes.

mod error;
mod extract;
mod i18n;
mod routes;
mod snapshot;
mod view;

pub use error::AppError;
pub use extract::Caller;
pub use i18n::{Lang, check_locales};
pub use snapshot::Snapshot;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use tocsin_model::{AlertKind, Level};
use tocsin_store::Store;
use tocsin_telemetry::{IngestStatus, Metrics};

/// A detection rule as the console lists it (kept free of the engine's
/// types: the composition fills it from whatever rules it loaded).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RuleInfo {
    /// Rule id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Severity.
    pub level: Level,
    /// A rule or a correlation.
    pub kind: AlertKind,
    /// `product/category/service`, as the rule states it.
    pub logsource: String,
    /// Tags (ATT&CK techniques…).
    pub tags: Vec<String>,
    /// Description.
    pub description: String,
    /// The file it came from.
    pub file: String,
}

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
    /// Addresses allowed to connect (CIDRs); empty: anyone. The console
    /// belongs on the center's own network.
    #[serde(default)]
    pub allow: Vec<tocsin_model::Cidr>,
    /// TLS (certificate and key) when the console is not behind a proxy
    /// that terminates it.
    #[serde(default)]
    pub tls: Option<tocsin_net::TlsConfig>,
    /// Connection limits and timeouts (`[web.limits]`).
    #[serde(default)]
    pub limits: tocsin_net::HttpLimits,
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
            allow: Vec::new(),
            tls: None,
            limits: Default::default(),
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
                ingest: false,
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
    pub(crate) metrics: Option<Arc<Metrics>>,
    /// Whether this node runs the ingest stage (the inputs page says so).
    pub(crate) ingest: bool,
}

impl AppState {
    /// The ingest stage's state, when this node runs it.
    pub(crate) fn ingest_status(&self) -> Option<IngestStatus> {
        self.metrics
            .as_ref()
            .filter(|_| self.ingest)
            .map(|m| m.ingest_status())
    }
}

/// The console and API, ready to serve.
pub struct Web {
    state: AppState,
    config: WebConfig,
}

/// Today every caller is the center's console: sign-in comes with the
/// access layer, which replaces this one.
async fn identify(mut req: Request, next: Next) -> Response {
    req.extensions_mut().insert(Caller::center());
    next.run(req).await
}

impl Web {
    /// The detection rules in force, for the rules page and API.
    pub fn with_rules(mut self, rules: Vec<RuleInfo>) -> Self {
        self.state.rules = Arc::new(rules);
        self
    }

    /// The registry `/metrics` renders; with `ingest`, the inputs page and
    /// `/api/v1/ingest/status` show the ingest stage from it too (without,
    /// they say this node does not run it).
    pub fn with_metrics(mut self, metrics: Arc<Metrics>, ingest: bool) -> Self {
        self.state.metrics = Some(metrics);
        self.state.ingest = ingest;
        self
    }

    /// Every route.
    pub fn router(&self) -> Router {
        routes::all()
            .fallback(routes::not_found)
            .layer(axum::middleware::from_fn(view::pages_for_people))
            .layer(axum::middleware::from_fn(identify))
            .with_state(self.state.clone())
    }

    /// Re-reads the inventory now (after an import in this process).
    pub async fn reload(&self) -> Result<(), tocsin_store::StoreError> {
        self.state.snap.reload_if_changed(&self.state.store).await
    }

    /// Serves until `shutdown` resolves; refreshes the snapshot meanwhile.
    /// Connections go through the limits of `[web.limits]`, counted in
    /// `metrics`.
    pub async fn serve(
        self,
        metrics: &tocsin_telemetry::Metrics,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let listener = tokio::net::TcpListener::bind(self.config.listen).await?;
        let tls = self
            .config
            .tls
            .as_ref()
            .map(|t| t.http_acceptor())
            .transpose()?;
        let server =
            self.config
                .limits
                .build("console", listener, &self.config.allow, tls, metrics);
        tracing::info!(addr = %server.local_addr()?, tls = self.config.tls.is_some(), "console listening");
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
        server.serve(self.router(), shutdown).await;
        reloader.abort();
        Ok(())
    }
}
