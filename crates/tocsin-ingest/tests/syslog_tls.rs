//! Syslog over TLS (RFC 5425) and over plain TCP into the queue.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use tocsin_ingest::syslog::{Protocol, SyslogConfig};
use tocsin_net::TlsConfig;
use tocsin_queue::{DiskQueueConfig, Envelope, Queue};
use tocsin_telemetry::Metrics;
use tokio::io::AsyncWriteExt;

async fn records(q: &Arc<dyn Queue>, n: u64) -> Vec<String> {
    let mut out = Vec::new();
    let mut from = 0;
    while (out.len() as u64) < n {
        let got = tokio::time::timeout(std::time::Duration::from_secs(10), q.read(from, 100))
            .await
            .expect("records arrive")
            .unwrap();
        for e in got {
            from = e.seq + 1;
            out.push(String::from_utf8_lossy(Envelope::decode(&e.data).unwrap().raw).into_owned());
        }
    }
    out
}

#[tokio::test]
async fn tls_syslog_reaches_the_queue_and_plain_clients_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let cert_pem = ck.cert.pem();
    std::fs::write(dir.path().join("cert.pem"), &cert_pem).unwrap();
    std::fs::write(dir.path().join("key.pem"), ck.signing_key.serialize_pem()).unwrap();
    let metrics = Metrics::default();
    let cfg = SyslogConfig {
        tls: Some(TlsConfig {
            cert: dir.path().join("cert.pem"),
            key: dir.path().join("key.pem"),
            client_ca: None,
        }),
        max_record: 65536,
        ..SyslogConfig::new("syslog-tls", Protocol::Tcp, "127.0.0.1:0".parse().unwrap())
    };
    let input = cfg.clone().bind(&metrics).await.unwrap();
    let addr = input.local_addr().unwrap();
    let q: Arc<dyn Queue> = Arc::new(
        DiskQueueConfig::in_dir(dir.path().join("q"))
            .build("t", 0)
            .unwrap(),
    );
    tokio::spawn(input.run(q.clone()));

    // A plain client on the TLS port: refused, nothing queued.
    let mut plain = tokio::net::TcpStream::connect(addr).await.unwrap();
    plain
        .write_all(b"<13>Nov 24 10:00:00 h app: plaintext\n")
        .await
        .unwrap();
    drop(plain);

    // A TLS client trusting the test certificate.
    use tokio_rustls::rustls;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ck.cert.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = tokio_rustls::rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.unwrap();
    let msg = "<38>1 2026-11-24T10:00:00+07:00 srv01 sshd 42 - - Failed password for root from 45.155.205.233 port 22 ssh2";
    // Octet-counted, as RFC 5425 requires.
    tls.write_all(format!("{} {msg}", msg.len()).as_bytes())
        .await
        .unwrap();
    tls.shutdown().await.unwrap();
    let got = records(&q, 1).await;
    assert_eq!(got, vec![msg.to_string()]);
    let m = metrics.render();
    assert!(
        m.contains("tocsin_input_rejected_total{input=\"syslog-tls\",kind=\"syslog-tls\"} 1"),
        "{m}"
    );

    // A UDP input with TLS is a configuration error, and a missing key file
    // is named.
    let mut udp = cfg.clone();
    udp.protocol = Protocol::Udp;
    assert!(
        udp.bind(&metrics)
            .await
            .err()
            .unwrap()
            .to_string()
            .contains("TCP")
    );
    let mut missing = cfg;
    missing.tls = Some(TlsConfig {
        cert: dir.path().join("cert.pem"),
        key: dir.path().join("nope.pem"),
        client_ca: None,
    });
    assert!(
        missing
            .bind(&metrics)
            .await
            .err()
            .unwrap()
            .to_string()
            .contains("nope.pem")
    );
}
