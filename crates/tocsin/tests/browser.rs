//! The console in a real browser: headless Chromium driven over WebDriver
//! (chromedriver) against `tocsin demo`, as people use it — sign-in,
//! sign-out, lockout, a form posted without its CSRF token, an agency
//! contact's restricted view, and the language switch keeping the page and
//! its filters.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs
//! them); without them the test says it was skipped. Screenshots of each
//! step go to `$TOCSIN_SCREENSHOTS` when set.

#![allow(clippy::unwrap_used)] // tests fail loudly

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

mod support;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A child process killed when the test ends, however it ends.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `tocsin demo` on free ports, with the passwords it printed.
struct Demo {
    _child: Reaped,
    base: String,
    passwords: Vec<(String, String)>,
    _dir: tempfile::TempDir,
}

impl Demo {
    fn start() -> Demo {
        let dir = tempfile::tempdir().unwrap();
        let web = SocketAddr::from(([127, 0, 0, 1], support::free_port()));
        let mut child = Command::new(env!("CARGO_BIN_EXE_tocsin"))
            .current_dir(dir.path())
            .env_remove("TOCSIN_DATABASE")
            .env_remove("TOCSIN_CONFIG")
            .env("TOCSIN_LOG", "warn")
            .args(["demo", "--listen", &web.to_string(), "--data-dir"])
            .arg(dir.path().join("data"))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let out = BufReader::new(child.stdout.take().unwrap());
        let child = Reaped(child);
        // The user lines: "  phantich   analyst         abcde-…".
        let mut passwords = Vec::new();
        let mut lines = out.lines();
        for line in lines.by_ref() {
            let line = line.unwrap();
            if line.starts_with("console: ") {
                break;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            if line.starts_with("  ") && words.len() >= 3 && words[2].len() == 23 {
                passwords.push((words[0].to_string(), words[2].to_string()));
            }
        }
        // Keep reading so the demo never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        assert_eq!(passwords.len(), 5, "the demo prints one user per role");
        let t0 = Instant::now();
        while TcpStream::connect(web).is_err() {
            assert!(t0.elapsed() < Duration::from_secs(60), "demo did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Demo {
            _child: child,
            base: format!("http://{web}"),
            passwords,
            _dir: dir,
        }
    }

    fn password(&self, user: &str) -> &str {
        &self.passwords.iter().find(|(u, _)| u == user).unwrap().1
    }
}

/// chromedriver on a free port.
struct Driver {
    _child: Reaped,
    url: String,
}

impl Driver {
    fn start() -> Driver {
        let port = support::free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let child = Reaped(child);
        let t0 = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver {
            _child: child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// A new browser with an empty profile (no cookies from other steps).
    async fn browser(&self, profile: &Path) -> Client {
        let args = serde_json::json!([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--window-size=1280,900",
            format!("--user-data-dir={}", profile.display()),
        ]);
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({ "binary": CHROMIUM, "args": args }),
        );
        ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .unwrap()
    }
}

/// Where screenshots go, when asked for.
fn shots() -> Option<PathBuf> {
    std::env::var_os("TOCSIN_SCREENSHOTS").map(PathBuf::from)
}

async fn shot(c: &Client, name: &str) {
    if let Some(dir) = shots() {
        std::fs::create_dir_all(&dir).unwrap();
        let png = c.screenshot().await.unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

/// Clicks what `l` finds, as a person would.
async fn click(c: &Client, l: Locator<'_>) {
    c.find(l).await.unwrap().click().await.unwrap();
}

/// The element `l` finds once the page shows it (at most 10 s).
async fn wait_for(c: &Client, l: Locator<'_>) -> fantoccini::elements::Element {
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(l)
        .await
        .unwrap()
}

/// The text of what `css` finds. A page still being replaced (after a
/// click that navigates) can hand back an element that is gone by the time
/// its text is read: then it is found again, for at most 5 s.
async fn text_of(c: &Client, css: &str) -> String {
    for _ in 0..50 {
        if let Ok(e) = c.find(Locator::Css(css)).await
            && let Ok(t) = e.text().await
        {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no text for {css} within 5 s");
}

async fn exists(c: &Client, css: &str) -> bool {
    !c.find_all(Locator::Css(css)).await.unwrap().is_empty()
}

/// Fills the sign-in form and submits it, as a person would.
async fn sign_in(c: &Client, base: &str, user: &str, password: &str) {
    c.goto(&format!("{base}/login")).await.unwrap();
    let form = c.form(Locator::Id("login-form")).await.unwrap();
    form.set_by_name("username", user).await.unwrap();
    form.set_by_name("password", password).await.unwrap();
    // Mark this page, so the wait below ends on the answer and not on the
    // form still shown: a next sign-in must not cut this one's request
    // short (the lockout counts every failure).
    c.execute(
        "document.body.setAttribute('data-before-submit', '1')",
        vec![],
    )
    .await
    .unwrap();
    click(c, Locator::Id("sign-in")).await;
    wait_for(c, Locator::Css("body:not([data-before-submit])")).await;
}

/// The agency codes shown in a list's results.
async fn agencies_listed(c: &Client) -> Vec<String> {
    let mut codes = Vec::new();
    for a in c
        .find_all(Locator::Css("#results a[href^='/agencies/']"))
        .await
        .unwrap()
    {
        codes.push(a.text().await.unwrap());
    }
    codes
}

/// The first alert link in the list whose agency is not `code`'s subtree
/// as shown to `c` (an analyst's view), waiting for the demo's feed.
async fn alert_of_another_agency(c: &Client, base: &str, own: &[String]) -> String {
    let t0 = Instant::now();
    loop {
        c.goto(&format!("{base}/alerts")).await.unwrap();
        for row in c.find_all(Locator::Css("#results tr")).await.unwrap() {
            let Ok(agency) = row.find(Locator::Css("a[href^='/agencies/']")).await else {
                continue;
            };
            let code = agency.text().await.unwrap();
            if !own.contains(&code) {
                let link = row.find(Locator::Css("a[href^='/alerts/']")).await.unwrap();
                return link.attr("href").await.unwrap().unwrap();
            }
        }
        assert!(
            t0.elapsed() < Duration::from_secs(90),
            "the demo raised no alert of another agency in 90 s"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_in_a_real_browser() {
    if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
        eprintln!(
            "SKIPPED: browser tests need Debian's chromium and chromium-driver \
             ({CHROMIUM}, {CHROMEDRIVER}); .ci/run installs them"
        );
        return;
    }
    let demo = Demo::start();
    let driver = Driver::start();
    let profiles = tempfile::tempdir().unwrap();
    let base = demo.base.as_str();

    // Anonymous: every page leads to the sign-in page.
    let c = driver.browser(&profiles.path().join("anonymous")).await;
    c.goto(&format!("{base}/alerts?level=high")).await.unwrap();
    let url = c.current_url().await.unwrap();
    assert_eq!(
        url.path(),
        "/login",
        "an anonymous visitor is sent to sign in"
    );
    assert!(exists(&c, "#login-form").await);
    assert!(
        !exists(&c, "nav a[href='/alerts']").await,
        "no menu before sign-in"
    );
    shot(&c, "01-login").await;

    // Sign-in: the analyst lands where they were going, named in the bar.
    let form = c.form(Locator::Id("login-form")).await.unwrap();
    form.set_by_name("username", "phantich").await.unwrap();
    form.set_by_name("password", demo.password("phantich"))
        .await
        .unwrap();
    click(&c, Locator::Id("sign-in")).await;
    let bar = wait_for(&c, Locator::Id("account")).await;
    let who = bar.text().await.unwrap();
    assert!(who.starts_with("phantich"), "the bar says {who:?}");
    let url = c.current_url().await.unwrap();
    assert_eq!(
        url.path(),
        "/alerts",
        "sign-in returns to the page asked for"
    );
    assert_eq!(url.query(), Some("level=high"), "with its filters");
    shot(&c, "02-signed-in").await;

    // The language switch keeps the page and its filters.
    let html_lang = |c: &Client| {
        let c = c.clone();
        async move {
            c.execute("return document.documentElement.lang", vec![])
                .await
                .unwrap()
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    assert_eq!(html_lang(&c).await, "vi", "Vietnamese by default");
    click(&c, Locator::Id("lang-switch")).await;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_url(&url::Url::parse(&format!("{base}/alerts?level=high&lang=en")).unwrap())
        .await
        .unwrap();
    assert_eq!(html_lang(&c).await, "en");
    assert_eq!(
        text_of(&c, "#sign-out").await,
        "Sign out",
        "the bar speaks English too"
    );
    let level = c
        .find(Locator::Css("select[name='level']"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(level.as_deref(), Some("high"), "the filter stays chosen");
    shot(&c, "03-english").await;
    click(&c, Locator::Id("lang-switch")).await;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_url(&url::Url::parse(&format!("{base}/alerts?level=high&lang=vi")).unwrap())
        .await
        .unwrap();
    assert_eq!(html_lang(&c).await, "vi", "and back");

    // A form posted without its CSRF token is refused, and nothing changes.
    c.goto(&format!("{base}/agencies")).await.unwrap();
    let all_agencies = agencies_listed(&c).await;
    assert!(
        all_agencies.len() > 20,
        "the analyst sees the whole province"
    );
    let other = alert_of_another_agency(&c, base, &["SYT".to_string()]).await;
    c.goto(&format!("{base}{other}")).await.unwrap();
    let before = text_of(&c, "#alert-status").await;
    c.execute(
        "document.querySelectorAll('input[name=_csrf]').forEach(e => e.remove())",
        vec![],
    )
    .await
    .unwrap();
    click(&c, Locator::Css("#alert-status button")).await;
    let refused = wait_for(&c, Locator::Id("error")).await;
    assert_eq!(refused.text().await.unwrap(), "Không có quyền truy cập");
    shot(&c, "04-csrf-refused").await;
    c.goto(&format!("{base}{other}")).await.unwrap();
    assert_eq!(
        text_of(&c, "#alert-status").await,
        before,
        "the refused post changed nothing"
    );
    // With its token, the same button works.
    click(&c, Locator::Css("#alert-status button")).await;
    wait_for(&c, Locator::Id("alert-status")).await;
    assert_ne!(text_of(&c, "#alert-status").await, before);

    // Threat intelligence: the national list's addresses and the feed's
    // matches are there; a device is marked notified in two clicks.
    c.goto(&format!("{base}/intel")).await.unwrap();
    let devices: i64 = text_of(&c, "#intel-devices").await.parse().unwrap();
    assert!(devices >= 25, "the national list alone names 25: {devices}");
    shot(&c, "05-intel").await;
    c.goto(&format!("{base}/intel/devices?botnet=1"))
        .await
        .unwrap();
    click(&c, Locator::Css("#results a[href^='/intel/devices/']")).await;
    let status = wait_for(&c, Locator::Id("device-status")).await;
    assert!(status.text().await.unwrap().starts_with("Chưa thông báo"));
    click(&c, Locator::Css("#device-status button[value='notified']")).await;
    wait_for(&c, Locator::Id("device-status")).await;
    assert!(
        text_of(&c, "#device-status")
            .await
            .starts_with("Đã thông báo cơ quan")
    );
    shot(&c, "06-device").await;

    // Sign-out: the session ends, the pages close again.
    click(&c, Locator::Id("sign-out")).await;
    wait_for(&c, Locator::Id("login-form")).await;
    c.goto(&format!("{base}/agencies")).await.unwrap();
    assert_eq!(c.current_url().await.unwrap().path(), "/login");
    shot(&c, "07-signed-out").await;
    c.close().await.unwrap();

    // The agency contact sees their own agency only, whatever they guess.
    let c = driver.browser(&profiles.path().join("contact")).await;
    sign_in(&c, base, "yte", demo.password("yte")).await;
    assert!(exists(&c, "#account").await, "the contact is signed in");
    c.goto(&format!("{base}/agencies")).await.unwrap();
    let own = agencies_listed(&c).await;
    assert!(own.contains(&"SYT".to_string()), "their agency: {own:?}");
    assert!(
        own.len() < all_agencies.len(),
        "only their agency's subtree: {own:?}"
    );
    shot(&c, "08-contact-agencies").await;
    c.goto(&format!("{base}/alerts")).await.unwrap();
    for code in agencies_listed(&c).await {
        assert!(own.contains(&code), "an alert of {code} shown to SYT");
    }
    c.goto(&format!("{base}{other}")).await.unwrap();
    assert!(
        exists(&c, "#error").await && !exists(&c, "#alert-status").await,
        "another agency's alert, by its id, is not shown"
    );
    let stranger = all_agencies.iter().find(|a| !own.contains(a)).unwrap();
    c.goto(&format!("{base}/agencies/{stranger}"))
        .await
        .unwrap();
    assert!(exists(&c, "#error").await, "nor another agency's page");
    assert!(
        !exists(&c, "#nav-users").await && !exists(&c, "#nav-audit").await,
        "no administration for a contact"
    );
    c.goto(&format!("{base}/intel/devices")).await.unwrap();
    for code in agencies_listed(&c).await {
        assert!(own.contains(&code), "a device of {code} shown to SYT");
    }
    shot(&c, "09-contact-refused").await;
    c.close().await.unwrap();

    // Lockout: after five wrong passwords the right one is refused too,
    // with the same words as a wrong one.
    let c = driver.browser(&profiles.path().join("lockout")).await;
    for _ in 0..5 {
        sign_in(&c, base, "kiemtoan", "not-the-password").await;
        assert!(exists(&c, "#login-failed").await);
    }
    sign_in(&c, base, "kiemtoan", demo.password("kiemtoan")).await;
    assert!(
        exists(&c, "#login-failed").await && !exists(&c, "#account").await,
        "a locked account does not sign in"
    );
    shot(&c, "10-locked").await;
    // Another account from the same browser still can.
    sign_in(&c, base, "lanhdao", demo.password("lanhdao")).await;
    assert!(exists(&c, "#account").await, "the lock is per account");
    c.close().await.unwrap();
}
