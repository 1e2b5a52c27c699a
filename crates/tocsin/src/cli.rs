//! The command line, and which command of `tocsin-app` each runs.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use tocsin_app::users::Role;
use tocsin_app::{Config, demo, hunt, intel, inventory, node, users};

/// Tocsin: the provincial Security Operations Center platform.
///
/// Watches what the province's agencies run, detects attacks, handles
/// incidents with the agencies, warns them, and accounts for it all.
#[derive(Debug, Parser)]
#[command(name = "tocsin", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes. Each also reads an environment variable;
/// the order is: flag, then environment, then config file, then default.
#[derive(Debug, Args)]
pub struct Global {
    /// Configuration file (TOML). Default: ./tocsin.toml when it exists.
    #[arg(long, short = 'c', global = true, env = "TOCSIN_CONFIG")]
    pub config: Option<PathBuf>,
    /// Database: a SQLite file path, sqlite://…, or postgres://…
    #[arg(long, global = true, env = "TOCSIN_DATABASE")]
    pub database: Option<String>,
    /// Log filter, e.g. `info` or `tocsin_store=debug`.
    #[arg(long, global = true, env = "TOCSIN_LOG")]
    pub log: Option<String>,
}

impl Global {
    /// What the flags and environment say over the file.
    pub fn overrides(&self) -> tocsin_app::Overrides {
        tocsin_app::Overrides {
            config: self.config.clone(),
            database: self.database.clone(),
            log: self.log.clone(),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server: the console and API, and live ingest when `[ingest]` is enabled.
    Serve,
    /// Build the synthetic province "Ngọc Sơn" in a fresh database and serve it.
    Demo(DemoArgs),
    /// Hunt with Sigma rules over log files (.evtx, .json, .jsonl, .gz).
    Hunt(HuntArgs),
    /// Manage the province inventory: agencies, contacts, ranges, assets.
    #[command(subcommand)]
    Inventory(InventoryCmd),
    /// Manage the people who use the console: add, list, disable, enable,
    /// reset a password, make an API token.
    #[command(subcommand)]
    User(UserCmd),
    /// The audit log: `tocsin audit verify` checks its hash chain.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Threat intelligence: feeds' status, checking a feed file, importing
    /// the national center's list of botnet addresses.
    #[command(subcommand)]
    Intel(IntelCmd),
    /// Measure Tocsin on this machine (see docs/benchmarks.md).
    #[command(subcommand)]
    Bench(BenchCmd),
    /// Print the version.
    Version,
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

impl Command {
    /// Runs the command.
    pub fn run(self, config: &Config) -> anyhow::Result<()> {
        match self {
            Command::Version => {
                println!("tocsin {}", env!("CARGO_PKG_VERSION"));
                Ok(())
            }
            Command::Inventory(cmd) => runtime()?.block_on(inventory::run(cmd.into(), config)),
            Command::Serve => runtime()?.block_on(node::serve(config)),
            Command::User(cmd) => runtime()?.block_on(users::run(cmd.into(), config)),
            Command::Audit(AuditCmd::Verify) => runtime()?.block_on(users::verify_audit(config)),
            Command::Intel(cmd) => runtime()?.block_on(intel::run(
                match cmd {
                    IntelCmd::Status => intel::Command::Status,
                    IntelCmd::Check { path, format } => intel::Command::Check { path, format },
                    IntelCmd::ImportNational { path, source } => {
                        intel::Command::ImportNational { path, source }
                    }
                },
                config,
            )),
            Command::Demo(a) => runtime()?.block_on(demo::run(
                demo::DemoArgs {
                    listen: a.listen,
                    data_dir: a.data_dir,
                    no_serve: a.no_serve,
                },
                config,
            )),
            Command::Hunt(a) => hunt::run(
                hunt::HuntArgs {
                    paths: a.paths,
                    rules: a.rules,
                    output: match a.output {
                        HuntOutput::Table => hunt::HuntOutput::Table,
                        HuntOutput::Jsonl => hunt::HuntOutput::Jsonl,
                        HuntOutput::Csv => hunt::HuntOutput::Csv,
                    },
                    quiet: a.quiet,
                    no_routing: a.no_routing,
                    follow_links: a.follow_links,
                },
                config,
            ),
            Command::Bench(BenchCmd::Ingest(a)) => {
                tocsin_sim::bench::ingest(&tocsin_sim::bench::BenchIngest {
                    exe: match a.server {
                        Some(p) => p,
                        None => std::env::current_exe()?,
                    },
                    seconds: a.seconds,
                    connections: a.connections,
                    attack_every: a.attack_every,
                    paced_rate: a.paced_rate,
                    extra_config: match &a.extra_config {
                        Some(p) => std::fs::read_to_string(p)
                            .map_err(|e| anyhow::anyhow!("reading {}: {e}", p.display()))?,
                        None => String::new(),
                    },
                    indicators: a.indicators,
                })
            }
            Command::Bench(BenchCmd::Web(a)) => {
                use tocsin_sim::webquality as wq;
                let corpus = wq::load(&a.corpus, a.benign)?;
                let script = wq::peer_script(a.peer_script);
                let q = wq::evaluate(&corpus, Some(&a.python), &script);
                print!("{}", wq::report(&q));
                if a.show_flagged {
                    for l in &q.benign_flagged {
                        println!("flagged: {l}");
                    }
                }
                if a.show_missed {
                    for (c, lines) in &q.missed {
                        for l in lines {
                            println!("missed {c:?}: {l}");
                        }
                    }
                }
                Ok(())
            }
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum UserCmd {
    /// Create a user. The password is read from standard input (one line),
    /// or made with --generate and printed once.
    Add {
        /// Sign-in name.
        username: String,
        /// admin, analyst, leader, agency_contact or auditor.
        #[arg(long)]
        role: Role,
        /// The agency an agency contact speaks for (its code).
        #[arg(long)]
        agency: Option<String>,
        /// Full name as shown.
        #[arg(long)]
        name: Option<String>,
        /// Make a strong password and print it.
        #[arg(long)]
        generate: bool,
    },
    /// List users.
    List {
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Disable a user; their sessions end at once.
    Disable {
        /// Sign-in name.
        username: String,
    },
    /// Enable a disabled user.
    Enable {
        /// Sign-in name.
        username: String,
    },
    /// Set a new password (standard input, or --generate); sessions end.
    ResetPassword {
        /// Sign-in name.
        username: String,
        /// Make a strong password and print it.
        #[arg(long)]
        generate: bool,
    },
    /// Make a personal API token (printed once; only its digest is kept).
    Token {
        /// Sign-in name of the owner.
        username: String,
        /// What the token is for.
        #[arg(long, default_value = "cli")]
        name: String,
        /// Its role (default the owner's; never stronger).
        #[arg(long)]
        role: Option<Role>,
        /// Days until it expires (default: never).
        #[arg(long)]
        days: Option<i64>,
    },
}

impl From<UserCmd> for users::Command {
    fn from(c: UserCmd) -> Self {
        match c {
            UserCmd::Add {
                username,
                role,
                agency,
                name,
                generate,
            } => users::Command::Add {
                username,
                role,
                agency,
                display_name: name,
                generate,
            },
            UserCmd::List { json } => users::Command::List { json },
            UserCmd::Disable { username } => users::Command::Disable { username },
            UserCmd::Enable { username } => users::Command::Enable { username },
            UserCmd::ResetPassword { username, generate } => {
                users::Command::ResetPassword { username, generate }
            }
            UserCmd::Token {
                username,
                name,
                role,
                days,
            } => users::Command::Token {
                username,
                name,
                role,
                days,
            },
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Check the audit log's hash chain; exits non-zero when it is broken.
    Verify,
}

#[derive(Debug, Subcommand)]
pub enum IntelCmd {
    /// Each feed's last load (indicators, refused rows, last failure).
    Status,
    /// Read a feed file and report what it holds and every refused row,
    /// without changing anything.
    Check {
        /// The file.
        path: PathBuf,
        /// How it is written: feodo_csv, feodo_json, urlhaus_csv,
        /// threatfox_csv, plain, misp, stix, national_csv.
        #[arg(long, short = 'f')]
        format: intel::FeedFormat,
    },
    /// Import the national center's list of the province's addresses seen
    /// in botnets (the spreadsheet as sent, or a CSV: address, time,
    /// family, port, domain; Vietnamese or English headers) as sightings
    /// for the agencies owning them.
    ImportNational {
        /// The spreadsheet (.xlsx, .xls, .ods) or CSV file.
        path: PathBuf,
        /// The source name shown with the sightings.
        #[arg(long, default_value = "national")]
        source: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum BenchCmd {
    /// Syslog over TCP into `tocsin serve` (default rules) end to end,
    /// against a reader that only discards the bytes, in the same run.
    Ingest(BenchIngestArgs),
    /// The web-attack detectors on the shared corpus (OWASP CRS requests,
    /// libinjection's inputs) and generated portal requests: detection per
    /// class, false positives, speed, beside libinjection in the same run.
    Web(BenchWebArgs),
}

#[derive(Debug, Args)]
pub struct BenchWebArgs {
    /// The shared corpus (holding `crs/` and `libinjection/`).
    #[arg(long, default_value = "../shared/corpus")]
    pub corpus: PathBuf,
    /// A Python with the libinjection-python package, for the peer (no
    /// peer when it cannot import libinjection).
    #[arg(long, default_value = "python3")]
    pub python: PathBuf,
    /// The peer's script (default: scripts/libinjection_peer.py of the
    /// source tree this binary was built from).
    #[arg(long)]
    pub peer_script: Option<PathBuf>,
    /// Generated benign portal requests.
    #[arg(long, default_value_t = 100_000)]
    pub benign: usize,
    /// Also print up to 40 benign requests Tocsin flagged.
    #[arg(long)]
    pub show_flagged: bool,
    /// Also print the attack lines Tocsin missed, per class.
    #[arg(long)]
    pub show_missed: bool,
}

#[derive(Debug, Args)]
pub struct BenchIngestArgs {
    /// Seconds the generator sends in each run.
    #[arg(long, default_value_t = 20)]
    pub seconds: u64,
    /// Parallel TCP connections.
    #[arg(long, default_value_t = 2)]
    pub connections: usize,
    /// One line in N is an attack that raises an alert.
    #[arg(long, default_value_t = 1000)]
    pub attack_every: u64,
    /// Events per second of the paced run (latency without a backlog).
    #[arg(long, default_value_t = 100_000)]
    pub paced_rate: u64,
    /// The `tocsin` binary to measure as the server (default: this one).
    /// The same generator then drives two builds: compare before and after
    /// a change with one load.
    #[arg(long)]
    pub server: Option<PathBuf>,
    /// Threat-intelligence indicators the server loads first (a plain feed
    /// of 60 % IPv4, 25 % domains, 10 % URLs, 5 % hashes): measure ingest
    /// with them in force.
    #[arg(long, default_value_t = 0)]
    pub indicators: usize,
    /// A TOML file appended to the server's configuration (turn detectors
    /// off to measure what they cost: `[ingest.pipeline.web] enabled =
    /// false`).
    #[arg(long)]
    pub extra_config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address for the console.
    #[arg(long, default_value = "127.0.0.1:8080", env = "TOCSIN_LISTEN")]
    pub listen: SocketAddr,
    /// Directory for the demo database (recreated on every run).
    #[arg(long, default_value = "tocsin-data")]
    pub data_dir: PathBuf,
    /// Build the database and exit without serving.
    #[arg(long)]
    pub no_serve: bool,
}

#[derive(Debug, Args)]
pub struct HuntArgs {
    /// Files or directories (searched recursively).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Sigma rule files or directories. Default: Tocsin's own rule pack.
    #[arg(long, short = 'r')]
    pub rules: Vec<PathBuf>,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = HuntOutput::Table)]
    pub output: HuntOutput,
    /// Hide the progress bar.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Evaluate every rule on every event, ignoring `logsource` routing.
    #[arg(long)]
    pub no_routing: bool,
    /// Follow symbolic links that lead out of the given directories (links
    /// inside them are followed anyway; loops never are).
    #[arg(long)]
    pub follow_links: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HuntOutput {
    /// Aligned text, one match a line.
    Table,
    /// One JSON object per match.
    Jsonl,
    /// Comma-separated values with a header.
    Csv,
}

#[derive(Debug, Subcommand)]
pub enum InventoryCmd {
    /// Check inventory files; print every problem with file, line and field.
    Validate {
        /// .toml or .csv files, or directories holding them.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Import inventory files into the database (all or nothing).
    Import {
        /// .toml or .csv files, or directories holding them.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Make the database exactly these files (default: add and update by code).
        #[arg(long)]
        replace: bool,
        /// Validate the merged result and report, changing nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// List agencies or assets.
    List {
        /// What to list.
        #[arg(value_enum, default_value_t = ListWhat::Agencies)]
        what: ListWhat,
        /// Only this kind (department, commune, server, website, …).
        #[arg(long)]
        kind: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Export the stored inventory.
    Export {
        /// toml (one file) or csv (agencies.csv, contacts.csv, assets.csv).
        #[arg(long, value_enum, default_value_t = ExportFormat::Toml)]
        format: ExportFormat,
        /// Output file (toml) or directory (csv). Default: standard output (toml).
        #[arg(long, short = 'o')]
        out: Option<PathBuf>,
    },
    /// Which agency and asset an IP address belongs to.
    Lookup {
        /// IPv4 or IPv6 address.
        ip: std::net::IpAddr,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListWhat {
    Agencies,
    Assets,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Toml,
    Csv,
}

impl From<InventoryCmd> for inventory::Command {
    fn from(c: InventoryCmd) -> Self {
        match c {
            InventoryCmd::Validate { paths } => inventory::Command::Validate { paths },
            InventoryCmd::Import {
                paths,
                replace,
                dry_run,
            } => inventory::Command::Import {
                paths,
                replace,
                dry_run,
            },
            InventoryCmd::List { what, kind, json } => inventory::Command::List {
                what: match what {
                    ListWhat::Agencies => inventory::ListWhat::Agencies,
                    ListWhat::Assets => inventory::ListWhat::Assets,
                },
                kind,
                json,
            },
            InventoryCmd::Export { format, out } => inventory::Command::Export {
                format: match format {
                    ExportFormat::Toml => inventory::ExportFormat::Toml,
                    ExportFormat::Csv => inventory::ExportFormat::Csv,
                },
                out,
            },
            InventoryCmd::Lookup { ip } => inventory::Command::Lookup { ip },
        }
    }
}
