//! Syslog over UDP (one datagram, one record) and TCP (RFC 6587:
//! octet-counting `LEN SP MSG` or newline-terminated frames, detected per
//! frame). A TCP connection is read one buffer at a time and the next read
//! waits until the records already read are durable, so a fast sender is
//! slowed down rather than anything dropped. UDP cannot be slowed: when the
//! queue is full its records are dropped and counted. TCP inputs take
//! optional TLS (RFC 5425) with rustls.

use std::net::SocketAddr;
use std::sync::Arc;

use tocsin_parse::Format;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, UdpSocket};

use tocsin_queue::Queue;
use tocsin_queue::{Envelope, now_us};
use tocsin_telemetry::{InputMetrics, Metrics};

/// Transport of a syslog input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// Datagrams.
    Udp,
    /// A stream (RFC 6587 framing).
    Tcp,
}

/// One `[[ingest.syslog]]` input.
#[derive(Clone, Debug, serde::Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SyslogConfig {
    /// Name in metrics, events and alerts.
    pub name: String,
    /// `udp` or `tcp`.
    pub protocol: Protocol,
    /// Address to listen on (`0.0.0.0:514`).
    pub listen: SocketAddr,
    /// How records are parsed (`syslog` by default; `cef`, `auto`…).
    #[serde(default = "default_format")]
    pub format: Format,
    /// Longest record kept whole; longer ones are cut and counted.
    #[serde(default = "default_max_record")]
    pub max_record: usize,
    /// TLS for a TCP input (RFC 5425, usually port 6514).
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// The agency whose devices send here (none: a collector of the
    /// center's, which may speak for every agency).
    #[serde(default)]
    pub agency: Option<String>,
    /// Which agencies its events may be attributed to: `"agency"` (the
    /// input's agency and its descendants, the default), `"all"`, or a
    /// list of agency codes.
    #[serde(default)]
    pub scope: tocsin_model::ScopeSetting,
    /// UDP: the socket's receive buffer in bytes (`SO_RCVBUF`; the kernel
    /// caps it at `net.core.rmem_max`). A burst larger than the buffer is
    /// dropped by the kernel, which the input reads and counts
    /// (`tocsin_input_kernel_dropped_total`). Default 8 MiB.
    #[serde(default)]
    pub receive_buffer: Option<usize>,
}

/// Certificate and key (PEM files) of a TLS syslog input.
#[derive(Clone, Debug, serde::Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The certificate chain, leaf first.
    pub cert: std::path::PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: std::path::PathBuf,
}

impl TlsConfig {
    /// A TLS acceptor from the PEM files; errors name the file and reason.
    pub fn acceptor(&self) -> std::io::Result<tokio_rustls::TlsAcceptor> {
        use rustls_pki_types::pem::PemObject;
        use rustls_pki_types::{CertificateDer, PrivateKeyDer};
        use tokio_rustls::rustls;
        let bad = |p: &std::path::Path, e: &dyn std::fmt::Display| {
            std::io::Error::other(format!("TLS {}: {e}", p.display()))
        };
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&self.cert)
            .map_err(|e| bad(&self.cert, &e))?
            .collect::<Result<_, _>>()
            .map_err(|e| bad(&self.cert, &e))?;
        if certs.is_empty() {
            return Err(bad(&self.cert, &"no certificate in the file"));
        }
        let key = PrivateKeyDer::from_pem_file(&self.key).map_err(|e| bad(&self.key, &e))?;
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| bad(&self.cert, &e))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| bad(&self.key, &e))?;
        Ok(tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(cfg)))
    }
}

fn default_format() -> Format {
    Format::Syslog
}

fn default_max_record() -> usize {
    64 * 1024
}

/// A bound syslog input.
pub struct SyslogInput {
    cfg: SyslogConfig,
    udp: Option<UdpSocket>,
    tcp: Option<TcpListener>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    m: InputMetrics,
}

impl SyslogConfig {
    /// Binds the socket (so the caller learns the address at once).
    pub async fn bind(self, metrics: &Metrics) -> std::io::Result<SyslogInput> {
        let kind = match (self.protocol, self.tls.is_some()) {
            (Protocol::Udp, _) => "syslog-udp",
            (Protocol::Tcp, false) => "syslog-tcp",
            (Protocol::Tcp, true) => "syslog-tls",
        };
        let m = metrics.input(&self.name, kind);
        let tls = match (&self.tls, self.protocol) {
            (Some(_), Protocol::Udp) => {
                return Err(std::io::Error::other(
                    "TLS is for TCP inputs (set protocol = \"tcp\")",
                ));
            }
            (Some(t), Protocol::Tcp) => Some(t.acceptor()?),
            (None, _) => None,
        };
        let (udp, tcp) = match self.protocol {
            Protocol::Udp => (
                Some(crate::udp::bind(self.listen, self.receive_buffer)?),
                None,
            ),
            Protocol::Tcp => (None, Some(TcpListener::bind(self.listen).await?)),
        };
        Ok(SyslogInput {
            cfg: self,
            udp,
            tcp,
            tls,
            m,
        })
    }
}

impl SyslogInput {
    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        match (&self.udp, &self.tcp) {
            (Some(u), _) => u.local_addr(),
            (_, Some(t)) => t.local_addr(),
            _ => Err(std::io::Error::other("not bound")),
        }
    }

    /// Serves until the task is dropped.
    pub async fn run(self, queue: Arc<dyn Queue>) {
        let SyslogInput {
            cfg,
            udp,
            tcp,
            tls,
            m,
        } = self;
        if let Some(sock) = udp {
            crate::udp::run(cfg, sock, queue, m).await;
        } else if let Some(l) = tcp {
            let cfg = Arc::new(cfg);
            loop {
                match l.accept().await {
                    Ok((stream, peer)) => {
                        let (cfg, queue, m) = (cfg.clone(), queue.clone(), m.clone());
                        let tls = tls.clone();
                        tokio::spawn(async move {
                            let _ = stream.set_nodelay(true);
                            let res = match tls {
                                Some(acceptor) => match acceptor.accept(stream).await {
                                    Ok(s) => tcp_conn(&cfg, s, peer, queue, &m).await,
                                    Err(e) => {
                                        m.rejected.inc();
                                        tracing::warn!(input = %cfg.name, %peer, error = %e, "TLS handshake failed");
                                        Ok(())
                                    }
                                },
                                None => tcp_conn(&cfg, stream, peer, queue, &m).await,
                            };
                            if let Err(e) = res {
                                tracing::debug!(input = %cfg.name, %peer, error = %e, "syslog connection ended");
                            }
                        });
                    }
                    Err(e) => {
                        tracing::warn!(input = %cfg.name, error = %e, "syslog accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    }
                }
            }
        }
    }
}

pub(crate) fn envelope(cfg: &SyslogConfig, peer: SocketAddr, raw: &[u8]) -> Vec<u8> {
    Envelope {
        received_us: now_us(),
        input: &cfg.name,
        format: cfg.format,
        peer: Some(peer.ip().to_canonical()),
        sender: None,
        raw,
    }
    .encode()
}

pub(crate) fn trim_frame(b: &[u8]) -> &[u8] {
    let mut e = b.len();
    while e > 0 && matches!(b[e - 1], b'\n' | b'\r' | 0) {
        e -= 1;
    }
    &b[..e]
}

async fn tcp_conn<S: tokio::io::AsyncRead + Unpin>(
    cfg: &SyslogConfig,
    mut stream: S,
    peer: SocketAddr,
    queue: Arc<dyn Queue>,
    m: &InputMetrics,
) -> std::io::Result<()> {
    let mut buf: Vec<u8> = Vec::with_capacity(512 * 1024);
    let mut framer = Framer::new(cfg.max_record);
    let mut chunk = vec![0u8; 256 * 1024];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            // The sender closed: what is left is the last record.
            let mut records = Vec::new();
            if let Some(rest) = framer.finish(&buf) {
                records.push(envelope(cfg, peer, rest));
            }
            crate::deliver(&queue, records, m).await?;
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut records = Vec::new();
        let used = framer.frames(&buf, |raw| {
            m.bytes.add(raw.len() as u64);
            records.push(envelope(cfg, peer, raw));
        });
        m.truncated.add(std::mem::take(&mut framer.truncated));
        buf.drain(..used);
        crate::deliver(&queue, records, m).await?;
    }
}

/// RFC 6587 framing, decided per frame: a frame starting with a digit and
/// `LEN SP` is octet-counted, anything else ends at LF (CR LF and NUL
/// tolerated).
pub struct Framer {
    max: usize,
    /// Records cut at `max` since last read.
    pub truncated: u64,
    /// Inside an over-long newline frame: skip to its end.
    skipping: bool,
}

impl Framer {
    /// A framer keeping at most `max` bytes per record.
    pub fn new(max: usize) -> Self {
        Framer {
            max,
            truncated: 0,
            skipping: false,
        }
    }

    /// Calls `emit` for each whole frame in `buf`; returns the bytes used.
    pub fn frames(&mut self, buf: &[u8], mut emit: impl FnMut(&[u8])) -> usize {
        let mut i = 0;
        while i < buf.len() {
            if self.skipping {
                match memchr::memchr(b'\n', &buf[i..]) {
                    Some(nl) => {
                        i += nl + 1;
                        self.skipping = false;
                        continue;
                    }
                    None => return buf.len(),
                }
            }
            let rest = &buf[i..];
            if rest[0] == b'\n' || rest[0] == b'\r' || rest[0] == 0 {
                i += 1;
                continue;
            }
            if let Some((len, hdr)) = octet_count(rest) {
                if rest.len() < hdr + len {
                    return i;
                }
                let frame = &rest[hdr..hdr + len];
                let keep = &frame[..frame.len().min(self.max)];
                if frame.len() > self.max {
                    self.truncated += 1;
                }
                let t = trim_frame(keep);
                if !t.is_empty() {
                    emit(t);
                }
                i += hdr + len;
                continue;
            }
            match memchr::memchr(b'\n', rest) {
                Some(nl) => {
                    let frame = &rest[..nl];
                    if frame.len() > self.max {
                        self.truncated += 1;
                    }
                    let t = trim_frame(&frame[..frame.len().min(self.max)]);
                    if !t.is_empty() {
                        emit(t);
                    }
                    i += nl + 1;
                }
                None if rest.len() > self.max => {
                    emit(trim_frame(&rest[..self.max]));
                    self.truncated += 1;
                    self.skipping = true;
                    return buf.len();
                }
                None => return i,
            }
        }
        i
    }

    /// The unterminated last record at the end of a stream.
    pub fn finish<'b>(&self, buf: &'b [u8]) -> Option<&'b [u8]> {
        if self.skipping {
            return None;
        }
        let t = trim_frame(buf);
        let t = &t[..t.len().min(self.max)];
        (!t.is_empty()).then_some(t)
    }
}

/// `123 ` at the start: (length, header bytes). Only when the digits are
/// followed by a space and then `<` (a syslog record), so a newline-framed
/// message that happens to start with a number is not misread.
fn octet_count(b: &[u8]) -> Option<(usize, usize)> {
    let digits = b.iter().take(10).take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || b.get(digits) != Some(&b' ') {
        return None;
    }
    if b.get(digits + 1).is_some_and(|c| *c != b'<') {
        return None;
    }
    let len: usize = std::str::from_utf8(&b[..digits]).ok()?.parse().ok()?;
    // A length no sender means is a framing error, not a reason to buffer.
    (len <= 8 << 20).then_some((len, digits + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(f: &mut Framer, input: &[u8]) -> (Vec<String>, usize) {
        let mut out = Vec::new();
        let used = f.frames(input, |r| out.push(String::from_utf8_lossy(r).into_owned()));
        (out, used)
    }

    #[test]
    fn newline_and_octet_counting_frames_mix() {
        let mut f = Framer::new(1000);
        let input = b"<13>one\n11 <13>two\nx\r\n<13>three\n\n12 <13>four";
        let (out, used) = all(&mut f, input);
        assert_eq!(out, vec!["<13>one", "<13>two\nx", "<13>three"]);
        // `12 <13>four` is incomplete (needs 12 bytes): kept for the next read.
        assert_eq!(&input[used..], b"12 <13>four");
        assert_eq!(f.finish(&input[used..]), Some(&b"12 <13>four"[..]));
    }

    #[test]
    fn long_records_are_cut_and_counted() {
        let mut f = Framer::new(5);
        let (out, used) = all(&mut f, b"abcdefgh\nxy\n");
        assert_eq!(out, vec!["abcde", "xy"]);
        assert_eq!(used, 12);
        assert_eq!(f.truncated, 1);
        // No newline yet and already too long: cut now, skip to the newline.
        let mut f = Framer::new(5);
        let (out, _) = all(&mut f, b"abcdefghij");
        assert_eq!(out, vec!["abcde"]);
        let (out, _) = all(&mut f, b"klm\nnext\n");
        assert_eq!(out, vec!["next"]);
    }

    #[test]
    fn a_number_at_line_start_is_not_a_length() {
        let mut f = Framer::new(100);
        let (out, _) = all(&mut f, b"2026 was a year\n");
        assert_eq!(out, vec!["2026 was a year"]);
    }
}
