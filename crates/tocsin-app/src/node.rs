//! A running node: the configuration turned into the stages that run
//! here. Today one role, all in one process — console, inputs, queue,
//! pipeline; the collector, pipeline and console roles of a scaled-out
//! deployment will each start a subset of the same stages.

use std::sync::Arc;
use std::time::Duration;

use tocsin_ingest::Inputs;
use tocsin_pipeline::{Archive, Pipeline};
use tocsin_queue::{DiskQueueConfig, Queue};
use tocsin_store::Store;
use tocsin_telemetry::Metrics;

use crate::config::Config;

/// The queue stream events flow through.
const STREAM: &str = "events";

/// How long stopping may take before the process ends anyway.
const SHUTDOWN_LIMIT: Duration = Duration::from_secs(10);

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
    supervisor: tokio::task::JoinHandle<()>,
    /// The threat-intelligence feed loader, when feeds are configured.
    feeds: Option<tokio::task::JoinHandle<()>>,
}

/// What the supervisor needs to start a pipeline again.
struct PipelineParts {
    cfg: tocsin_ingest::InputsConfig,
    pipeline: tocsin_pipeline::PipelineConfig,
    archive: Option<(std::path::PathBuf, Option<u32>)>,
    queue: Arc<dyn Queue>,
    store: Store,
    engine: Arc<tocsin_sigma::Engine>,
    intel: Arc<tocsin_intel::IntelHandle>,
    metrics: Arc<Metrics>,
}

impl PipelineParts {
    async fn build(&self) -> Result<Pipeline, tocsin_store::StoreError> {
        let mut p = Pipeline::new(
            self.pipeline.clone(),
            self.queue.clone(),
            self.store.clone(),
            self.pipeline
                .detectors(self.engine.clone(), Some(self.intel.clone())),
            self.cfg.sources(),
            self.metrics.clone(),
        )
        .await?;
        if let Some((dir, keep)) = &self.archive {
            p = p.with_archive(Archive::new(dir.clone()).keeping_days(*keep));
        }
        Ok(p)
    }
}

/// A database created just now beside a queue or file checkpoints that
/// already hold state has been lost (a deleted or emptied file, a wrong
/// URL): starting would replay the queue from nothing and re-read every
/// file. Refused, with what to do.
fn refuse_lost_database(store: &Store, dir: &std::path::Path) -> anyhow::Result<()> {
    if !store.is_fresh() {
        return Ok(());
    }
    let queue_holds_records = std::fs::read_dir(dir.join("queue"))
        .map(|rd| {
            rd.flatten().any(|e| {
                e.file_name().to_string_lossy().ends_with(".q")
                    && e.metadata().is_ok_and(|m| m.len() > 0)
            })
        })
        .unwrap_or(false);
    let checkpoints = dir.join("file-checkpoints.json").exists();
    if queue_holds_records || checkpoints {
        anyhow::bail!(
            "the database is new or empty, but {} holds ingest state (queue records or file checkpoints) from an earlier database: restore that database, or move {} and {} away to start afresh",
            dir.display(),
            dir.join("queue").display(),
            dir.join("file-checkpoints.json").display()
        );
    }
    Ok(())
}

/// The longest wait before restarting a pipeline that died.
const MAX_RESTART_PAUSE: Duration = Duration::from_secs(30);

/// Runs a task until `stop`, restarting it when it dies: a crash costs a
/// pause (growing, at most [`MAX_RESTART_PAUSE`]), not the work. `start`
/// builds and runs the task to its end (`Ok` once stopped; `Err` when it
/// cannot start); a panic inside it is a death. Meanwhile the health of
/// `part` says why.
async fn supervise<F, Fut>(
    part: &'static str,
    health: &tocsin_telemetry::Health,
    restarts: &tocsin_telemetry::Counter,
    stop: tokio::sync::watch::Receiver<bool>,
    start: F,
) where
    F: Fn(tokio::sync::watch::Receiver<bool>) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>> + Send + 'static,
{
    let mut pause = Duration::from_secs(1);
    loop {
        let mut stopped = stop.clone();
        if *stopped.borrow() {
            return;
        }
        let why = match tokio::spawn(start(stop.clone())).await {
            Ok(Ok(())) => return,
            Ok(Err(e)) => format!("cannot start: {e}; retrying"),
            Err(e) => {
                let why = match e.try_into_panic() {
                    Ok(p) => p
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| p.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "panic".into()),
                    Err(e) => e.to_string(),
                };
                restarts.inc();
                tracing::error!(part, reason = %why, "died; restarting it");
                format!("died ({why}); restarting")
            }
        };
        health.degraded(part, why);
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            _ = stopped.wait_for(|s| *s) => return,
        }
        pause = (pause * 2).min(MAX_RESTART_PAUSE);
    }
}

/// Builds and runs one pipeline until `stop`.
async fn run_pipeline(
    parts: Arc<PipelineParts>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Result<(), String> {
    let p = parts.build().await.map_err(|e| e.to_string())?;
    parts.metrics.health().ok("pipeline");
    p.run(async move {
        let _ = stop.wait_for(|s| *s).await;
    })
    .await;
    Ok(())
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
        refuse_lost_database(store, &dir)?;
        let position = store.ingest_position(STREAM).await?;
        let queue: Arc<dyn Queue> = Arc::new(
            DiskQueueConfig {
                segment_bytes: cfg.queue.segment_mib.max(1) << 20,
                max_bytes: cfg.queue.max_mib.max(1) << 20,
                ..DiskQueueConfig::in_dir(dir.join("queue"))
            }
            .build(STREAM, position)?,
        );
        let q = queue.clone();
        metrics.queue_probe(move || {
            let (released, next) = q.bounds();
            let st = q.stats();
            tocsin_telemetry::QueueReading {
                depth: next.saturating_sub(released),
                bytes: q.bytes(),
                fault: st.fault,
                torn_bytes: st.torn_bytes,
                damaged_at_open: st.damaged_at_open,
                lost: st.lost,
            }
        });
        let inputs = inputs_cfg.start(&dir, queue.clone(), metrics).await?;
        let archive = cfg.archive.enabled.then(|| {
            let adir = cfg
                .archive
                .dir
                .clone()
                .unwrap_or_else(|| dir.join("archive"));
            tracing::info!(dir = %adir.display(), "raw archive on");
            (adir, cfg.archive.keep_days)
        });
        // The indicator set starts empty and fills as the feeds load; the
        // pipeline reads whatever set is in force at each event.
        let intel = tocsin_intel::IntelHandle::new(tocsin_intel::IndicatorSet::default());
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let feeds = crate::intel::start(
            config,
            store.clone(),
            intel.clone(),
            archive.as_ref().map(|(d, _)| d.clone()),
            stopped.clone(),
        )
        .await?;
        let parts = PipelineParts {
            cfg: inputs_cfg,
            pipeline: cfg.pipeline.clone(),
            archive,
            queue,
            store: store.clone(),
            engine,
            intel,
            metrics: metrics.clone(),
        };
        let parts = Arc::new(parts);
        let metrics = metrics.clone();
        let supervisor = tokio::spawn(async move {
            let restarts = metrics
                .pipeline(&tocsin_parse::Format::ALL.map(|f| f.name()))
                .restarts;
            supervise("pipeline", metrics.health(), &restarts, stopped, |stop| {
                run_pipeline(parts.clone(), stop)
            })
            .await;
        });
        Ok(Ingest {
            inputs,
            stop,
            supervisor,
            feeds,
        })
    }

    /// Stops the inputs, lets the pipeline finish its batch — for at most
    /// `within` (what it has not committed is read again at the next
    /// start: the queue keeps it).
    async fn shutdown(self, within: Duration) {
        self.inputs.shutdown();
        let _ = self.stop.send(true);
        if let Some(f) = self.feeds {
            // A pull in progress is abandoned; the next start reads again.
            f.abort();
        }
        if tokio::time::timeout(within, self.supervisor).await.is_err() {
            tracing::warn!(
                seconds = within.as_secs(),
                "pipeline did not stop in time; leaving it (the queue keeps its batch)"
            );
        }
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
    if let Some(token) = server.setup_token() {
        // No user yet: the one way in is this token, shown to whoever can
        // read the server's output (never logged to a file by us).
        eprintln!(
            "tocsin: no user exists yet. Create the first administrator at http://{listen}/setup with the one-time token\n\n    {token}\n\n  or on the command line: tocsin user add <name> --role admin --generate"
        );
    }
    let served = server.serve(&metrics, shutdown_signal()).await;
    // Whatever state anything is in, the process ends soon after the
    // signal: a stuck commit or connection must not hold it.
    std::thread::spawn(|| {
        std::thread::sleep(SHUTDOWN_LIMIT + Duration::from_secs(5));
        eprintln!("tocsin: shutdown took too long; exiting");
        std::process::exit(1);
    });
    if let Some(i) = ingest {
        i.shutdown(SHUTDOWN_LIMIT).await;
    }
    let _ = tokio::time::timeout(Duration::from_secs(3), store.close()).await;
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    /// Issue 10: a pipeline that dies is restarted, the death counted and
    /// said in the health until it runs again; a stop ends it.
    #[tokio::test(start_paused = true)]
    async fn a_dead_task_is_restarted_and_reported() {
        let health = tocsin_telemetry::Health::default();
        let restarts = tocsin_telemetry::Counter::default();
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let runs = Arc::new(AtomicU32::new(0));
        let r = runs.clone();
        let sup = supervise("pipeline", &health, &restarts, stopped, move |mut stop| {
            let n = r.fetch_add(1, Ordering::SeqCst);
            async move {
                match n {
                    0 => panic!("a bug in a detector"),
                    1 => Err("the database is not there yet".to_string()),
                    _ => {
                        let _ = stop.wait_for(|s| *s).await;
                        Ok(())
                    }
                }
            }
        });
        tokio::pin!(sup);
        // Let it die once, fail to start once, and run.
        for _ in 0..3 {
            tokio::select! {
                () = &mut sup => panic!("ended before the stop"),
                () = tokio::time::sleep(Duration::from_secs(5)) => {}
            }
        }
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        assert_eq!(restarts.get(), 1);
        let problems = health.problems();
        assert!(problems[0].1.contains("cannot start"), "{problems:?}");
        stop.send(true).unwrap();
        sup.await;
        assert_eq!(
            runs.load(Ordering::SeqCst),
            3,
            "not restarted after the stop"
        );
    }
}
