//! A running node: the configuration turned into the stages that run
//! here. Today one role, all in one process — console, inputs, queue,
//! pipeline; the collector, pipeline and console roles of a scaled-out
//! deployment will each start a subset of the same stages.

use std::sync::Arc;

use tocsin_ingest::Inputs;
use tocsin_pipeline::{Archive, Pipeline};
use tocsin_queue::{DiskQueueConfig, Queue};
use tocsin_store::Store;
use tocsin_telemetry::Metrics;

use crate::config::Config;

/// The queue stream events flow through.
const STREAM: &str = "events";

/// Called once the inputs listen (the demo starts its feed from it).
pub type OnInputs = Box<dyn FnOnce(&Inputs) + Send>;

/// `tocsin serve`: the console, and live ingest when `[ingest]` is enabled.
pub async fn serve(config: &Config) -> anyhow::Result<()> {
    let store = crate::inventory::open_store(config).await?;
    run(config, store, config.web.clone(), None).await
}

/// The ingest side of a node: inputs → queue → pipeline.
struct Ingest {
    inputs: Inputs,
    stop: tokio::sync::watch::Sender<bool>,
    pipeline: tokio::task::JoinHandle<()>,
}

impl Ingest {
    async fn start(
        config: &Config,
        store: &Store,
        engine: Arc<tocsin_sigma::Engine>,
        metrics: &Arc<Metrics>,
    ) -> anyhow::Result<Ingest> {
        let cfg = &config.ingest;
        let inputs_cfg = cfg.inputs();
        inputs_cfg.check()?;
        let dir = config.data_dir();
        let position = store.ingest_position(STREAM).await?;
        let queue: Arc<dyn Queue> = Arc::new(
            DiskQueueConfig {
                segment_bytes: cfg.queue.segment_mib.max(1) << 20,
                max_bytes: cfg.queue.max_mib.max(1) << 20,
                ..DiskQueueConfig::in_dir(dir.join("queue"))
            }
            .build(STREAM, position)?,
        );
        let inputs = inputs_cfg.start(&dir, queue.clone(), metrics).await?;
        let mut pipeline = Pipeline::new(
            cfg.pipeline.clone(),
            queue,
            store.clone(),
            cfg.pipeline.detectors(engine),
            inputs_cfg.sources(),
            metrics.clone(),
        )
        .await?;
        if cfg.archive.enabled {
            let adir = cfg
                .archive
                .dir
                .clone()
                .unwrap_or_else(|| dir.join("archive"));
            tracing::info!(dir = %adir.display(), "raw archive on");
            pipeline =
                pipeline.with_archive(Archive::new(adir).keeping_days(cfg.archive.keep_days));
        }
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let pipeline = tokio::spawn(pipeline.run(async move {
            let _ = stopped.wait_for(|s| *s).await;
        }));
        Ok(Ingest {
            inputs,
            stop,
            pipeline,
        })
    }

    /// Stops the inputs, lets the pipeline finish its batch.
    async fn shutdown(self) {
        self.inputs.shutdown();
        let _ = self.stop.send(true);
        let _ = self.pipeline.await;
    }
}

/// Runs the console (and ingest, when enabled) on `store` until Ctrl-C or
/// SIGTERM. `on_inputs` is called once the inputs listen.
pub async fn run(
    config: &Config,
    store: Store,
    web: tocsin_web::WebConfig,
    on_inputs: Option<OnInputs>,
) -> anyhow::Result<()> {
    let listen = web.listen;
    let (engine, report) = crate::rules::build_engine(&config.hunt.rules, config.hunt.engine(true));
    for e in &report.errors {
        tracing::warn!(error = %e, "rule not loaded");
    }
    tracing::info!(
        rules = report.rules,
        correlations = report.correlations,
        "detection rules loaded"
    );
    let rule_infos = crate::rules::rule_infos(&engine);
    let engine = Arc::new(engine);
    let metrics = Arc::new(Metrics::default());
    let ingest = if config.ingest.enabled {
        let i = Ingest::start(config, &store, engine.clone(), &metrics).await?;
        if let Some(f) = on_inputs {
            f(&i.inputs);
        }
        Some(i)
    } else {
        None
    };
    let server = web
        .build(store.clone())
        .await?
        .with_rules(rule_infos)
        .with_metrics(metrics.clone(), ingest.is_some());
    let served = server.serve(shutdown_signal()).await;
    if let Some(i) = ingest {
        i.shutdown().await;
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
