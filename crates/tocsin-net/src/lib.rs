//! Tocsin's listening sockets, the infrastructure under every input and
//! server that faces the agencies' networks (and whoever else reaches
//! them): syslog over TCP and TLS, the HTTP ingest, the console.
//!
//! ```text
//! socket ─▶ Gate (allow list, connection limits, TLS handshake in time)
//!              ├─▶ syslog TCP/TLS reader            (tocsin-ingest)
//!              └─▶ HttpServer (header and request timeouts, 408)
//!                    ├─▶ HTTP ingest router          (tocsin-ingest)
//!                    └─▶ console router              (tocsin-web)
//! ```
//!
//! What a connection costs is decided here before any byte of it is read:
//! a refused one costs an accept and a close; an admitted one holds one of
//! a bounded number of places until it is done, silent too long, or slow.
//! Every refusal and timeout is counted (see docs/hardening.md).

pub mod gate;
pub mod guard;
pub mod http;
pub mod tls;

pub use gate::{Entry, Gate, GateConfig, GateCounters, Stream};
pub use guard::{Admitted, Limiter, Refusal, allowed};
pub use http::{HttpLimits, HttpServer};
pub use tls::TlsConfig;
