//! The durable queue between the inputs and the pipeline: infrastructure,
//! beside the store and telemetry.
//!
//! ```text
//! inputs (tocsin-ingest) ──append──► [Queue] ──read/release──► pipeline (tocsin-pipeline)
//!                                     │
//!                         each record an Envelope: raw bytes + how they arrived
//! ```
//!
//! Inputs append raw records and learn when they are durable (that is when
//! an HTTP sender gets its 200); the pipeline reads them by position and
//! tells the queue when a position has been committed downstream. One
//! interface, [`Queue`], so the same pipeline can later run on NATS
//! JetStream across machines; [`DiskQueue`] is the embedded implementation.
//! Each record is an [`Envelope`]: the bytes as received, with the input,
//! the declared format, the peer address and the sender's agency.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), tocsin_queue::QueueError> {
//! use tocsin_queue::{DiskQueueConfig, Queue};
//! let dir = tempfile::tempdir().expect("temp dir");
//! let q = DiskQueueConfig::in_dir(dir.path()).build("events", 0)?;
//! q.append(vec![b"one".to_vec(), b"two".to_vec()]).await?; // hands records back on error
//! let got = q.read(0, 10).await?;
//! assert_eq!(got[1].data, b"two");
//! q.release(2);
//! # Ok(()) }
//! ```

mod disk;
pub mod envelope;

use std::future::Future;
use std::pin::Pin;

pub use disk::{DiskQueue, DiskQueueConfig, Recovery};
pub use envelope::{Envelope, EnvelopeError, hour_of, now_us};

/// A boxed future (the trait is used as `dyn Queue`).
///
/// Boxed because a trait whose methods return `impl Future` cannot be made
/// into a trait object; `Send` so the futures can run on any worker of a
/// multi-threaded runtime.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What can go wrong in a queue.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// Reading or writing the queue's files failed.
    ///
    /// From [`Queue::append`] it means the whole batch the append was
    /// written with failed and none of it was acknowledged: the file is
    /// cut back to where it was, so retrying does not duplicate records.
    #[error("queue {path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A stored record failed its checksum (disk corruption).
    ///
    /// Most damage is not an error at all: it comes back as entries with
    /// [`Entry::damaged`] set. This error is for the one case a reader
    /// cannot step over yet — a broken record header in the segment still
    /// being written, where the next record's start is unknown. The reader
    /// asks the writer to start a new segment; reading the same position
    /// again a little later skips to it.
    #[error("queue {path}: record {seq} is corrupt ({reason})")]
    Corrupt {
        /// The segment file.
        path: String,
        /// The record's position.
        seq: u64,
        /// What was wrong.
        reason: String,
    },
    /// The queue was shut down.
    ///
    /// Its writer has stopped (after [`DiskQueue::close`] or a drop), so
    /// nothing more can be appended or become readable: not worth
    /// retrying.
    #[error("queue closed")]
    Closed,
    /// A record is larger than a queue holds ([`MAX_RECORD`]). Refused
    /// whole, never cut: inputs apply their own, smaller limits first and
    /// count what they cut.
    #[error("a record of {len} bytes is larger than the queue's {max}")]
    TooLarge {
        /// The record's size.
        len: usize,
        /// The limit.
        max: usize,
    },
}

/// An append that did not happen: why, and the records handed back so the
/// caller can try again (a TCP input waits and retries, pushing back on its
/// sender, instead of losing what it read).
pub struct Refused {
    /// Why.
    pub error: QueueError,
    /// The records, untouched.
    pub records: Vec<Vec<u8>>,
}

impl std::fmt::Debug for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({} records handed back)",
            self.error,
            self.records.len()
        )
    }
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for Refused {}

impl From<Refused> for QueueError {
    fn from(r: Refused) -> Self {
        r.error
    }
}

/// Largest record a queue holds: 16 MiB. Inputs refuse or cut (and count)
/// longer records before appending; the queue refuses them rather than
/// cutting silently.
pub const MAX_RECORD: usize = 16 << 20;

/// Told once whether records appended without waiting became durable
/// (`true`) or were lost to a write error (`false`).
pub type Ack = Box<dyn FnOnce(bool) + Send>;

/// What a queue has to report about itself, for `/healthz`, `/metrics` and
/// the Inputs page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Why the queue cannot write right now (a full disk…); `None` when it
    /// can.
    pub fault: Option<String>,
    /// Bytes cut at the last open as a torn tail: written after the last
    /// acknowledged append, so never acknowledged.
    pub torn_bytes: u64,
    /// Acknowledged records found damaged at the last open (they are
    /// reported again, with their positions, when read).
    pub damaged_at_open: u64,
    /// Records appended without waiting that a write error lost.
    pub lost: u64,
    /// True while appends wait for room (the backlog is at its limit).
    pub full: bool,
}

/// One record read back, with its position.
///
/// A consumer that has handled an entry resumes from `seq + 1`, whether or
/// not the entry was damaged: that is what keeps a damaged range from
/// being read (and reported) again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Position in the stream (consecutive, from 0). For a damaged range,
    /// its last position.
    pub seq: u64,
    /// The bytes appended (empty when damaged).
    pub data: Vec<u8>,
    /// Set when stored records could not be read back (disk corruption):
    /// which, where and why. Their content is lost; the positions are
    /// consumed so the stream goes on instead of stopping at them.
    pub damaged: Option<Damage>,
}

/// Records lost to disk corruption, as a reader found them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damage {
    /// How many positions (ending at the entry's `seq`).
    pub records: u64,
    /// The file and what was wrong, for the operator.
    pub reason: String,
}

impl Entry {
    /// A record read back whole (not damaged). Also what other [`Queue`]
    /// implementations and test doubles build their entries with.
    pub fn new(seq: u64, data: Vec<u8>) -> Entry {
        Entry {
            seq,
            data,
            damaged: None,
        }
    }
}

/// A durable, ordered stream of records with one consumer position.
///
/// Positions are consecutive `u64`s from the first record ever appended;
/// they are never reused, so a position is a stable name for a record
/// across restarts. Only durable records are ever handed to a reader, and
/// only [`release`](Queue::release) lets the queue forget a record: what
/// has not been released is still there after a crash. The consumer keeps
/// its own committed position (see [`name`](Queue::name)) and reads on
/// from it, so delivery is at least once.
pub trait Queue: Send + Sync {
    /// The stream's name (where consumers record their position).
    fn name(&self) -> &str;

    /// Appends records; resolves once they are durable (fsync), with the
    /// position after the last. Waits while the queue is full
    /// (backpressure). An error means none of the records were
    /// acknowledged; they are handed back.
    fn append(&self, records: Vec<Vec<u8>>) -> BoxFuture<'_, Result<u64, Refused>>;

    /// Appends without waiting for room or durability (for UDP, which
    /// cannot be slowed down). Gives the records back when the queue is
    /// full. `Ok` only means the records were accepted for writing; `ack`,
    /// when given, is told later whether they reached the disk.
    fn try_append(&self, records: Vec<Vec<u8>>, ack: Option<Ack>) -> Result<(), Vec<Vec<u8>>>;

    /// Up to `max` records from position `from`, waiting until at least one
    /// is durable. Positions before the oldest record held start at the
    /// oldest. The entries are in order and may be fewer than `max`; a
    /// damaged range counts as one entry.
    fn read(&self, from: u64, max: usize) -> BoxFuture<'_, Result<Vec<Entry>, QueueError>>;

    /// Everything before `upto` is committed downstream and may be dropped.
    /// The released position only moves forward (a smaller `upto` is
    /// ignored); storage is freed in whole segments, so some released
    /// records may stay on disk a while longer.
    fn release(&self, upto: u64);

    /// (first position not yet released, next position to be written):
    /// their difference is the backlog.
    fn bounds(&self) -> (u64, u64);

    /// Bytes held on disk (or in the server).
    fn bytes(&self) -> u64;

    /// What the queue has to report about itself now.
    fn stats(&self) -> QueueStats {
        QueueStats::default()
    }
}
