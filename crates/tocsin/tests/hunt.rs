//! `tocsin hunt` end to end: the built-in rule pack, output formats,
//! malformed input counted and skipped, correlations, the SigmaHQ corpus.

#![allow(clippy::unwrap_used)] // tests fail loudly on bad fixtures

use std::path::Path;
use std::process::{Command, Output};

fn tocsin(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tocsin"))
        .current_dir(dir)
        .env("TOCSIN_LOG", "warn")
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Events a province's sensors really produce, one of each kind the pack
/// covers, plus noise and a broken line.
fn evidence() -> String {
    let mut lines = vec![
        // Web shell: IIS starts cmd.exe (Sysmon 1).
        r#"{"@timestamp":"2026-03-02T01:10:00Z","Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"ParentImage":"C:\\Windows\\System32\\inetsrv\\w3wp.exe","Image":"C:\\Windows\\System32\\cmd.exe","CommandLine":"cmd.exe /c whoami"}"#.to_string(),
        // Shadow copies deleted (Security 4688).
        r#"{"@timestamp":"2026-03-02T01:11:00Z","Channel":"Security","EventID":4688,"NewProcessName":"C:\\Windows\\System32\\vssadmin.exe","CommandLine":"vssadmin.exe Delete Shadows /All /Quiet"}"#.to_string(),
        // Benign process.
        r#"{"@timestamp":"2026-03-02T01:12:00Z","Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"ParentImage":"C:\\Windows\\explorer.exe","Image":"C:\\Program Files\\Mozilla Firefox\\firefox.exe","CommandLine":"firefox.exe"}"#.to_string(),
        // SQL injection against a website (Tocsin's normalized web event).
        r#"{"@timestamp":"2026-03-02T01:13:00Z","source.ip":"198.51.100.77","url.original":"/tin-tuc?id=1%20UNION%20SELECT%20username,password%20FROM%20users"}"#.to_string(),
        "{\"broken\": ".to_string(),
    ];
    // 25 failed logons from one address within a minute: brute force.
    for i in 0..25 {
        lines.push(format!(
            r#"{{"@timestamp":"2026-03-02T02:00:{:02}Z","Channel":"Security","EventID":4625,"TargetUserName":"administrator","IpAddress":"203.0.113.9"}}"#,
            i
        ));
    }
    lines.join("\n") + "\n"
}

#[test]
fn builtin_pack_finds_attacks_and_counts_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("evidence.jsonl"), evidence()).unwrap();
    let out = tocsin(dir.path(), &["hunt", "evidence.jsonl", "--output", "jsonl"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let hits: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let titles: Vec<&str> = hits
        .iter()
        .map(|h| h["rule_title"].as_str().unwrap())
        .collect();
    assert!(
        titles.contains(&"Web Server Process Starts A Shell"),
        "{titles:?}"
    );
    assert!(titles.contains(&"Shadow Copies Deleted"), "{titles:?}");
    assert!(titles.contains(&"SQL injection"), "{titles:?}");
    assert!(
        !stdout.contains("firefox"),
        "benign event matched: {stdout}"
    );
    // The base failed-logon rule only feeds the correlation (generate: false).
    assert!(!titles.contains(&"Failed Windows Logon"));
    // Every hit says its class; the web detectors' say what they saw.
    let sqli = hits
        .iter()
        .find(|h| h["rule_title"] == "SQL injection")
        .unwrap();
    assert_eq!(sqli["class"], "web_attack", "{sqli}");
    assert_eq!(sqli["rule_id"], "tocsin:web:sqli", "{sqli}");
    assert!(
        sqli["summary"].as_str().unwrap().contains("union select"),
        "{sqli}"
    );
    let shell = hits
        .iter()
        .find(|h| h["rule_title"] == "Web Server Process Starts A Shell")
        .unwrap();
    assert_eq!(shell["class"], "privilege_takeover", "{shell}");
    let brute: Vec<_> = hits
        .iter()
        .filter(|h| h["rule_title"] == "Windows Logon Brute Force From One Source")
        .collect();
    assert_eq!(brute.len(), 1, "{stdout}");
    assert_eq!(brute[0]["correlation"]["group"]["IpAddress"], "203.0.113.9");
    assert_eq!(brute[0]["correlation"]["events"], 20);
    let first = &hits[0];
    for key in [
        "rule_id",
        "rule_title",
        "level",
        "timestamp",
        "file",
        "event",
    ] {
        assert!(!first[key].is_null(), "{key} missing in {first}");
    }
    assert_eq!(first["event"]["EventID"], 1);
    let err = text(&out.stderr);
    assert!(
        err.contains("evidence.jsonl: line 5: invalid JSON"),
        "{err}"
    );
    assert!(
        err.contains("29 records, 4 matches; 1 malformed records skipped"),
        "{err}"
    );
    assert!(err.contains("critical      2"), "{err}");
}

#[test]
fn table_and_csv_outputs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("e.jsonl"), evidence()).unwrap();
    let out = tocsin(dir.path(), &["hunt", "e.jsonl"]);
    let s = text(&out.stdout);
    assert!(
        s.contains("critical      Web Server Process Starts A Shell  [e.jsonl line 1]"),
        "{s}"
    );
    assert!(s.contains("matches per rule:"), "{s}");
    let out = tocsin(dir.path(), &["hunt", "e.jsonl", "-o", "csv"]);
    let s = text(&out.stdout);
    let mut lines = s.lines();
    assert_eq!(
        lines.next(),
        Some("timestamp,level,rule_id,rule_title,file,position,event,agency,asset")
    );
    assert_eq!(lines.count(), 4, "three rules and the web detector");
}

#[test]
fn missing_paths_and_bad_rules_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.yml"), "title: x\nlogsource: {product: windows}\ndetection:\n  sel:\n    Image|endswith|contain: a\n  condition: sel\n").unwrap();
    std::fs::write(dir.path().join("e.jsonl"), evidence()).unwrap();
    let out = tocsin(
        dir.path(),
        &["hunt", "e.jsonl", "nowhere.evtx", "--rules", "bad.yml"],
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("rule not loaded: bad.yml:5: rule `x`: `Image|endswith|contain` in `sel`: unknown modifier `contain`"), "{err}");
    assert!(
        err.contains("error: no rule could be loaded (1 errors)"),
        "{err}"
    );
}

#[test]
fn corpus_rules_over_regression_evtx() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/sigma");
    if !corpus.exists() {
        eprintln!("note: ../shared/corpus is absent; test skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let rules = corpus.join("rules");
    let data = corpus.join("regression_data");
    let out = tocsin(
        dir.path(),
        &[
            "hunt",
            data.to_str().unwrap(),
            "--rules",
            rules.to_str().unwrap(),
            "-o",
            "jsonl",
            "-q",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let n = text(&out.stdout).lines().count();
    assert!(n > 150, "only {n} matches");
    let err = text(&out.stderr);
    assert!(
        err.contains(" 0 malformed records skipped, 0 files unreadable"),
        "{err}"
    );
}

/// With an inventory in the configured database, hits name the agency and
/// asset their event belongs to, by the same policy the pipeline uses.
#[test]
fn hits_are_attributed_with_the_stored_inventory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("province.toml"),
        r#"
[[agency]]
code = "STC"
name = "Sở Tài chính"
kind = "department"
ranges = ["10.36.5.0/24"]

[[asset]]
code = "WEB-STC"
name = "Cổng thông tin Sở Tài chính"
kind = "website"
owner = "STC"
level = 2
addresses = ["10.36.5.10"]
urls = ["https://stc.ngocson.gov.vn/"]
"#,
    )
    .unwrap();
    let db = dir.path().join("t.db").display().to_string();
    let out = tocsin(
        dir.path(),
        &["--database", &db, "inventory", "import", "province.toml"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::write(
        dir.path().join("e.jsonl"),
        concat!(
            r#"{"@timestamp":"2026-03-02T01:13:00Z","source.ip":"198.51.100.77","destination.ip":"10.36.5.10","url.original":"/tin-tuc?id=1%20UNION%20SELECT%20username,password%20FROM%20users"}"#,
            "\n"
        ),
    )
    .unwrap();
    let out = tocsin(
        dir.path(),
        &["--database", &db, "hunt", "e.jsonl", "-o", "jsonl"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let hit: serde_json::Value =
        serde_json::from_str(text(&out.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(hit["agency"], "STC", "{hit}");
    assert_eq!(hit["asset"], "WEB-STC", "{hit}");
    // Without a database, hunting still works and names no agency.
    let out = tocsin(
        dir.path(),
        &["--database", "absent.db", "hunt", "e.jsonl", "-o", "jsonl"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).contains("\"agency\""));
    assert!(
        !dir.path().join("absent.db").exists(),
        "hunt creates no database"
    );
}

/// Issue 11: a path that is not there is an error the caller sees, after
/// the others were hunted (as grep does).
#[test]
fn issue_11_a_missing_path_exits_non_zero_after_hunting_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("e.jsonl"), evidence()).unwrap();
    let out = tocsin(
        dir.path(),
        &["hunt", "e.jsonl", "khong-co.evtx", "-o", "jsonl"],
    );
    assert!(!out.status.success());
    assert!(text(&out.stdout).contains("Web Server Process Starts A Shell"));
    let err = text(&out.stderr);
    assert!(
        err.contains("khong-co.evtx: path: no such file or directory"),
        "{err}"
    );
    assert!(err.contains("1 of the given paths do not exist"), "{err}");
}

/// Issue 11: evidence from a compromised machine — nesting a million deep,
/// a gzip bomb, a link out of the tree, a line past the record limit, a
/// zip with a lying size — is reported and the rest is hunted; the JSONL
/// written for a pretty-printed record is one valid JSON line.
#[test]
fn issue_11_hostile_evidence_is_reported_and_the_rest_hunted() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("evidence");
    std::fs::create_dir(&ev).unwrap();
    let deep = format!("{}{}", "[".repeat(1_000_000), "]".repeat(1_000_000));
    std::fs::write(ev.join("deep.json"), format!("{{\"a\": {deep}}}\n")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&vec![b' '; 50 << 20]).unwrap();
    std::fs::write(ev.join("bomb.jsonl.gz"), gz.finish().unwrap()).unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("shadow.log"), evidence()).unwrap();
    std::os::unix::fs::symlink(outside.path().join("shadow.log"), ev.join("link.log")).unwrap();
    let long = format!("{{\"CommandLine\":\"{}\"}}\n", "a".repeat(3000));
    std::fs::write(ev.join("long.jsonl"), long).unwrap();
    // Pretty-printed, with a Vietnamese name: must come out as one line.
    std::fs::write(
        ev.join("pretty.json"),
        "{\n  \"@timestamp\": \"2026-03-02T01:10:00Z\",\n  \"Channel\": \"Microsoft-Windows-Sysmon/Operational\",\n  \"EventID\": 1,\n  \"User\": \"Nguyễn Văn Đức\",\n  \"ParentImage\": \"C:\\\\Windows\\\\System32\\\\inetsrv\\\\w3wp.exe\",\n  \"Image\": \"C:\\\\Windows\\\\System32\\\\cmd.exe\",\n  \"CommandLine\": \"cmd.exe /c whoami\"\n}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("tocsin.toml"),
        "[hunt]\nmax_inflated = 1000000\nmax_record = 2048\n",
    )
    .unwrap();
    let out = tocsin(
        dir.path(),
        &["hunt", "-c", "tocsin.toml", "evidence", "-o", "jsonl"],
    );
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("bomb.jsonl.gz: file: gzip inflates past max_inflated (1000000 bytes)"),
        "{err}"
    );
    assert!(
        err.contains("link.log: link: not followed: it leads out of the tree"),
        "{err}"
    );
    assert!(
        err.contains("long.jsonl: line 1: a line of 3018 bytes, longer than max_record (2048)"),
        "{err}"
    );
    assert!(err.contains("deep.json: line 1:"), "{err}");
    let hits: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0]["event"]["User"], "Nguyễn Văn Đức");
    assert_eq!(hits[0]["position"], "line 1");
    assert_eq!(hits[0]["rule_title"], "Web Server Process Starts A Shell");
    // Told to, it follows the link out and hunts what it leads to.
    let out = tocsin(
        dir.path(),
        &[
            "hunt",
            "-c",
            "tocsin.toml",
            "evidence",
            "-o",
            "jsonl",
            "--follow-links",
        ],
    );
    assert!(text(&out.stdout).lines().count() > 1);
}
