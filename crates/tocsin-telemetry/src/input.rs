//! The counters every input updates, one set per input.

use crate::{Counter, Metrics};

/// The counters one input updates. Made by [`Metrics::input`], which also
/// lists them for the status page, so a renamed series cannot drop out of
/// the console unnoticed.
#[derive(Clone, Debug)]
pub struct InputMetrics {
    /// The input's name in the configuration.
    pub name: String,
    /// `syslog-udp`, `syslog-tcp`, `syslog-tls`, `http`, `file`.
    pub kind: &'static str,
    /// Records accepted (durably queued).
    pub received: Counter,
    /// Bytes accepted.
    pub bytes: Counter,
    /// Records dropped (UDP with the queue full).
    pub dropped: Counter,
    /// Records cut at the size limit.
    pub truncated: Counter,
    /// Requests or frames refused (bad key, bad framing).
    pub rejected: Counter,
    /// Times the input held a sender back because the queue could not
    /// take its records (full, or failing to write): TCP stopped reading,
    /// HTTP answered 503 with Retry-After, a file waited.
    pub pushback: Counter,
    /// Datagrams the kernel dropped before the input could read them (UDP
    /// receive buffer overflow, from `/proc/net/udp`).
    pub kernel_dropped: Counter,
    /// Connections refused: source not allowed, or too many connections in
    /// all or from one address.
    pub refused_connections: Counter,
    /// Connections closed for silence, or TLS handshakes and request
    /// headers or bodies not done in time.
    pub timed_out: Counter,
}

impl Metrics {
    /// The series of input `name` of `kind` (created at zero on first use;
    /// the same counters when asked again).
    pub fn input(&self, name: &str, kind: &'static str) -> InputMetrics {
        let mut inputs = self.inputs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = inputs.iter().find(|m| m.name == name && m.kind == kind) {
            return m.clone();
        }
        let l = [("input", name), ("kind", kind)];
        let m = InputMetrics {
            name: name.to_string(),
            kind,
            received: self.counter(
                "tocsin_input_events_total",
                "Records accepted and durably queued, per input.",
                &l,
            ),
            bytes: self.counter(
                "tocsin_input_bytes_total",
                "Bytes of records accepted, per input.",
                &l,
            ),
            dropped: self.counter(
                "tocsin_input_dropped_total",
                "Records dropped because the queue was full (UDP only).",
                &l,
            ),
            truncated: self.counter(
                "tocsin_input_truncated_total",
                "Records cut at the maximum record size.",
                &l,
            ),
            rejected: self.counter(
                "tocsin_input_rejected_total",
                "Requests or frames refused (authentication, framing, malformed bulk actions).",
                &l,
            ),
            pushback: self.counter(
                "tocsin_input_pushback_total",
                "Times a sender was held back because the queue could not take records.",
                &l,
            ),
            kernel_dropped: self.counter(
                "tocsin_input_kernel_dropped_total",
                "Datagrams the kernel dropped before the input read them (receive buffer full).",
                &l,
            ),
            refused_connections: self.counter(
                "tocsin_input_refused_connections_total",
                "Connections refused: source not allowed, or too many in all or from one address.",
                &l,
            ),
            timed_out: self.counter(
                "tocsin_input_timed_out_total",
                "Connections closed for silence, or handshakes, headers or bodies not done in time.",
                &l,
            ),
        };
        inputs.push(m.clone());
        m
    }
}
