//! The binary end to end: exit codes, one-line errors, inventory round trip,
//! and the demo serving the console.

#![allow(clippy::unwrap_used)] // tests fail loudly on bad fixtures

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn tocsin(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tocsin"))
        .current_dir(dir)
        .env_remove("TOCSIN_DATABASE")
        .env_remove("TOCSIN_CONFIG")
        .env_remove("TOCSIN_LISTEN")
        .env("TOCSIN_LOG", "warn")
        .args(args)
        .output()
        .expect("run tocsin")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const INV: &str = r#"[[agency]]
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
addresses = ["203.0.113.21"]
urls = ["https://stc.example.gov.vn/"]
"#;

#[test]
fn help_on_every_command() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["demo", "--help"],
        vec!["hunt", "--help"],
        vec!["version", "--help"],
        vec!["inventory", "--help"],
        vec!["inventory", "validate", "--help"],
        vec!["inventory", "import", "--help"],
        vec!["inventory", "list", "--help"],
        vec!["inventory", "export", "--help"],
        vec!["inventory", "lookup", "--help"],
    ] {
        let out = tocsin(dir.path(), &args);
        assert!(out.status.success(), "{args:?}");
        assert!(text(&out.stdout).contains("Usage: tocsin"), "{args:?}");
    }
    let out = tocsin(dir.path(), &["version"]);
    assert_eq!(
        text(&out.stdout).trim(),
        format!("tocsin {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn validate_reports_every_problem_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let bad = INV
        .replace("10.36.5.0/24", "10.36.5.1/24")
        .replace("level = 2", "level = 9");
    std::fs::write(dir.path().join("bad.toml"), bad).unwrap();
    let out = tocsin(dir.path(), &["inventory", "validate", "bad.toml"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("bad.toml:5: field `ranges`: `10.36.5.1/24`: host bits are set"),
        "{err}"
    );
    assert!(err.contains("bad.toml:12: field `level`"), "{err}");
    assert!(
        err.trim_end()
            .ends_with("error: 2 problems found; nothing was changed"),
        "{err}"
    );
}

#[test]
fn import_export_round_trip_and_failed_import_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("inv.toml"), INV).unwrap();
    let db = "--database=t.db";
    let out = tocsin(d, &[db, "inventory", "import", "inv.toml"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("1 agencies, 1 assets (2 added, 0 updated)"));

    // A bad update (owner unknown) is refused whole.
    let bad = INV
        .replace("owner = \"STC\"", "owner = \"SXD\"")
        .replace("Cổng thông tin", "Cổng mới");
    std::fs::write(d.join("bad.toml"), bad).unwrap();
    let out = tocsin(d, &[db, "inventory", "import", "bad.toml"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("unknown owner agency `SXD`"));

    let out = tocsin(d, &[db, "inventory", "export"]);
    assert!(out.status.success());
    let exported = text(&out.stdout);
    assert!(
        exported.contains("Cổng thông tin Sở Tài chính"),
        "{exported}"
    );
    std::fs::write(d.join("back.toml"), &exported).unwrap();
    let out = tocsin(d, &["inventory", "validate", "back.toml"]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let out = tocsin(
        d,
        &[db, "inventory", "export", "--format", "csv", "--out", "csv"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = tocsin(d, &["--database=t2.db", "inventory", "import", "csv"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out2 = tocsin(d, &["--database=t2.db", "inventory", "export"]);
    assert_eq!(
        text(&out2.stdout),
        exported,
        "TOML → DB → CSV → DB → TOML is lossless"
    );

    let out = tocsin(d, &[db, "inventory", "lookup", "10.36.5.9"]);
    assert!(text(&out.stdout).contains("agency: STC (Sở Tài chính)"));
    let out = tocsin(d, &[db, "inventory", "list", "assets"]);
    assert!(text(&out.stdout).contains("WEB-STC"));
}

#[test]
fn errors_are_one_line_and_exit_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let out = tocsin(
        dir.path(),
        &[
            "--database=postgres://x@127.0.0.1:1/none",
            "inventory",
            "list",
        ],
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: cannot open database postgres://x@127.0.0.1:1/none"),
        "{err}"
    );

    std::fs::write(dir.path().join("tocsin.toml"), "[web]\nport = 8080\n").unwrap();
    let out = tocsin(dir.path(), &["version"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("tocsin.toml:2"), "{err}");
}

/// One HTTP/1.1 exchange with the console on `port` (as a browser on its
/// page would send it: Host and Origin of the console, the cookie given).
fn http(port: u16, method: &str, path: &str, cookie: &str, form: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: http://127.0.0.1:{port}\r\nCookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{form}",
        form.len()
    )
    .ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    Some(buf)
}

fn http_get(port: u16, path: &str, cookie: &str) -> Option<String> {
    http(port, "GET", path, cookie, "")
}

#[test]
fn demo_serves_the_province() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tocsin"))
        .current_dir(dir.path())
        .env("TOCSIN_LOG", "warn")
        .args(["demo", "--listen", &listen])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // The demo prints one user per role with their password.
    let out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut users = std::collections::BTreeMap::new();
    use std::io::BufRead as _;
    let mut lines = out.lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let w: Vec<&str> = line.split_whitespace().collect();
        if w.len() >= 3 && ["quantri", "phantich", "lanhdao", "yte", "kiemtoan"].contains(&w[0]) {
            users.insert(w[0].to_string(), w[2].to_string());
        }
        if line.starts_with("console:") {
            break;
        }
    }
    // Keep reading what the demo prints, so it never writes to a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
    assert_eq!(users.len(), 5, "a user per role: {users:?}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut anonymous = None;
    while Instant::now() < deadline {
        if let Some(p) = http_get(port, "/", "") {
            anonymous = Some(p);
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let sign_in = |user: &str| {
        let r = http(
            port,
            "POST",
            "/login",
            "",
            &format!("username={user}&password={}&next=%2F", users[user]),
        )
        .unwrap();
        let cookie = r
            .lines()
            .find_map(|l| l.strip_prefix("set-cookie: "))
            .and_then(|c| c.split(';').next())
            .map(str::to_string);
        (r, cookie)
    };
    let (login, cookie) = sign_in("quantri");
    let cookie = cookie.unwrap_or_default();
    let page = http_get(port, "/", &cookie);
    let en = http_get(port, "/agencies?lang=en&kind=commune", &cookie);
    let rules = http_get(port, "/rules?lang=en", &cookie);
    let (_, contact) = sign_in("yte");
    let contact_agencies = http_get(port, "/agencies", &contact.unwrap_or_default());
    child.kill().ok();
    child.wait().ok();
    let anonymous = anonymous.expect("demo answered on its port");
    assert!(
        anonymous.starts_with("HTTP/1.1 303") && anonymous.contains("location: /login"),
        "nobody signed in is sent to sign in: {anonymous}"
    );
    assert!(login.starts_with("HTTP/1.1 303"), "{login}");
    let page = page.unwrap();
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("Tổng quan địa bàn"));
    assert!(page.contains(r#"id="total-assets">"#));
    assert!(page.contains("id=\"sign-out\""), "the signed-in bar");
    let en = en.unwrap();
    assert!(en.contains("Showing 50 of 423"), "{en}");
    assert!(dir.path().join("tocsin-data/demo.db").exists());
    let rules = rules.unwrap();
    assert!(
        rules.contains("Web Server Process Starts A Shell"),
        "{rules}"
    );
    assert!(
        rules.contains("Correlation"),
        "the pack's correlations are listed"
    );
    // The Department of Health's contact sees their agency only.
    let contact_agencies = contact_agencies.unwrap();
    assert!(contact_agencies.contains("Sở Y tế"), "{contact_agencies}");
    assert!(!contact_agencies.contains("Sở Tài chính"));
}
