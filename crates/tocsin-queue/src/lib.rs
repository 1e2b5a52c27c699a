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
//! q.append(vec![b"one".to_vec(), b"two".to_vec()]).await?;
//! let got = q.read(0, 10).await?;
//! assert_eq!(got[1].data, b"two");
//! q.release(2);
//! # Ok(()) }
//! ```

mod disk;
pub mod envelope;

use std::future::Future;
use std::pin::Pin;

pub use disk::{DiskQueue, DiskQueueConfig};
pub use envelope::{Envelope, EnvelopeError, hour_of, now_us};

/// A boxed future (the trait is used as `dyn Queue`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What can go wrong in a queue.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// Reading or writing the queue's files failed.
    #[error("queue {path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A stored record failed its checksum (disk corruption).
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
    #[error("queue closed")]
    Closed,
}

/// One record read back, with its position.
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
    /// A record read back whole.
    pub fn new(seq: u64, data: Vec<u8>) -> Entry {
        Entry {
            seq,
            data,
            damaged: None,
        }
    }
}

/// A durable, ordered stream of records with one consumer position.
pub trait Queue: Send + Sync {
    /// The stream's name (where consumers record their position).
    fn name(&self) -> &str;

    /// Appends records; resolves once they are durable (fsync), with the
    /// position after the last. Waits while the queue is full
    /// (backpressure).
    fn append(&self, records: Vec<Vec<u8>>) -> BoxFuture<'_, Result<u64, QueueError>>;

    /// Appends without waiting for room or durability (for UDP, which
    /// cannot be slowed down). Gives the records back when the queue is
    /// full.
    fn try_append(&self, records: Vec<Vec<u8>>) -> Result<(), Vec<Vec<u8>>>;

    /// Up to `max` records from position `from`, waiting until at least one
    /// is durable. Positions before the oldest record held start at the
    /// oldest.
    fn read(&self, from: u64, max: usize) -> BoxFuture<'_, Result<Vec<Entry>, QueueError>>;

    /// Everything before `upto` is committed downstream and may be dropped.
    fn release(&self, upto: u64);

    /// (first position not yet released, next position to be written):
    /// their difference is the backlog.
    fn bounds(&self) -> (u64, u64);

    /// Bytes held on disk (or in the server).
    fn bytes(&self) -> u64;
}
