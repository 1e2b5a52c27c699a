//! TLS for the inputs that take it (syslog over TCP, RFC 5425; the HTTP
//! listener): certificate and key from PEM files, rustls with ring, and
//! optionally client certificates required and checked against a CA.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_rustls::rustls;

/// Certificate and key (PEM files) of a TLS listener.
#[derive(Clone, Debug, serde::Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// When set, senders must present a client certificate issued by one
    /// of the CA certificates in this PEM file: only the agencies' own
    /// collectors, holding a certificate the center issued, can connect.
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
}

impl TlsConfig {
    /// A TLS acceptor from the PEM files; errors name the file and reason.
    pub fn acceptor(&self) -> std::io::Result<tokio_rustls::TlsAcceptor> {
        Ok(tokio_rustls::TlsAcceptor::from(Arc::new(
            self.server_config()?,
        )))
    }

    /// A TLS acceptor for an HTTP/1.1 server (ALPN says so).
    pub fn http_acceptor(&self) -> std::io::Result<tokio_rustls::TlsAcceptor> {
        let mut c = self.server_config()?;
        c.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(tokio_rustls::TlsAcceptor::from(Arc::new(c)))
    }

    /// The rustls configuration (an HTTP server adds its ALPN to it).
    pub fn server_config(&self) -> std::io::Result<rustls::ServerConfig> {
        use rustls_pki_types::pem::PemObject;
        use rustls_pki_types::{CertificateDer, PrivateKeyDer};
        let bad = |p: &Path, e: &dyn std::fmt::Display| {
            std::io::Error::other(format!("TLS {}: {e}", p.display()))
        };
        let certs = |p: &Path| -> std::io::Result<Vec<CertificateDer<'static>>> {
            let v: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(p)
                .map_err(|e| bad(p, &e))?
                .collect::<Result<_, _>>()
                .map_err(|e| bad(p, &e))?;
            if v.is_empty() {
                return Err(bad(p, &"no certificate in the file"));
            }
            Ok(v)
        };
        let chain = certs(&self.cert)?;
        let key = PrivateKeyDer::from_pem_file(&self.key).map_err(|e| bad(&self.key, &e))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| bad(&self.cert, &e))?;
        let builder = match &self.client_ca {
            None => builder.with_no_client_auth(),
            Some(ca) => {
                let mut roots = rustls::RootCertStore::empty();
                for c in certs(ca)? {
                    roots.add(c).map_err(|e| bad(ca, &e))?;
                }
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    roots.into(),
                    provider,
                )
                .build()
                .map_err(|e| bad(ca, &e))?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        builder
            .with_single_cert(chain, key)
            .map_err(|e| bad(&self.key, &e))
    }
}
