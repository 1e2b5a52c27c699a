//! The parallel stage: each worker decodes, parses, attributes and runs the
//! detectors over its share of a batch.

use std::panic::{AssertUnwindSafe, catch_unwind};

use chrono::{DateTime, Utc};
use tocsin_detect::{AnyCarry, AttributionPolicy, Detectors, Observed, Workers};
use tocsin_model::{Event, EventKind, Finding};
use tocsin_parse::{Parser, Received};
use tocsin_queue::{Entry, Envelope, hour_of, now_us};
use tocsin_telemetry::PipelineMetrics;

use crate::archive::{Frame, Pending};
use crate::counts::Counts;

/// The input name under which unreadable queued records are counted.
pub const UNREADABLE_INPUT: &str = "queue";

/// One worker's tools: its own parser and detector buffers.
pub(crate) struct Worker {
    pub(crate) parser: Parser,
    pub(crate) detectors: Workers,
}

/// An event after the parallel stage that the ordered stage needs.
pub(crate) struct Staged {
    pub(crate) seq: u64,
    pub(crate) received_us: i64,
    /// The event, when it raised findings on its own.
    pub(crate) ev: Option<Event>,
    /// The queued record, when only carries need it (re-parsed in the
    /// rare case the ordered stage raises a finding).
    pub(crate) raw: Vec<u8>,
    pub(crate) findings: Vec<Finding>,
    pub(crate) carries: Vec<(usize, AnyCarry)>,
}

/// What a worker hands back for its share of a batch: only the events that
/// need the ordered stage are kept; the rest are counted and freed on the
/// worker's own thread.
#[derive(Default)]
pub(crate) struct Share {
    pub(crate) kept: Vec<Staged>,
    pub(crate) counts: Counts,
    pub(crate) received: Vec<i64>,
    /// Raw-archive frames of this share (when archiving).
    pub(crate) frames: Vec<Frame>,
}

/// What every worker reads while staging its share of a batch.
pub(crate) struct StageContext<'a> {
    pub(crate) detectors: &'a Detectors,
    pub(crate) policy: &'a AttributionPolicy,
    /// How far past its receipt an event's time may be.
    pub(crate) skew: chrono::Duration,
    /// Archive the records from this queue position on (None: no archive).
    pub(crate) archive_from: Option<u64>,
    pub(crate) metrics: &'a PipelineMetrics,
}

/// Decodes, parses, attributes and detects a share of a batch.
pub(crate) fn stage(cx: &StageContext<'_>, w: &mut Worker, entries: &[Entry]) -> Share {
    let mut out = Share {
        received: Vec::with_capacity(entries.len()),
        ..Share::default()
    };
    let mut pending = Pending::default();
    for e in entries {
        let readable = match &e.damaged {
            Some(d) => Err((d.records, d.reason.clone())),
            None => Envelope::decode(&e.data).map_err(|err| (1, err.to_string())),
        };
        let env = match readable {
            Ok(env) => env,
            Err((n, why)) => {
                // Its content is gone; say so where operators look (the log,
                // /metrics, the event counts of the console) and go on.
                tracing::error!(seq = e.seq, records = n, reason = %why, "pipeline: queued records could not be read; counted as lost");
                cx.metrics.unreadable.add(n);
                out.counts
                    .add(hour_of(now_us()), UNREADABLE_INPUT, "", n as i64, n as i64);
                continue;
            }
        };
        // Each record alone: a panic in a parser, the attribution or a
        // detector becomes this record's failure, not the batch's.
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let (ev, clamped, noted) = parse(cx.policy, &w.parser, &env, cx.skew);
            if clamped {
                cx.metrics.clamped.inc();
            }
            if noted.untrusted_alert {
                cx.metrics.untrusted_alerts.inc();
            }
            if noted.outside_scope {
                cx.metrics.outside_scope.inc();
            }
            let found = cx.detectors.observe(&mut w.detectors, &ev);
            (ev, found)
        }));
        let (ev, found) = match outcome {
            Ok(x) => x,
            Err(payload) => {
                let reason = panic_reason(&*payload);
                tracing::error!(seq = e.seq, input = env.input, format = env.format.name(), %reason, "pipeline: processing this record panicked; it is kept as a pipeline_error event");
                cx.metrics.panicked(env.input, env.format.name()).inc();
                // The detectors' buffers may be half-updated: start afresh.
                w.detectors = cx.detectors.workers();
                (failed_event(&env, &reason), Observed::default())
            }
        };
        let failed = ev.kind == EventKind::PipelineError;
        if let Some(f) = cx.metrics.formats.get(env.format.index()) {
            f.parsed.inc();
            if failed {
                f.failed.inc();
            }
        }
        out.received.push(env.received_us);
        out.counts.add(
            hour_of(env.received_us),
            env.input,
            ev.attribution.agency.as_ref().map_or("", |a| a.as_str()),
            1,
            i64::from(failed),
        );
        if cx.archive_from.is_some_and(|from| e.seq >= from) {
            let line = crate::archive::line(&ev, e.seq, env.received_us);
            pending.push(env.input, hour_of(env.received_us), &line);
        }
        if found.is_empty() {
            continue;
        }
        let alone = !found.findings.is_empty();
        out.kept.push(Staged {
            seq: e.seq,
            received_us: env.received_us,
            raw: if alone { Vec::new() } else { e.data.clone() },
            ev: alone.then_some(ev),
            findings: found.findings,
            carries: found.carries,
        });
    }
    if cx.archive_from.is_some() {
        out.frames = pending.compress();
    }
    out
}

/// What a panic said, for the record's error.
pub(crate) fn panic_reason(payload: &(dyn std::any::Any + Send)) -> String {
    let msg = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    format!("internal error while processing: {msg}")
}

/// A record Tocsin failed on, as an event: kept raw with the reason, like
/// one no parser understood.
pub(crate) fn failed_event(env: &Envelope<'_>, reason: &str) -> Event {
    let at = DateTime::<Utc>::from_timestamp_micros(env.received_us).unwrap_or_else(Utc::now);
    let original = String::from_utf8_lossy(env.raw).into_owned();
    let observer = tocsin_model::Observer {
        name: env.input.to_string(),
        kind: env.format.name().to_string(),
        host: None,
    };
    let mut ev = Event::new(tocsin_model::Timestamp::received(at), observer, original);
    ev.kind = EventKind::PipelineError;
    ev.fields.insert("error.message", reason.to_string());
    ev.fields.insert("event.original", ev.original.clone());
    ev.parse_error = Some(reason.to_string());
    ev.attribution.agency = env.sender.map(tocsin_model::AgencyCode::from);
    ev
}

/// The event of a queued record: parsed, its time clamped to its receipt
/// plus `skew` (true when it had to be), and attributed (with what the
/// attribution noticed).
pub(crate) fn parse(
    policy: &AttributionPolicy,
    parser: &Parser,
    env: &Envelope<'_>,
    skew: chrono::Duration,
) -> (Event, bool, tocsin_detect::Noted) {
    let at = DateTime::<Utc>::from_timestamp_micros(env.received_us).unwrap_or_else(Utc::now);
    let rx = Received {
        input: env.input,
        at,
        peer: env.peer,
    };
    let mut ev = parser.parse(env.format, env.raw, &rx);
    let latest = at
        .checked_add_signed(skew)
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    let clamped = ev.timestamp.utc > latest;
    if clamped {
        // Kept, so the analyst sees what the record claimed.
        ev.fields
            .insert("tocsin.claimed_time", ev.timestamp.utc.to_rfc3339());
        ev.timestamp.utc = latest;
    }
    let noted = policy.attribute(&mut ev, env.input, env.peer, env.sender);
    (ev, clamped, noted)
}
