//! Reading evidence files for `tocsin hunt`: the bridge between files on
//! disk and the Sigma engine.
//!
//! [`Hunt::run`] walks files and directories (recursively), reads each by
//! its kind — `.evtx` (Windows event logs), `.json`/`.jsonl`/`.ndjson`/
//! `.log` (JSON lines, pretty-printed JSON objects or an array of them),
//! `.gz` / `.zst` (any of these, gzip- or zstd-compressed; Tocsin's raw
//! archive is `.jsonl.zst`), `.zip` (every member) — decodes every record
//! once into the engine's record, evaluates it, feeds the
//! [`tocsin_sigma::Correlator`], and reports matches to a [`Sink`].
//!
//! Evidence comes from compromised machines, so nothing in it is trusted
//! ([`ReadLimits`]): files are streamed through one bounded buffer, never
//! read whole; compressed data is inflated as it is read and stops at
//! `max_inflated`; a zip's declared sizes are not believed; an EVTX inside
//! an archive is inflated to a temporary file, not to memory; symbolic
//! links are followed only inside the given tree (unless told otherwise)
//! and never round a loop. A corrupt EVTX chunk, a malformed JSON record
//! or an unreadable file is counted and reported with file and position,
//! and the rest goes on.

mod files;
mod json_stream;
mod read;

pub use files::{FileKind, Inner, Walk, collect_files, file_kind};
pub use json_stream::{Item, JsonReader};
pub use read::ReadLimits;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};

use tocsin_sigma::{CorrelationMatch, Correlator, CorrelatorConfig, Engine, Level, Scratch};

/// One match: a rule (or correlation) that fired on a record.
#[derive(Debug)]
pub struct Hit<'a> {
    /// The rule (index into `engine.rules()`), or the correlation.
    pub what: HitKind<'a>,
    /// The file.
    pub file: &'a Path,
    /// Where in it: `line 12`, `record 4711`, `member.json line 3`.
    pub position: &'a str,
    /// The event's own timestamp, when it has one.
    pub timestamp: Option<&'a str>,
    /// The event as JSON text (as read; may span lines).
    pub event: &'a str,
}

/// What fired.
#[derive(Debug)]
pub enum HitKind<'a> {
    /// A detection rule.
    Rule(usize),
    /// A correlation rule, with its group and aggregate.
    Correlation(&'a CorrelationMatch),
    /// One of Tocsin's own detectors (web attacks in a request).
    Finding(&'a tocsin_model::Finding),
}

/// A record or file that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file.
    pub file: PathBuf,
    /// Where in it.
    pub position: String,
    /// Why.
    pub reason: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}: {}",
            self.file.display(),
            self.position,
            self.reason
        )
    }
}

/// Receives what a hunt finds.
pub trait Sink {
    /// A rule or correlation fired.
    fn hit(&mut self, hit: &Hit<'_>);
    /// A record or file was skipped. Default: ignore (it is counted anyway).
    fn problem(&mut self, _p: &Problem) {}
    /// A file was finished (progress). Default: nothing.
    fn file_done(&mut self, _file: &Path, _bytes: u64) {}
}

/// Totals of a hunt.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Stats {
    /// Files read.
    pub files: u64,
    /// Records evaluated.
    pub records: u64,
    /// Records skipped as malformed (and corrupt EVTX chunks).
    pub bad_records: u64,
    /// Files that could not be read at all.
    pub bad_files: u64,
    /// Matches per rule index.
    pub by_rule: BTreeMap<usize, u64>,
    /// Correlation matches per correlation index.
    pub by_correlation: BTreeMap<usize, u64>,
    /// Matches per level.
    pub by_level: BTreeMap<Level, u64>,
    /// Findings of Tocsin's own detectors, per detection.
    pub by_detector: BTreeMap<String, u64>,
}

impl Stats {
    /// Every match, rules and correlations.
    pub fn matches(&self) -> u64 {
        self.by_rule.values().sum::<u64>()
            + self.by_correlation.values().sum::<u64>()
            + self.by_detector.values().sum::<u64>()
    }
}

/// Where a record is in its file, formatted only when something is
/// reported about it.
#[derive(Clone, Copy)]
enum Pos<'m> {
    /// A line of a JSON file or archive member.
    Line(&'m str, usize),
    /// An EVTX record.
    Record(u64),
}

/// A hunt over files with one engine.
pub struct Hunt<'e> {
    engine: &'e Engine,
    scratch: Scratch,
    correlator: Correlator,
    limits: ReadLimits,
    /// Totals so far.
    pub stats: Stats,
    position: String,
    /// The web-attack detectors, for records that are web requests.
    web: tocsin_webattack::WebAttackDetector,
    web_worker: tocsin_webattack::WebWorker,
    found: Vec<tocsin_model::Finding>,
}

impl<'e> Hunt<'e> {
    /// A hunt with default correlation bounds and reading limits.
    pub fn new(engine: &'e Engine) -> Self {
        Hunt::with_limits(engine, ReadLimits::default())
    }

    /// A hunt reading within `limits`.
    pub fn with_limits(engine: &'e Engine, limits: ReadLimits) -> Self {
        Hunt {
            engine,
            scratch: engine.scratch(),
            correlator: Correlator::new(
                engine,
                CorrelatorConfig {
                    // A hunt's memory is bounded whatever the evidence.
                    max_bytes: 32 << 20,
                    ..CorrelatorConfig::default()
                },
            ),
            limits,
            stats: Stats::default(),
            position: String::new(),
            web: tocsin_webattack::WebAttackConfig::default().build(),
            web_worker: Default::default(),
            found: Vec::new(),
        }
    }

    /// Hunts every file under `paths`.
    pub fn run(&mut self, paths: &[PathBuf], sink: &mut dyn Sink) {
        let walk = collect_files(paths, self.limits.follow_links);
        self.run_walk(walk, sink);
    }

    /// Hunts the files of a walk ([`collect_files`]), reporting its
    /// problems first.
    pub fn run_walk(&mut self, walk: Walk, sink: &mut dyn Sink) {
        for m in walk.problems {
            self.stats.bad_files += 1;
            sink.problem(&m);
        }
        for f in walk.files {
            self.file(&f, sink);
        }
    }

    /// Hunts one file.
    pub fn file(&mut self, path: &Path, sink: &mut dyn Sink) {
        self.stats.files += 1;
        let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let r = match file_kind(path) {
            FileKind::Evtx => self.evtx_file(path, sink),
            FileKind::Json => std::fs::File::open(path)
                .map_err(|e| e.to_string())
                .and_then(|f| self.json(path, f, "", sink)),
            FileKind::Gzip(inner) => std::fs::File::open(path)
                .map_err(|e| e.to_string())
                .and_then(|f| {
                    let z = flate2::read::MultiGzDecoder::new(std::io::BufReader::new(f));
                    self.inner(path, inner, self.limits.capped(z, "gzip"), "", sink)
                }),
            FileKind::Zstd(inner) => std::fs::File::open(path)
                .and_then(zstd::Decoder::new)
                .map_err(|e| e.to_string())
                .and_then(|z| self.inner(path, inner, self.limits.capped(z, "zstd"), "", sink)),
            FileKind::Zip => self.zip(path, sink),
            FileKind::Other => Err(
                "not a log file Tocsin reads (.evtx, .json, .jsonl, .ndjson, .log, .gz, .zst, .zip)"
                    .into(),
            ),
        };
        if let Err(reason) = r {
            self.stats.bad_files += 1;
            sink.problem(&Problem {
                file: path.to_path_buf(),
                position: "file".into(),
                reason,
            });
        }
        sink.file_done(path, bytes);
    }

    /// Hunts what a decompressing reader gives.
    fn inner(
        &mut self,
        path: &Path,
        inner: Inner,
        r: impl Read,
        member: &str,
        sink: &mut dyn Sink,
    ) -> Result<(), String> {
        match inner {
            Inner::Json => self.json(path, r, member, sink),
            Inner::Evtx => {
                // The EVTX parser seeks; inflate to a temporary file, not
                // to memory.
                let f = read::spill(r).map_err(|e| format!("inflating the EVTX file: {e}"))?;
                self.evtx(path, f, sink)
            }
        }
    }

    fn zip(&mut self, path: &Path, sink: &mut dyn Sink) -> Result<(), String> {
        let f = std::fs::File::open(path).map_err(|e| e.to_string())?;
        let mut z = zip::ZipArchive::new(std::io::BufReader::new(f))
            .map_err(|e| format!("not a readable zip archive: {e}"))?;
        for i in 0..z.len() {
            let m = match z.by_index(i) {
                Ok(m) => m,
                Err(e) => {
                    self.stats.bad_records += 1;
                    sink.problem(&Problem {
                        file: path.to_path_buf(),
                        position: format!("member {i}"),
                        reason: e.to_string(),
                    });
                    continue;
                }
            };
            if m.is_dir() {
                continue;
            }
            let name = m
                .name()
                .map(|n| n.to_string())
                .unwrap_or_else(|_| format!("member {i}"));
            // macOS resource forks (`__MACOSX/._name.json`) ride along in
            // archives made on a Mac; they are not logs.
            if name.starts_with("__MACOSX/")
                || name.rsplit('/').next().is_some_and(|b| b.starts_with("._"))
            {
                continue;
            }
            let inner = match file_kind(Path::new(&name)) {
                FileKind::Evtx => Inner::Evtx,
                FileKind::Json => Inner::Json,
                _ => continue,
            };
            // The member's declared size is not believed: it is read as a
            // stream, capped like any inflated data.
            let r = self.limits.capped(m, "zip member");
            if let Err(reason) = self.inner(path, inner, r, &name, sink) {
                self.stats.bad_records += 1;
                sink.problem(&Problem {
                    file: path.to_path_buf(),
                    position: name,
                    reason,
                });
            }
        }
        Ok(())
    }

    /// Evaluates the JSON records `r` gives (`member` names a zip member).
    /// Errors are the stream's (a read or inflate error): what came before
    /// was hunted.
    pub fn json(
        &mut self,
        path: &Path,
        r: impl Read,
        member: &str,
        sink: &mut dyn Sink,
    ) -> Result<(), String> {
        let mut reader = JsonReader::new(r, self.limits.max_record);
        loop {
            match reader.next_item() {
                Ok(Some(Item::Record { line, text })) => {
                    self.eval(path, text, Pos::Line(member, line), sink);
                }
                Ok(Some(Item::Bad { line, reason })) => {
                    self.stats.bad_records += 1;
                    self.set_position(Pos::Line(member, line));
                    sink.problem(&Problem {
                        file: path.to_path_buf(),
                        position: self.position.clone(),
                        reason,
                    });
                }
                Ok(None) => return Ok(()),
                Err(e) => {
                    let at = reader.bytes_read();
                    return Err(format!(
                        "{e} (after {at} bytes; what came before was hunted)"
                    ));
                }
            }
        }
    }

    fn evtx_file(&mut self, path: &Path, sink: &mut dyn Sink) -> Result<(), String> {
        let f = std::fs::File::open(path).map_err(|e| e.to_string())?;
        self.evtx(path, f, sink)
    }

    fn evtx(
        &mut self,
        path: &Path,
        mut f: std::fs::File,
        sink: &mut dyn Sink,
    ) -> Result<(), String> {
        // The parser stops quietly at a cut-off chunk; say what is missing.
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let mut header = vec![0u8; EVTX_HEADER];
        let got = read_up_to(&mut f, &mut header).map_err(|e| e.to_string())?;
        header.truncate(got);
        if let Some(reason) = evtx_truncation(&header, len) {
            self.stats.bad_records += 1;
            sink.problem(&Problem {
                file: path.to_path_buf(),
                position: "evtx".into(),
                reason,
            });
        }
        std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(0)).map_err(|e| e.to_string())?;
        // One line per record, so a match is written as it was read.
        let settings = evtx::ParserSettings::default().num_threads(1).indent(false);
        let mut parser = evtx::EvtxParser::from_read_seek(std::io::BufReader::new(f))
            .map_err(|e| format!("not a readable EVTX file: {e}"))?
            .with_configuration(settings);
        for r in parser.records_json() {
            match r {
                Ok(rec) => {
                    self.eval(
                        path,
                        rec.data.as_bytes(),
                        Pos::Record(rec.event_record_id),
                        sink,
                    );
                }
                Err(e) => {
                    self.stats.bad_records += 1;
                    sink.problem(&Problem {
                        file: path.to_path_buf(),
                        position: "evtx".into(),
                        reason: format!("skipped a corrupt record or chunk: {e}"),
                    });
                }
            }
        }
        Ok(())
    }

    fn set_position(&mut self, pos: Pos<'_>) {
        self.position.clear();
        let _ = match pos {
            Pos::Line("", n) => write!(self.position, "line {n}"),
            Pos::Line(member, n) => write!(self.position, "{member} line {n}"),
            Pos::Record(id) => write!(self.position, "record {id}"),
        };
    }

    /// Web requests in the record (Tocsin's normalized web events, ECS
    /// `url.original`): the web-attack detectors' findings.
    fn web(&mut self, path: &Path, text: &[u8], pos: Pos<'_>, sink: &mut dyn Sink) {
        if memchr::memmem::find(text, b"original").is_none() {
            return;
        }
        let Ok(serde_json::Value::Object(o)) = serde_json::from_slice::<serde_json::Value>(text)
        else {
            return;
        };
        let get = |flat: &str| -> Option<String> {
            let v = o.get(flat).or_else(|| {
                let mut parts = flat.split('.');
                let mut cur = o.get(parts.next()?)?;
                for p in parts {
                    cur = cur.get(p)?;
                }
                Some(cur)
            })?;
            match v {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            }
        };
        let Some(url) = get("url.original") else {
            return;
        };
        let mut ev = tocsin_model::Event::new(
            tocsin_model::Timestamp::received(chrono::Utc::now()),
            tocsin_model::Observer::default(),
            "",
        );
        ev.category = tocsin_model::Category::Web;
        ev.fields.insert("url.original", url);
        for f in [
            "http.request.referrer",
            "user_agent.original",
            "http.request.method",
        ] {
            if let Some(v) = get(f) {
                ev.fields.insert(f, v);
            }
        }
        if let Some(s) = get("http.response.status_code").and_then(|s| s.parse::<i64>().ok()) {
            ev.fields.insert("http.response.status_code", s);
        }
        self.found.clear();
        self.web
            .findings(&mut self.web_worker, &ev, &mut self.found);
        if self.found.is_empty() {
            return;
        }
        let Ok(text) = simdutf8::basic::from_utf8(text) else {
            return;
        };
        self.set_position(pos);
        let ts_text = self
            .engine
            .event_time_text(&self.scratch.record)
            .map(str::to_string);
        for f in &self.found {
            *self.stats.by_detector.entry(f.rule_id.clone()).or_default() += 1;
            *self.stats.by_level.entry(f.level).or_default() += 1;
            sink.hit(&Hit {
                what: HitKind::Finding(f),
                file: path,
                position: &self.position,
                timestamp: ts_text.as_deref(),
                event: text,
            });
        }
    }

    fn eval(&mut self, path: &Path, text: &[u8], pos: Pos<'_>, sink: &mut dyn Sink) {
        let engine = self.engine;
        let matched = match engine.eval_json(text, &mut self.scratch) {
            Ok([]) => {
                self.stats.records += 1;
                self.web(path, text, pos, sink);
                return;
            }
            Ok(m) => m.to_vec(),
            Err(e) => {
                self.stats.bad_records += 1;
                self.set_position(pos);
                sink.problem(&Problem {
                    file: path.to_path_buf(),
                    position: self.position.clone(),
                    reason: e.to_string(),
                });
                return;
            }
        };
        self.stats.records += 1;
        self.web(path, text, pos, sink);
        // The decoder checked the bytes as UTF-8 already.
        let Ok(text) = simdutf8::basic::from_utf8(text) else {
            return;
        };
        self.set_position(pos);
        let ts_text = engine
            .event_time_text(&self.scratch.record)
            .map(str::to_string);
        for &r in &matched {
            let r = r as usize;
            if self.correlator.suppressed(r) {
                continue;
            }
            *self.stats.by_rule.entry(r).or_default() += 1;
            *self
                .stats
                .by_level
                .entry(engine.rules()[r].meta.level)
                .or_default() += 1;
            sink.hit(&Hit {
                what: HitKind::Rule(r),
                file: path,
                position: &self.position,
                timestamp: ts_text.as_deref(),
                event: text,
            });
        }
        if engine.correlations().is_empty() {
            return;
        }
        let ts = engine.event_time_ms(&self.scratch.record).unwrap_or(0);
        let fired = self
            .correlator
            .process(engine, &self.scratch.record, &matched, ts);
        for m in &fired {
            *self.stats.by_correlation.entry(m.correlation).or_default() += 1;
            *self
                .stats
                .by_level
                .entry(engine.correlations()[m.correlation].meta.level)
                .or_default() += 1;
            sink.hit(&Hit {
                what: HitKind::Correlation(m),
                file: path,
                position: &self.position,
                timestamp: ts_text.as_deref(),
                event: text,
            });
        }
    }
}

/// Reads until `buf` is full or the end; returns how many bytes came.
fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// EVTX: a 4 KiB header announcing its chunk count, then 64 KiB chunks.
const EVTX_HEADER: usize = 4096;
const EVTX_CHUNK: usize = 65536;

/// Why an EVTX file of `len` bytes is shorter than its header says, if it
/// is.
fn evtx_truncation(header: &[u8], len: u64) -> Option<String> {
    if header.len() < EVTX_HEADER || !header.starts_with(b"ElfFile\0") {
        return None; // not an EVTX header: the parser reports it
    }
    let announced = u64::from(u16::from_le_bytes([header[42], header[43]]));
    let body = len - EVTX_HEADER as u64;
    let (complete, partial) = (body / EVTX_CHUNK as u64, body % EVTX_CHUNK as u64);
    if partial != 0 || complete < announced {
        Some(format!(
            "file is truncated: {complete} complete chunk(s) of the {announced} its header announces{}; records beyond were not read",
            if partial != 0 {
                format!(", plus {partial} bytes of a cut-off chunk")
            } else {
                String::new()
            }
        ))
    } else {
        None
    }
}
