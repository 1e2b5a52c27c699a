//! Syslog inputs: configuration, binding, and the envelope each record
//! travels in. UDP (one datagram, one record) is read in [`crate::udp`];
//! TCP and TLS (RFC 6587 framing, RFC 5425) in [`crate::tcp`], framed by
//! [`crate::framer`].

use std::net::SocketAddr;
use std::sync::Arc;

use tocsin_parse::Format;
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
    /// TLS for a TCP input (RFC 5425, usually port 6514), optionally
    /// requiring client certificates.
    #[serde(default)]
    pub tls: Option<tocsin_net::TlsConfig>,
    /// Addresses allowed to send (CIDRs); empty: anyone. Others' connections
    /// are refused and their datagrams dropped, counted.
    #[serde(default)]
    pub allow: Vec<tocsin_model::Cidr>,
    /// TCP: connections held at once (more are refused and counted).
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// TCP: connections held at once from one address.
    #[serde(default = "default_per_source")]
    pub max_connections_per_source: usize,
    /// TCP: a connection silent this long is closed, seconds.
    #[serde(default = "default_idle")]
    pub idle_timeout_secs: u64,
    /// TLS: a handshake not done in this long is dropped, seconds.
    #[serde(default = "default_handshake")]
    pub handshake_timeout_secs: u64,
    /// Whether this input's senders are sensors whose own alerts (Suricata
    /// `alert` records) become alerts; from any other input such records
    /// are kept as events only.
    #[serde(default)]
    pub sensor: bool,
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

impl SyslogConfig {
    /// An input with every other setting at its default.
    pub fn new(name: &str, protocol: Protocol, listen: SocketAddr) -> Self {
        SyslogConfig {
            name: name.to_string(),
            protocol,
            listen,
            format: default_format(),
            max_record: default_max_record(),
            tls: None,
            allow: Vec::new(),
            max_connections: default_max_connections(),
            max_connections_per_source: default_per_source(),
            idle_timeout_secs: default_idle(),
            handshake_timeout_secs: default_handshake(),
            sensor: false,
            agency: None,
            scope: Default::default(),
            receive_buffer: None,
        }
    }
}

fn default_max_connections() -> usize {
    1024
}

fn default_per_source() -> usize {
    64
}

fn default_idle() -> u64 {
    300
}

fn default_handshake() -> u64 {
    10
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
    gate: Option<tocsin_net::Gate>,
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
        let gate = tocsin_net::GateConfig {
            name: self.name.clone(),
            allow: self.allow.clone(),
            max_connections: self.max_connections,
            max_connections_per_source: self.max_connections_per_source,
            handshake_timeout: std::time::Duration::from_secs(self.handshake_timeout_secs.max(1)),
            tls,
        }
        .build(tocsin_net::GateCounters {
            refused: m.refused_connections.clone(),
            timed_out: m.timed_out.clone(),
            failed_handshakes: m.rejected.clone(),
        });
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
            gate: Some(gate),
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
            gate,
            m,
        } = self;
        if let Some(sock) = udp {
            crate::udp::run(cfg, sock, queue, m).await;
        } else if let (Some(l), Some(gate)) = (tcp, gate) {
            crate::tcp::serve(cfg, l, gate, queue, m).await;
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
