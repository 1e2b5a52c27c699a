//! The Sigma 2.1 specification, feature by feature, on literal events.

#![allow(clippy::unwrap_used)] // tests fail loudly on bad fixtures

use std::path::Path;

use tocsin_sigma::{Correlator, CorrelatorConfig, Engine, EngineBuilder, EngineConfig};

fn engine_with(yaml: &str, cfg: EngineConfig) -> Engine {
    let mut b = EngineBuilder::new(cfg);
    b.add_text(yaml, Path::new("t.yml"));
    let (e, report) = b.build();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    e
}

fn rule(detection: &str) -> Engine {
    let yaml = format!("title: t\nid: r1\nlogsource: {{product: test}}\ndetection:\n{detection}\n");
    engine_with(&yaml, EngineConfig::default())
}

fn hits(e: &Engine, json: &str) -> bool {
    let mut s = e.scratch();
    let fast = !e.eval_json(json.as_bytes(), &mut s).unwrap().is_empty();
    // The prefilter must agree with evaluating every rule.
    assert_eq!(
        fast,
        !e.eval_all(&mut s).is_empty(),
        "prefilter disagrees on {json}"
    );
    fast
}

#[test]
fn string_modifiers_and_case() {
    let e = rule("  sel:\n    CommandLine|contains: 'WhoAmI'\n  condition: sel");
    assert!(hits(&e, r#"{"CommandLine":"cmd /c whoami /all"}"#));
    assert!(!hits(&e, r#"{"CommandLine":"cmd /c who"}"#));
    let e = rule("  sel:\n    Image|endswith: '\\cmd.exe'\n  condition: sel");
    assert!(hits(&e, r#"{"Image":"C:\\Windows\\System32\\CMD.EXE"}"#));
    assert!(!hits(&e, r#"{"Image":"C:\\cmd.exe.bak"}"#));
    let e = rule("  sel:\n    Image|startswith: 'C:\\Users\\'\n  condition: sel");
    assert!(hits(&e, r#"{"Image":"c:\\users\\a\\x.exe"}"#));
    let e = rule("  sel:\n    Image|cased: 'Cmd.exe'\n  condition: sel");
    assert!(hits(&e, r#"{"Image":"Cmd.exe"}"#));
    assert!(!hits(&e, r#"{"Image":"cmd.exe"}"#));
    let e = rule("  sel:\n    Name: 'ĐÔNG SƠN'\n  condition: sel");
    assert!(hits(&e, r#"{"Name":"đông sơn"}"#), "Unicode case folding");
}

#[test]
fn wildcards_escapes_and_lists() {
    let e = rule("  sel:\n    CommandLine: '*\\\\temp\\\\*.ps?'\n  condition: sel");
    assert!(hits(&e, r#"{"CommandLine":"run C:\\TEMP\\x.ps1"}"#));
    assert!(!hits(&e, r#"{"CommandLine":"run C:\\TEMP\\x.ps"}"#));
    let e = rule("  sel:\n    Title: 'a\\*b'\n  condition: sel");
    assert!(hits(&e, r#"{"Title":"a*b"}"#));
    assert!(!hits(&e, r#"{"Title":"axxb"}"#));
    let e = rule("  sel:\n    Msg: 'line1*line2'\n  condition: sel");
    assert!(
        hits(&e, "{\"Msg\":\"line1\\nline2\"}"),
        "wildcards cross line breaks"
    );
    let e = rule(
        "  sel:\n    CommandLine|contains|all:\n      - 'vssadmin'\n      - 'delete'\n  condition: sel",
    );
    assert!(hits(&e, r#"{"CommandLine":"vssadmin delete shadows"}"#));
    assert!(!hits(&e, r#"{"CommandLine":"vssadmin list shadows"}"#));
    let e = rule("  sel:\n    EventID:\n      - 4624\n      - 4625\n  condition: sel");
    assert!(hits(&e, r#"{"EventID":4625}"#));
    assert!(hits(&e, r#"{"EventID":"4624"}"#));
    assert!(!hits(&e, r#"{"EventID":4626}"#));
    let e = rule("  sel:\n    - User: admin\n    - User: root\n  condition: sel");
    assert!(hits(&e, r#"{"User":"ROOT"}"#));
    let e = rule("  sel:\n    tags: b\n  condition: sel");
    assert!(hits(&e, r#"{"tags":["a","b"]}"#), "any element of a list");
}

#[test]
fn regex_and_flags() {
    let e = rule("  sel:\n    CommandLine|re: '-e(nc|ncodedcommand)\\s'\n  condition: sel");
    assert!(hits(&e, r#"{"CommandLine":"powershell -enc AAA"}"#));
    assert!(
        !hits(&e, r#"{"CommandLine":"powershell -ENC AAA"}"#),
        "re is case-sensitive"
    );
    let e = rule("  sel:\n    CommandLine|re|i: '-enc\\s'\n  condition: sel");
    assert!(hits(&e, r#"{"CommandLine":"powershell -ENC AAA"}"#));
    let e = rule("  sel:\n    Msg|re|m: '^second$'\n  condition: sel");
    assert!(hits(&e, "{\"Msg\":\"first\\nsecond\"}"));
    let e = rule("  sel:\n    Msg|re|s: 'a.b'\n  condition: sel");
    assert!(hits(&e, "{\"Msg\":\"a\\nb\"}"));
    // A minimum length ruled out before running the expression: exactly at
    // the bound it still runs (and matches); case folding that changes a
    // character's byte length (K, the Kelvin sign) is counted right.
    let e = rule("  sel:\n    CommandLine|re: '.{10,}'\n  condition: sel");
    assert!(!hits(&e, r#"{"CommandLine":"123456789"}"#));
    assert!(hits(&e, r#"{"CommandLine":"1234567890"}"#));
    let e = rule("  sel:\n    Msg|re|i: '^kk$'\n  condition: sel");
    assert!(hits(&e, r#"{"Msg":"kK"}"#));
    assert!(hits(&e, r#"{"Msg":"\u212a\u212a"}"#));
}

#[test]
fn encodings() {
    // base64: "whoami" → d2hvYW1p
    let e = rule("  sel:\n    Data|base64: 'whoami'\n  condition: sel");
    assert!(hits(&e, r#"{"Data":"d2hvYW1p"}"#));
    // base64offset|contains finds the text at any offset of an encoded blob.
    let e = rule("  sel:\n    Data|base64offset|contains: 'Invoke-Mimikatz'\n  condition: sel");
    for blob in [
        "SW52b2tlLU1pbWlrYXR6",
        "eEludm9rZS1NaW1pa2F0eg==",
        "eHhJbnZva2UtTWltaWthdHo=",
    ] {
        assert!(hits(&e, &format!(r#"{{"Data":"{blob}"}}"#)), "{blob}");
    }
    // wide|base64offset: PowerShell -enc carries UTF-16LE.
    let e = rule("  sel:\n    CommandLine|wide|base64offset|contains: 'IEX'\n  condition: sel");
    assert!(hits(&e, r#"{"CommandLine":"powershell -enc SQBFAFgA"}"#));
    let e = rule("  sel:\n    CommandLine|windash|contains: ' -exec bypass'\n  condition: sel");
    assert!(hits(&e, r#"{"CommandLine":"powershell /exec bypass"}"#));
    assert!(hits(
        &e,
        "{\"CommandLine\":\"powershell \u{2013}exec bypass\"}"
    ));
}

#[test]
fn special_values() {
    let e = rule("  sel:\n    SourceIp|cidr: '10.36.0.0/16'\n  condition: sel");
    assert!(hits(&e, r#"{"SourceIp":"10.36.5.7"}"#));
    assert!(!hits(&e, r#"{"SourceIp":"10.37.0.1"}"#));
    let e = rule("  sel:\n    Parent: null\n  condition: sel");
    assert!(hits(&e, r#"{"Other":"x"}"#));
    assert!(hits(&e, r#"{"Parent":null}"#));
    assert!(!hits(&e, r#"{"Parent":"x"}"#));
    let e = rule("  sel:\n    Parent|exists: true\n  condition: sel");
    assert!(hits(&e, r#"{"Parent":"x"}"#));
    assert!(!hits(&e, r#"{"Other":"x"}"#));
    let e = rule(
        "  sel:\n    Port|gte: 1024\n  filter:\n    Port|lt: 2000\n  condition: sel and not filter",
    );
    assert!(hits(&e, r#"{"Port":"8080"}"#));
    assert!(!hits(&e, r#"{"Port":1500}"#));
    assert!(!hits(&e, r#"{"Port":80}"#));
    let e = rule("  sel:\n    User|neq: SYSTEM\n  condition: sel");
    assert!(hits(&e, r#"{"User":"bob"}"#));
    assert!(!hits(&e, r#"{"User":"system"}"#));
    assert!(!hits(&e, r#"{"Other":"x"}"#), "neq needs the field");
    let e = rule("  sel:\n    TargetFilename|fieldref: Image\n  condition: sel");
    assert!(hits(
        &e,
        r#"{"Image":"C:\\a.exe","TargetFilename":"c:\\A.EXE"}"#
    ));
    assert!(!hits(
        &e,
        r#"{"Image":"C:\\a.exe","TargetFilename":"C:\\b.exe"}"#
    ));
    let e = rule("  sel:\n    UtcTime|hour: 3\n  condition: sel");
    assert!(hits(&e, r#"{"UtcTime":"2026-03-02 03:15:00.000"}"#));
    assert!(!hits(&e, r#"{"UtcTime":"2026-03-02 04:15:00.000"}"#));
    let e = rule("  sel:\n    Enabled: true\n  condition: sel");
    assert!(hits(&e, r#"{"Enabled":true}"#));
    assert!(!hits(&e, r#"{"Enabled":false}"#));
}

#[test]
fn expand_placeholders_from_configuration() {
    let yaml = "title: t\nlogsource: {product: test}\ndetection:\n  sel:\n    Computer|expand: '%dcs%'\n  condition: sel\n";
    let mut cfg = EngineConfig::default();
    cfg.placeholders
        .insert("dcs".into(), vec!["DC01".into(), "DC02".into()]);
    let e = engine_with(yaml, cfg);
    assert!(hits(&e, r#"{"Computer":"dc02"}"#));
    assert!(!hits(&e, r#"{"Computer":"ws01"}"#));
    // Unset: loads, warns, never matches.
    let mut b = EngineBuilder::new(EngineConfig::default());
    b.add_text(yaml, Path::new("t.yml"));
    let (e, report) = b.build();
    assert!(report.errors.is_empty());
    assert_eq!(report.warnings.len(), 1);
    assert!(
        report.warnings[0].reason.contains("placeholder"),
        "{}",
        report.warnings[0]
    );
    assert!(!hits(&e, r#"{"Computer":"dc02"}"#));
}

#[test]
fn keywords_and_conditions() {
    let e =
        rule("  keywords:\n    - 'Failed password'\n    - 'Invalid user'\n  condition: keywords");
    assert!(hits(
        &e,
        r#"{"message":"sshd[1]: FAILED PASSWORD for root"}"#
    ));
    assert!(!hits(&e, r#"{"message":"Accepted password"}"#));
    let e = rule("  kw:\n    '|all':\n      - 'alpha'\n      - 'beta'\n  condition: kw");
    assert!(hits(&e, r#"{"a":"alpha","b":"BETA"}"#));
    assert!(!hits(&e, r#"{"a":"alpha"}"#));
    let d = "  sel_a:\n    A: 1\n  sel_b:\n    B: 1\n  _aux:\n    C: 1\n";
    let e = rule(&format!("{d}  condition: 1 of sel_*"));
    assert!(hits(&e, r#"{"B":1}"#));
    let e = rule(&format!("{d}  condition: all of them"));
    assert!(hits(&e, r#"{"A":1,"B":1}"#), "`them` leaves out _aux");
    assert!(!hits(&e, r#"{"A":1}"#));
    let e = rule(&format!("{d}  condition: (sel_a or sel_b) and not _aux"));
    assert!(hits(&e, r#"{"A":1}"#));
    assert!(!hits(&e, r#"{"A":1,"C":1}"#));
    let e = rule(&format!("{d}  condition:\n    - sel_a\n    - sel_b"));
    assert!(hits(&e, r#"{"B":1}"#), "a list of conditions is OR");
}

#[test]
fn filters_apply_to_named_rules() {
    let yaml = r#"title: Whoami
id: 11111111-1111-1111-1111-111111111111
logsource: {product: windows, category: process_creation}
detection:
  sel: {Image|endswith: '\whoami.exe'}
  condition: sel
---
title: Admin workstations are fine
logsource: {product: windows, category: process_creation}
filter:
  rules:
    - 11111111-1111-1111-1111-111111111111
  selection:
    Computer|startswith: 'ADMIN-'
  condition: not selection
"#;
    let mut b = EngineBuilder::new(EngineConfig::default());
    b.add_text(yaml, Path::new("f.yml"));
    let (e, report) = b.build();
    assert_eq!(
        (report.rules, report.filters),
        (1, 1),
        "{:?}",
        report.errors
    );
    assert!(hits(
        &e,
        r#"{"Image":"C:\\Windows\\System32\\whoami.exe","Computer":"WS-12"}"#
    ));
    assert!(!hits(
        &e,
        r#"{"Image":"C:\\Windows\\System32\\whoami.exe","Computer":"ADMIN-01"}"#
    ));
}

#[test]
fn load_errors_name_file_line_and_reason() {
    let yaml = "title: Bad\nlogsource: {product: windows}\ndetection:\n  sel:\n    Image|endswith|contain: x\n  condition: sel\n---\ntitle: Bad condition\nlogsource: {product: windows}\ndetection:\n  sel:\n    A: 1\n  condition: sel and filter\n---\ntitle: Good\nlogsource: {product: windows}\ndetection:\n  sel:\n    A: 1\n  condition: sel\n";
    let mut b = EngineBuilder::new(EngineConfig::default());
    b.add_text(yaml, Path::new("mixed.yml"));
    b.add_path(Path::new("no/such/dir"));
    let (e, report) = b.build();
    assert_eq!(e.rules().len(), 1, "the good rule still loads");
    let msgs: Vec<String> = report.errors.iter().map(ToString::to_string).collect();
    assert_eq!(msgs.len(), 3, "{msgs:#?}");
    assert!(
        msgs.iter().any(|m| m.starts_with(
            "mixed.yml:5: rule `Bad`: `Image|endswith|contain` in `sel`: unknown modifier `contain`"
        )),
        "{msgs:#?}"
    );
    assert!(msgs.iter().any(|m| m.starts_with("mixed.yml:13: rule `Bad condition`: condition `sel and filter`: condition names `filter`")), "{msgs:#?}");
    assert!(
        msgs.iter()
            .any(|m| m.contains("no/such/dir") && m.contains("no such file")),
        "{msgs:#?}"
    );
}

fn correlate(yaml: &str, events: &[(&str, i64)]) -> Vec<tocsin_sigma::CorrelationMatch> {
    correlate_cfg(yaml, events, CorrelatorConfig::default()).0
}

fn correlate_cfg(
    yaml: &str,
    events: &[(&str, i64)],
    cfg: CorrelatorConfig,
) -> (
    Vec<tocsin_sigma::CorrelationMatch>,
    tocsin_sigma::CorrelatorStats,
) {
    let e = engine_with(yaml, EngineConfig::default());
    let mut c = Correlator::new(&e, cfg);
    let mut s = e.scratch();
    let mut out = Vec::new();
    for (json, ts) in events {
        let m = e.eval_json(json.as_bytes(), &mut s).unwrap().to_vec();
        out.extend(c.process(&e, &s.record, &m, *ts));
    }
    (out, c.stats())
}

const BASE: &str = r#"title: Failed logon
name: failed
logsource: {product: windows, service: security}
detection:
  sel: {EventID: 4625}
  condition: sel
---
title: Success logon
name: success
logsource: {product: windows, service: security}
detection:
  sel: {EventID: 4624}
  condition: sel
"#;

#[test]
fn event_count_with_group_by_and_window() {
    let yaml = format!(
        "{BASE}---\ntitle: Brute force\ncorrelation:\n  type: event_count\n  rules: [failed]\n  group-by: [IpAddress]\n  timespan: 1m\n  condition: {{gte: 3}}\n"
    );
    let ev = |ip: &str| format!(r#"{{"EventID":4625,"IpAddress":"{ip}"}}"#);
    let (a, b) = (ev("10.0.0.1"), ev("10.0.0.2"));
    let fired = correlate(
        &yaml,
        &[
            (&a, 0),
            (&b, 1_000),
            (&a, 2_000),
            (&a, 70_000),
            (&a, 80_000),
            (&a, 90_000),
        ],
    );
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(
        fired[0].group,
        vec![("IpAddress".to_string(), "10.0.0.1".to_string())]
    );
    assert_eq!(fired[0].events, 3);
    assert_eq!(
        fired[0].first_ms, 70_000,
        "the first two fell out of the 1m window"
    );
}

#[test]
fn value_count_sum_avg_percentile() {
    let mk = |kind: &str, cond: &str| {
        format!(
            "{BASE}---\ntitle: C\ncorrelation:\n  type: {kind}\n  rules: [failed]\n  group-by: [IpAddress]\n  timespan: 10m\n  condition: {cond}\n"
        )
    };
    let ev = |user: &str, n: i64| {
        format!(
            r#"{{"EventID":4625,"IpAddress":"10.0.0.9","TargetUserName":"{user}","Bytes":{n}}}"#
        )
    };
    let evs: Vec<String> = ["a", "b", "a", "c"]
        .iter()
        .enumerate()
        .map(|(i, u)| ev(u, (i as i64 + 1) * 10))
        .collect();
    let seq: Vec<(&str, i64)> = evs
        .iter()
        .enumerate()
        .map(|(i, e)| (e.as_str(), i as i64 * 1000))
        .collect();
    let f = correlate(&mk("value_count", "{field: TargetUserName, gte: 3}"), &seq);
    assert_eq!((f.len(), f[0].value), (1, 3.0), "three distinct users");
    let f = correlate(&mk("value_sum", "{field: Bytes, gt: 55}"), &seq);
    assert_eq!((f.len(), f[0].value), (1, 60.0));
    let f = correlate(&mk("value_avg", "{field: Bytes, gte: 25}"), &seq);
    assert_eq!(f[0].value, 25.0, "(10+20+30+40)/4 once all four are in");
    let f = correlate(
        &mk(
            "value_percentile",
            "{field: Bytes, percentile: 50, gte: 20}",
        ),
        &seq,
    );
    assert!(f[0].value >= 20.0);
}

#[test]
fn temporal_and_ordered() {
    let mk = |kind: &str| {
        format!(
            "{BASE}---\ntitle: Guess then success\ncorrelation:\n  type: {kind}\n  rules: [failed, success]\n  group-by: [TargetUserName]\n  timespan: 5m\n"
        )
    };
    let fail = r#"{"EventID":4625,"TargetUserName":"admin"}"#;
    let ok = r#"{"EventID":4624,"TargetUserName":"admin"}"#;
    assert_eq!(
        correlate(&mk("temporal"), &[(ok, 0), (fail, 1000)]).len(),
        1
    );
    assert_eq!(
        correlate(&mk("temporal_ordered"), &[(ok, 0), (fail, 1000)]).len(),
        0,
        "wrong order"
    );
    assert_eq!(
        correlate(&mk("temporal_ordered"), &[(fail, 0), (ok, 1000)]).len(),
        1
    );
    assert_eq!(
        correlate(&mk("temporal"), &[(fail, 0), (ok, 400_000)]).len(),
        0,
        "outside the window"
    );
}

#[test]
fn aliases_chains_and_generate() {
    let yaml = format!(
        "{BASE}---\ntitle: Same account\nname: same\ncorrelation:\n  type: temporal\n  rules: [failed, success]\n  group-by: [account]\n  aliases:\n    account:\n      failed: TargetUserName\n      success: SubjectUserName\n  timespan: 5m\n---\ntitle: Twice\ncorrelation:\n  type: event_count\n  rules: [same]\n  group-by: [account]\n  timespan: 1h\n  condition: {{gte: 2}}\n"
    );
    let fail = r#"{"EventID":4625,"TargetUserName":"bob"}"#;
    let ok = r#"{"EventID":4624,"SubjectUserName":"bob"}"#;
    let fired = correlate(&yaml, &[(fail, 0), (ok, 1), (fail, 2), (ok, 3)]);
    let titles: Vec<usize> = fired.iter().map(|f| f.correlation).collect();
    assert_eq!(titles, vec![0, 0, 1], "{fired:?}");
    let e = engine_with(&yaml, EngineConfig::default());
    let c = Correlator::new(&e, CorrelatorConfig::default());
    assert!(
        c.suppressed(0) && c.suppressed(1),
        "generate defaults to false"
    );
}

#[test]
fn bounded_state_counts_overflow() {
    let yaml = format!(
        "{BASE}---\ntitle: C\ncorrelation:\n  type: event_count\n  rules: [failed]\n  group-by: [IpAddress]\n  timespan: 1h\n  condition: {{gte: 100}}\n"
    );
    let evs: Vec<String> = (0..50)
        .map(|i| format!(r#"{{"EventID":4625,"IpAddress":"10.0.0.{i}"}}"#))
        .collect();
    let seq: Vec<(&str, i64)> = evs.iter().map(|e| (e.as_str(), 0)).collect();
    let cfg = CorrelatorConfig {
        max_groups: 10,
        max_events_per_group: 5,
        ..CorrelatorConfig::default()
    };
    let (_, stats) = correlate_cfg(&yaml, &seq, cfg);
    assert_eq!(stats.groups, 10);
    assert_eq!(stats.groups_dropped, 40);
}

/// Issue 11: keys are what a sender writes; their size counts against
/// `max_bytes`, and the accounting comes back to zero when every window
/// has passed.
#[test]
fn issue_11_state_bytes_are_bounded_and_accounted() {
    let yaml = format!(
        "{BASE}---\ntitle: C\ncorrelation:\n  type: value_count\n  rules: [failed]\n  group-by: [IpAddress]\n  timespan: 1h\n  condition: {{gte: 1000, field: TargetUserName}}\n"
    );
    let mut b = EngineBuilder::new(EngineConfig::default());
    b.add_text(&yaml, Path::new("c.yml"));
    let (e, report) = b.build();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let mut c = Correlator::new(
        &e,
        CorrelatorConfig {
            max_bytes: 1 << 20,
            ..CorrelatorConfig::default()
        },
    );
    let mut s = e.scratch();
    // 200 senders, each a 20 KiB "address" and a Vietnamese user name.
    let long = "đ".repeat(10_000);
    for i in 0..200 {
        let ev = format!(
            r#"{{"EventID":4625,"IpAddress":"{i}{long}","TargetUserName":"quản-trị-{i}"}}"#
        );
        let m = e.eval_json(ev.as_bytes(), &mut s).unwrap().to_vec();
        c.process(&e, &s.record, &m, i);
    }
    let st = c.stats();
    assert!(st.bytes <= 1 << 20, "{st:?}");
    assert!(st.groups < 60 && st.groups > 10, "{st:?}");
    assert_eq!(st.groups as u64 + st.groups_dropped, 200, "{st:?}");
    // Small keys still fit next to them in the same group.
    let ev = r#"{"EventID":4625,"IpAddress":"0","TargetUserName":"khác"}"#;
    let m = e.eval_json(ev.as_bytes(), &mut s).unwrap().to_vec();
    c.process(&e, &s.record, &m, 300);
    assert_eq!(c.stats().groups_dropped, st.groups_dropped);
    // Every window passed: nothing is held, nothing is still counted.
    c.expire(&e, 10 * 3_600_000);
    let st = c.stats();
    assert_eq!((st.groups, st.bytes), (0, 0), "{st:?}");
}

#[test]
fn correlation_errors_are_reported() {
    let bad = format!(
        "{BASE}---\ntitle: C\ncorrelation:\n  type: event_sum\n  rules: [failed]\n  timespan: 1m\n  condition: {{gte: 1}}\n---\ntitle: D\ncorrelation:\n  type: event_count\n  rules: [nope]\n  timespan: 1m\n  condition: {{gte: 1}}\n---\ntitle: E\ncorrelation:\n  type: event_count\n  rules: [failed]\n  timespan: soon\n  condition: {{gte: 1}}\n"
    );
    let mut b = EngineBuilder::new(EngineConfig::default());
    b.add_text(&bad, Path::new("c.yml"));
    let (_, report) = b.build();
    let msgs: Vec<String> = report.errors.iter().map(ToString::to_string).collect();
    assert_eq!(msgs.len(), 3, "{msgs:#?}");
    assert!(
        msgs.iter()
            .any(|m| m.contains("correlation type") && m.contains("event_sum"))
    );
    assert!(msgs.iter().any(|m| m.contains("`nope`")));
    assert!(msgs.iter().any(|m| m.contains("timespan")));
}

#[test]
fn correlation_windows_survive_a_restart_through_a_snapshot() {
    let corr = "---\ntitle: Brute force\nname: brute\ncorrelation:\n  type: event_count\n  rules: [failed]\n  group-by: [IpAddress]\n  timespan: 1m\n  condition: {gte: 3}\n";
    let yaml = format!("{BASE}{corr}");
    let ev = |ip: &str| format!(r#"{{"EventID":4625,"IpAddress":"{ip}"}}"#);
    let feed = |e: &Engine, c: &mut Correlator, json: &str, ts| {
        let mut s = e.scratch();
        let m = e.eval_json(json.as_bytes(), &mut s).unwrap().to_vec();
        c.process(e, &s.record, &m, ts)
    };
    let e = engine_with(&yaml, EngineConfig::default());
    let mut before = Correlator::new(&e, CorrelatorConfig::default());
    assert!(feed(&e, &mut before, &ev("10.0.0.1"), 0).is_empty());
    assert!(feed(&e, &mut before, &ev("10.0.0.1"), 1_000).is_empty());
    assert!(feed(&e, &mut before, &ev("10.0.0.9"), 500).is_empty());
    // A budget of two matches keeps the most recently active group whole.
    let snap = before.snapshot(&e, 2);
    assert_eq!(snap.groups(), 1);
    // Through its stored form, into a fresh engine and correlator.
    let text = serde_json::to_string(&snap).unwrap();
    let e2 = engine_with(&yaml, EngineConfig::default());
    let mut after = Correlator::new(&e2, CorrelatorConfig::default());
    let r = after.restore(&e2, serde_json::from_str(&text).unwrap());
    assert_eq!((r.groups, r.dropped), (1, 0));
    let fired = feed(&e2, &mut after, &ev("10.0.0.1"), 2_000);
    assert_eq!(fired.len(), 1, "the third failure fires across the restart");
    assert_eq!(fired[0].events, 3);
    assert_eq!(fired[0].first_ms, 0);

    // A changed rule (another window) does not take the old state.
    let changed = format!("{BASE}{}", corr.replace("timespan: 1m", "timespan: 10m"));
    let e3 = engine_with(&changed, EngineConfig::default());
    let mut other = Correlator::new(&e3, CorrelatorConfig::default());
    let r = other.restore(&e3, serde_json::from_str(&text).unwrap());
    assert_eq!((r.groups, r.dropped), (0, 1));
    assert!(feed(&e3, &mut other, &ev("10.0.0.1"), 2_000).is_empty());
}

#[test]
fn identical_matches_share_an_entry_but_count_each() {
    // A flood logged with one-second times: 700 requests in the same second
    // from one address, then 100 more a second later.
    let yaml = "title: Request\nname: req\nlogsource: {category: webserver}\ndetection:\n  sel: {cs-method: GET}\n  condition: sel\n---\ntitle: Flood\ncorrelation:\n  type: event_count\n  rules: [req]\n  group-by: [c-ip]\n  timespan: 1m\n  condition: {gte: 800}\n";
    let ev = r#"{"cs-method":"GET","c-ip":"203.0.113.7"}"#;
    let e = engine_with(yaml, EngineConfig::default());
    let mut c = Correlator::new(
        &e,
        CorrelatorConfig {
            // Far fewer entries than requests: folding must keep them all.
            max_events_per_group: 4,
            ..CorrelatorConfig::default()
        },
    );
    let mut s = e.scratch();
    let mut fired = Vec::new();
    for i in 0..800 {
        let m = e.eval_json(ev.as_bytes(), &mut s).unwrap().to_vec();
        let ts = if i < 700 { 5_000 } else { 6_000 };
        fired.extend(c.process(&e, &s.record, &m, ts));
    }
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0].events, 800);
    assert_eq!((fired[0].first_ms, fired[0].last_ms), (5_000, 6_000));
    assert_eq!(c.stats().events_dropped, 0);
}
