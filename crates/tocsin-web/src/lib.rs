//! The console and the JSON API: the end of Tocsin's flow, where analysts,
//! agencies' IT contacts and the center's leadership see what the pipeline
//! found. A running stage; it reads the store and the telemetry and knows
//! nothing of the inputs or the pipeline.
//!
//! ```text
//! request ─► access (Caller: actor, role, Scope) ─► route's Need ─► one router per resource ─► store (through the scope)
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
//! **Nothing is open.** The access layer (`access`) identifies every
//! request — a session cookie, a personal API token, or nobody — checks its
//! Host, its origin and CSRF token when it changes something, and adds the
//! security headers; every route is declared with the [`Need`] it requires
//! (`routes::Routes`, the only way to add one), and
//! [`Web::route_table`] lists them for the test that walks them all.
//! Anonymous callers reach only the sign-in and setup pages, `/healthz` and
//! static files. Every handler reads agency-owned data through the
//! [`Caller`]'s [`tocsin_model::Scope`] (an agency contact's agency and its
//! descendants); a bad query or form value is a 400 naming the field. The console reads an in-memory
//! snapshot of the inventory (with the [`tocsin_detect::AttributionPolicy`]
//! the pipeline uses) that is reloaded when the stored inventory changes.

mod access;
mod error;
mod extract;
mod i18n;
mod routes;
mod snapshot;
mod view;

pub use access::{AccessError, AuthConfig, Need};
pub use error::AppError;
pub use extract::Caller;
pub use i18n::{Lang, check_locales};
pub use routes::RouteInfo;
pub use snapshot::Snapshot;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
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
    /// Title and description in Vietnamese, when the rule has them.
    pub vi: Option<(String, Option<String>)>,
}

impl RuleInfo {
    /// The title in `lang` (the rule's own when it has none there).
    pub(crate) fn title_in(&self, lang: i18n::Lang) -> &str {
        match (&self.vi, lang) {
            (Some((t, _)), i18n::Lang::Vi) => t,
            _ => &self.title,
        }
    }

    /// The description in `lang`.
    pub(crate) fn description_in(&self, lang: i18n::Lang) -> &str {
        match (&self.vi, lang) {
            (Some((_, Some(d))), i18n::Lang::Vi) => d,
            _ => &self.description,
        }
    }
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
    /// Sign-in, sessions and request checks (`[web.auth]`).
    #[serde(default)]
    pub auth: AuthConfig,
    /// The center's name, as exports of shared intelligence sign it.
    #[serde(default = "default_center")]
    pub center_name: String,
}

fn default_center() -> String {
    "Trung tâm Giám sát An toàn thông tin".into()
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
            auth: AuthConfig::default(),
            center_name: default_center(),
        }
    }
}

impl WebConfig {
    /// Loads the first snapshot from the store and prepares sign-in. While
    /// no user exists, a one-time setup token is made ([`Web::setup_token`]).
    pub async fn build(&self, store: Store) -> Result<Web, WebError> {
        let snap = snapshot::Shared::load(&store).await?;
        let access = access::Access::new(&self.auth, self.listen, self.tls.is_some())?;
        if store.user_count().await? == 0 {
            *access.setup.lock().unwrap_or_else(|e| e.into_inner()) =
                Some(tocsin_access::Secret::new());
        }
        Ok(Web {
            state: AppState {
                store,
                snap: Arc::new(snap),
                rules: Arc::new(Vec::new()),
                metrics: None,
                ingest: false,
                access: Arc::new(access),
                center_name: self.center_name.clone(),
            },
            config: self.clone(),
        })
    }
}

/// The console could not be built.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] tocsin_store::StoreError),
    /// `[web.auth]` is wrong.
    #[error(transparent)]
    Access(#[from] AccessError),
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
    /// Sign-in and request checks.
    pub(crate) access: Arc<access::Access>,
    /// The center's name (signing shared exports).
    pub(crate) center_name: String,
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

    /// Every route, behind the access layer.
    pub fn router(&self) -> Router {
        let (router, _) = routes::all().into_parts();
        router
            .fallback(routes::not_found)
            .layer(axum::middleware::from_fn_with_state(
                self.state.clone(),
                access::identify,
            ))
            .layer(axum::middleware::from_fn(view::pages_for_people))
            .with_state(self.state.clone())
    }

    /// Every route with what it needs, for the test that walks them.
    pub fn route_table() -> Vec<RouteInfo> {
        routes::all().into_parts().1
    }

    /// The one-time token that creates the first administrator at
    /// `/setup`, while no user exists (print it at start).
    pub fn setup_token(&self) -> Option<String> {
        self.state
            .access
            .setup
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|s| s.expose().to_string())
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
