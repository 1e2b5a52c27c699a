//! `tocsin demo`: the whole product on embedded defaults, on a realistic
//! synthetic province, at http://127.0.0.1:8080.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use tocsin_model::ScopeSetting;
use tocsin_sim::CENTER;

use crate::config::{Config, IngestConfig};

/// What `tocsin demo` was asked.
#[derive(Debug, Clone)]
pub struct DemoArgs {
    /// Address for the console.
    pub listen: SocketAddr,
    /// Directory for the demo database (recreated on every run).
    pub data_dir: PathBuf,
    /// Build the database and exit without serving.
    pub no_serve: bool,
}

/// The demo's HTTP senders' keys (printed at start, for trying curl).
pub const WINLOGBEAT_KEY: &str = "demo-winlogbeat-TTCNTT-7f3a9c";
/// Key of the demo's Suricata sensor.
pub const SURICATA_KEY: &str = "demo-suricata-TTCNTT-2b81e4";

/// Every input on loopback, on ports the system picks (so a demo never
/// fails on a busy port).
fn demo_ingest(dir: &std::path::Path) -> IngestConfig {
    use tocsin_ingest::http::{HttpConfig, Sender};
    use tocsin_ingest::syslog::{Protocol, SyslogConfig};
    let any = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let syslog = |name: &str, protocol| SyslogConfig {
        scope: ScopeSetting::All,
        ..SyslogConfig::new(name, protocol, any)
    };
    IngestConfig {
        enabled: true,
        data_dir: Some(dir.to_path_buf()),
        syslog: vec![
            syslog("syslog-tcp", Protocol::Tcp),
            syslog("syslog-udp", Protocol::Udp),
        ],
        http: Some(HttpConfig {
            listen: any,
            senders: vec![
                // The center's Windows event collector: agencies' PCs
                // forward to it, so it speaks for every agency.
                Sender {
                    name: "winlogbeat-wec".into(),
                    key: WINLOGBEAT_KEY.into(),
                    agency: Some(CENTER.into()),
                    scope: ScopeSetting::All,
                    format: tocsin_parse::Format::Windows,
                    sensor: false,
                },
                Sender {
                    name: "suricata-dc".into(),
                    key: SURICATA_KEY.into(),
                    agency: Some(CENTER.into()),
                    scope: ScopeSetting::All,
                    format: tocsin_parse::Format::SuricataEve,
                    // The center's IDS: its alerts are alerts.
                    sensor: true,
                },
            ],
            ..HttpConfig::default()
        }),
        files: vec![tocsin_ingest::tail::FileConfig {
            name: "nginx-dichvucong".into(),
            paths: vec![dir.join("demo-logs").join("dichvucong-access.log")],
            format: tocsin_parse::Format::AccessLog,
            from_beginning: true,
            agency: Some(CENTER.into()),
            scope: ScopeSetting::Agency,
            // The public-service portal's own access log.
            asset: Some("SVC-DVC".into()),
            max_record: 1 << 20,
            sensor: false,
            follow_links: false,
        }],
        archive: tocsin_pipeline::ArchiveConfig {
            enabled: true,
            dir: None,
            keep_days: Some(180),
        },
        ..Default::default()
    }
}

/// The demo's people: one per role, with Vietnamese names.
const DEMO_USERS: &[(&str, tocsin_model::Role, Option<&str>, &str)] = &[
    (
        "quantri",
        tocsin_model::Role::Admin,
        None,
        "Nguyễn Văn Quản",
    ),
    (
        "phantich",
        tocsin_model::Role::Analyst,
        None,
        "Trần Thị Thu Hà",
    ),
    ("lanhdao", tocsin_model::Role::Leader, None, "Lê Minh Đức"),
    (
        "yte",
        tocsin_model::Role::AgencyContact,
        Some("SYT"),
        "Phạm Thị Lan",
    ),
    (
        "kiemtoan",
        tocsin_model::Role::Auditor,
        None,
        "Hoàng Văn Kiên",
    ),
];

/// The demo's threat intelligence: a blocklist naming the simulated
/// botnet controllers and an allowlist, as feeds the node watches, and the
/// national center's list imported as sightings.
async fn demo_intel(
    store: &tocsin_store::Store,
    inv: &tocsin_model::Inventory,
    dir: &std::path::Path,
) -> anyhow::Result<Vec<tocsin_feeds::FeedConfig>> {
    use tocsin_intel::feeds::FeedFormat;
    let idir = dir.join("intel");
    std::fs::create_dir_all(&idir).with_context(|| format!("cannot create {}", idir.display()))?;
    let write = |name: &str, text: String| -> anyhow::Result<std::path::PathBuf> {
        let p = idir.join(name);
        std::fs::write(&p, text).with_context(|| format!("cannot write {}", p.display()))?;
        Ok(p)
    };
    let feodo = write("feodo-ipblocklist.csv", tocsin_sim::intel::feodo_csv())?;
    let allow = write("allowlist.txt", tocsin_sim::intel::allowlist())?;
    let national = write("ncsc-botnet.csv", tocsin_sim::intel::national_csv(inv, 25))?;
    let bytes = std::fs::read(&national)?;
    let r = tocsin_feeds::national::import(
        store,
        &bytes,
        "ncsc",
        &tocsin_model::Actor::system("demo"),
        "national botnet list (demo)",
    )
    .await?;
    println!(
        "threat intelligence: feeds in {} (Feodo-style blocklist, allowlist); national botnet list: {} addresses imported",
        idir.display(),
        r.imported
    );
    let mut allow_feed = tocsin_feeds::FeedConfig::file("allowlist", FeedFormat::Plain, allow);
    allow_feed.allow = true;
    Ok(vec![
        tocsin_feeds::FeedConfig::file("feodo", FeedFormat::FeodoCsv, feodo),
        allow_feed,
    ])
}

/// Runs `tocsin demo`.
pub async fn run(args: DemoArgs, config: &Config) -> anyhow::Result<()> {
    let db = args.data_dir.join("demo.db");
    // A fresh database every run: the demo must look the same each time.
    // The queue belongs to the old database: start it afresh too.
    let _ = std::fs::remove_dir_all(args.data_dir.join("queue"));
    let _ = std::fs::remove_dir_all(args.data_dir.join("archive"));
    let _ = std::fs::remove_dir_all(args.data_dir.join("demo-logs"));
    let _ = std::fs::remove_dir_all(args.data_dir.join("intel"));
    let _ = std::fs::remove_file(args.data_dir.join("file-checkpoints.json"));
    for suffix in ["", "-wal", "-shm"] {
        let p = format!("{}{suffix}", db.display());
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("cannot remove old demo database {p}"));
            }
        }
    }
    let store_cfg = tocsin_store::StoreConfig::new(&db.display().to_string());
    let store = store_cfg.build().await?;
    let inv = tocsin_sim::province();
    store
        .replace_inventory(
            &inv,
            &tocsin_model::Actor::system("demo"),
            "synthetic province Ngọc Sơn (tocsin demo)",
        )
        .await?;
    println!(
        "demo province Ngọc Sơn: {} agencies, {} assets in {}",
        inv.agencies.len(),
        inv.assets.len(),
        db.display()
    );
    println!("demo users, one per role (new passwords at every run):");
    let actor = tocsin_model::Actor::system("demo");
    for (user, role, agency, name) in DEMO_USERS {
        let pw = crate::users::generate_password();
        crate::users::add_user(
            &store,
            config,
            &actor,
            user,
            *role,
            *agency,
            Some(name),
            &pw,
        )
        .await?;
        println!(
            "  {user:<10} {:<15} {pw}{}",
            role.as_str(),
            agency
                .map(|a| format!("  (agency {a})"))
                .unwrap_or_default()
        );
    }
    let intel_feeds = demo_intel(&store, &inv, &args.data_dir).await?;
    if args.no_serve {
        store.close().await;
        return Ok(());
    }
    println!("console: http://{}/  (Ctrl-C to stop)", args.listen);
    let web = tocsin_web::WebConfig {
        listen: args.listen,
        ..config.web.clone()
    };
    let mut config = config.clone();
    config.ingest = demo_ingest(&args.data_dir);
    config.intel.feeds = intel_feeds;
    let log_dir = args.data_dir.join("demo-logs");
    std::fs::create_dir_all(&log_dir)
        .with_context(|| format!("cannot create {}", log_dir.display()))?;
    let feed = Box::new(move |running: &tocsin_ingest::Inputs| {
        let addr = |n: &str| running.addr(n);
        let (Some(tcp), Some(udp), Some(http)) =
            (addr("syslog-tcp"), addr("syslog-udp"), addr("http"))
        else {
            tracing::error!("demo inputs did not start; no live feed");
            return;
        };
        println!("live inputs (try them): syslog tcp {tcp}, syslog udp {udp}, HTTP {http}");
        println!(
            "  logger --server {} --port {} --tcp \"sshd[1]: Failed password for root from 45.155.205.233 port 22 ssh2\"",
            tcp.ip(),
            tcp.port()
        );
        println!(
            "  curl -H 'Authorization: Bearer {SURICATA_KEY}' --data-binary @eve.json http://{http}/api/v1/ingest"
        );
        let targets = tocsin_sim::feed::Targets {
            syslog_tcp: tcp,
            syslog_udp: udp,
            http,
            winlogbeat_key: WINLOGBEAT_KEY.into(),
            suricata_key: SURICATA_KEY.into(),
            access_log: log_dir.join("dichvucong-access.log"),
        };
        tokio::spawn(tocsin_sim::feed::Feeder::new(&inv, targets).run());
    });
    crate::node::run(&config, store, web, Some(feed)).await
}
