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

use tocsin_queue::Queue;
use tocsin_telemetry::InputMetrics;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

use crate::framer::Framer;
use crate::guard::{Limiter, Refusal, allowed};
use crate::syslog::{SyslogConfig, envelope};

/// The first read buffer of a connection; it doubles while reads fill it.
const FIRST_READ: usize = 8 << 10;
/// The largest read buffer.
const MOST_READ: usize = 256 << 10;

/// Accepts connections until the task is dropped.
pub(crate) async fn serve(
    cfg: SyslogConfig,
    l: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    queue: Arc<dyn Queue>,
    m: InputMetrics,
) {
    let cfg = Arc::new(cfg);
    let limiter = Limiter::new(cfg.max_connections, cfg.max_connections_per_source);
    loop {
        let (stream, peer) = match l.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(input = %cfg.name, error = %e, "syslog accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if !allowed(&cfg.allow, peer.ip()) {
            refused(&cfg, &m, peer, Refusal::NotAllowed);
            continue;
        }
        let admitted = match limiter.admit(peer.ip()) {
            Ok(a) => a,
            Err(why) => {
                refused(&cfg, &m, peer, why);
                continue;
            }
        };
        let (cfg, queue, m, tls) = (cfg.clone(), queue.clone(), m.clone(), tls.clone());
        tokio::spawn(async move {
            let _admitted = admitted;
            let _ = stream.set_nodelay(true);
            let idle = Duration::from_secs(cfg.idle_timeout_secs.max(1));
            let res = match tls {
                Some(acceptor) => {
                    let handshake = Duration::from_secs(cfg.handshake_timeout_secs.max(1));
                    match tokio::time::timeout(handshake, acceptor.accept(stream)).await {
                        Ok(Ok(s)) => read(&cfg, s, peer, queue, &m, idle).await,
                        Ok(Err(e)) => {
                            m.rejected.inc();
                            tracing::warn!(input = %cfg.name, %peer, error = %e, "TLS handshake failed");
                            Ok(())
                        }
                        Err(_) => {
                            m.timed_out.inc();
                            tracing::debug!(input = %cfg.name, %peer, "TLS handshake took too long");
                            Ok(())
                        }
                    }
                }
                None => read(&cfg, stream, peer, queue, &m, idle).await,
            };
            if let Err(e) = res {
                tracing::debug!(input = %cfg.name, %peer, error = %e, "syslog connection ended");
            }
        });
    }
}

fn refused(cfg: &SyslogConfig, m: &InputMetrics, peer: SocketAddr, why: Refusal) {
    m.refused_connections.inc();
    tracing::debug!(input = %cfg.name, %peer, ?why, "connection refused");
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
