//! Which files to read, and how.

use std::path::{Path, PathBuf};

use crate::Problem;

/// How a file is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// Windows event log.
    Evtx,
    /// JSON lines, pretty JSON objects, or an array of objects.
    Json,
    /// gzip around another kind (by the name without `.gz`).
    Gzip(Inner),
    /// zstd around another kind (Tocsin's raw archive: `.jsonl.zst`).
    Zstd(Inner),
    /// zip archive (members read by their names).
    Zip,
    /// Not a log file.
    Other,
}

/// What a `.gz` file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inner {
    /// A Windows event log.
    Evtx,
    /// JSON records.
    Json,
}

/// The kind of a file, by its name.
pub fn file_kind(p: &Path) -> FileKind {
    let name = p
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if let Some(inner) = name.strip_suffix(".gz") {
        return FileKind::Gzip(match file_kind(Path::new(inner)) {
            FileKind::Evtx => Inner::Evtx,
            _ => Inner::Json,
        });
    }
    if let Some(inner) = name.strip_suffix(".zst") {
        return FileKind::Zstd(match file_kind(Path::new(inner)) {
            FileKind::Evtx => Inner::Evtx,
            _ => Inner::Json,
        });
    }
    match name.rsplit('.').next() {
        Some("evtx") => FileKind::Evtx,
        Some("json" | "jsonl" | "ndjson" | "log") => FileKind::Json,
        Some("zip") => FileKind::Zip,
        _ => FileKind::Other,
    }
}

/// Files under `paths` (directories recursively, sorted), and the paths that
/// do not exist.
pub fn collect_files(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<Problem>) {
    let mut out = Vec::new();
    let mut missing = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut out, &mut missing);
        } else if p.exists() {
            out.push(p.clone());
        } else {
            missing.push(Problem {
                file: p.clone(),
                position: "path".into(),
                reason: "no such file or directory".into(),
            });
        }
    }
    (out, missing)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, problems: &mut Vec<Problem>) {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) => {
            problems.push(Problem {
                file: dir.to_path_buf(),
                position: "directory".into(),
                reason: e.to_string(),
            });
            return;
        }
    };
    let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out, problems);
        } else if file_kind(&p) != FileKind::Other {
            out.push(p);
        }
    }
}
