//! `tocsin hunt`: Sigma rules over evidence files.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use tocsin_detect::AttributionPolicy;
use tocsin_hunt::{Hit, HitKind, Hunt, Problem, Sink, Stats};
use tocsin_sigma::{Engine, Level};

use crate::config::Config;
use crate::rules::build_engine;

/// How `tocsin hunt` writes its matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HuntOutput {
    /// Aligned text, one match a line.
    Table,
    /// One JSON object per match.
    Jsonl,
    /// Comma-separated values with a header.
    Csv,
}

/// What `tocsin hunt` was asked.
#[derive(Debug, Clone)]
pub struct HuntArgs {
    /// Files or directories (searched recursively).
    pub paths: Vec<PathBuf>,
    /// Sigma rule files or directories (default: the configuration's, else
    /// Tocsin's own pack).
    pub rules: Vec<PathBuf>,
    /// Output format.
    pub output: HuntOutput,
    /// No progress bar.
    pub quiet: bool,
    /// Evaluate every rule on every event, ignoring `logsource` routing.
    pub no_routing: bool,
}

/// The agency and asset of a hit's event, by the pipeline's attribution
/// policy over the stored inventory (when there is one).
struct Attribute {
    policy: AttributionPolicy,
    parser: tocsin_parse::Parser,
}

impl Attribute {
    /// The policy over the configured database's inventory; none when the
    /// database does not exist yet (hunting needs no database).
    async fn load(config: &Config) -> Option<Attribute> {
        let url = &config.database.url;
        let sqlite_path = (!url.contains("://") || url.starts_with("sqlite:")).then(|| {
            url.trim_start_matches("sqlite://")
                .trim_start_matches("sqlite:")
        });
        if sqlite_path.is_some_and(|p| p.contains(":memory:") || !Path::new(p).exists()) {
            return None;
        }
        let store = match config.database.build().await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("note: no attribution to agencies ({e})");
                return None;
            }
        };
        let version = store.inventory_version().await.ok()?;
        let inv = store.load_inventory().await.ok()?;
        store.close().await;
        if inv.agencies.is_empty() {
            return None;
        }
        Some(Attribute {
            policy: AttributionPolicy::new(version, Arc::new(inv), &Default::default()),
            parser: tocsin_parse::ParserConfig::default().build(),
        })
    }

    /// (agency, asset) codes of a hit's event.
    fn of(&self, event: &str) -> (Option<String>, Option<String>) {
        let rx = tocsin_parse::Received {
            input: "hunt",
            at: chrono::Utc::now(),
            peer: None,
        };
        let mut ev = self
            .parser
            .parse(tocsin_parse::Format::Auto, event.as_bytes(), &rx);
        self.policy.attribute(&mut ev, "hunt", None, None);
        (
            ev.attribution.agency.map(|a| a.0),
            ev.attribution.asset.map(|a| a.0),
        )
    }
}

struct Out<'e, W: Write> {
    w: W,
    format: HuntOutput,
    engine: &'e Engine,
    attribute: Option<Attribute>,
    problems: u64,
    show_problems: bool,
    bar: Option<indicatif::ProgressBar>,
    error: Option<std::io::Error>,
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

impl<W: Write> Out<'_, W> {
    fn write_hit(&mut self, h: &Hit<'_>) -> std::io::Result<()> {
        let engine = self.engine;
        let (id, title, level, extra) = match &h.what {
            HitKind::Rule(r) => {
                let m = &engine.rules()[*r].meta;
                (
                    m.id.clone().unwrap_or_default(),
                    m.title.clone(),
                    m.level,
                    None,
                )
            }
            HitKind::Correlation(c) => {
                let m = &engine.correlations()[c.correlation].meta;
                let group: serde_json::Map<String, serde_json::Value> = c
                    .group
                    .iter()
                    .map(|(k, v)| (k.clone(), serde_json::Value::from(v.clone())))
                    .collect();
                let extra = serde_json::json!({"group": group, "value": c.value, "events": c.events, "first_ms": c.first_ms, "last_ms": c.last_ms});
                (
                    m.id.clone().unwrap_or_default(),
                    m.title.clone(),
                    m.level,
                    Some(extra),
                )
            }
        };
        let ts = h.timestamp.unwrap_or("");
        let file = h.file.display().to_string();
        let (agency, asset) = self
            .attribute
            .as_ref()
            .map(|a| a.of(h.event))
            .unwrap_or_default();
        match self.format {
            HuntOutput::Table => {
                let what = match &extra {
                    Some(e) => format!("{title} {}", e["group"]),
                    None => title,
                };
                let whose = agency.map(|a| format!(" ({a})")).unwrap_or_default();
                writeln!(
                    self.w,
                    "{ts:<28} {:<13} {what}{whose}  [{file} {}]",
                    level.as_str(),
                    h.position
                )
            }
            HuntOutput::Jsonl => {
                // Re-serialise so a pretty-printed record stays on one line.
                let event: serde_json::Value =
                    serde_json::from_str(h.event).unwrap_or(serde_json::Value::Null);
                let mut o = serde_json::json!({
                    "rule_id": id, "rule_title": title, "level": level.as_str(),
                    "timestamp": h.timestamp, "file": file, "position": h.position, "event": event,
                });
                if let Some(e) = extra {
                    o["correlation"] = e;
                }
                if self.attribute.is_some() {
                    o["agency"] = agency.into();
                    o["asset"] = asset.into();
                }
                writeln!(self.w, "{o}")
            }
            HuntOutput::Csv => {
                let event: serde_json::Value =
                    serde_json::from_str(h.event).unwrap_or(serde_json::Value::Null);
                writeln!(
                    self.w,
                    "{},{},{},{},{},{},{},{},{}",
                    csv_field(ts),
                    level.as_str(),
                    csv_field(&id),
                    csv_field(&title),
                    csv_field(&file),
                    csv_field(h.position),
                    csv_field(&event.to_string()),
                    csv_field(agency.as_deref().unwrap_or("")),
                    csv_field(asset.as_deref().unwrap_or(""))
                )
            }
        }
    }
}

impl<W: Write> Sink for Out<'_, W> {
    fn hit(&mut self, h: &Hit<'_>) {
        if self.error.is_none()
            && let Err(e) = self.write_hit(h)
        {
            self.error = Some(e);
        }
    }

    fn problem(&mut self, p: &Problem) {
        self.problems += 1;
        if self.show_problems && self.problems <= 20 {
            let line = format!("warning: {p}");
            match &self.bar {
                Some(b) => b.println(line),
                None => eprintln!("{line}"),
            }
        }
    }

    fn file_done(&mut self, _file: &Path, bytes: u64) {
        if let Some(b) = &self.bar {
            b.inc(bytes);
        }
    }
}

/// Runs `tocsin hunt`.
pub fn run(args: HuntArgs, config: &Config) -> anyhow::Result<()> {
    let rules = if args.rules.is_empty() {
        config.hunt.rules.clone()
    } else {
        args.rules.clone()
    };
    let engine_cfg = config.hunt.engine(!args.no_routing);
    let (engine, report) = build_engine(&rules, engine_cfg);
    for e in &report.errors {
        eprintln!("rule not loaded: {e}");
    }
    for w in &report.warnings {
        eprintln!("rule warning: {w}");
    }
    if engine.rules().is_empty() && engine.correlations().is_empty() {
        bail!("no rule could be loaded ({} errors)", report.errors.len());
    }
    eprintln!(
        "{} rules and {} correlations loaded{}",
        report.rules,
        report.correlations,
        if report.errors.is_empty() {
            String::new()
        } else {
            format!(", {} not loaded (listed above)", report.errors.len())
        }
    );
    let (files, _) = tocsin_hunt::collect_files(&args.paths);
    let total: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    let bar = (!args.quiet && std::io::stderr().is_terminal()).then(|| {
        let b = indicatif::ProgressBar::new(total);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {elapsed} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    let attribute = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()
        .and_then(|rt| rt.block_on(Attribute::load(config)));
    let stdout = std::io::stdout();
    let mut out = Out {
        w: std::io::BufWriter::new(stdout.lock()),
        format: args.output,
        engine: &engine,
        attribute,
        problems: 0,
        show_problems: true,
        bar,
        error: None,
    };
    if args.output == HuntOutput::Csv {
        writeln!(
            out.w,
            "timestamp,level,rule_id,rule_title,file,position,event,agency,asset"
        )?;
    }
    let mut hunt = Hunt::new(&engine);
    hunt.run(&args.paths, &mut out);
    if let Some(b) = &out.bar {
        b.finish_and_clear();
    }
    if let Some(e) = out.error.take() {
        return Err(e).context("cannot write the results");
    }
    out.w.flush()?;
    drop(out);
    let summary = summary(&engine, &hunt.stats);
    if args.output == HuntOutput::Table {
        print!("{summary}");
    } else {
        eprint!("{summary}");
    }
    Ok(())
}

fn summary(engine: &Engine, s: &Stats) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "\n{} files, {} records, {} matches; {} malformed records skipped, {} files unreadable\n",
        s.files,
        s.records,
        s.matches(),
        s.bad_records,
        s.bad_files
    ));
    for l in Level::ALL.iter().rev() {
        if let Some(n) = s.by_level.get(l) {
            out.push_str(&format!("  {:<13} {n}\n", l.as_str()));
        }
    }
    let mut rows: Vec<(u64, String, Level)> = s
        .by_rule
        .iter()
        .map(|(r, n)| {
            (
                *n,
                engine.rules()[*r].meta.title.clone(),
                engine.rules()[*r].meta.level,
            )
        })
        .chain(s.by_correlation.iter().map(|(c, n)| {
            let m = &engine.correlations()[*c].meta;
            (*n, format!("{} (correlation)", m.title), m.level)
        }))
        .collect();
    rows.sort_by(|a, b| b.2.cmp(&a.2).then(b.0.cmp(&a.0)).then(a.1.cmp(&b.1)));
    if !rows.is_empty() {
        out.push_str("matches per rule:\n");
        for (n, title, level) in rows {
            out.push_str(&format!("  {n:>8}  {:<13} {title}\n", level.as_str()));
        }
    }
    out
}
