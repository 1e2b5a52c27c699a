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
    let engine_cfg = config.hunt.engine(true);
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
    let mut server = web
        .build(store.clone())
        .await?
        .with_rules(rule_infos)
        .with_metrics(Arc::new(move || m.render()));
    if ingest.is_some() {
        let m = metrics.clone();
        server = server.with_ingest_status(Arc::new(move || ingest_status(&m)));
    }
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

/// The console's view of the ingest metrics.
pub(crate) fn ingest_status(m: &tocsin_ingest::Metrics) -> tocsin_web::IngestStatus {
    use std::collections::BTreeMap;
    let mut st = tocsin_web::IngestStatus::default();
    let mut inputs: BTreeMap<String, tocsin_web::InputStatus> = BTreeMap::new();
    let mut formats: BTreeMap<String, tocsin_web::FormatStatus> = BTreeMap::new();
    for s in m.samples() {
        let v = s.value as u64;
        let per_input: Option<fn(&mut tocsin_web::InputStatus) -> &mut u64> = match s.name {
            "tocsin_input_events_total" => Some(|e| &mut e.received),
            "tocsin_input_bytes_total" => Some(|e| &mut e.bytes),
            "tocsin_input_dropped_total" => Some(|e| &mut e.dropped),
            "tocsin_input_truncated_total" => Some(|e| &mut e.truncated),
            "tocsin_input_rejected_total" => Some(|e| &mut e.rejected),
            "tocsin_pipeline_input_events_total" => Some(|e| &mut e.processed),
            _ => None,
        };
        if let Some(field) = per_input {
            let name = s.label("input");
            let e = inputs
                .entry(name.to_string())
                .or_insert_with(|| tocsin_web::InputStatus {
                    name: name.to_string(),
                    ..Default::default()
                });
            // The pipeline's per-input series has no kind label.
            if e.kind.is_empty() {
                e.kind = s.label("kind").to_string();
            }
            *field(e) = v;
            continue;
        }
        match s.name {
            "tocsin_parse_events_total" | "tocsin_parse_failed_total" => {
                let f = formats.entry(s.label("format").to_string()).or_default();
                f.format = s.label("format").to_string();
                if s.name == "tocsin_parse_events_total" {
                    f.parsed = v;
                } else {
                    f.failed = v;
                }
            }
            "tocsin_queue_depth" => st.queue_depth = v,
            "tocsin_queue_bytes" => st.queue_bytes = v,
            "tocsin_pipeline_events_total" => st.processed = v,
            "tocsin_alerts_total" => st.alerts = v,
            "tocsin_pipeline_commit_errors_total" => st.commit_errors = v,
            "tocsin_archive_errors_total" => st.archive_errors = v,
            "tocsin_queue_unreadable_records_total" => st.unreadable = v,
            _ => {}
        }
    }
    st.inputs = inputs.into_values().collect();
    st.formats = formats.into_values().collect();
    st.latency_p50 = m.latency.quantile(0.5);
    st.latency_p99 = m.latency.quantile(0.99);
    st
}

#[cfg(test)]
mod tests {
    use tocsin_ingest::metrics::InputMetrics;

    #[test]
    fn ingest_status_reads_every_series_the_console_shows() {
        let m = tocsin_ingest::Metrics::default();
        let udp = InputMetrics::new(&m, "fw-udp", "syslog-udp");
        udp.received.add(500);
        udp.bytes.add(64_000);
        udp.dropped.add(7);
        let http = InputMetrics::new(&m, "winlogbeat", "http");
        http.received.add(40);
        http.rejected.add(2);
        let c = |name, labels: &[(&'static str, &str)], n| m.counter(name, "help", labels).add(n);
        c(
            "tocsin_pipeline_input_events_total",
            &[("input", "fw-udp")],
            493,
        );
        c("tocsin_parse_events_total", &[("format", "cef")], 493);
        c("tocsin_parse_failed_total", &[("format", "cef")], 4);
        c("tocsin_pipeline_events_total", &[], 533);
        c("tocsin_alerts_total", &[], 9);
        c("tocsin_queue_unreadable_records_total", &[], 1);
        m.gauge("tocsin_queue_depth", "help", || 12.0);
        m.latency.observe_us(1_800);
        let s = super::ingest_status(&m);
        assert_eq!(s.inputs.len(), 2);
        let fw = &s.inputs[0];
        assert_eq!(
            (
                fw.name.as_str(),
                fw.kind.as_str(),
                fw.received,
                fw.bytes,
                fw.dropped,
                fw.processed
            ),
            ("fw-udp", "syslog-udp", 500, 64_000, 7, 493)
        );
        assert_eq!(
            (s.inputs[1].kind.as_str(), s.inputs[1].rejected),
            ("http", 2)
        );
        assert_eq!(
            (
                s.formats[0].format.as_str(),
                s.formats[0].parsed,
                s.formats[0].failed
            ),
            ("cef", 493, 4)
        );
        assert_eq!(
            (s.processed, s.alerts, s.unreadable, s.queue_depth),
            (533, 9, 1, 12)
        );
        assert_eq!(s.latency_p50, 0.0025);
    }
}
