//! Which files to read, and how.
//!
//! A directory is walked in name order. Symbolic links are looked at, not
//! blindly followed: one that resolves inside a given tree is followed
//! (evidence collectors make such links), one that leads out of it only
//! with `follow_links` — a compromised machine's image may hold a link to
//! `/etc/shadow` or `/` — and a directory already walked is never walked
//! again, so a link loop ends at once. Every link not followed is
//! reported.

use std::collections::HashSet;
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

/// The files a walk found, and what it could not or would not follow.
#[derive(Debug, Default)]
pub struct Walk {
    /// Files to read, in walk order.
    pub files: Vec<PathBuf>,
    /// Paths that do not exist, directories that cannot be read, links not
    /// followed.
    pub problems: Vec<Problem>,
    /// Given paths that do not exist.
    pub missing: usize,
}

/// Files under `paths` (directories recursively, in name order). The given
/// paths themselves are followed whatever they are.
pub fn collect_files(paths: &[PathBuf], follow_links: bool) -> Walk {
    let mut w = Walker {
        out: Walk::default(),
        seen: HashSet::new(),
        follow_links,
        root: PathBuf::new(),
    };
    for p in paths {
        match std::fs::canonicalize(p) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                w.out.missing += 1;
                w.out.problems.push(Problem {
                    file: p.clone(),
                    position: "path".into(),
                    reason: "no such file or directory".into(),
                });
            }
            Err(e) => w.problem(p, "path", e.to_string()),
            Ok(real) if real.is_dir() => {
                w.root = real.clone();
                w.walk(p, &real);
            }
            Ok(_) => w.out.files.push(p.clone()),
        }
    }
    w.out
}

struct Walker {
    out: Walk,
    /// Directories walked (resolved), so none is walked twice.
    seen: HashSet<PathBuf>,
    follow_links: bool,
    /// The given directory being walked (resolved).
    root: PathBuf,
}

impl Walker {
    fn problem(&mut self, p: &Path, position: &str, reason: String) {
        self.out.problems.push(Problem {
            file: p.to_path_buf(),
            position: position.into(),
            reason,
        });
    }

    /// Walks `dir` (shown as `shown`), whose resolved path is `real`.
    fn walk(&mut self, shown: &Path, real: &Path) {
        if !self.seen.insert(real.to_path_buf()) {
            return;
        }
        let rd = match std::fs::read_dir(shown) {
            Ok(rd) => rd,
            Err(e) => return self.problem(shown, "directory", e.to_string()),
        };
        let mut entries: Vec<(PathBuf, Option<std::fs::FileType>)> = rd
            .flatten()
            .map(|e| (e.path(), e.file_type().ok()))
            .collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        for (p, ty) in entries {
            let Some(ty) = ty else { continue };
            if ty.is_symlink() {
                self.link(&p);
            } else if ty.is_dir() {
                let real = real.join(p.file_name().unwrap_or_default());
                self.walk(&p, &real);
            } else if ty.is_file() && file_kind(&p) != FileKind::Other {
                self.out.files.push(p);
            }
        }
    }

    fn link(&mut self, p: &Path) {
        let target = match std::fs::canonicalize(p) {
            Ok(t) => t,
            Err(e) => return self.problem(p, "link", format!("not followed: {e}")),
        };
        if !target.starts_with(&self.root) && !self.follow_links {
            return self.problem(
                p,
                "link",
                format!(
                    "not followed: it leads out of the tree, to {} (--follow-links follows it)",
                    target.display()
                ),
            );
        }
        if target.is_dir() {
            if self.seen.contains(&target) {
                return self.problem(
                    p,
                    "link",
                    "not followed: a directory already walked (a loop)".into(),
                );
            }
            self.walk(p, &target);
        } else if target.is_file() && file_kind(p) != FileKind::Other {
            self.out.files.push(p.to_path_buf());
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn links_inside_are_followed_outside_and_loops_are_not() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("shadow.log"), "{}\n").unwrap();
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        std::fs::create_dir(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/a.jsonl"), "{}\n").unwrap();
        std::os::unix::fs::symlink(root.join("sub/a.jsonl"), root.join("b.jsonl")).unwrap();
        std::os::unix::fs::symlink(root, root.join("sub/loop")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("shadow.log"), root.join("c.log")).unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("out")).unwrap();
        let w = collect_files(&[root.to_path_buf()], false);
        let names: Vec<String> = w
            .files
            .iter()
            .map(|f| f.strip_prefix(root).unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["b.jsonl", "sub/a.jsonl"]);
        let why: Vec<String> = w.problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(why.len(), 3, "{why:#?}");
        assert!(
            why.iter()
                .any(|p| p.contains("c.log") && p.contains("out of the tree"))
        );
        assert!(
            why.iter()
                .any(|p| p.contains("/out:") && p.contains("out of the tree"))
        );
        assert!(why.iter().any(|p| p.contains("loop")));
        // Told to, it follows links out, still never round the loop.
        let w = collect_files(&[root.to_path_buf()], true);
        assert_eq!(w.files.len(), 4, "{:?}", w.files);
        assert_eq!(w.problems.len(), 1);
        // A missing path is counted as such.
        let w = collect_files(&[root.join("nope")], false);
        assert_eq!(w.missing, 1);
    }
}
