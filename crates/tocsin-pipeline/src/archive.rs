//! The raw archive: every record as received, with its normalized fields,
//! in hourly zstd-compressed JSON-lines files per input —
//! `<dir>/<input>/<YYYY-MM-DDTHH>.jsonl.zst` (UTC hours) — that
//! `tocsin hunt` reads back (`tocsin hunt <dir>/syslog-tcp`).
//!
//! Each pipeline batch appends one complete zstd frame per file it touches
//! (compressed on the workers, appended in order, fsynced before the batch
//! commits), so a file is readable while it grows and a crash can only
//! leave a torn last frame, which readers report and skip. The archive
//! remembers how far in the queue it got (`.position`), so a batch replayed
//! after a crash is not archived twice; lines carry `tocsin.seq`, the queue
//! position, all the same.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value as J};
use tocsin_model::Event;

/// An hour (since the epoch, as [`tocsin_queue::hour_of`]) as text:
/// `2026-11-24T03`.
fn hour_text(hour: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp(hour * 3600, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H")
        .to_string()
}

/// `[ingest.archive]`
#[derive(Clone, Debug, Default, serde::Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ArchiveConfig {
    /// Keep the raw archive.
    pub enabled: bool,
    /// Where; default `<data dir>/archive`.
    pub dir: Option<PathBuf>,
    /// Hourly files older than this many days are deleted (checked every
    /// hour); unset keeps everything.
    pub keep_days: Option<u32>,
}

/// A file name for an input: letters, digits, `-`, `_` and `.` kept.
fn safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The archive file of an input's hour, relative to the archive directory.
pub fn relative_path(input: &str, hour: i64) -> String {
    format!("{}/{}.jsonl.zst", safe(input), hour_text(hour))
}

/// One archived line: the normalized fields flat (as hunting and live
/// detection name them), the original record and where it came from.
pub fn line(ev: &Event, seq: u64, received_us: i64) -> Vec<u8> {
    let mut m = Map::new();
    m.insert(
        "@timestamp".into(),
        J::String(ev.timestamp.utc.to_rfc3339()),
    );
    for (k, v) in ev.fields.iter() {
        m.insert(k.to_string(), serde_json::to_value(v).unwrap_or(J::Null));
    }
    m.insert("event.original".into(), J::String(ev.original.clone()));
    m.insert("observer.name".into(), J::String(ev.observer.name.clone()));
    if let Some(a) = &ev.attribution.agency {
        m.insert("organization.id".into(), J::String(a.as_str().to_string()));
    }
    if let Some(a) = &ev.attribution.asset {
        m.insert("tocsin.asset".into(), J::String(a.as_str().to_string()));
    }
    if let Some(e) = &ev.parse_error {
        m.insert("error.message".into(), J::String(e.clone()));
    }
    m.insert("tocsin.seq".into(), J::from(seq));
    m.insert(
        "tocsin.received".into(),
        J::String(
            chrono::DateTime::<chrono::Utc>::from_timestamp_micros(received_us)
                .unwrap_or_default()
                .to_rfc3339(),
        ),
    );
    let mut out = serde_json::to_vec(&m).unwrap_or_default();
    out.push(b'\n');
    out
}

/// Lines grouped by file, in arrival order, ready to compress.
#[derive(Default)]
pub struct Pending {
    groups: Vec<((String, i64), Vec<u8>)>,
}

impl Pending {
    /// Adds one line for `input` at `hour`.
    pub fn push(&mut self, input: &str, hour: i64, line: &[u8]) {
        match self.groups.last_mut() {
            Some(((i, h), buf)) if i == input && *h == hour => buf.extend_from_slice(line),
            _ => match self
                .groups
                .iter_mut()
                .find(|((i, h), _)| i == input && *h == hour)
            {
                Some((_, buf)) => buf.extend_from_slice(line),
                None => self.groups.push(((input.to_string(), hour), line.to_vec())),
            },
        }
    }

    /// One zstd frame per file.
    pub fn compress(self) -> Vec<Frame> {
        self.groups
            .into_iter()
            .map(|((input, hour), text)| Frame {
                path: relative_path(&input, hour),
                bytes: zstd::bulk::compress(&text, 3).unwrap_or_default(),
            })
            .collect()
    }
}

/// A compressed frame for one file.
pub struct Frame {
    /// Relative to the archive directory.
    pub path: String,
    /// One complete zstd frame.
    pub bytes: Vec<u8>,
}

/// Appends frames to the archive's files.
#[derive(Debug)]
pub struct Archive {
    dir: PathBuf,
    keep_hours: Option<i64>,
    /// Queue positions below this are archived already (kept in
    /// `<dir>/.position`): a batch replayed after a crash is not archived a
    /// second time.
    upto: std::sync::atomic::AtomicU64,
    /// Torn bytes cut at open.
    torn: u64,
}

/// Cuts a torn last frame from the newest file of each input (the one a
/// crash can have been appending to); returns the bytes cut. A frame is
/// whole when zstd can size it from its header and the bytes are there.
fn cut_torn_frames(dir: &Path) -> u64 {
    let Ok(inputs) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut cut = 0;
    for input in inputs.flatten().map(|e| e.path()).filter(|p| p.is_dir()) {
        let newest = std::fs::read_dir(&input).ok().and_then(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.to_string_lossy().ends_with(".jsonl.zst"))
                .max()
        });
        let Some(path) = newest else { continue };
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let mut good = 0;
        while good < bytes.len() {
            match zstd::zstd_safe::find_frame_compressed_size(&bytes[good..]) {
                Ok(n) if n > 0 && good + n <= bytes.len() => good += n,
                _ => break,
            }
        }
        if good < bytes.len() {
            let torn = (bytes.len() - good) as u64;
            tracing::warn!(file = %path.display(), bytes = torn, "raw archive: cutting a torn last frame (a crash while it was written)");
            if let Ok(f) = OpenOptions::new().write(true).open(&path)
                && f.set_len(good as u64).is_ok()
            {
                cut += torn;
            }
        }
    }
    cut
}

/// The file that remembers how far the archive got.
const POSITION_FILE: &str = ".position";

/// The hour (as [`tocsin_queue::hour_of`]) of an archive file name.
pub(crate) fn hour_of_name(name: &str) -> Option<i64> {
    let stem = name.strip_suffix(".jsonl.zst")?;
    let (day, hour) = stem.split_once('T')?;
    let day = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?;
    let hour: u32 = hour.parse().ok().filter(|h| *h < 24)?;
    let t = day.and_hms_opt(hour, 0, 0)?.and_utc().timestamp();
    Some(t.div_euclid(3600))
}

impl Archive {
    /// An archive in `dir`, keeping everything.
    pub fn new(dir: PathBuf) -> Self {
        let upto = std::fs::read_to_string(dir.join(POSITION_FILE))
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(0);
        let torn = cut_torn_frames(&dir);
        Archive {
            dir,
            keep_hours: None,
            upto: upto.into(),
            torn,
        }
    }

    /// Bytes of torn frames cut from the newest files at open (a crash
    /// while appending a frame).
    pub fn torn_bytes(&self) -> u64 {
        self.torn
    }

    /// Appends each frame, remembering every file touched and its length
    /// before, then syncs them.
    fn append_all(
        &self,
        frames: &[Frame],
        touched: &mut Vec<(std::fs::File, u64)>,
    ) -> std::io::Result<()> {
        for f in frames {
            if f.bytes.is_empty() {
                continue;
            }
            let path = self.dir.join(&f.path);
            if let Some(d) = path.parent() {
                std::fs::create_dir_all(d)?;
            }
            let mut file = OpenOptions::new().create(true).append(true).open(&path)?;
            let before = file.metadata()?.len();
            // Remembered before writing: a failure cuts this one back too.
            touched.push((file.try_clone()?, before));
            file.write_all(&f.bytes)?;
        }
        for (f, _) in touched.iter() {
            f.sync_data()?;
        }
        Ok(())
    }

    /// Queue positions below this are in the archive already.
    pub fn archived_upto(&self) -> u64 {
        self.upto.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Deletes hourly files once older than `days` days (see [`Archive::prune`]).
    pub fn keeping_days(mut self, days: Option<u32>) -> Self {
        self.keep_hours = days.map(|d| i64::from(d) * 24);
        self
    }

    /// Deletes the files of hours more than the kept days before `now_hour`;
    /// returns how many. Other files in the directory are left alone.
    pub fn prune(&self, now_hour: i64) -> std::io::Result<u64> {
        let Some(keep) = self.keep_hours else {
            return Ok(0);
        };
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        let mut removed = 0;
        for input in entries {
            let input = input?.path();
            if !input.is_dir() {
                continue;
            }
            for f in std::fs::read_dir(&input)? {
                let path = f?.path();
                let old = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(hour_of_name)
                    .is_some_and(|h| h < now_hour - keep);
                if old {
                    std::fs::remove_file(&path)?;
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends every frame, makes them durable, then records that the
    /// queue positions below `upto` are archived. (That note is not fsynced:
    /// a process crash keeps it, only a power loss can make a replay archive
    /// a batch twice — its lines carry `tocsin.seq` to tell them apart.)
    ///
    /// A failed write (a full disk) leaves no part of this batch in any
    /// file: each file touched is cut back to its length before, so readers
    /// never meet a torn frame in the middle of a file.
    pub fn write(&self, frames: &[Frame], upto: u64) -> std::io::Result<()> {
        let mut touched: Vec<(std::fs::File, u64)> = Vec::new();
        let res = self.append_all(frames, &mut touched);
        if let Err(e) = res {
            for (f, len) in &touched {
                let _ = f.set_len(*len);
            }
            return Err(e);
        }
        if upto > self.archived_upto() {
            std::fs::create_dir_all(&self.dir)?;
            std::fs::write(self.dir.join(POSITION_FILE), upto.to_string())?;
            self.upto
                .fetch_max(upto, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prune_deletes_only_archive_hours_past_the_kept_days() {
        let dir = tempfile::tempdir().expect("tempdir");
        let now = tocsin_queue::hour_of(1_795_996_800_000_000);
        let make = |input: &str, hour: i64| {
            let p = dir.path().join(relative_path(input, hour));
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(&p, b"x").expect("write");
            p
        };
        let gone = [make("syslog", now - 50), make("http", now - 49)];
        let kept = [
            make("syslog", now - 48),
            make("syslog", now - 1),
            make("http", now),
        ];
        let other = dir.path().join("syslog/notes.txt");
        std::fs::write(&other, b"operator notes").expect("write");

        let forever = Archive::new(dir.path().to_path_buf());
        assert_eq!(forever.prune(now).expect("prune"), 0);
        let a = forever.keeping_days(Some(2));
        assert_eq!(a.prune(now).expect("prune"), 2);
        assert!(gone.iter().all(|p| !p.exists()));
        assert!(kept.iter().all(|p| p.exists()));
        assert!(other.exists());
        assert_eq!(hour_of_name("2026-11-30T00.jsonl.zst"), Some(now));
        assert_eq!(hour_of_name("2026-11-30T24.jsonl.zst"), None);
    }

    #[test]
    fn frames_append_and_read_back_as_one_stream() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = Archive::new(dir.path().to_path_buf());
        let hour = tocsin_queue::hour_of(1_795_996_800_000_000);
        for batch in 0..3 {
            let mut p = Pending::default();
            p.push(
                "syslog tcp",
                hour,
                format!("{{\"n\":{batch}}}\n").as_bytes(),
            );
            p.push("other", hour, b"{\"x\":1}\n");
            p.push("syslog tcp", hour, b"{\"y\":2}\n");
            a.write(&p.compress(), batch + 1).expect("write");
        }
        let path = dir.path().join(relative_path("syslog tcp", hour));
        assert!(
            path.ends_with("syslog_tcp/2026-11-30T00.jsonl.zst"),
            "{}",
            path.display()
        );
        let text = zstd::decode_all(std::fs::File::open(&path).expect("open")).expect("decode");
        let text = String::from_utf8(text).expect("utf8");
        assert_eq!(
            text,
            "{\"n\":0}\n{\"y\":2}\n{\"n\":1}\n{\"y\":2}\n{\"n\":2}\n{\"y\":2}\n"
        );
    }

    /// Issue 10: a torn frame at the end of a file (a crash mid-append)
    /// used to make the whole file unreadable after it; it is cut at open
    /// and counted, and what was whole reads back.
    #[test]
    fn issue_10_a_torn_last_frame_is_cut_at_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let hour = tocsin_queue::hour_of(1_795_996_800_000_000);
        let a = Archive::new(dir.path().to_path_buf());
        for n in 0..2 {
            let mut p = Pending::default();
            p.push("syslog", hour, format!("{{\"n\":{n}}}\n").as_bytes());
            a.write(&p.compress(), n + 1).expect("write");
        }
        let path = dir.path().join(relative_path("syslog", hour));
        let whole = std::fs::read(&path).expect("read");
        let mut p = Pending::default();
        p.push("syslog", hour, b"{\"n\":2}\n");
        let frame = &p.compress()[0].bytes;
        let mut torn = whole.clone();
        torn.extend_from_slice(&frame[..frame.len() / 2]);
        std::fs::write(&path, &torn).expect("write");
        let a = Archive::new(dir.path().to_path_buf());
        assert_eq!(a.torn_bytes(), (frame.len() / 2) as u64);
        assert_eq!(std::fs::read(&path).expect("read"), whole);
        let text = zstd::decode_all(std::fs::File::open(&path).expect("open")).expect("decode");
        assert_eq!(text, b"{\"n\":0}\n{\"n\":1}\n");
    }
}
