//! Syslog over TCP and TLS: who may connect, how many at once, how long a
//! silent or slow connection is kept, and how a connection is read.
//!
//! A connection is read one buffer at a time and the next read waits until
//! the records already read are durable, so a fast sender is slowed down
//! rather than anything dropped. Buffers start small and grow with what a
//! sender actually sends, so idle connections cost little; nothing longer
//! than the record limit is buffered (see [`crate::framer`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tocsin_net::Gate;
use tocsin_queue::Queue;
use tocsin_telemetry::InputMetrics;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

use crate::framer::Framer;
use crate::syslog::{SyslogConfig, envelope};

/// The first read buffer of a connection; it doubles while reads fill it.
const FIRST_READ: usize = 8 << 10;
/// The largest read buffer.
const MOST_READ: usize = 256 << 10;

/// Accepts connections through `gate` until the task is dropped.
pub(crate) async fn serve(
    cfg: SyslogConfig,
    l: TcpListener,
    gate: Gate,
    queue: Arc<dyn Queue>,
    m: InputMetrics,
) {
    let cfg = Arc::new(cfg);
    loop {
        let entry = gate.accept(&l).await;
        let (cfg, queue, m, gate) = (cfg.clone(), queue.clone(), m.clone(), gate.clone());
        tokio::spawn(async move {
            let _admitted = entry.admitted;
            let peer = entry.peer;
            let idle = Duration::from_secs(cfg.idle_timeout_secs.max(1));
            let Some(stream) = gate.open(entry.stream, peer).await else {
                return;
            };
            if let Err(e) = read(&cfg, stream, peer, queue, &m, idle).await {
                tracing::debug!(input = %cfg.name, %peer, error = %e, "syslog connection ended");
            }
        });
    }
}

/// Reads one connection until the sender closes it, it stays silent for
/// `idle`, or the queue is closed.
async fn read<S: tokio::io::AsyncRead + Unpin>(
    cfg: &SyslogConfig,
    mut stream: S,
    peer: SocketAddr,
    queue: Arc<dyn Queue>,
    m: &InputMetrics,
    idle: Duration,
) -> std::io::Result<()> {
    let mut buf: Vec<u8> = Vec::new();
    let mut want = FIRST_READ;
    let mut framer = Framer::new(cfg.max_record);
    loop {
        buf.reserve(want);
        let n = match tokio::time::timeout(idle, stream.read_buf(&mut buf)).await {
            Ok(r) => r?,
            Err(_) => {
                m.timed_out.inc();
                tracing::debug!(input = %cfg.name, %peer, "closing a connection silent for too long");
                return Ok(());
            }
        };
        if n == 0 {
            // The sender closed: what is left is the last record.
            let mut records = Vec::new();
            if let Some(rest) = framer.finish(&buf) {
                m.bytes.add(rest.len() as u64);
                records.push(envelope(cfg, peer, rest));
            }
            crate::deliver(&queue, records, m).await?;
            return Ok(());
        }
        if n >= want && want < MOST_READ {
            want *= 2;
        }
        let mut records = Vec::new();
        let used = framer.frames(&buf, |raw| {
            m.bytes.add(raw.len() as u64);
            records.push(envelope(cfg, peer, raw));
        });
        m.truncated.add(std::mem::take(&mut framer.truncated));
        buf.drain(..used);
        if buf.capacity() > MOST_READ.max(cfg.max_record) * 2 {
            // A burst grew it; an idle connection should not keep that.
            buf.shrink_to(MOST_READ.max(buf.len()));
        }
        crate::deliver(&queue, records, m).await?;
    }
}
