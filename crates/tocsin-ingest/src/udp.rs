//! Syslog over UDP: datagrams read in bursts, appended without waiting
//! (UDP cannot be slowed down), counted as received only once durable.
//!
//! What can be lost is counted where it is lost: datagrams the kernel
//! dropped because the socket's receive buffer was full (read from
//! `/proc/self/net/udp`, since no socket call reports them), datagrams the
//! queue had no room for, and datagrams a queue write error lost.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tocsin_queue::Queue;
use tocsin_telemetry::InputMetrics;
use tokio::net::UdpSocket;

use crate::syslog::{SyslogConfig, envelope, trim_frame};

/// The receive buffer asked for when the configuration says nothing.
const DEFAULT_RECEIVE_BUFFER: usize = 8 << 20;

/// Binds a UDP socket with the receive buffer asked for.
pub(crate) fn bind(
    listen: SocketAddr,
    receive_buffer: Option<usize>,
) -> std::io::Result<UdpSocket> {
    let domain = socket2::Domain::for_address(listen);
    let s = socket2::Socket::new(domain, socket2::Type::DGRAM, Some(socket2::Protocol::UDP))?;
    let want = receive_buffer.unwrap_or(DEFAULT_RECEIVE_BUFFER);
    if let Err(e) = s.set_recv_buffer_size(want) {
        tracing::warn!(%listen, error = %e, "cannot set the UDP receive buffer");
    }
    s.set_nonblocking(true)?;
    s.bind(&listen.into())?;
    if let Ok(got) = s.recv_buffer_size()
        && got < want
    {
        tracing::warn!(%listen, asked = want, got, "UDP receive buffer capped by net.core.rmem_max; bursts beyond it are dropped by the kernel (counted)");
    }
    UdpSocket::from_std(s.into())
}

/// Reads datagrams until the task is dropped.
pub(crate) async fn run(
    cfg: SyslogConfig,
    sock: UdpSocket,
    queue: Arc<dyn Queue>,
    m: InputMetrics,
) {
    // Stops with this task (inputs are stopped by aborting their task).
    let _drops = AbortOnDrop(tokio::spawn(watch_kernel_drops(
        socket_inode(&sock),
        m.kernel_dropped.clone(),
    )));
    let mut buf = vec![0u8; 65_536];
    let mut pending: Vec<Vec<u8>> = Vec::new();
    let mut bytes = 0u64;
    loop {
        // Block for the first datagram, then take whatever else is waiting.
        let first = sock.recv_from(&mut buf).await;
        let mut next = Some(first);
        while let Some(r) = next.take() {
            match r {
                Ok((_, peer)) if !tocsin_net::allowed(&cfg.allow, peer.ip()) => {
                    m.rejected.inc();
                }
                Ok((n, peer)) => {
                    let mut raw = &buf[..n];
                    if raw.len() > cfg.max_record {
                        raw = &raw[..cfg.max_record];
                        m.truncated.inc();
                    }
                    let raw = trim_frame(raw);
                    if !raw.is_empty() {
                        bytes += raw.len() as u64;
                        pending.push(envelope(&cfg, peer, raw));
                    }
                }
                Err(e) => tracing::debug!(input = %cfg.name, error = %e, "udp receive failed"),
            }
            if pending.len() < 512 {
                next = match sock.try_recv_from(&mut buf) {
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => None,
                    other => Some(other),
                };
            }
        }
        if pending.is_empty() {
            continue;
        }
        let n = pending.len() as u64;
        let (received, dropped, counted) = (m.received.clone(), m.dropped.clone(), m.bytes.clone());
        let b = std::mem::take(&mut bytes);
        // Received once durable; dropped when the write fails.
        let ack: tocsin_queue::Ack = Box::new(move |ok| {
            if ok {
                received.add(n);
                counted.add(b);
            } else {
                dropped.add(n);
            }
        });
        if queue
            .try_append(std::mem::take(&mut pending), Some(ack))
            .is_err()
        {
            // No room: the queue gave them back (and the ack unused).
            m.dropped.add(n);
        }
    }
}

/// Aborts a helper task when its owner ends.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The inode of a socket (how `/proc/net/udp` names it).
fn socket_inode(sock: &UdpSocket) -> Option<u64> {
    use std::os::fd::AsRawFd;
    let link = std::fs::read_link(format!("/proc/self/fd/{}", sock.as_raw_fd())).ok()?;
    let text = link.to_str()?;
    text.strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// The kernel's drop count of the socket `inode`: the last column of its
/// line in `/proc/self/net/udp` or `udp6`.
fn kernel_drops(inode: u64) -> Option<u64> {
    for table in ["/proc/self/net/udp", "/proc/self/net/udp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.get(9).and_then(|c| c.parse::<u64>().ok()) == Some(inode) {
                return cols.last()?.parse().ok();
            }
        }
    }
    None
}

/// Adds the kernel's new drops to `counter` every two seconds.
async fn watch_kernel_drops(inode: Option<u64>, counter: tocsin_telemetry::Counter) {
    let Some(inode) = inode else { return };
    let mut seen = kernel_drops(inode).unwrap_or(0);
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        if let Some(now) = kernel_drops(inode)
            && now > seen
        {
            counter.add(now - seen);
            seen = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_kernel_drop_count_of_our_socket_is_found() {
        let s = bind("127.0.0.1:0".parse().unwrap(), Some(4096)).unwrap();
        let inode = socket_inode(&s).expect("a socket inode");
        assert_eq!(kernel_drops(inode), Some(0));
        // Overflow a small buffer nobody reads.
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = s.local_addr().unwrap();
        for _ in 0..2000 {
            let _ = tx.send_to(&[b'x'; 1000], to);
        }
        assert!(
            kernel_drops(inode).unwrap() > 0,
            "the kernel dropped and said so"
        );
    }
}
