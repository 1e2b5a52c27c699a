//! Reading evidence files for `tocsin hunt`: the bridge between files on
//! disk and the Sigma engine.
//!
//! [`Hunt::run`] walks files and directories (recursively), reads each by
//! its kind — `.evtx` (Windows event logs), `.json`/`.jsonl`/`.ndjson`/
//! `.log` (JSON lines, pretty-printed JSON objects or an array of them),
//! `.gz` / `.zst` (any of these, gzip- or zstd-compressed; Tocsin's raw archive is `.jsonl.zst`), `.zip` (every member) — decodes
//! every record once into the engine's record, evaluates it, feeds the
//! [`tocsin_sigma::Correlator`], and reports matches to a [`Sink`].
//!
//! A corrupt EVTX chunk, a malformed JSON record or an unreadable file is
//! counted and reported with file and position, and the rest goes on.

mod files;
mod json_stream;

pub use files::{FileKind, Inner, collect_files, file_kind};
pub use json_stream::{JsonRecords, records as json_records};

use std::collections::BTreeMap;
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
}

impl Stats {
    /// Every match, rules and correlations.
    pub fn matches(&self) -> u64 {
        self.by_rule.values().sum::<u64>() + self.by_correlation.values().sum::<u64>()
    }
}

/// A hunt over files with one engine.
pub struct Hunt<'e> {
    engine: &'e Engine,
    scratch: Scratch,
    correlator: Correlator,
    /// Totals so far.
    pub stats: Stats,
    position: String,
}

impl<'e> Hunt<'e> {
    /// A hunt with default correlation bounds.
    pub fn new(engine: &'e Engine) -> Self {
        Hunt {
            engine,
            scratch: engine.scratch(),
            correlator: Correlator::new(engine, CorrelatorConfig::default()),
            stats: Stats::default(),
            position: String::new(),
        }
    }

    /// Hunts every file under `paths`.
    pub fn run(&mut self, paths: &[PathBuf], sink: &mut dyn Sink) {
        let (files, missing) = collect_files(paths);
        for m in missing {
            self.stats.bad_files += 1;
            sink.problem(&m);
        }
        for f in files {
            self.file(&f, sink);
        }
    }

    /// Hunts one file.
    pub fn file(&mut self, path: &Path, sink: &mut dyn Sink) {
        self.stats.files += 1;
        let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let r = match file_kind(path) {
            FileKind::Evtx => self.evtx(path, sink),
            FileKind::Json => std::fs::read(path)
                .map_err(|e| e.to_string())
                .map(|data| self.json(path, &data, "", sink)),
            FileKind::Gzip(inner) => read_gzip(path).and_then(|data| match inner {
                Inner::Evtx => self.evtx_bytes(path, data, sink),
                Inner::Json => {
                    self.json(path, &data, "", sink);
                    Ok(())
                }
            }),
            FileKind::Zstd(inner) => {
                // What decoded before a torn frame is hunted, then the
                // damage is reported.
                let (data, torn) = read_zstd(path);
                let r = match inner {
                    Inner::Evtx => self.evtx_bytes(path, data, sink),
                    Inner::Json => {
                        self.json(path, &data, "", sink);
                        Ok(())
                    }
                };
                r.and(torn.map_or(Ok(()), Err))
            }
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

    fn zip(&mut self, path: &Path, sink: &mut dyn Sink) -> Result<(), String> {
        let f = std::fs::File::open(path).map_err(|e| e.to_string())?;
        let mut z =
            zip::ZipArchive::new(f).map_err(|e| format!("not a readable zip archive: {e}"))?;
        for i in 0..z.len() {
            let mut m = match z.by_index(i) {
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
            let mut data = Vec::with_capacity(m.size() as usize);
            if let Err(e) = m.read_to_end(&mut data) {
                self.stats.bad_records += 1;
                sink.problem(&Problem {
                    file: path.to_path_buf(),
                    position: name,
                    reason: e.to_string(),
                });
                continue;
            }
            match file_kind(Path::new(&name)) {
                FileKind::Evtx => {
                    if let Err(e) = self.evtx_bytes(path, data, sink) {
                        sink.problem(&Problem {
                            file: path.to_path_buf(),
                            position: name,
                            reason: e,
                        });
                    }
                }
                FileKind::Json => self.json(path, &data, &name, sink),
                _ => {}
            }
        }
        Ok(())
    }

    /// Evaluates the JSON records of `data` (`member` names a zip member).
    pub fn json(&mut self, path: &Path, data: &[u8], member: &str, sink: &mut dyn Sink) {
        for rec in json_records(data) {
            self.position.clear();
            if !member.is_empty() {
                self.position.push_str(member);
                self.position.push(' ');
            }
            self.position.push_str("line ");
            self.position.push_str(&rec.line.to_string());
            match rec.text {
                Ok(text) => self.eval(path, text, sink),
                Err(reason) => {
                    self.stats.bad_records += 1;
                    sink.problem(&Problem {
                        file: path.to_path_buf(),
                        position: self.position.clone(),
                        reason,
                    });
                }
            }
        }
    }

    fn evtx(&mut self, path: &Path, sink: &mut dyn Sink) -> Result<(), String> {
        let data = std::fs::read(path).map_err(|e| e.to_string())?;
        self.evtx_bytes(path, data, sink)
    }

    fn evtx_bytes(
        &mut self,
        path: &Path,
        data: Vec<u8>,
        sink: &mut dyn Sink,
    ) -> Result<(), String> {
        // The parser stops quietly at a cut-off chunk; say what is missing.
        if let Some(reason) = evtx_truncation(&data) {
            self.stats.bad_records += 1;
            sink.problem(&Problem {
                file: path.to_path_buf(),
                position: "evtx".into(),
                reason,
            });
        }
        let settings = evtx::ParserSettings::default().num_threads(1);
        let mut parser = evtx::EvtxParser::from_buffer(data)
            .map_err(|e| format!("not a readable EVTX file: {e}"))?
            .with_configuration(settings);
        for r in parser.records_json() {
            match r {
                Ok(rec) => {
                    self.position.clear();
                    self.position.push_str("record ");
                    self.position.push_str(&rec.event_record_id.to_string());
                    self.eval(path, &rec.data, sink);
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

    fn eval(&mut self, path: &Path, text: &str, sink: &mut dyn Sink) {
        let engine = self.engine;
        let matched = match engine.eval_json(text.as_bytes(), &mut self.scratch) {
            Ok(m) => m.to_vec(),
            Err(e) => {
                self.stats.bad_records += 1;
                sink.problem(&Problem {
                    file: path.to_path_buf(),
                    position: self.position.clone(),
                    reason: e.to_string(),
                });
                return;
            }
        };
        self.stats.records += 1;
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

/// EVTX: a 4 KiB header announcing its chunk count, then 64 KiB chunks.
const EVTX_HEADER: usize = 4096;
const EVTX_CHUNK: usize = 65536;

/// Why an EVTX buffer is shorter than its header says, if it is.
fn evtx_truncation(data: &[u8]) -> Option<String> {
    if data.len() < EVTX_HEADER || !data.starts_with(b"ElfFile\0") {
        return None; // not an EVTX header: the parser reports it
    }
    let announced = usize::from(u16::from_le_bytes([data[42], data[43]]));
    let body = data.len() - EVTX_HEADER;
    let (complete, partial) = (body / EVTX_CHUNK, body % EVTX_CHUNK);
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

/// A zstd file; every complete frame is read (the raw archive appends one
/// per batch), and a torn last frame is an error after what came before.
fn read_zstd(path: &Path) -> (Vec<u8>, Option<String>) {
    let mut out = Vec::new();
    let res = std::fs::File::open(path)
        .and_then(zstd::Decoder::new)
        .and_then(|mut d| d.read_to_end(&mut out));
    match res {
        Ok(_) => (out, None),
        // A partial last line is not an event: cut back to the last newline.
        Err(e) => {
            let keep = out.iter().rposition(|c| *c == b'\n').map_or(0, |i| i + 1);
            out.truncate(keep);
            (out, Some(format!("zstd: {e} (after {keep} bytes)")))
        }
    }
}

fn read_gzip(path: &Path) -> Result<Vec<u8>, String> {
    let f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(std::io::BufReader::new(f))
        .read_to_end(&mut out)
        .map_err(|e| format!("gzip: {e}"))?;
    Ok(out)
}
