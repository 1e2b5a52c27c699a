//! `tocsin serve`: the console, and live ingest when `[ingest]` is enabled.

use std::path::PathBuf;
use std::sync::Arc;

use crate::config::Config;

pub async fn run(config: &Config) -> anyhow::Result<()> {
    let store = crate::inventory::open_store(config).await?;
    serve_with(config, store, config.web.clone(), None).await
}

/// Where ingest keeps its queue when the configuration does not say: beside
/// a SQLite database file, else `tocsin-data/`.
pub fn default_data_dir(config: &Config) -> PathBuf {
    let url = &config.database.url;
    if !url.contains("://") || url.starts_with("sqlite:") {
        let path = url
            .trim_start_matches("sqlite://")
            .trim_start_matches("sqlite:");
        if let Some(dir) = std::path::Path::new(path).parent()
            && !dir.as_os_str().is_empty()
        {
            return dir.to_path_buf();
        }
    }
    PathBuf::from("tocsin-data")
}

/// Called once ingest runs (the demo starts its feed from it).
pub type OnIngest = Box<dyn FnOnce(&tocsin_ingest::Running) + Send>;

/// Runs the console (and ingest, when enabled) on `store` until Ctrl-C or
/// SIGTERM. `on_ingest` is called with the running ingest (the demo feeds
/// it).
pub async fn serve_with(
    config: &Config,
    store: tocsin_store::Store,
    web: tocsin_web::WebConfig,
    on_ingest: Option<OnIngest>,
) -> anyhow::Result<()> {
    let listen = web.listen;
    let engine_cfg = tocsin_sigma::EngineConfig {
        routing: true,
        placeholders: config.hunt.placeholders.clone(),
    };
    let (engine, report) = crate::hunt::build_engine(&config.hunt.rules, engine_cfg);
    for e in &report.errors {
        tracing::warn!(error = %e, "rule not loaded");
    }
    tracing::info!(
        rules = report.rules,
        correlations = report.correlations,
        "detection rules loaded"
    );
    let rule_infos = crate::hunt::rule_infos(&engine);
    let engine = Arc::new(engine);
    let metrics = Arc::new(tocsin_ingest::Metrics::default());
    let ingest = if config.ingest.enabled {
        let dir = default_data_dir(config);
        let running = config
            .ingest
            .start(dir, store.clone(), engine.clone(), metrics.clone())
            .await?;
        if let Some(f) = on_ingest {
            f(&running);
        }
        Some(running)
    } else {
        None
    };
    let m = metrics.clone();
    let server = web
        .build(store.clone())
        .await?
        .with_rules(rule_infos)
        .with_metrics(Arc::new(move || m.render()));
    let served = server.serve(shutdown_signal()).await;
    if let Some(r) = ingest {
        r.shutdown().await;
    }
    store.close().await;
    served.map_err(|e| anyhow::anyhow!("cannot serve on {listen}: {e}"))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
