//! The raw archive: every record as received, with its normalized fields,
//! in hourly zstd-compressed JSON-lines files per input —
//! `<dir>/<input>/<YYYY-MM-DDTHH>.jsonl.zst` (UTC hours) — that
//! `tocsin hunt` reads back (`tocsin hunt <dir>/syslog-tcp`).
//!
//! Each pipeline batch appends one complete zstd frame per file it touches
//! (compressed on the workers, appended in order, fsynced before the batch
//! commits), so a file is readable while it grows and a crash can only
//! leave a torn last frame, which readers report and skip. A batch replayed
//! after a crash is archived again: lines carry `tocsin.seq`, the queue
//! position, to tell the copies apart.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value as J};
use tocsin_model::Event;

use crate::envelope::hour_text;

/// `[ingest.archive]`
#[derive(Clone, Debug, Default, serde::Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ArchiveConfig {
    /// Keep the raw archive.
    pub enabled: bool,
    /// Where; default `<data dir>/archive`.
    pub dir: Option<PathBuf>,
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
#[derive(Clone, Debug)]
pub struct Archive {
    dir: PathBuf,
}

impl Archive {
    /// An archive in `dir`.
    pub fn new(dir: PathBuf) -> Self {
        Archive { dir }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends every frame, then makes them durable.
    pub fn write(&self, frames: &[Frame]) -> std::io::Result<()> {
        let mut touched: Vec<std::fs::File> = Vec::new();
        for f in frames {
            if f.bytes.is_empty() {
                continue;
            }
            let path = self.dir.join(&f.path);
            if let Some(d) = path.parent() {
                std::fs::create_dir_all(d)?;
            }
            let mut file = OpenOptions::new().create(true).append(true).open(&path)?;
            file.write_all(&f.bytes)?;
            touched.push(file);
        }
        for f in touched {
            f.sync_data()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_append_and_read_back_as_one_stream() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = Archive::new(dir.path().to_path_buf());
        let hour = crate::envelope::hour_of(1_795_996_800_000_000);
        for batch in 0..3 {
            let mut p = Pending::default();
            p.push(
                "syslog tcp",
                hour,
                format!("{{\"n\":{batch}}}\n").as_bytes(),
            );
            p.push("other", hour, b"{\"x\":1}\n");
            p.push("syslog tcp", hour, b"{\"y\":2}\n");
            a.write(&p.compress()).expect("write");
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
}
