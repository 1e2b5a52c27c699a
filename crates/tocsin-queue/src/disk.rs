//! The embedded queue: numbered segment files of checksummed records.
//!
//! ```text
//! <dir>/00000000000000000000.q   records 0 …
//! <dir>/00000000000000812000.q   records 812000 …  (named by first position)
//! record = len: u32 LE | crc32(payload): u32 LE | payload
//! marker = 0x8000_0008: u32 LE | crc32(next): u32 LE | next: u64 LE
//! ```
//!
//! One writer thread takes every append waiting at that moment, writes them
//! followed by a **marker** holding the position after them, `fdatasync`s
//! once and then answers all of them (group commit), so throughput grows
//! with concurrency while each answer still means "on disk".
//!
//! The markers are how recovery tells a torn tail from damage. Every
//! acknowledged append is followed by its marker, written and synced with
//! it; so on open, whatever follows the last valid marker of the last
//! segment was never acknowledged (a write cut by a crash) and is cut,
//! while damage *before* that marker is damage to acknowledged records:
//! kept, counted ([`Recovery`]) and reported with its positions when read.
//! A segment without markers (written by an older Tocsin) is cut after its
//! last valid record, as before.
//!
//! Disk corruption found later does not stop the stream: a record failing
//! its checksum is handed to the reader as damaged (its position consumed),
//! and a broken header, after which the next record cannot be found, loses
//! the rest of its segment, reported as one damaged range up to the next
//! segment's first position.
//!
//! Space is reclaimed by deleting whole segment files once every record in
//! them is released, which is why a segment is named by its first
//! position: the names alone say which files are behind the consumer,
//! without opening them. Reading is sequential through one cursor; a read
//! at another position reopens a segment and skips forward record by
//! record, so random access costs a scan of up to one segment.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use tokio::sync::{mpsc, oneshot, watch};

use crate::{Ack, BoxFuture, Damage, Entry, MAX_RECORD, Queue, QueueError, QueueStats, Refused};

/// The length field of a marker: the high bit (no record is that long)
/// and the 8 bytes of the position it holds.
const MARKER: u32 = 0x8000_0000 | 8;

/// Settings of a [`DiskQueue`].
///
/// Every field has a default (64 MiB segments, a 4 GiB limit, 4096
/// pending appends), so a configuration file need only name what it
/// changes.
#[derive(Clone, Debug, serde::Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DiskQueueConfig {
    /// Directory of the segment files.
    pub dir: PathBuf,
    /// A new segment starts after this many bytes. Space is freed a whole
    /// segment at a time, so smaller segments free it sooner at the cost of
    /// more files.
    pub segment_bytes: u64,
    /// Appends wait (and UDP drops) while this many bytes are unconsumed.
    /// Counted over the whole segment files on disk, so it is a soft limit:
    /// a batch already taken by the writer may go past it.
    pub max_bytes: u64,
    /// Appends waiting for the writer before `try_append` refuses (and
    /// `append` waits). At least 1.
    pub pending: usize,
}

impl Default for DiskQueueConfig {
    fn default() -> Self {
        DiskQueueConfig {
            dir: PathBuf::from("tocsin-data/queue"),
            segment_bytes: 64 << 20,
            max_bytes: 4 << 30,
            pending: 4096,
        }
    }
}

/// The writer's answer to an append: the position after it, or why not
/// with the records handed back.
type Answer = Result<u64, (String, Vec<Vec<u8>>)>;

/// One append, as handed to the writer thread.
struct Request {
    /// The payloads, written in order and together.
    records: Vec<Vec<u8>>,
    /// Where to send the position after the batch once it is durable;
    /// `None` for `try_append` and for the empty wake-up a reader sends.
    /// The error is a string because `io::Error` cannot be cloned for
    /// every request of a batch.
    reply: Option<oneshot::Sender<Answer>>,
    /// For `try_append`: told whether the records became durable.
    ack: Option<Ack>,
}

/// What the writer thread and the readers both see.
struct Shared {
    /// The queue's directory.
    dir: PathBuf,
    /// First position of each segment → its file.
    segments: Mutex<BTreeMap<u64, PathBuf>>,
    /// Bytes on disk in all segments.
    bytes: AtomicU64,
    /// Signalled when segments are released (room for the writer).
    room: Condvar,
    /// The mutex `room` is waited on with (it guards nothing else).
    room_lock: Mutex<()>,
    /// Set by [`DiskQueue::close`]: the writer stops after its batch.
    closed: AtomicBool,
    /// A reader met a broken record in the segment being written: start a
    /// new segment, so the reader can skip to it.
    roll: AtomicBool,
    /// Why the last write failed, until one succeeds.
    fault: Mutex<Option<String>>,
    /// Records of `try_append` a write error lost.
    lost: AtomicU64,
}

impl Shared {
    /// The segment files by first position. A poisoned lock is taken
    /// anyway: the map is only ever changed by single inserts and removes,
    /// so a panic elsewhere cannot leave it half-updated.
    fn segments(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, PathBuf>> {
        self.segments.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The embedded, file-backed [`Queue`].
///
/// Built by [`DiskQueueConfig::build`], which starts its writer thread;
/// dropping it (or [`close`](DiskQueue::close)) stops that thread. One
/// process must own a directory at a time: nothing locks the files.
pub struct DiskQueue {
    /// The stream's name, as [`Queue::name`] gives it.
    name: String,
    /// State shared with the writer thread.
    shared: Arc<Shared>,
    /// Appends to the writer thread; bounded by `pending`.
    tx: mpsc::Sender<Request>,
    /// The position after the last durable record: readers never go
    /// past it and wait on it for more.
    durable: watch::Receiver<u64>,
    /// The one read cursor. Reads take it in turn, since the queue has one
    /// consumer; kept between reads so sequential reads do not reopen files.
    cursor: tokio::sync::Mutex<Option<Cursor>>,
    /// First position of the oldest segment still on disk.
    oldest: AtomicU64,
    /// Everything before this is committed downstream.
    released: AtomicU64,
    /// [`DiskQueueConfig::max_bytes`], for `try_append`'s check.
    max_bytes: u64,
    /// What the last open found.
    recovery: Recovery,
}

/// What opening a queue found in its last segment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Bytes after the last acknowledged append, cut (never acknowledged:
    /// no marker followed them).
    pub torn_bytes: u64,
    /// Acknowledged records found damaged (still counted as positions;
    /// the reader reports them as damaged entries).
    pub damaged: u64,
    /// Where and what, for the operator.
    pub detail: Option<String>,
}

impl DiskQueueConfig {
    /// The default settings with the segment files in `dir`.
    pub fn in_dir(dir: impl Into<PathBuf>) -> Self {
        DiskQueueConfig {
            dir: dir.into(),
            ..Default::default()
        }
    }

    /// Opens (or creates) the queue. `min_next` is the consumer's committed
    /// position: a queue found shorter than that (its files were removed)
    /// continues from there, so new records are never taken for old ones.
    ///
    /// Recovery reads the whole last segment once, so opening costs up to
    /// `segment_bytes` of reading. Files in the directory not named like
    /// segments are ignored. Fails with [`QueueError::Io`] when the
    /// directory or the last segment cannot be read or repaired, or the
    /// writer thread cannot be started.
    pub fn build(self, name: &str, min_next: u64) -> Result<DiskQueue, QueueError> {
        let io = |p: &Path, e| QueueError::Io {
            path: p.display().to_string(),
            source: e,
        };
        std::fs::create_dir_all(&self.dir).map_err(|e| io(&self.dir, e))?;
        let mut segments = BTreeMap::new();
        let mut bytes = 0;
        for ent in std::fs::read_dir(&self.dir).map_err(|e| io(&self.dir, e))? {
            let ent = ent.map_err(|e| io(&self.dir, e))?;
            let path = ent.path();
            let Some(first) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".q"))
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue;
            };
            bytes += ent.metadata().map_err(|e| io(&path, e))?.len();
            segments.insert(first, path);
        }
        // Recover the last segment: where its acknowledged appends end (its
        // last marker), what is damaged before that, and the torn rest.
        let mut recovery = Recovery::default();
        let (mut next, mut active) = match segments.last_key_value() {
            Some((&first, path)) => {
                let sc = scan(path, first)?;
                if sc.end < sc.file_len {
                    tracing::warn!(
                        file = %path.display(),
                        cut_bytes = sc.file_len - sc.end,
                        "queue: cutting what was written after the last acknowledged append (never acknowledged)"
                    );
                    let f = OpenOptions::new()
                        .write(true)
                        .open(path)
                        .map_err(|e| io(path, e))?;
                    f.set_len(sc.end).map_err(|e| io(path, e))?;
                    f.sync_all().map_err(|e| io(path, e))?;
                    bytes -= sc.file_len - sc.end;
                    recovery.torn_bytes = sc.file_len - sc.end;
                }
                if sc.damaged > 0 || sc.detail.is_some() {
                    tracing::error!(
                        detail = sc.detail.as_deref().unwrap_or(""),
                        records = sc.damaged,
                        "queue: acknowledged records are damaged; they are reported as lost when read"
                    );
                    recovery.damaged = sc.damaged;
                    recovery.detail = sc.detail.clone();
                }
                // A broken header cannot be appended after: its reader
                // skips to the next segment, which starts the new records.
                let active = (!sc.broken).then(|| (first, path.clone(), sc.end));
                (first + sc.count, active)
            }
            None => (min_next, None),
        };
        if next < min_next {
            tracing::warn!(
                found = next,
                committed = min_next,
                "queue: files end before the committed position; continuing from it"
            );
            next = min_next;
            active = None;
        }
        let (file, seg_len) = match active {
            Some((_, path, len)) => {
                let f = OpenOptions::new()
                    .append(true)
                    .open(&path)
                    .map_err(|e| io(&path, e))?;
                (f, len)
            }
            None => {
                let path = segment_path(&self.dir, next);
                let f = create_segment(&path, &self.dir)?;
                segments.insert(next, path);
                (f, 0)
            }
        };
        let oldest = segments.first_key_value().map_or(next, |(k, _)| *k);
        let shared = Arc::new(Shared {
            dir: self.dir.clone(),
            segments: Mutex::new(segments),
            bytes: AtomicU64::new(bytes),
            room: Condvar::new(),
            room_lock: Mutex::new(()),
            closed: AtomicBool::new(false),
            roll: AtomicBool::new(false),
            fault: Mutex::new(None),
            lost: AtomicU64::new(0),
        });
        let (tx, rx) = mpsc::channel(self.pending.max(1));
        let max_bytes = self.max_bytes;
        let (durable_tx, durable) = watch::channel(next);
        let writer = Writer {
            shared: shared.clone(),
            cfg: self,
            file,
            seg_len,
            next,
            durable: durable_tx,
        };
        std::thread::Builder::new()
            .name("tocsin-queue".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| QueueError::Io {
                path: "writer thread".into(),
                source: e,
            })?;
        Ok(DiskQueue {
            name: name.to_string(),
            shared,
            tx,
            durable,
            cursor: tokio::sync::Mutex::new(None),
            oldest: AtomicU64::new(oldest),
            released: AtomicU64::new(min_next.max(oldest)),
            max_bytes,
            recovery,
        })
    }
}

/// The file of the segment starting at `first`. Zero-padded to 20 digits
/// (all of `u64`), so the names also sort by position in a listing.
fn segment_path(dir: &Path, first: u64) -> PathBuf {
    dir.join(format!("{first:020}.q"))
}

/// Creates (or opens) a segment file for appending and syncs the
/// directory, so the file exists after a crash.
fn create_segment(path: &Path, dir: &Path) -> Result<File, QueueError> {
    let f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| QueueError::Io {
            path: path.display().to_string(),
            source: e,
        })?;
    // The new name must survive a crash too.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(f)
}

/// What [`scan`] found in the last segment.
#[derive(Debug, Default)]
struct Scan {
    /// Record positions up to the acknowledged end (damaged ones included).
    count: u64,
    /// Byte offset of the acknowledged end: everything after is cut.
    end: u64,
    /// The file's length.
    file_len: u64,
    /// Acknowledged records failing their checksum or lost to a broken
    /// header.
    damaged: u64,
    /// A broken header before the acknowledged end: the segment cannot be
    /// appended to (its reader skips its tail), so the writer starts anew.
    broken: bool,
    /// What was wrong, for the operator.
    detail: Option<String>,
}

/// Reads the last segment on open (see the module docs): where its
/// acknowledged records end, how many there are, and what is damaged.
fn scan(path: &Path, first: u64) -> Result<Scan, QueueError> {
    let io = |e| QueueError::Io {
        path: path.display().to_string(),
        source: e,
    };
    let f = File::open(path).map_err(io)?;
    let file_len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let mut r = BufReader::with_capacity(1 << 20, f);
    let (mut seen, mut damaged, mut at) = (0u64, 0u64, 0u64);
    // (records, bytes) at the last valid record: the end of a segment an
    // older Tocsin wrote without markers.
    let mut last_valid = (0u64, 0u64);
    // (bytes after it, its position, records and damaged records before it).
    let mut last_marker: Option<(u64, u64, u64, u64)> = None;
    let mut buf = Vec::new();
    let framing = loop {
        match read_record(&mut r, &mut buf) {
            Ok(Some(Item::Record)) => {
                seen += 1;
                at += 8 + buf.len() as u64;
                last_valid = (seen, at);
            }
            Ok(Some(Item::Marker(next))) => {
                at += 16;
                last_marker = Some((at, next, seen, damaged));
            }
            Ok(Some(Item::BadMarker)) => at += 16,
            Err(Bad::Checksum) => {
                seen += 1;
                damaged += 1;
                at += 8 + buf.len() as u64;
            }
            Ok(None) => break None,
            Err(Bad::Framing(why)) => break Some(why),
        }
    };
    let mut sc = Scan {
        file_len,
        ..Scan::default()
    };
    if let Some(why) = framing {
        // Where the next record starts is unknown; a marker further on
        // (found by its shape and checksum) still says how far the
        // acknowledged records went.
        let mut f = File::open(path).map_err(io)?;
        f.seek(SeekFrom::Start(at + 1)).map_err(io)?;
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).map_err(io)?;
        if let Some((off, next)) = last_marker_in(&bytes) {
            let broken_at = first + seen;
            sc.count = next.saturating_sub(first);
            sc.end = at + 1 + off as u64 + 16;
            sc.damaged = damaged + next.saturating_sub(broken_at);
            sc.broken = true;
            sc.detail = Some(format!(
                "{}: {why} at record {broken_at}; acknowledged records {broken_at}..{next} are damaged",
                path.display(),
            ));
            return Ok(sc);
        }
        // No marker after the break: it is past the last acknowledged
        // append, a torn write.
    }
    match last_marker {
        Some((end, next, count, dmg)) => {
            if next != first + count {
                sc.detail = Some(format!(
                    "{}: the last marker says {} records, {count} were read",
                    path.display(),
                    next.saturating_sub(first),
                ));
            }
            sc.count = count;
            sc.end = end;
            sc.damaged = dmg;
        }
        None => (sc.count, sc.end) = last_valid,
    }
    if sc.damaged > 0 && sc.detail.is_none() {
        sc.detail = Some(format!(
            "{}: {} acknowledged records fail their checksum",
            path.display(),
            sc.damaged
        ));
    }
    Ok(sc)
}

/// The offset and value of the last valid marker in `b`.
fn last_marker_in(b: &[u8]) -> Option<(usize, u64)> {
    let tag = MARKER.to_le_bytes();
    let mut found = None;
    let mut i = 0;
    while i + 16 <= b.len() {
        if b[i..i + 4] == tag {
            let crc = u32::from_le_bytes([b[i + 4], b[i + 5], b[i + 6], b[i + 7]]);
            let body = &b[i + 8..i + 16];
            if crc32fast::hash(body) == crc {
                let mut n = [0u8; 8];
                n.copy_from_slice(body);
                found = Some((i, u64::from_le_bytes(n)));
            }
        }
        i += 1;
    }
    found
}

/// What one step through a segment met.
enum Item {
    /// A record (in the caller's buffer).
    Record,
    /// A marker: the position after the append it closes.
    Marker(u64),
    /// A marker failing its checksum: stepped over (it holds no record).
    BadMarker,
}

/// Why a stored record could not be read.
#[derive(Debug)]
enum Bad {
    /// Its payload was read whole but fails its checksum: the next record
    /// starts right after it.
    Checksum,
    /// Its header or payload is cut short or impossible: where the next
    /// record starts is unknown.
    Framing(String),
}

impl std::fmt::Display for Bad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Bad::Checksum => f.write_str("checksum mismatch"),
            Bad::Framing(why) => f.write_str(why),
        }
    }
}

/// Reads one record or marker; a record's payload goes into `buf`.
/// Ok(None) at a clean end.
///
/// On [`Bad::Checksum`] the reader stands at the next record; on
/// [`Bad::Framing`] its place is meaningless. A length over
/// [`MAX_RECORD`] is taken as a broken header before anything is
/// allocated for it.
fn read_record(r: &mut impl Read, buf: &mut Vec<u8>) -> Result<Option<Item>, Bad> {
    let mut head = [0u8; 8];
    match r.read_exact(&mut head[..1]) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(Bad::Framing(e.to_string())),
    }
    r.read_exact(&mut head[1..])
        .map_err(|_| Bad::Framing("torn record header".into()))?;
    let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
    let crc = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
    if len == MARKER {
        let mut n = [0u8; 8];
        r.read_exact(&mut n)
            .map_err(|_| Bad::Framing("torn marker".into()))?;
        return Ok(Some(if crc32fast::hash(&n) == crc {
            Item::Marker(u64::from_le_bytes(n))
        } else {
            Item::BadMarker
        }));
    }
    let len = len as usize;
    if len > MAX_RECORD {
        return Err(Bad::Framing(format!("record length {len} is impossible")));
    }
    buf.resize(len, 0);
    r.read_exact(buf)
        .map_err(|_| Bad::Framing("torn record".into()))?;
    if crc32fast::hash(buf) != crc {
        return Err(Bad::Checksum);
    }
    Ok(Some(Item::Record))
}

/// The writer thread's state. A plain thread, not a task: it blocks in
/// `write` and `fdatasync`, which must not stall the async runtime.
struct Writer {
    /// State shared with the readers.
    shared: Arc<Shared>,
    /// The settings the queue was built with.
    cfg: DiskQueueConfig,
    /// The segment being written (the last one), opened for appending.
    file: File,
    /// Bytes in `file`: it rolls over at `segment_bytes`.
    seg_len: u64,
    /// The position the next record gets.
    next: u64,
    /// Publishes `next` once a batch is durable; readers wait on it.
    durable: watch::Sender<u64>,
}

impl Writer {
    /// The thread's loop: waits for one append, gathers whatever else is
    /// waiting (up to about 8 MiB of payload), writes and syncs them
    /// together and answers each. Returns when the queue is closed or
    /// dropped.
    fn run(mut self, mut rx: mpsc::Receiver<Request>) {
        let mut batch: Vec<Request> = Vec::new();
        let mut out: Vec<u8> = Vec::with_capacity(1 << 20);
        while let Some(first) = rx.blocking_recv() {
            batch.push(first);
            let mut size: usize = batch[0].records.iter().map(Vec::len).sum();
            while size < (8 << 20) {
                match rx.try_recv() {
                    Ok(r) => {
                        size += r.records.iter().map(Vec::len).sum::<usize>();
                        batch.push(r);
                    }
                    Err(_) => break,
                }
            }
            self.wait_for_room();
            let result = self.write(&batch, &mut out);
            {
                let mut fault = self.shared.fault.lock().unwrap_or_else(|e| e.into_inner());
                *fault = result.as_ref().err().cloned();
            }
            for req in batch.drain(..) {
                let n = req.records.len() as u64;
                match (req.reply, req.ack) {
                    (Some(reply), _) => {
                        // A failed write hands the records back.
                        let answer = match &result {
                            Ok(next) => Ok(*next),
                            Err(e) => Err((e.clone(), req.records)),
                        };
                        let _ = reply.send(answer);
                    }
                    (None, Some(ack)) => ack(result.is_ok()),
                    (None, None) if result.is_err() => {
                        self.shared.lost.fetch_add(n, Ordering::Relaxed);
                    }
                    (None, None) => {}
                }
            }
            if self.shared.closed.load(Ordering::Relaxed) {
                break;
            }
        }
    }

    /// Blocks while unconsumed bytes exceed the limit: appends pile up in
    /// the channel, TCP and HTTP senders wait, UDP drops are counted.
    fn wait_for_room(&self) {
        let mut g = self
            .shared
            .room_lock
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        while self.shared.bytes.load(Ordering::Relaxed) > self.cfg.max_bytes
            && !self.shared.closed.load(Ordering::Relaxed)
        {
            g = self
                .shared
                .room
                .wait_timeout(g, std::time::Duration::from_millis(200))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Writes one batch and syncs it: the position after it, or why not.
    ///
    /// Rolls to a new segment first when the current one is full or a
    /// reader asked for it (a reader's request waits while the current
    /// segment is still empty). `out` is the caller's buffer, reused
    /// between batches.
    fn write(&mut self, batch: &[Request], out: &mut Vec<u8>) -> Result<u64, String> {
        let asked = self.shared.roll.swap(false, Ordering::Relaxed);
        if self.seg_len >= self.cfg.segment_bytes || (asked && self.seg_len > 0) {
            self.roll().map_err(|e| e.to_string())?;
        }
        out.clear();
        let mut n = 0u64;
        for req in batch {
            for rec in &req.records {
                // `append` refused longer records; nothing is cut here.
                out.extend_from_slice(&(rec.len() as u32).to_le_bytes());
                out.extend_from_slice(&crc32fast::hash(rec).to_le_bytes());
                out.extend_from_slice(rec);
                n += 1;
            }
        }
        if n == 0 {
            return Ok(self.next);
        }
        // The marker: this append is acknowledged exactly when it is on
        // disk behind its records (see the module docs).
        let after = (self.next + n).to_le_bytes();
        out.extend_from_slice(&MARKER.to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&after).to_le_bytes());
        out.extend_from_slice(&after);
        let res = self
            .file
            .write_all(out)
            .and_then(|()| self.file.sync_data());
        if let Err(e) = res {
            // Leave the file as it was: nothing of this batch is acknowledged.
            let _ = self.file.set_len(self.seg_len);
            let _ = self.file.seek(SeekFrom::End(0));
            return Err(format!("cannot write the queue: {e}"));
        }
        self.seg_len += out.len() as u64;
        self.shared
            .bytes
            .fetch_add(out.len() as u64, Ordering::Relaxed);
        self.next += n;
        self.durable.send_replace(self.next);
        Ok(self.next)
    }

    /// Starts a new segment at the next position and makes it the one
    /// written. It is registered before it holds a record, so a reader at
    /// the end of the previous segment can already step into it.
    fn roll(&mut self) -> Result<(), QueueError> {
        let path = segment_path(&self.shared.dir, self.next);
        self.file = create_segment(&path, &self.shared.dir)?;
        self.seg_len = 0;
        self.shared.segments().insert(self.next, path);
        Ok(())
    }
}

/// The consumer's place in the files.
struct Cursor {
    /// The position of the record the reader stands at.
    next: u64,
    /// First position of the segment being read.
    segment: u64,
    /// Its file, for error messages.
    path: PathBuf,
    /// Buffered (1 MiB), since records are read one small piece at a time.
    reader: BufReader<File>,
    /// Stopped inside a broken record: reopen before reading on.
    broken: bool,
}

impl DiskQueue {
    /// The segment holding `pos`: the last one starting at or before it,
    /// or the oldest when `pos` was already released and deleted.
    fn segment_for(&self, pos: u64) -> Option<(u64, PathBuf)> {
        let segs = self.shared.segments();
        segs.range(..=pos)
            .next_back()
            .or_else(|| segs.first_key_value())
            .map(|(k, v)| (*k, v.clone()))
    }

    /// A cursor at `pos` (or at the oldest record, if `pos` is older):
    /// opens its segment and skips records up to it. A broken header on
    /// the way is stepped over when a later segment starts at or before
    /// `pos`; otherwise the cursor stops there and [`Self::read_now`]
    /// reports the damage.
    fn open_at(&self, pos: u64) -> Result<Cursor, QueueError> {
        let (first, path) = self.segment_for(pos).ok_or(QueueError::Closed)?;
        let f = File::open(&path).map_err(|e| QueueError::Io {
            path: path.display().to_string(),
            source: e,
        })?;
        let mut c = Cursor {
            next: first,
            segment: first,
            path,
            reader: BufReader::with_capacity(1 << 20, f),
            broken: false,
        };
        let mut buf = Vec::new();
        while c.next < pos {
            match read_record(&mut c.reader, &mut buf) {
                Ok(Some(Item::Record)) | Err(Bad::Checksum) => c.next += 1,
                Ok(Some(Item::Marker(_) | Item::BadMarker)) => {}
                Err(Bad::Framing(_)) => match self.segment_after(c.segment) {
                    // Already behind the reader: skip the broken part.
                    Some((first, path)) if first <= pos => self.enter(&mut c, first, path)?,
                    // `read_now` reports it.
                    _ => break,
                },
                Ok(None) => break,
            }
        }
        Ok(c)
    }

    /// Up to `max` entries from the cursor, never at or past `durable`
    /// (bytes beyond it may be a batch still being written). Crosses into
    /// the next segment at a clean end; turns a checksum failure into one
    /// damaged entry and a broken header into a damaged range up to the
    /// next segment. An empty result means nothing more is readable yet.
    fn read_now(&self, c: &mut Cursor, durable: u64, max: usize) -> Result<Vec<Entry>, QueueError> {
        let mut out = Vec::new();
        while c.next < durable && out.len() < max {
            let mut data = Vec::new();
            match read_record(&mut c.reader, &mut data) {
                Ok(Some(Item::Record)) => {
                    out.push(Entry::new(c.next, data));
                    c.next += 1;
                }
                Ok(Some(Item::Marker(_) | Item::BadMarker)) => {}
                Ok(None) => match self.segment_after(c.segment) {
                    // End of this segment: the next one starts here.
                    Some((first, path)) if first == c.next => self.enter(c, first, path)?,
                    _ => break,
                },
                Err(Bad::Checksum) => {
                    out.push(Entry {
                        seq: c.next,
                        data: Vec::new(),
                        damaged: Some(Damage {
                            records: 1,
                            reason: format!(
                                "{}: record {} fails its checksum",
                                c.path.display(),
                                c.next
                            ),
                        }),
                    });
                    c.next += 1;
                }
                Err(Bad::Framing(why)) => {
                    // Where the next record starts is unknown: the rest of
                    // this segment is lost, up to the next segment (whose
                    // name is its first position).
                    let next = self.segment_after(c.segment);
                    let Some((first, path)) = next else {
                        // The segment being written: have the writer start
                        // a new one, and skip to it once it exists.
                        self.shared.roll.store(true, Ordering::Relaxed);
                        c.broken = true;
                        // Wake the writer (an empty append) so it rolls now.
                        let _ = self.tx.try_send(Request {
                            records: Vec::new(),
                            reply: None,
                            ack: None,
                        });
                        return if out.is_empty() {
                            Err(QueueError::Corrupt {
                                path: c.path.display().to_string(),
                                seq: c.next,
                                reason: format!(
                                    "{why}; skipping to the next segment once it starts"
                                ),
                            })
                        } else {
                            Ok(out)
                        };
                    };
                    if first > c.next {
                        out.push(Entry {
                            seq: first - 1,
                            data: Vec::new(),
                            damaged: Some(Damage {
                                records: first - c.next,
                                reason: format!(
                                    "{}: {why} at record {}; records {}..{} are lost",
                                    c.path.display(),
                                    c.next,
                                    c.next,
                                    first
                                ),
                            }),
                        });
                    }
                    self.enter(c, first, path)?;
                }
            }
        }
        Ok(out)
    }

    /// The segment after the one starting at `first`, if any.
    fn segment_after(&self, first: u64) -> Option<(u64, PathBuf)> {
        self.shared
            .segments()
            .range(first + 1..)
            .next()
            .map(|(k, v)| (*k, v.clone()))
    }

    /// Moves the cursor to the start of the segment `first` at `path`.
    fn enter(&self, c: &mut Cursor, first: u64, path: PathBuf) -> Result<(), QueueError> {
        let f = File::open(&path).map_err(|e| QueueError::Io {
            path: path.display().to_string(),
            source: e,
        })?;
        c.next = first;
        c.segment = first;
        c.path = path;
        c.reader = BufReader::with_capacity(1 << 20, f);
        Ok(())
    }

    /// What the last open found in the last segment.
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    /// Stops the writer after what it holds (tests, shutdown).
    ///
    /// Appends the writer has already taken are still written and
    /// answered. Once the writer thread has exited, appends and waiting
    /// reads fail with [`QueueError::Closed`]. Also wakes a writer waiting
    /// for room, which then writes without it.
    pub fn close(&self) {
        self.shared.closed.store(true, Ordering::Relaxed);
        self.shared.room.notify_all();
    }
}

impl Queue for DiskQueue {
    fn name(&self) -> &str {
        &self.name
    }

    fn append(&self, records: Vec<Vec<u8>>) -> BoxFuture<'_, Result<u64, Refused>> {
        Box::pin(async move {
            if let Some(len) = records.iter().map(Vec::len).find(|l| *l > MAX_RECORD) {
                return Err(Refused {
                    error: QueueError::TooLarge {
                        len,
                        max: MAX_RECORD,
                    },
                    records,
                });
            }
            let (reply, rx) = oneshot::channel();
            if let Err(e) = self
                .tx
                .send(Request {
                    records,
                    reply: Some(reply),
                    ack: None,
                })
                .await
            {
                return Err(Refused {
                    error: QueueError::Closed,
                    records: e.0.records,
                });
            }
            match rx.await {
                Ok(Ok(next)) => Ok(next),
                Ok(Err((e, records))) => Err(Refused {
                    error: QueueError::Io {
                        path: self.shared.dir.display().to_string(),
                        source: std::io::Error::other(e),
                    },
                    records,
                }),
                // The writer stopped with the request: its records are gone
                // with it, unacknowledged.
                Err(_) => Err(Refused {
                    error: QueueError::Closed,
                    records: Vec::new(),
                }),
            }
        })
    }

    fn try_append(&self, records: Vec<Vec<u8>>, ack: Option<Ack>) -> Result<(), Vec<Vec<u8>>> {
        if self.shared.bytes.load(Ordering::Relaxed) > self.max_bytes
            || records.iter().any(|r| r.len() > MAX_RECORD)
        {
            return Err(records);
        }
        self.tx
            .try_send(Request {
                records,
                reply: None,
                ack,
            })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(r) | mpsc::error::TrySendError::Closed(r) => {
                    r.records
                }
            })
    }

    fn read(&self, from: u64, max: usize) -> BoxFuture<'_, Result<Vec<Entry>, QueueError>> {
        Box::pin(async move {
            let mut durable = self.durable.clone();
            let mut guard = self.cursor.lock().await;
            let oldest = self.oldest.load(Ordering::Relaxed);
            if from < oldest {
                // The segments holding these positions are gone before the
                // consumer committed them (deleted by hand, or released on a
                // commit the database then lost): say so, with the range,
                // instead of jumping over them.
                return Ok(vec![Entry {
                    seq: oldest - 1,
                    data: Vec::new(),
                    damaged: Some(Damage {
                        records: oldest - from,
                        reason: format!(
                            "{}: records {from}..{oldest} are no longer in the queue (their segments are gone)",
                            self.shared.dir.display()
                        ),
                    }),
                }]);
            }
            loop {
                let end = *durable.borrow_and_update();
                if from < end {
                    let c = match guard.as_mut() {
                        Some(c)
                            if !c.broken
                                && c.next == from.max(self.oldest.load(Ordering::Relaxed)) =>
                        {
                            c
                        }
                        _ => guard.insert(self.open_at(from)?),
                    };
                    let got = self.read_now(c, end, max.max(1))?;
                    if !got.is_empty() {
                        return Ok(got);
                    }
                }
                if durable.changed().await.is_err() {
                    return Err(QueueError::Closed);
                }
            }
        })
    }

    fn release(&self, upto: u64) {
        self.released.fetch_max(upto, Ordering::Relaxed);
        let mut freed = 0;
        {
            let mut segs = self.shared.segments();
            // A segment can go when the next one starts at or before `upto`.
            let firsts: Vec<u64> = segs.keys().copied().collect();
            for w in firsts.windows(2) {
                if w[1] <= upto
                    && let Some(path) = segs.remove(&w[0])
                {
                    freed += std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                    if let Err(e) = std::fs::remove_file(&path) {
                        tracing::warn!(file = %path.display(), error = %e, "queue: cannot remove a consumed segment");
                    }
                }
            }
            if let Some((&first, _)) = segs.first_key_value() {
                self.oldest.store(first, Ordering::Relaxed);
            }
        }
        if freed > 0 {
            self.shared.bytes.fetch_sub(freed, Ordering::Relaxed);
            self.shared.room.notify_all();
        }
    }

    fn bounds(&self) -> (u64, u64) {
        (
            self.released.load(Ordering::Relaxed),
            *self.durable.borrow(),
        )
    }

    fn bytes(&self) -> u64 {
        self.shared.bytes.load(Ordering::Relaxed)
    }

    fn stats(&self) -> QueueStats {
        QueueStats {
            fault: self
                .shared
                .fault
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
            torn_bytes: self.recovery.torn_bytes,
            damaged_at_open: self.recovery.damaged,
            lost: self.shared.lost.load(Ordering::Relaxed),
            full: self.shared.bytes.load(Ordering::Relaxed) > self.max_bytes,
        }
    }
}

impl Drop for DiskQueue {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn cfg(dir: &Path) -> DiskQueueConfig {
        DiskQueueConfig {
            segment_bytes: 200,
            ..DiskQueueConfig::in_dir(dir)
        }
    }

    fn recs(range: std::ops::Range<u32>) -> Vec<Vec<u8>> {
        range.map(|i| format!("record {i}").into_bytes()).collect()
    }

    async fn read_all(q: &DiskQueue, mut from: u64, to: u64) -> Vec<Entry> {
        let mut out = Vec::new();
        while from < to {
            let got = q.read(from, 7).await.unwrap();
            from = got.last().unwrap().seq + 1;
            out.extend(got);
        }
        out
    }

    #[tokio::test]
    async fn appends_are_read_back_in_order_across_segments() {
        let dir = tempfile::tempdir().unwrap();
        let q = cfg(dir.path()).build("main", 0).unwrap();
        assert_eq!(q.append(recs(0..10)).await.unwrap(), 10);
        for i in 0..6 {
            let end = 15 + i * 5;
            assert_eq!(q.append(recs(end - 5..end)).await.unwrap(), u64::from(end));
        }
        let got = read_all(&q, 0, 40).await;
        assert_eq!(got.len(), 40);
        for (i, e) in got.iter().enumerate() {
            assert_eq!(e.seq, i as u64);
            assert_eq!(e.data, format!("record {i}").into_bytes());
        }
        // Reading from the middle repositions.
        assert_eq!(q.read(25, 1).await.unwrap()[0].data, b"record 25");
        let files = std::fs::read_dir(dir.path()).unwrap().count();
        assert!(files > 2, "segments roll at 200 bytes: {files}");
        q.release(30);
        assert!(std::fs::read_dir(dir.path()).unwrap().count() < files);
        assert_eq!(q.bounds(), (30, 40));
        assert_eq!(q.read(30, 1).await.unwrap()[0].data, b"record 30");
    }

    #[tokio::test]
    async fn reopen_recovers_and_cuts_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        {
            let q = cfg(dir.path()).build("main", 0).unwrap();
            q.append(recs(0..12)).await.unwrap();
        }
        // Simulate a crash mid-write: garbage after the last record.
        let last = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .max()
            .unwrap();
        let mut f = OpenOptions::new().append(true).open(&last).unwrap();
        f.write_all(&[50, 0, 0, 0, 1, 2]).unwrap();
        drop(f);
        let q = cfg(dir.path()).build("main", 0).unwrap();
        assert_eq!(q.bounds().1, 12);
        assert_eq!(q.append(recs(12..13)).await.unwrap(), 13);
        let got = read_all(&q, 0, 13).await;
        assert_eq!(got[12].data, b"record 12");
    }

    /// The segment files in order, and the byte offset of record `k` of `file`.
    fn segments(dir: &Path) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        v.sort();
        v
    }

    /// Markers are stepped over: `k` counts records only.
    fn offset_of(file: &Path, k: usize) -> u64 {
        let bytes = std::fs::read(file).unwrap();
        let mut at = 0usize;
        let mut seen = 0;
        loop {
            let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
            if len == MARKER {
                at += 16;
                continue;
            }
            if seen == k {
                return at as u64;
            }
            at += 8 + len as usize;
            seen += 1;
        }
    }

    fn overwrite(file: &Path, at: u64, with: &[u8]) {
        let mut f = OpenOptions::new().write(true).open(file).unwrap();
        f.seek(SeekFrom::Start(at)).unwrap();
        f.write_all(with).unwrap();
    }

    #[tokio::test]
    async fn a_record_failing_its_checksum_is_reported_and_the_rest_read() {
        let dir = tempfile::tempdir().unwrap();
        let q = cfg(dir.path()).build("main", 0).unwrap();
        q.append(recs(0..40)).await.unwrap();
        // Flip a payload byte of the second record of the first segment.
        let first = &segments(dir.path())[0];
        overwrite(first, offset_of(first, 1) + 8, b"X");
        let got = read_all(&q, 0, 40).await;
        assert_eq!(got.len(), 40);
        let d = got[1].damaged.as_ref().expect("record 1 is damaged");
        assert_eq!((got[1].seq, d.records), (1, 1));
        assert!(d.reason.contains("checksum"), "{}", d.reason);
        assert!(
            d.reason.contains(&first.display().to_string()),
            "{}",
            d.reason
        );
        for (i, e) in got.iter().enumerate().filter(|(i, _)| *i != 1) {
            assert_eq!(
                (e.seq, &e.data),
                (i as u64, &format!("record {i}").into_bytes())
            );
            assert!(e.damaged.is_none());
        }
        // Reopening keeps every acknowledged record (only a torn end is cut).
        drop(q);
        let q = cfg(dir.path()).build("main", 0).unwrap();
        assert_eq!(q.bounds().1, 40);
    }

    #[tokio::test]
    async fn a_broken_header_loses_the_rest_of_its_segment_only() {
        let dir = tempfile::tempdir().unwrap();
        let q = cfg(dir.path()).build("main", 0).unwrap();
        for k in 0..4 {
            q.append(recs(k * 10..k * 10 + 10)).await.unwrap();
        }
        let segs = segments(dir.path());
        let second_first: u64 = segs[1]
            .file_stem()
            .unwrap()
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(second_first > 3, "the first segment holds several records");
        // An impossible length in record 2: where record 3 starts is unknown.
        overwrite(&segs[0], offset_of(&segs[0], 2), &u32::MAX.to_le_bytes());
        let got = read_all(&q, 0, 40).await;
        assert_eq!(got[0].data, b"record 0");
        assert_eq!(got[1].data, b"record 1");
        let d = got[2].damaged.as_ref().expect("a damaged range");
        assert_eq!(got[2].seq, second_first - 1);
        assert_eq!(d.records, second_first - 2);
        assert!(d.reason.contains("impossible"), "{}", d.reason);
        assert_eq!(got[3].seq, second_first);
        assert_eq!(got[3].data, format!("record {second_first}").into_bytes());
        assert_eq!(got.last().unwrap().seq, 39);
    }

    #[tokio::test]
    async fn a_broken_header_in_the_live_segment_makes_the_writer_roll() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = cfg(dir.path());
        c.segment_bytes = 1 << 20;
        let q = c.build("main", 0).unwrap();
        q.append(recs(0..10)).await.unwrap();
        let live = segments(dir.path()).pop().unwrap();
        overwrite(&live, offset_of(&live, 4), &u32::MAX.to_le_bytes());
        let first = q.read(0, 100).await.unwrap();
        assert_eq!(first.len(), 4, "the records before the break");
        // The next read meets the break: the writer is asked to roll.
        let mut got = Vec::new();
        for _ in 0..50 {
            match q.read(4, 100).await {
                Ok(v) => {
                    got = v;
                    break;
                }
                Err(QueueError::Corrupt { seq, .. }) => {
                    assert_eq!(seq, 4);
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                Err(e) => panic!("{e}"),
            }
        }
        let d = got[0]
            .damaged
            .as_ref()
            .expect("the rest of the segment is lost");
        assert_eq!((got[0].seq, d.records), (9, 6));
        // New records land in the new segment and are read after it.
        assert_eq!(q.append(recs(10..12)).await.unwrap(), 12);
        let after = q.read(10, 100).await.unwrap();
        assert_eq!(after[0].data, b"record 10");
    }

    #[tokio::test]
    async fn a_lost_queue_continues_after_the_committed_position() {
        let dir = tempfile::tempdir().unwrap();
        let q = cfg(dir.path()).build("main", 500).unwrap();
        assert_eq!(q.append(recs(0..2)).await.unwrap(), 502);
        let got = q.read(500, 10).await.unwrap();
        assert_eq!(got[0].seq, 500);
    }

    #[tokio::test]
    async fn readers_wait_for_durable_records() {
        let dir = tempfile::tempdir().unwrap();
        let q = Arc::new(cfg(dir.path()).build("main", 0).unwrap());
        let q2 = q.clone();
        let reader = tokio::spawn(async move { q2.read(0, 10).await.unwrap() });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!reader.is_finished());
        q.try_append(recs(0..3), None).unwrap();
        let got = reader.await.unwrap();
        assert!(!got.is_empty());
        assert_eq!(got[0].data, b"record 0");
    }

    /// Issue 10: damage in the newest segment at start is damage to
    /// acknowledged records (their marker follows it), not a torn tail:
    /// nothing acknowledged is cut, the damage is counted with its range,
    /// and new records go on from the right position.
    #[tokio::test]
    async fn issue_10_damage_before_the_last_marker_is_kept_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = cfg(dir.path());
        c.segment_bytes = 1 << 20;
        {
            let q = c.clone().build("main", 0).unwrap();
            for k in 0..3 {
                q.append(recs(k * 10..k * 10 + 10)).await.unwrap();
            }
        }
        let live = segments(dir.path()).pop().unwrap();
        // A broken header in the first append: the reader cannot find
        // records 5.. of this segment any more.
        overwrite(&live, offset_of(&live, 5), &u32::MAX.to_le_bytes());
        let q = c.clone().build("main", 0).unwrap();
        assert_eq!(q.bounds().1, 30, "all 30 acknowledged positions kept");
        let r = q.recovery();
        assert_eq!(r.torn_bytes, 0);
        assert_eq!(r.damaged, 25, "records 5..30 are damaged");
        assert!(r.detail.as_deref().unwrap().contains("5..30"), "{r:?}");
        assert_eq!(q.stats().damaged_at_open, 25);
        // New records land after them, in a new segment.
        assert_eq!(q.append(recs(30..32)).await.unwrap(), 32);
        let got = read_all(&q, 0, 32).await;
        assert_eq!(got[4].data, b"record 4");
        let d = got[5].damaged.as_ref().expect("the damaged range");
        assert_eq!((got[5].seq, d.records), (29, 25));
        assert_eq!(got[6].data, b"record 30");
        // A checksum failure before the marker is kept too.
        drop(q);
        let first = segments(dir.path())[0].clone();
        overwrite(&first, offset_of(&first, 1) + 8, b"X");
        let q = c.build("main", 0).unwrap();
        assert_eq!(q.bounds().1, 32);
    }

    /// What follows the last marker was never acknowledged: cut and counted.
    #[tokio::test]
    async fn a_tail_after_the_last_marker_is_cut_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        {
            let q = cfg(dir.path()).build("main", 0).unwrap();
            q.append(recs(0..3)).await.unwrap();
        }
        let live = segments(dir.path()).pop().unwrap();
        // A whole record written but its marker not: a crash mid-append.
        let mut f = OpenOptions::new().append(true).open(&live).unwrap();
        let rec = b"record 3";
        f.write_all(&(rec.len() as u32).to_le_bytes()).unwrap();
        f.write_all(&crc32fast::hash(rec).to_le_bytes()).unwrap();
        f.write_all(rec).unwrap();
        drop(f);
        let q = cfg(dir.path()).build("main", 0).unwrap();
        assert_eq!(
            q.bounds().1,
            3,
            "an append without its marker was never acknowledged"
        );
        assert_eq!(q.recovery().torn_bytes, 16);
        assert_eq!(q.recovery().damaged, 0);
        assert_eq!(q.append(recs(3..4)).await.unwrap(), 4);
    }

    /// Segments that are gone before their records were committed are a
    /// reported range, not a silent jump.
    #[tokio::test]
    async fn missing_segments_are_reported_as_a_lost_range() {
        let dir = tempfile::tempdir().unwrap();
        {
            let q = cfg(dir.path()).build("main", 0).unwrap();
            for k in 0..4 {
                q.append(recs(k * 10..k * 10 + 10)).await.unwrap();
            }
        }
        let segs = segments(dir.path());
        std::fs::remove_file(&segs[0]).unwrap();
        let second: u64 = segs[1]
            .file_stem()
            .unwrap()
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let q = cfg(dir.path()).build("main", 0).unwrap();
        let got = q.read(0, 10).await.unwrap();
        let d = got[0].damaged.as_ref().expect("a lost range");
        assert_eq!((got[0].seq, d.records), (second - 1, second));
        assert!(d.reason.contains(&format!("0..{second}")), "{}", d.reason);
        let next = q.read(second, 1).await.unwrap();
        assert_eq!(next[0].data, format!("record {second}").into_bytes());
    }

    #[tokio::test]
    async fn oversized_records_are_refused_not_cut_and_acks_are_told() {
        let dir = tempfile::tempdir().unwrap();
        let q = cfg(dir.path()).build("main", 0).unwrap();
        let big = vec![b'x'; MAX_RECORD + 1];
        let refused = q.append(vec![big.clone()]).await.unwrap_err();
        assert!(matches!(refused.error, QueueError::TooLarge { .. }));
        assert_eq!(refused.records, vec![big.clone()], "handed back whole");
        assert!(q.try_append(vec![big], None).is_err());
        let (tx, rx) = std::sync::mpsc::channel();
        q.try_append(recs(0..2), Some(Box::new(move |ok| tx.send(ok).unwrap())))
            .unwrap();
        assert!(rx.recv_timeout(std::time::Duration::from_secs(5)).unwrap());
        assert_eq!(q.bounds().1, 2);
    }

    /// A full disk: the append that does not fit fails whole (nothing of it
    /// stays in the file), the queue says why, and once space is back it
    /// goes on at the next position. Needs a tmpfs (skipped otherwise).
    #[tokio::test]
    async fn a_full_disk_fails_appends_whole_and_recovers() {
        let Some(fs) = SmallFs::mount(256 << 10) else {
            eprintln!("note: cannot mount a tmpfs here; full-disk test skipped");
            return;
        };
        let filler = fs.path.join("filler");
        std::fs::write(&filler, vec![0u8; 96 << 10]).unwrap();
        let q = DiskQueueConfig {
            segment_bytes: 1 << 30,
            ..DiskQueueConfig::in_dir(fs.path.join("q"))
        }
        .build("main", 0)
        .unwrap();
        let chunk = || vec![vec![b'y'; 16 << 10]; 2];
        let mut next = 0;
        let err = loop {
            match q.append(chunk()).await {
                Ok(n) => next = n,
                Err(e) => break e,
            }
        };
        assert!(matches!(err.error, QueueError::Io { .. }), "{err}");
        assert_eq!(err.records, chunk(), "handed back for a retry");
        assert!(q.stats().fault.is_some());
        // Nothing of the failed append is readable.
        assert_eq!(q.bounds().1, next);
        // Space comes back: the same queue goes on at the next position.
        std::fs::remove_file(&filler).unwrap();
        assert_eq!(q.append(recs(0..1)).await.unwrap(), next + 1);
        assert_eq!(q.stats().fault, None);
        let got = read_all(&q, 0, next + 1).await;
        assert!(
            got.iter().all(|e| e.damaged.is_none()),
            "no torn record was left"
        );
        assert_eq!(got.last().unwrap().data, b"record 0");
        // And after a restart too.
        drop(q);
        let q = DiskQueueConfig::in_dir(fs.path.join("q"))
            .build("main", 0)
            .unwrap();
        assert_eq!(q.bounds().1, next + 1);
        assert_eq!(q.recovery(), &Recovery::default());
    }

    /// A tmpfs of a given size, unmounted on drop.
    struct SmallFs {
        path: PathBuf,
        _dir: tempfile::TempDir,
    }

    impl SmallFs {
        fn mount(bytes: u64) -> Option<SmallFs> {
            let dir = tempfile::tempdir().ok()?;
            let ok = std::process::Command::new("mount")
                .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
                .arg(dir.path())
                .stderr(std::process::Stdio::null())
                .status()
                .ok()?
                .success();
            ok.then(|| SmallFs {
                path: dir.path().to_path_buf(),
                _dir: dir,
            })
        }
    }

    impl Drop for SmallFs {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(&self.path)
                .status();
        }
    }
}
