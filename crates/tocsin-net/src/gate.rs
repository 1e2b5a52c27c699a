//! The gate of a listening socket: a connection is refused before anything
//! is read from it when its source is not allowed or the socket holds as
//! many connections as it may (in all, or from that address); an admitted
//! one then has a bounded time to finish its TLS handshake.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tocsin_model::Cidr;
use tocsin_telemetry::Counter;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::guard::{Admitted, Limiter, Refusal, allowed};

/// What a gate counts.
#[derive(Clone, Debug, Default)]
pub struct GateCounters {
    /// Connections refused (source not allowed, too many in all or from
    /// one address).
    pub refused: Counter,
    /// TLS handshakes not done in time.
    pub timed_out: Counter,
    /// TLS handshakes that failed (no or a wrong client certificate, not
    /// TLS at all).
    pub failed_handshakes: Counter,
}

/// Who may connect to one listening socket, how many at once, and its TLS.
#[derive(Clone)]
pub struct Gate {
    name: Arc<str>,
    allow: Arc<[Cidr]>,
    limiter: Arc<Limiter>,
    tls: Option<TlsAcceptor>,
    handshake: Duration,
    counters: GateCounters,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("name", &self.name)
            .field("allow", &self.allow)
            .field("limiter", &self.limiter)
            .field("tls", &self.tls.is_some())
            .field("handshake", &self.handshake)
            .finish()
    }
}

/// The limits a gate applies.
#[derive(Clone)]
pub struct GateConfig {
    /// The socket's name in logs.
    pub name: String,
    /// Sources allowed to connect (CIDRs); empty: anyone.
    pub allow: Vec<Cidr>,
    /// Connections held at once.
    pub max_connections: usize,
    /// Connections held at once from one address.
    pub max_connections_per_source: usize,
    /// Time an admitted connection has to finish its TLS handshake.
    pub handshake_timeout: Duration,
    /// TLS, when the socket speaks it.
    pub tls: Option<TlsAcceptor>,
}

impl std::fmt::Debug for GateConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GateConfig")
            .field("name", &self.name)
            .field("allow", &self.allow)
            .field("max_connections", &self.max_connections)
            .field(
                "max_connections_per_source",
                &self.max_connections_per_source,
            )
            .field("handshake_timeout", &self.handshake_timeout)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl GateConfig {
    /// The gate, counting into `counters`.
    pub fn build(self, counters: GateCounters) -> Gate {
        Gate {
            name: self.name.into(),
            allow: self.allow.into(),
            limiter: Limiter::new(self.max_connections, self.max_connections_per_source),
            tls: self.tls,
            handshake: self.handshake_timeout.max(Duration::from_millis(100)),
            counters,
        }
    }
}

/// A connection let in: its place among the socket's connections is given
/// back when this is dropped.
#[derive(Debug)]
pub struct Entry {
    /// The connection, before any TLS.
    pub stream: TcpStream,
    /// Its source.
    pub peer: SocketAddr,
    /// Its place.
    pub admitted: Admitted,
}

impl Gate {
    /// Whether the gate speaks TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The next connection let in. Refused ones are closed at once and
    /// counted; accept errors (out of file descriptors) are logged and
    /// retried after a pause, so a flood cannot spin the loop.
    pub async fn accept(&self, l: &TcpListener) -> Entry {
        loop {
            let (stream, peer) = match l.accept().await {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(socket = %self.name, error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let admitted = if allowed(&self.allow, peer.ip()) {
                self.limiter.admit(peer.ip())
            } else {
                Err(Refusal::NotAllowed)
            };
            match admitted {
                Ok(admitted) => {
                    let _ = stream.set_nodelay(true);
                    return Entry {
                        stream,
                        peer,
                        admitted,
                    };
                }
                Err(why) => {
                    self.counters.refused.inc();
                    tracing::debug!(socket = %self.name, %peer, ?why, "connection refused");
                }
            }
        }
    }

    /// The connection ready to read: its TLS handshake done within the
    /// time allowed (when the gate speaks TLS), or `None` (counted).
    pub async fn open(&self, stream: TcpStream, peer: SocketAddr) -> Option<Stream> {
        let Some(acceptor) = &self.tls else {
            return Some(Stream::Plain(stream));
        };
        match tokio::time::timeout(self.handshake, acceptor.accept(stream)).await {
            Ok(Ok(s)) => Some(Stream::Tls(Box::new(s))),
            Ok(Err(e)) => {
                self.counters.failed_handshakes.inc();
                tracing::warn!(socket = %self.name, %peer, error = %e, "TLS handshake failed");
                None
            }
            Err(_) => {
                self.counters.timed_out.inc();
                tracing::debug!(socket = %self.name, %peer, "TLS handshake took too long");
                None
            }
        }
    }
}

/// A connection, plain or TLS.
#[derive(Debug)]
pub enum Stream {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS over TCP.
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }
}
