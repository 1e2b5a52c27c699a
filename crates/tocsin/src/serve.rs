//! `tocsin serve`

use crate::config::Config;

pub async fn run(config: &Config) -> anyhow::Result<()> {
    let store = crate::inventory::open_store(config).await?;
    serve_with(config, store, config.web.clone()).await
}

/// Runs the console on `store` until Ctrl-C or SIGTERM.
pub async fn serve_with(
    config: &Config,
    store: tocsin_store::Store,
    web: tocsin_web::WebConfig,
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
    let server = web
        .build(store.clone())
        .await?
        .with_rules(crate::hunt::rule_infos(&engine));
    server
        .serve(shutdown_signal())
        .await
        .map_err(|e| anyhow::anyhow!("cannot serve on {listen}: {e}"))?;
    store.close().await;
    Ok(())
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
