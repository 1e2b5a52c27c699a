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
    /// Follow symbolic links out of the given directories.
    pub follow_links: bool,
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
    /// Per rule, the start of its JSONL line (id, title and level, escaped
    /// once).
    rule_prefix: Vec<Option<Vec<u8>>>,
    /// The file of the last hit, and its name escaped for JSON and CSV.
    file: (PathBuf, String, String),
    /// A CSV line being built.
    line: Vec<u8>,
    /// The last event made a CSV field: its position, address and length,
    /// and the field. A record's hits come one after another, so an event
    /// matching several rules is escaped once.
    csv_event: (String, usize, usize, Vec<u8>),
}

/// `s` as a JSON string.
fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Writes an event's JSON text on one line: it is written as it was read,
/// not parsed again. Line breaks in JSON text can only be whitespace
/// between tokens (strings escape theirs; the decoder checked the text), so
/// they become spaces.
fn write_event_line(w: &mut impl Write, event: &[u8]) -> std::io::Result<()> {
    let mut rest = event;
    while let Some(i) = memchr::memchr2(b'\n', b'\r', rest) {
        w.write_all(&rest[..i])?;
        w.write_all(b" ")?;
        rest = &rest[i + 1..];
    }
    w.write_all(rest)
}

/// Appends an event as one quoted CSV field to `out` (built whole, then
/// written once: JSON has many quotes, each doubled).
fn event_csv(out: &mut Vec<u8>, event: &[u8]) {
    out.reserve(event.len() + event.len() / 8 + 2);
    out.push(b'"');
    let mut rest = event;
    while let Some(i) = memchr::memchr3(b'"', b'\n', b'\r', rest) {
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(if rest[i] == b'"' { b"\"\"" } else { b" " });
        rest = &rest[i + 1..];
    }
    out.extend_from_slice(rest);
    out.push(b'"');
}

impl<W: Write> Out<'_, W> {
    fn write_hit(&mut self, h: &Hit<'_>) -> std::io::Result<()> {
        if self.file.0 != h.file {
            let shown = h.file.display().to_string();
            self.file = (h.file.to_path_buf(), json_str(&shown), csv_field(&shown));
            // Positions start again in another file.
            self.csv_event.0.clear();
            self.csv_event.2 = usize::MAX;
        }
        let (agency, asset) = self
            .attribute
            .as_ref()
            .map(|a| a.of(h.event))
            .unwrap_or_default();
        match self.format {
            HuntOutput::Table => self.table(h, agency),
            HuntOutput::Jsonl => self.jsonl(h, agency, asset),
            HuntOutput::Csv => self.csv(h, agency, asset),
        }
    }

    /// Id, title, level and class of what fired.
    fn meta<'h>(&'h self, h: &'h Hit<'_>) -> What<'h> {
        let rule = |m: &'h tocsin_sigma::RuleMeta| What {
            id: m.id.as_deref().unwrap_or_default(),
            title: &m.title,
            level: m.level,
            class: tocsin_detect::class_of(m),
        };
        match &h.what {
            HitKind::Rule(r) => rule(&self.engine.rules()[*r].meta),
            HitKind::Correlation(c) => rule(&self.engine.correlations()[c.correlation].meta),
            HitKind::Finding(f) => What {
                id: &f.rule_id,
                title: &f.title,
                level: f.level,
                class: f.class,
            },
        }
    }

    fn correlation(h: &Hit<'_>) -> Option<serde_json::Value> {
        let HitKind::Correlation(c) = &h.what else {
            return None;
        };
        let group: serde_json::Map<String, serde_json::Value> = c
            .group
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::from(v.clone())))
            .collect();
        Some(
            serde_json::json!({"group": group, "value": c.value, "events": c.events, "first_ms": c.first_ms, "last_ms": c.last_ms}),
        )
    }

    fn table(&mut self, h: &Hit<'_>, agency: Option<String>) -> std::io::Result<()> {
        let m = self.meta(h);
        let (title, level) = (m.title.to_string(), m.level);
        let what = match (Self::correlation(h), &h.what) {
            (Some(e), _) => format!("{title} {}", e["group"]),
            (None, HitKind::Finding(f)) => {
                format!("{title}: {}", f.summary.as_deref().unwrap_or(""))
            }
            (None, _) => title,
        };
        let whose = agency.map(|a| format!(" ({a})")).unwrap_or_default();
        writeln!(
            self.w,
            "{:<28} {:<13} {what}{whose}  [{} {}]",
            h.timestamp.unwrap_or(""),
            level.as_str(),
            h.file.display(),
            h.position
        )
    }

    fn jsonl(
        &mut self,
        h: &Hit<'_>,
        agency: Option<String>,
        asset: Option<String>,
    ) -> std::io::Result<()> {
        let prefix = match &h.what {
            HitKind::Rule(r) => {
                let r = *r;
                if self.rule_prefix.len() <= r {
                    self.rule_prefix.resize(r + 1, None);
                }
                if self.rule_prefix[r].is_none() {
                    self.rule_prefix[r] = Some(jsonl_prefix(self.meta(h)));
                }
                None
            }
            HitKind::Correlation(_) | HitKind::Finding(_) => Some(jsonl_prefix(self.meta(h))),
        };
        let prefix = match (&prefix, &h.what) {
            (Some(p), _) => p.as_slice(),
            (None, HitKind::Rule(r)) => self.rule_prefix[*r].as_deref().unwrap_or_default(),
            (None, _) => &[],
        };
        let w = &mut self.w;
        w.write_all(prefix)?;
        w.write_all(b",\"timestamp\":")?;
        match h.timestamp {
            Some(t) => w.write_all(json_str(t).as_bytes())?,
            None => w.write_all(b"null")?,
        }
        w.write_all(b",\"file\":")?;
        w.write_all(self.file.1.as_bytes())?;
        w.write_all(b",\"position\":")?;
        w.write_all(json_str(h.position).as_bytes())?;
        if self.attribute.is_some() {
            let opt = |v: Option<String>| v.map_or_else(|| "null".to_string(), |s| json_str(&s));
            write!(w, ",\"agency\":{},\"asset\":{}", opt(agency), opt(asset))?;
        }
        if let Some(c) = Self::correlation(h) {
            write!(w, ",\"correlation\":{c}")?;
        }
        if let HitKind::Finding(f) = &h.what {
            write!(
                w,
                ",\"summary\":{}",
                json_str(f.summary.as_deref().unwrap_or(""))
            )?;
        }
        w.write_all(b",\"event\":")?;
        write_event_line(w, h.event.as_bytes())?;
        w.write_all(b"}\n")
    }

    fn csv(
        &mut self,
        h: &Hit<'_>,
        agency: Option<String>,
        asset: Option<String>,
    ) -> std::io::Result<()> {
        let mut line = std::mem::take(&mut self.line);
        let m = self.meta(h);
        line.clear();
        let _ = write!(
            line,
            "{},{},{},{},{},{},",
            csv_field(h.timestamp.unwrap_or("")),
            m.level.as_str(),
            csv_field(m.id),
            csv_field(m.title),
            self.file.2,
            csv_field(h.position),
        );
        let key = (h.event.as_ptr() as usize, h.event.len());
        let cached = &mut self.csv_event;
        if (cached.1, cached.2) != key || cached.0 != h.position {
            cached.0.clear();
            cached.0.push_str(h.position);
            (cached.1, cached.2) = key;
            cached.3.clear();
            event_csv(&mut cached.3, h.event.as_bytes());
        }
        line.extend_from_slice(&cached.3);
        let _ = writeln!(
            line,
            ",{},{}",
            csv_field(agency.as_deref().unwrap_or("")),
            csv_field(asset.as_deref().unwrap_or(""))
        );
        let r = self.w.write_all(&line);
        self.line = line;
        r
    }
}

/// What fired, as the outputs show it.
struct What<'a> {
    id: &'a str,
    title: &'a str,
    level: tocsin_model::Level,
    class: tocsin_model::AttackClass,
}

/// `{"rule_id":…,"rule_title":…,"level":…,"class":…` of a hit's JSONL line.
fn jsonl_prefix(m: What<'_>) -> Vec<u8> {
    format!(
        "{{\"rule_id\":{},\"rule_title\":{},\"level\":{},\"class\":{}",
        json_str(m.id),
        json_str(m.title),
        json_str(m.level.as_str()),
        json_str(m.class.as_str())
    )
    .into_bytes()
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
    // Hunts run on analysts' workstations beside everything else: memory
    // is held to the engine and one read buffer. Transparent huge pages
    // would make every 2 MiB the allocator touches resident (180 MiB peak
    // instead of 137 for the SigmaHQ rules), for ~10% speed.
    let _ = rustix::thread::disable_transparent_huge_pages(true);
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
    let mut limits = config.hunt.limits();
    limits.follow_links |= args.follow_links;
    let walk = tocsin_hunt::collect_files(&args.paths, limits.follow_links);
    let total: u64 = walk
        .files
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
        w: std::io::BufWriter::with_capacity(1 << 20, stdout.lock()),
        format: args.output,
        engine: &engine,
        attribute,
        problems: 0,
        show_problems: true,
        bar,
        error: None,
        rule_prefix: Vec::new(),
        file: (PathBuf::new(), String::new(), String::new()),
        line: Vec::new(),
        csv_event: (String::new(), 0, 0, Vec::new()),
    };
    if args.output == HuntOutput::Csv {
        writeln!(
            out.w,
            "timestamp,level,rule_id,rule_title,file,position,event,agency,asset"
        )?;
    }
    let missing = walk.missing;
    let mut hunt = Hunt::with_limits(&engine, limits);
    hunt.run_walk(walk, &mut out);
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
    // As grep and ripgrep do: what could be read was hunted, but a path
    // that is not there is an error the caller must see.
    if missing > 0 {
        bail!("{missing} of the given paths do not exist (the others were hunted)");
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
