//! File inputs: follow log files as they grow (nginx/Apache access logs,
//! auth.log, Suricata's eve.json), surviving rotation and truncation, and
//! resuming after a restart from a checkpoint.
//!
//! Each file is polled; its identity is (device, inode). When the path
//! names a new inode the old file (renamed by logrotate) is read to its end
//! through the handle still open, then the new one from its start. A file
//! shorter than our offset was truncated in place (copytruncate): start
//! again at 0. Checkpoints (inode, offset) are written after every chunk
//! (up to 1 MiB of lines) is durably queued; after a restart a rotated-away
//! file is found by its inode in the same directory and finished first. A
//! crash between queueing a chunk and its checkpoint re-reads that chunk
//! (at least once, at most one chunk per file).
//!
//! A log directory may be writable by the very service under attack, so
//! what it holds is not trusted: a symbolic link leading out of the
//! pattern's directory is refused (unless `follow_links`), and only
//! regular files are opened — never a FIFO or a device, opened without
//! blocking and checked before the first read. A followed file that
//! disappears (deleted, or rotated out of the pattern) is read to its end
//! and closed, so its space goes back to the disk.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tocsin_parse::Format;

use tocsin_queue::Queue;
use tocsin_queue::{Envelope, now_us};
use tocsin_telemetry::{InputMetrics, Metrics};

/// One `[[ingest.files]]` input.
#[derive(Clone, Debug, serde::Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Name in metrics, events and alerts.
    pub name: String,
    /// Files to follow; `*` and `?` are allowed in the last component
    /// (`/var/log/nginx/*.access.log`).
    pub paths: Vec<PathBuf>,
    /// How lines are parsed.
    #[serde(default)]
    pub format: Format,
    /// For a file seen for the first time: read it from the start (true)
    /// or only what is written from now on.
    #[serde(default = "yes")]
    pub from_beginning: bool,
    /// The agency these files belong to, when their lines do not say.
    #[serde(default)]
    pub agency: Option<String>,
    /// Which agencies their events may be attributed to (see
    /// `[[ingest.syslog]]`).
    #[serde(default)]
    pub scope: tocsin_model::ScopeSetting,
    /// The asset these files are the logs of (a website's access log): its
    /// events are attributed to it unless they name their host.
    #[serde(default)]
    pub asset: Option<String>,
    /// Longest line kept, in bytes: a longer line is cut to this (counted
    /// in `tocsin_input_truncated_total`) and the rest of it, up to its
    /// newline, is skipped — never made a record of its own.
    #[serde(default = "default_max_record")]
    pub max_record: usize,
    /// Whether these are a sensor's logs (Suricata's eve.json) whose own
    /// alerts become alerts.
    #[serde(default)]
    pub sensor: bool,
    /// Whether a symbolic link may lead out of its pattern's directory.
    /// Off: whoever can write in a log directory could otherwise point a
    /// `*.log` at `/etc/shadow` and have its lines sent as events.
    #[serde(default)]
    pub follow_links: bool,
}

fn default_max_record() -> usize {
    1 << 20
}

fn yes() -> bool {
    true
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Checkpoint {
    dev: u64,
    inode: u64,
    offset: u64,
    /// Inside a line longer than the limit, whose head was queued: skip to
    /// its newline.
    #[serde(default)]
    skipping: bool,
}

/// The checkpoints of every file input, in one JSON file.
pub struct Checkpoints {
    path: PathBuf,
    map: std::sync::Mutex<HashMap<String, Checkpoint>>,
}

impl Checkpoints {
    /// Loads `path` (missing: empty). A file that cannot be read is
    /// reported — logged, counted (`tocsin_file_checkpoint_errors_total`)
    /// and kept aside as `<path>.unreadable` — and the copy the last save
    /// kept (`<path>.bak`, one save older) is used instead, so at most one
    /// chunk per file is read twice; with neither, files are read as for a
    /// first start, loudly.
    pub fn load(path: PathBuf, metrics: &Metrics) -> Self {
        let errors = metrics.counter(
            "tocsin_file_checkpoint_errors_total",
            "File-input checkpoint files found unreadable at start (a backup is used when there is one).",
            &[],
        );
        let read = |p: &Path| -> Result<Option<HashMap<String, Checkpoint>>, String> {
            match std::fs::read(p) {
                Ok(b) => serde_json::from_slice(&b)
                    .map(Some)
                    .map_err(|e| e.to_string()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e.to_string()),
            }
        };
        let backup = path.with_extension("bak");
        let map = match read(&path) {
            Ok(m) => m.unwrap_or_default(),
            Err(why) => {
                errors.inc();
                let aside = path.with_extension("unreadable");
                let _ = std::fs::rename(&path, &aside);
                match read(&backup) {
                    Ok(Some(m)) => {
                        tracing::error!(file = %path.display(), kept = %aside.display(), reason = %why, "file checkpoints unreadable; using the backup of the save before");
                        m
                    }
                    _ => {
                        tracing::error!(file = %path.display(), kept = %aside.display(), reason = %why, "file checkpoints unreadable and no backup; files are read as on a first start");
                        HashMap::new()
                    }
                }
            }
        };
        Checkpoints {
            path,
            map: std::sync::Mutex::new(map),
        }
    }

    fn get(&self, key: &str) -> Option<Checkpoint> {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .copied()
    }

    fn remove(&self, key: &str) {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }

    fn set(&self, key: &str, c: Checkpoint) {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_string(), c);
    }

    /// Writes the file atomically (temporary file, fsync, rename).
    fn save(&self) -> std::io::Result<()> {
        let text = {
            let m = self.map.lock().unwrap_or_else(|e| e.into_inner());
            serde_json::to_vec_pretty(&*m).map_err(std::io::Error::other)?
        };
        if let Some(d) = self.path.parent() {
            std::fs::create_dir_all(d)?;
        }
        let tmp = self.path.with_extension("tmp");
        {
            let mut f = File::create(&tmp)?;
            std::io::Write::write_all(&mut f, &text)?;
            f.sync_all()?;
        }
        // The previous good copy stays as the backup `load` falls back on.
        if self.path.exists() {
            std::fs::rename(&self.path, self.path.with_extension("bak"))?;
        }
        std::fs::rename(&tmp, &self.path)
    }
}

#[cfg(unix)]
fn identity(m: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (m.dev(), m.ino())
}

#[cfg(not(unix))]
fn identity(_m: &std::fs::Metadata) -> (u64, u64) {
    (0, 0)
}

struct Followed {
    file: File,
    dev: u64,
    inode: u64,
    offset: u64,
    /// Inside an over-long line whose head was queued.
    skipping: bool,
}

/// A running file input.
pub struct FileInput {
    cfg: FileConfig,
    checkpoints: Arc<Checkpoints>,
    m: InputMetrics,
    open: HashMap<PathBuf, Followed>,
    /// Paths refused (links out, not regular files), said once each.
    refused: std::collections::HashSet<PathBuf>,
    /// How often files are looked at.
    pub interval: Duration,
}

impl FileConfig {
    /// The input (nothing is opened yet).
    pub fn build(self, checkpoints: Arc<Checkpoints>, metrics: &Metrics) -> FileInput {
        let m = metrics.input(&self.name, "file");
        FileInput {
            cfg: self,
            checkpoints,
            m,
            open: HashMap::new(),
            refused: Default::default(),
            interval: Duration::from_millis(250),
        }
    }
}

const CHUNK: usize = 1 << 20;

impl FileInput {
    /// Polls forever.
    pub async fn run(mut self, queue: Arc<dyn Queue>) {
        loop {
            if let Err(e) = self.poll(&queue).await {
                tracing::warn!(input = %self.cfg.name, error = %e, "file input");
            }
            tokio::time::sleep(self.interval).await;
        }
    }

    /// One pass over every file: reads what is new and queues it.
    pub async fn poll(&mut self, queue: &Arc<dyn Queue>) -> std::io::Result<()> {
        let mut changed = false;
        let paths = expand(&self.cfg.paths);
        for path in &paths {
            match self.poll_file(path, queue).await {
                Ok(c) => changed |= c,
                // A file that does not exist yet may appear later.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    tracing::debug!(input = %self.cfg.name, file = %path.display(), "not there yet")
                }
                Err(e)
                    if e.kind() == std::io::ErrorKind::PermissionDenied
                        && e.to_string().starts_with(REFUSED) =>
                {
                    if self.refused.insert(path.clone()) {
                        self.m.rejected.inc();
                        tracing::warn!(input = %self.cfg.name, file = %path.display(), error = %e, "file refused");
                    }
                }
                Err(e) => {
                    tracing::warn!(input = %self.cfg.name, file = %path.display(), error = %e, "cannot read")
                }
            }
        }
        changed |= self.close_gone(&paths, queue).await?;
        if changed {
            self.checkpoints.save()?;
        }
        Ok(())
    }

    /// Reads to their end and closes the files followed whose path is gone
    /// (deleted, or no longer matching): holding them would keep deleted
    /// files' space in use for ever.
    async fn close_gone(
        &mut self,
        paths: &[PathBuf],
        queue: &Arc<dyn Queue>,
    ) -> std::io::Result<bool> {
        let gone: Vec<PathBuf> = self
            .open
            .keys()
            .filter(|p| !paths.contains(p) || std::fs::symlink_metadata(p).is_err())
            .cloned()
            .collect();
        for path in &gone {
            let key = self.key(path);
            if let Some(mut f) = self.open.remove(path) {
                self.read_new(&key, &mut f, queue, true).await?;
                tracing::info!(input = %self.cfg.name, file = %path.display(), "file gone; read to its end and closed");
            }
            self.checkpoints.remove(&key);
        }
        Ok(!gone.is_empty())
    }

    fn key(&self, path: &Path) -> String {
        format!("{}|{}", self.cfg.name, path.display())
    }

    async fn poll_file(&mut self, path: &Path, queue: &Arc<dyn Queue>) -> std::io::Result<bool> {
        let meta = std::fs::metadata(path)?;
        let (dev, inode) = identity(&meta);
        let key = self.key(path);
        let mut changed = false;
        if let Some(f) = self.open.get(path)
            && (f.dev, f.inode) != (dev, inode)
        {
            // Rotated: finish the old file through the handle we hold.
            if let Some(mut old) = self.open.remove(path) {
                self.read_new(&key, &mut old, queue, true).await?;
                // The old file is done: the new one starts at 0.
                self.checkpoints.set(
                    &key,
                    Checkpoint {
                        dev,
                        inode,
                        offset: 0,
                        skipping: false,
                    },
                );
                changed = true;
            }
        }
        if !self.open.contains_key(path) {
            let (mut offset, mut skipping) = (0, false);
            match self.checkpoints.get(&key) {
                Some(c) if (c.dev, c.inode) == (dev, inode) => {
                    (offset, skipping) = (c.offset, c.skipping)
                }
                Some(c) => {
                    // Rotated while we were down: finish the old file if it
                    // is still in the directory under another name.
                    if let Some(old_path) = find_inode(path, c.dev, c.inode) {
                        let mut old = Followed {
                            file: File::open(&old_path)?,
                            dev: c.dev,
                            inode: c.inode,
                            offset: c.offset,
                            skipping: c.skipping,
                        };
                        tracing::info!(file = %old_path.display(), "finishing a file rotated while Tocsin was stopped");
                        self.read_new(&key, &mut old, queue, true).await?;
                    }
                }
                None if !self.cfg.from_beginning => offset = meta.len(),
                None => {}
            }
            let file = open_regular(path, self.cfg.follow_links, (dev, inode))?;
            self.open.insert(
                path.to_path_buf(),
                Followed {
                    file,
                    dev,
                    inode,
                    offset,
                    skipping,
                },
            );
            changed = true;
        }
        let Some(mut f) = self.open.remove(path) else {
            return Ok(changed);
        };
        if meta.len() < f.offset {
            tracing::info!(file = %path.display(), "file truncated; reading from the start");
            f.offset = 0;
            f.skipping = false;
            changed = true;
        }
        let res = self.read_new(&key, &mut f, queue, false).await;
        let moved = res.as_ref().map(|n| *n > 0).unwrap_or(false);
        self.checkpoints.set(
            &key,
            Checkpoint {
                dev: f.dev,
                inode: f.inode,
                offset: f.offset,
                skipping: f.skipping,
            },
        );
        self.open.insert(path.to_path_buf(), f);
        res?;
        Ok(changed || moved)
    }

    /// Records that `f` was queued up to its offset, durably: after every
    /// chunk, so a crash re-reads at most one chunk (1 MiB) per file.
    fn advance(&self, key: &str, f: &Followed) -> std::io::Result<()> {
        self.checkpoints.set(
            key,
            Checkpoint {
                dev: f.dev,
                inode: f.inode,
                offset: f.offset,
                skipping: f.skipping,
            },
        );
        self.checkpoints.save()
    }

    /// Queues the whole lines after `f.offset`; at `eof_is_end` (a rotated
    /// file that will not grow) the unterminated last line too. A line over
    /// `max_record` is queued cut (and counted); the rest of it, up to its
    /// newline, is skipped. Returns the bytes consumed.
    async fn read_new(
        &self,
        key: &str,
        f: &mut Followed,
        queue: &Arc<dyn Queue>,
        eof_is_end: bool,
    ) -> std::io::Result<u64> {
        let start = f.offset;
        let max = self.cfg.max_record.max(1);
        let mut buf = vec![0u8; CHUNK];
        let mut carry: Vec<u8> = Vec::new();
        f.file.seek(SeekFrom::Start(f.offset))?;
        loop {
            let n = f.file.read(&mut buf)?;
            let at_end = n == 0;
            // At the end, a rotated file still owes its unterminated last line.
            if at_end && (!eof_is_end || carry.is_empty()) {
                break;
            }
            carry.extend_from_slice(&buf[..n]);
            let mut records = Vec::new();
            let mut used = 0;
            while let Some(nl) = memchr::memchr(b'\n', &carry[used..]) {
                let line = &carry[used..used + nl];
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if f.skipping {
                    // The newline of an over-long line: its tail ends here.
                    f.skipping = false;
                } else if line.len() > max {
                    self.m.truncated.inc();
                    records.push(self.record(&line[..max]));
                } else if !line.is_empty() {
                    records.push(self.record(line));
                }
                used += nl + 1;
            }
            let rest = carry.len() - used;
            if rest > max || (at_end && rest > 0) {
                // No newline yet within the limit (or the file is done):
                // keep the head as a record once, skip the rest of the line.
                let line = carry[used..].trim_ascii_end();
                if !f.skipping && !line.is_empty() {
                    if line.len() > max {
                        self.m.truncated.inc();
                    }
                    records.push(self.record(&line[..line.len().min(max)]));
                }
                f.skipping = !at_end;
                used = carry.len();
            }
            crate::deliver(queue, records, &self.m).await?;
            f.offset += used as u64;
            carry.drain(..used);
            self.advance(key, f)?;
            if at_end {
                break;
            }
        }
        Ok(f.offset - start)
    }

    fn record(&self, line: &[u8]) -> Vec<u8> {
        self.m.bytes.add(line.len() as u64);
        Envelope {
            received_us: now_us(),
            input: &self.cfg.name,
            format: self.cfg.format,
            peer: None,
            sender: self.cfg.agency.as_deref(),
            raw: line,
        }
        .encode()
    }
}

/// How a refusal of [`open_regular`] starts (told apart from other errors).
const REFUSED: &str = "refused:";

/// Opens `path` for following: a regular file, inside its directory
/// unless `follow_links`, and the one whose identity was just read (a swap
/// between the look and the open is caught). Opened without following a
/// last link and without blocking (a FIFO would block the open).
fn open_regular(path: &Path, follow_links: bool, id: (u64, u64)) -> std::io::Result<File> {
    use rustix::fs::{Mode, OFlags};
    let refuse = |why: String| {
        std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!("{REFUSED} {why}"),
        )
    };
    let real = std::fs::canonicalize(path)?;
    if !follow_links {
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let dir = std::fs::canonicalize(dir)?;
        if real.parent() != Some(dir.as_path()) {
            return Err(refuse(format!(
                "a link leading out of {} to {} (follow_links = true follows it)",
                dir.display(),
                real.display()
            )));
        }
    }
    let fd = rustix::fs::open(
        &real,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let file = File::from(fd);
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(refuse(format!("{} is not a regular file", real.display())));
    }
    if identity(&meta) != id {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "the file changed while being opened; next poll",
        ));
    }
    Ok(file)
}

/// A file in `path`'s directory with the given identity.
fn find_inode(path: &Path, dev: u64, inode: u64) -> Option<PathBuf> {
    let dir = path.parent()?;
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            std::fs::metadata(p)
                .map(|m| identity(&m) == (dev, inode) && m.is_file())
                .unwrap_or(false)
        })
}

/// Expands `*` and `?` in the last path component.
fn expand(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if !name.contains(['*', '?']) {
            out.push(p.clone());
            continue;
        }
        let dir = p
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if let Ok(rd) = std::fs::read_dir(dir) {
            let mut found: Vec<PathBuf> = rd
                .flatten()
                .map(|e| e.path())
                .filter(|q| {
                    q.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| glob(name, n))
                })
                .collect();
            found.sort();
            out.extend(found);
        }
    }
    out
}

fn glob(pat: &str, s: &str) -> bool {
    let (p, s) = (pat.as_bytes(), s.as_bytes());
    let (mut pi, mut si, mut star, mut mark) = (0, 0, None, 0);
    while si < s.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            mark = si;
            pi += 1;
        } else if let Some(st) = star {
            pi = st + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::io::Write;
    use tocsin_queue::DiskQueueConfig;

    #[test]
    fn globbing() {
        assert!(glob("*.log", "access.log"));
        assert!(glob("a?c*", "abcdef"));
        assert!(!glob("*.log", "access.log.1"));
    }

    async fn lines(q: &Arc<dyn Queue>) -> Vec<String> {
        let (_, end) = q.bounds();
        if end == 0 {
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut from = 0;
        while from < end {
            for e in q.read(from, 1000).await.unwrap() {
                from = e.seq + 1;
                out.push(
                    String::from_utf8_lossy(Envelope::decode(&e.data).unwrap().raw).into_owned(),
                );
            }
        }
        out
    }

    /// A queue whose appends fail after `left` of them (a crash mid-file).
    struct FailAfter {
        inner: Arc<dyn Queue>,
        left: std::sync::atomic::AtomicUsize,
    }

    impl Queue for FailAfter {
        fn name(&self) -> &str {
            self.inner.name()
        }
        fn append(
            &self,
            records: Vec<Vec<u8>>,
        ) -> tocsin_queue::BoxFuture<'_, Result<u64, tocsin_queue::Refused>> {
            use std::sync::atomic::Ordering::Relaxed;
            if self
                .left
                .fetch_update(Relaxed, Relaxed, |n| n.checked_sub(1))
                .is_err()
            {
                return Box::pin(async {
                    Err(tocsin_queue::Refused {
                        error: tocsin_queue::QueueError::Closed,
                        records,
                    })
                });
            }
            self.inner.append(records)
        }
        fn try_append(
            &self,
            records: Vec<Vec<u8>>,
            _: Option<tocsin_queue::Ack>,
        ) -> Result<(), Vec<Vec<u8>>> {
            Err(records)
        }
        fn read(
            &self,
            from: u64,
            max: usize,
        ) -> tocsin_queue::BoxFuture<'_, Result<Vec<tocsin_queue::Entry>, tocsin_queue::QueueError>>
        {
            self.inner.read(from, max)
        }
        fn release(&self, upto: u64) {
            self.inner.release(upto);
        }
        fn bounds(&self) -> (u64, u64) {
            self.inner.bounds()
        }
        fn bytes(&self) -> u64 {
            self.inner.bytes()
        }
    }

    #[tokio::test]
    async fn a_failure_mid_file_re_reads_nothing_already_queued() {
        let dir = tempfile::tempdir().unwrap();
        let q: Arc<dyn Queue> = Arc::new(
            DiskQueueConfig::in_dir(dir.path().join("q"))
                .build("t", 0)
                .unwrap(),
        );
        // 3.4 MiB of lines: four chunks.
        let want: Vec<String> = (0..40_000)
            .map(|i| format!("line {i:06} {}", "x".repeat(80)))
            .collect();
        std::fs::write(dir.path().join("big.log"), want.join("\n") + "\n").unwrap();
        let cfg = FileConfig {
            name: "big".into(),
            paths: vec![dir.path().join("big.log")],
            format: Format::AccessLog,
            from_beginning: true,
            agency: None,
            scope: Default::default(),
            asset: None,
            max_record: 1 << 20,
            sensor: false,
            follow_links: false,
        };
        let metrics = Metrics::default();
        let failing: Arc<dyn Queue> = Arc::new(FailAfter {
            inner: q.clone(),
            left: 2.into(),
        });
        let ck = Arc::new(Checkpoints::load(dir.path().join("ck.json"), &metrics));
        let mut input = cfg.clone().build(ck, &metrics);
        // The file's error is logged; the pass over the other files goes on.
        input.poll(&failing).await.unwrap();
        let queued = lines(&q).await.len();
        assert!(queued > 0 && queued < want.len(), "{queued}");
        // Restart from the saved checkpoint: the rest, and nothing twice.
        drop(input);
        let ck = Arc::new(Checkpoints::load(dir.path().join("ck.json"), &metrics));
        let mut input = cfg.build(ck, &metrics);
        input.poll(&q).await.unwrap();
        assert_eq!(lines(&q).await, want);
    }

    #[tokio::test]
    async fn follows_growth_rotation_truncation_and_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("access.log");
        let qdir = dir.path().join("q");
        let q: Arc<dyn Queue> = Arc::new(DiskQueueConfig::in_dir(qdir).build("t", 0).unwrap());
        let metrics = Metrics::default();
        let ck = Arc::new(Checkpoints::load(dir.path().join("ck.json"), &metrics));
        let cfg = FileConfig {
            name: "web".into(),
            paths: vec![dir.path().join("*.log")],
            format: Format::AccessLog,
            from_beginning: true,
            agency: None,
            scope: Default::default(),
            asset: None,
            max_record: 1 << 20,
            sensor: false,
            follow_links: false,
        };
        let mut input = cfg.clone().build(ck.clone(), &metrics);
        let mut f = File::create(&log).unwrap();
        writeln!(f, "a1").unwrap();
        write!(f, "a2-partial").unwrap();
        input.poll(&q).await.unwrap();
        assert_eq!(lines(&q).await, vec!["a1"]);
        writeln!(f, "-done").unwrap();
        input.poll(&q).await.unwrap();
        assert_eq!(lines(&q).await, vec!["a1", "a2-partial-done"]);

        // logrotate: rename, more lines land in the old file, new file.
        writeln!(f, "a3").unwrap();
        std::fs::rename(&log, dir.path().join("access.log.1")).unwrap();
        writeln!(f, "a4-late").unwrap();
        let mut g = File::create(&log).unwrap();
        writeln!(g, "b1").unwrap();
        input.poll(&q).await.unwrap();
        assert_eq!(
            lines(&q).await,
            vec!["a1", "a2-partial-done", "a3", "a4-late", "b1"]
        );

        // copytruncate (noticed when the file is shorter than our offset,
        // as in every tailer: a poll must see it shorter).
        g.set_len(0).unwrap();
        input.poll(&q).await.unwrap();
        let mut g = std::fs::OpenOptions::new().write(true).open(&log).unwrap();
        writeln!(g, "c1").unwrap();
        input.poll(&q).await.unwrap();
        assert_eq!(lines(&q).await.last().unwrap(), "c1");

        // Restart: a fresh input resumes from the checkpoint, and a file
        // rotated while stopped is finished first.
        drop(input);
        writeln!(g, "c2").unwrap();
        std::fs::rename(&log, dir.path().join("access.log.2")).unwrap();
        let mut h = File::create(&log).unwrap();
        writeln!(h, "d1").unwrap();
        let ck = Arc::new(Checkpoints::load(dir.path().join("ck.json"), &metrics));
        let mut input = cfg.build(ck, &metrics);
        input.poll(&q).await.unwrap();
        let all = lines(&q).await;
        assert_eq!(&all[all.len() - 3..], &["c1", "c2", "d1"]);
        assert_eq!(all.iter().filter(|l| *l == "c1").count(), 1, "{all:?}");
    }

    fn cfg_for(dir: &Path, max_record: usize) -> FileConfig {
        FileConfig {
            name: "f".into(),
            paths: vec![dir.join("x.log")],
            format: Format::AccessLog,
            from_beginning: true,
            agency: None,
            scope: Default::default(),
            asset: None,
            max_record,
            sensor: false,
            follow_links: false,
        }
    }

    /// Issue 11: a link out of the directory, a FIFO and a device are
    /// refused (counted once each, never read); a link inside is followed;
    /// a deleted file is read to its end and closed.
    #[tokio::test]
    async fn issue_11_links_out_fifos_and_deleted_files() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        std::fs::create_dir(&logs).unwrap();
        let secret = dir.path().join("shadow");
        std::fs::write(&secret, "root:$6$bí-mật\n").unwrap();
        std::os::unix::fs::symlink(&secret, logs.join("evil.log")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", logs.join("zero.log")).unwrap();
        let fifo = logs.join("pipe.log");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        let mut good = File::create(logs.join("good.log")).unwrap();
        writeln!(good, "dòng một").unwrap();
        std::os::unix::fs::symlink(logs.join("good.log"), logs.join("alias.log")).unwrap();
        let q: Arc<dyn Queue> = Arc::new(
            DiskQueueConfig::in_dir(dir.path().join("q"))
                .build("t", 0)
                .unwrap(),
        );
        let metrics = Metrics::default();
        let ck = Arc::new(Checkpoints::load(dir.path().join("ck.json"), &metrics));
        let mut cfg = cfg_for(&logs, 1 << 20);
        cfg.paths = vec![logs.join("*.log")];
        let mut input = cfg.build(ck, &metrics);
        // The FIFO is never opened for blocking, so a poll returns.
        tokio::time::timeout(Duration::from_secs(5), input.poll(&q))
            .await
            .expect("a FIFO does not block the input")
            .unwrap();
        input.poll(&q).await.unwrap();
        let got = lines(&q).await;
        assert_eq!(
            got,
            vec!["dòng một", "dòng một"],
            "the alias inside is followed"
        );
        assert_eq!(input.m.rejected.get(), 3, "evil, zero and pipe, once each");
        // Deleted while followed: the rest is read, then the file is closed.
        writeln!(good, "dòng hai").unwrap();
        std::fs::remove_file(logs.join("alias.log")).unwrap();
        std::fs::remove_file(logs.join("good.log")).unwrap();
        input.poll(&q).await.unwrap();
        assert_eq!(
            lines(&q).await.iter().filter(|l| *l == "dòng hai").count(),
            2
        );
        assert!(input.open.is_empty(), "deleted files are closed");
        // Told to, links out are followed.
        let ck = Arc::new(Checkpoints::load(dir.path().join("ck2.json"), &metrics));
        let mut cfg = cfg_for(&logs, 1 << 20);
        cfg.name = "g".into();
        cfg.paths = vec![logs.join("evil.log")];
        cfg.follow_links = true;
        let mut input = cfg.build(ck, &metrics);
        input.poll(&q).await.unwrap();
        assert!(lines(&q).await.iter().any(|l| l.starts_with("root:")));
    }

    /// Issue 10: a line over the limit is one cut record, counted; its tail
    /// is skipped to the newline — across reads, chunks and restarts — and
    /// never becomes a record of its own.
    #[tokio::test]
    async fn issue_10_an_over_long_line_is_cut_once_and_its_tail_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let q: Arc<dyn Queue> = Arc::new(
            DiskQueueConfig::in_dir(dir.path().join("q"))
                .build("t", 0)
                .unwrap(),
        );
        let metrics = Metrics::default();
        let cfg = cfg_for(dir.path(), 10);
        let log = dir.path().join("x.log");
        let mut f = File::create(&log).unwrap();
        // A long line in two writes, the second after a restart; then one
        // longer than a read chunk.
        writeln!(f, "short").unwrap();
        write!(f, "Đăng nhập thất bại nhiều lần").unwrap();
        let ck = Arc::new(Checkpoints::load(dir.path().join("ck.json"), &metrics));
        let mut input = cfg.clone().build(ck, &metrics);
        input.poll(&q).await.unwrap();
        drop(input);
        writeln!(f, " từ địa chỉ lạ").unwrap();
        writeln!(f, "{}", "z".repeat(3 << 20)).unwrap();
        writeln!(f, "tail-ok").unwrap();
        let ck = Arc::new(Checkpoints::load(dir.path().join("ck.json"), &metrics));
        let mut input = cfg.build(ck, &metrics);
        input.poll(&q).await.unwrap();
        let got = lines(&q).await;
        let head = String::from_utf8_lossy(&"Đăng nhập thất bại".as_bytes()[..10]).into_owned();
        assert_eq!(
            got,
            vec![
                "short".to_string(),
                head,
                "zzzzzzzzzz".into(),
                "tail-ok".into()
            ]
        );
        assert_eq!(metrics.ingest_status().inputs[0].truncated, 2);
    }

    /// Issue 10: a garbled checkpoint file is reported and the backup of
    /// the save before is used: nothing queued twice but at most one chunk.
    #[tokio::test]
    async fn issue_10_a_garbled_checkpoint_falls_back_on_its_backup() {
        let dir = tempfile::tempdir().unwrap();
        let q: Arc<dyn Queue> = Arc::new(
            DiskQueueConfig::in_dir(dir.path().join("q"))
                .build("t", 0)
                .unwrap(),
        );
        let metrics = Metrics::default();
        let cfg = cfg_for(dir.path(), 1 << 20);
        let log = dir.path().join("x.log");
        let mut f = File::create(&log).unwrap();
        let path = dir.path().join("ck.json");
        let ck = Arc::new(Checkpoints::load(path.clone(), &metrics));
        let mut input = cfg.clone().build(ck, &metrics);
        for i in 0..1000 {
            writeln!(f, "line {i}").unwrap();
        }
        input.poll(&q).await.unwrap();
        writeln!(f, "line 1000").unwrap();
        input.poll(&q).await.unwrap();
        drop(input);
        assert_eq!(lines(&q).await.len(), 1001);
        std::fs::write(&path, b"{garbled").unwrap();
        let ck = Arc::new(Checkpoints::load(path.clone(), &metrics));
        let mut input = cfg.build(ck, &metrics);
        input.poll(&q).await.unwrap();
        let got = lines(&q).await;
        // The backup is the save before (a poll saves after each chunk and
        // at its end): here as current, so nothing is queued twice.
        assert_eq!(got.len(), 1001, "{:?}", &got[990..]);
        assert_eq!(got[1000], "line 1000");
        assert!(
            path.with_extension("unreadable").exists(),
            "the garbled file is kept"
        );
        assert!(
            metrics
                .render()
                .contains("tocsin_file_checkpoint_errors_total 1")
        );
    }
}
