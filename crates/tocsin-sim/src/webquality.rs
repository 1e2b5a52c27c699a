//! `tocsin bench web`: how well and how fast the web-attack detectors
//! work, on the shared corpus, beside libinjection in the same run.
//!
//! * Attacks: the OWASP CRS regression requests as access-log lines with
//!   their labels (`crs/`). A line whose payload is not in what an access
//!   log records (a body, a cookie, another header) looks like a plain
//!   `GET /get`: it is counted apart and left out of both tools' rates.
//! * Benign: libinjection's own false-positive inputs, as search values;
//!   and [`benign_lines`], requests of a provincial portal (Vietnamese
//!   searches, names, dates, filters, redirects) made by this module.
//! * The peer: `scripts/libinjection_peer.py` runs libinjection (the
//!   `libinjection-python` package wraps the C library) on the same parts
//!   of the same lines.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, bail};
use tocsin_model::{Event, Finding};
use tocsin_parse::{Format, Parser, ParserConfig, Received};
use tocsin_webattack::WebAttackConfig;

use crate::province::Rng;

/// The class a CRS test is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    /// 942
    Sqli,
    /// 941
    Xss,
    /// 930
    Traversal,
    /// 932
    Cmdi,
    /// 931
    Rfi,
    /// 913
    Scanner,
    /// Every other category (PHP, Java, generic, protocol).
    Other,
}

impl Class {
    fn of(category: &str) -> Class {
        match category.get(8..11) {
            Some("942") => Class::Sqli,
            Some("941") => Class::Xss,
            Some("930") => Class::Traversal,
            Some("932") => Class::Cmdi,
            Some("931") => Class::Rfi,
            Some("913") => Class::Scanner,
            _ => Class::Other,
        }
    }

    /// The rule id our finding for this class has.
    fn rule(self) -> Option<&'static str> {
        Some(match self {
            Class::Sqli => "tocsin:web:sqli",
            Class::Xss => "tocsin:web:xss",
            Class::Traversal => "tocsin:web:traversal",
            Class::Cmdi => "tocsin:web:cmdi",
            Class::Rfi => "tocsin:web:rfi",
            Class::Scanner => "tocsin:web:scanner",
            Class::Other => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Class::Sqli => "SQL injection (942)",
            Class::Xss => "XSS (941)",
            Class::Traversal => "Traversal/LFI (930)",
            Class::Cmdi => "Command injection (932)",
            Class::Rfi => "Remote inclusion (931)",
            Class::Scanner => "Scanners (913)",
            Class::Other => "Other CRS (920-944)",
        }
    }
}

/// One labelled CRS line.
#[derive(Clone, Debug)]
pub struct Labelled {
    /// Its class.
    pub class: Class,
    /// Whether CRS expects its rule to fire.
    pub expect: bool,
    /// The access-log line.
    pub line: String,
}

/// Everything one evaluation reads.
#[derive(Clone, Debug, Default)]
pub struct Corpus {
    /// CRS lines with labels.
    pub crs: Vec<Labelled>,
    /// libinjection's false-positive inputs, as access-log lines.
    pub libinjection_fp: Vec<String>,
    /// Benign portal requests.
    pub benign: Vec<String>,
}

/// Reads the shared corpus (`crs/`, `libinjection/`) and makes `benign`
/// portal requests.
pub fn load(corpus: &Path, benign: usize) -> anyhow::Result<Corpus> {
    let crs = corpus.join("crs");
    let log = std::fs::read_to_string(crs.join("crs_get_tests_combined.log"))
        .with_context(|| format!("reading {}", crs.display()))?;
    let labels = std::fs::read_to_string(crs.join("crs_get_tests_labels.tsv"))?;
    let lines: Vec<&str> = log.lines().collect();
    let mut out = Corpus::default();
    for (n, row) in labels.lines().enumerate().skip(1) {
        let f: Vec<&str> = row.split('\t').collect();
        let (Some(no), Some(cat), Some(label)) = (f.first(), f.get(3), f.get(4)) else {
            bail!("crs labels line {}: fewer than five columns", n + 1);
        };
        let no: usize = no
            .parse()
            .with_context(|| format!("crs labels line {}", n + 1))?;
        let line = lines
            .get(no.wrapping_sub(1))
            .with_context(|| format!("crs labels line {}: no log line {no}", n + 1))?;
        out.crs.push(Labelled {
            class: Class::of(cat),
            expect: *label == "expect",
            line: line.to_string(),
        });
    }
    let fp = std::fs::read_to_string(corpus.join("libinjection/false_positives.txt"))?;
    out.libinjection_fp = fp
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|v| {
            access(
                &format!("/tim-kiem?q={}", v.replace(' ', "+")),
                200,
                "-",
                BROWSER,
            )
        })
        .collect();
    out.benign = benign_lines(benign, 7);
    Ok(out)
}

const BROWSER: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36";

fn access(target: &str, status: u16, referrer: &str, agent: &str) -> String {
    format!(
        "203.0.113.7 - - [01/Dec/2026:09:00:00 +0700] \"GET {target} HTTP/1.1\" {status} 1234 \"{referrer}\" \"{agent}\""
    )
}

/// Percent-encodes what a browser would in a query value.
fn enc(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                o.push(b as char)
            }
            b' ' => o.push('+'),
            _ => {
                let _ = write!(o, "%{b:02X}");
            }
        }
    }
    o
}

/// `n` requests to a provincial portal as its visitors make them:
/// Vietnamese searches (with the punctuation people type), names with
/// apostrophes, dates and ranges, filters, JSON parameters, redirects,
/// tracking parameters, downloads; browsers' and apps' agents; search
/// engines' referrers. Deterministic for a `seed`.
pub fn benign_lines(n: usize, seed: u64) -> Vec<String> {
    const SEARCHES: &[&str] = &[
        "thủ tục cấp giấy phép xây dựng",
        "đăng ký kết hôn",
        "Quyết định số 123/QĐ-UBND ngày 15/3/2024",
        "lệ phí trước bạ (ô tô)",
        "mẫu đơn - tờ khai",
        "O'Neil",
        "Trường THPT Nguyễn Du; THCS Lê Lợi",
        "\"cải cách hành chính\"",
        "100% dịch vụ công trực tuyến",
        "điểm thi 2024 > 25 điểm",
        "giá đất < 5 triệu/m2",
        "bảo hiểm y tế & xã hội",
        "Sở Y tế | Sở Tài chính",
        "kế hoạch 5 năm (2021-2025)",
        "Nghị định 13/2023/NĐ-CP",
        "email: vanthu@soyte.gov.vn",
        "C# lập trình",
        "hồ sơ #A-2024-001",
        "tôi muốn hỏi: làm sao để đăng ký?",
        "select trường học",
        "drop-off point",
        "union of youth",
        "order by date",
        "Điều 5, khoản 2 - Luật Đất đai",
        "tin tức / sự kiện",
        "A+ B+",
        "tỷ lệ 1=1,5",
        "Tom & Jerry",
        "can't find form",
        "Giấy chứng nhận QSDĐ; QSH nhà ở",
    ];
    const PATHS: &[&str] = &[
        "/",
        "/tin-tuc",
        "/tin-tuc/chi-tiet",
        "/thu-tuc-hanh-chinh",
        "/van-ban",
        "/lien-he",
        "/dich-vu-cong/nop-ho-so",
        "/tra-cuu-ho-so",
        "/api/v1/thu-tuc",
        "/gioi-thieu/co-cau-to-chuc",
    ];
    const AGENTS: &[&str] = &[
        BROWSER,
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Mobile Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
        "Zalo/24.10 (Android 13; vi_VN)",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; coccocbot-web/1.0; +http://help.coccoc.com/searchengine)",
        "curl/8.5.0",
        "okhttp/4.12.0",
    ];
    let mut rng = Rng(seed.max(1));
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let path = *rng.pick(PATHS);
        let q = *rng.pick(SEARCHES);
        let target = match rng.below(9) {
            0 => format!("{path}?q={}&page={}", enc(q), rng.below(40)),
            1 => format!("{path}?id={}&lang=vi", rng.below(100_000)),
            2 => format!(
                "{path}?tu-ngay={}%2F{}%2F2024&den-ngay=31%2F12%2F2024&linh-vuc={}",
                rng.below(28) + 1,
                rng.below(12) + 1,
                rng.below(30)
            ),
            3 => format!(
                "{path}?filter={}",
                enc(&format!(
                    "{{\"nam\":{},\"loai\":\"{}\"}}",
                    2020 + rng.below(6),
                    q
                ))
            ),
            4 => format!(
                "/dang-nhap?returnUrl={}",
                enc(&format!(
                    "https://dichvucong.ngocson.gov.vn{path}?tab={}",
                    rng.below(5)
                ))
            ),
            5 => format!(
                "{path}?utm_source=zalo&utm_medium=social&utm_campaign=cchc-{}",
                rng.below(12)
            ),
            6 => format!(
                "/van-ban/tai-ve?file=QD-{}-2024.pdf&ten={}",
                rng.below(999),
                enc(q)
            ),
            7 => format!("{path}?sort=ngay-ban-hanh&dir=desc&tu-khoa={}", enc(q)),
            _ => format!(
                "{path}/{}-{}.html",
                enc(&q.to_lowercase().replace(' ', "-")),
                i % 1000
            ),
        };
        let referrer = match rng.below(4) {
            0 => format!("https://www.google.com/search?q={}", enc(q)),
            1 => format!("https://coccoc.com/search?query={}", enc(q)),
            2 => "-".to_string(),
            _ => format!("https://ngocson.gov.vn{path}"),
        };
        let status = *rng.pick(&[200u16, 200, 200, 304, 302, 404]);
        let agent = *rng.pick(AGENTS);
        out.push(access(&target, status, &referrer, agent));
    }
    out
}

/// A CRS line whose payload is not in what an access log records.
fn unloggable(line: &str) -> bool {
    let plain_target = [
        "\"GET /get HTTP",
        "\"HEAD /head HTTP",
        "\"GET / HTTP",
        "\"GET /post HTTP",
        "\"GET /index.html HTTP",
        "\"GET /get/bar HTTP",
        "\"GET /get/baz HTTP",
        "\"GET /get/foo HTTP",
        "\"GET /api/payment/status HTTP",
    ];
    plain_target.iter().any(|p| line.contains(p))
        && line.ends_with("\"-\" \"OWASP CRS test agent\"")
}

fn parser() -> (Parser, Received<'static>) {
    let rx = Received {
        input: "bench-web",
        at: chrono::Utc::now(),
        peer: None,
    };
    (ParserConfig::default().build(), rx)
}

/// Our findings' rule ids per line.
pub fn ours(lines: &[&str]) -> Vec<Vec<String>> {
    let (p, rx) = parser();
    let d = WebAttackConfig::default().build();
    let mut w = tocsin_detect::Detector::worker(&d);
    let mut out = Vec::new();
    lines
        .iter()
        .map(|l| {
            let ev = p.parse(Format::AccessLog, l.as_bytes(), &rx);
            out.clear();
            d.findings(&mut w, &ev, &mut out);
            out.iter().map(|f: &Finding| f.rule_id.clone()).collect()
        })
        .collect()
}

/// The peer's verdicts: (sqli, xss) per line, and the seconds its checks
/// took; `None` with the reason when it cannot run.
pub fn peer(
    python: &Path,
    script: &Path,
    lines: &[&str],
) -> Result<(Vec<(bool, bool)>, f64), String> {
    let mut child = Command::new(python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    let mut input = String::new();
    for l in lines {
        input.push_str(l);
        input.push('\n');
    }
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let _ = writer.join();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut verdicts = Vec::new();
    let mut secs = 0.0;
    for l in text.lines() {
        if let Some(s) = l.strip_prefix("#seconds ") {
            secs = s.trim().parse().unwrap_or(0.0);
        } else {
            let b = l.as_bytes();
            verdicts.push((b.first() == Some(&b'1'), b.get(2) == Some(&b'1')));
        }
    }
    if verdicts.len() != lines.len() {
        return Err(format!(
            "peer answered {} lines of {}",
            verdicts.len(),
            lines.len()
        ));
    }
    Ok((verdicts, secs))
}

/// One class's figures.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Rate {
    /// Lines of the class whose payload is in the log.
    pub lines: usize,
    /// Of which ours found with the class's own detector.
    pub ours: usize,
    /// Of which ours found with any web detector.
    pub ours_any: usize,
    /// Of which libinjection found (SQLi and XSS only).
    pub peer: Option<usize>,
    /// Lines left out: the payload is not in an access-log line.
    pub unloggable: usize,
}

impl Rate {
    /// Ours, as a fraction of the loggable lines.
    pub fn ours_rate(&self) -> f64 {
        self.ours as f64 / self.lines.max(1) as f64
    }
}

/// What one evaluation found.
#[derive(Clone, Debug, Default)]
pub struct Quality {
    /// Per class, for CRS `expect` lines.
    pub classes: BTreeMap<Class, Rate>,
    /// Benign portal requests: (lines, ours flagged, peer flagged).
    pub benign: (usize, usize, Option<usize>),
    /// libinjection's false-positive inputs: (lines, ours, peer).
    pub libinjection_fp: (usize, usize, Option<usize>),
    /// CRS `no_expect` lines with a loggable payload flagged: (lines,
    /// ours, peer). Not benign: CRS tests that one rule stays quiet.
    pub crs_no_expect: (usize, usize, Option<usize>),
    /// The benign lines ours flagged, for reading.
    pub benign_flagged: Vec<String>,
    /// The attack lines ours missed, per class, for reading.
    pub missed: BTreeMap<Class, Vec<String>>,
    /// Ours, access-log events per second on one core (detection alone,
    /// events parsed beforehand), and with parsing.
    pub ours_eps: f64,
    /// Ours with parsing, events per second.
    pub ours_parse_eps: f64,
    /// The peer, checks per second (in Python, calls into C).
    pub peer_eps: Option<f64>,
    /// Why the peer did not run.
    pub peer_missing: Option<String>,
}

/// Evaluates ours and (when `python` can import libinjection) the peer.
pub fn evaluate(c: &Corpus, python: Option<&Path>, script: &Path) -> Quality {
    let mut q = Quality::default();
    let crs_lines: Vec<&str> = c.crs.iter().map(|l| l.line.as_str()).collect();
    let ours_crs = ours(&crs_lines);
    let benign: Vec<&str> = c.benign.iter().map(String::as_str).collect();
    let ours_benign = ours(&benign);
    let fp: Vec<&str> = c.libinjection_fp.iter().map(String::as_str).collect();
    let ours_fp = ours(&fp);

    let mut all: Vec<&str> = crs_lines.clone();
    all.extend(&benign);
    all.extend(&fp);
    let peer = match python {
        Some(py) => peer(py, script, &all),
        None => Err("no Python given".into()),
    };
    let (peer_v, peer_secs) = match peer {
        Ok((v, s)) => (Some(v), Some(s)),
        Err(e) => {
            q.peer_missing = Some(e);
            (None, None)
        }
    };
    let peer_at = |i: usize| peer_v.as_ref().map(|v| v[i]);

    for (i, l) in c.crs.iter().enumerate() {
        let hit_any = ours_crs[i]
            .iter()
            .any(|r| r != "tocsin:web:scanner" || l.class == Class::Scanner);
        if !l.expect {
            if !unloggable(&l.line) {
                q.crs_no_expect.0 += 1;
                q.crs_no_expect.1 += usize::from(!ours_crs[i].is_empty());
                if let Some((s, x)) = peer_at(i) {
                    *q.crs_no_expect.2.get_or_insert(0) += usize::from(s || x);
                }
            }
            continue;
        }
        let r = q.classes.entry(l.class).or_default();
        if unloggable(&l.line) {
            r.unloggable += 1;
            continue;
        }
        r.lines += 1;
        let own = l
            .class
            .rule()
            .is_some_and(|rule| ours_crs[i].iter().any(|x| x == rule));
        r.ours += usize::from(own || (l.class == Class::Other && hit_any));
        if !own {
            q.missed.entry(l.class).or_default().push(l.line.clone());
        }
        r.ours_any += usize::from(hit_any);
        if let Some((s, x)) = peer_at(i) {
            let found = match l.class {
                Class::Sqli => Some(s),
                Class::Xss => Some(x),
                _ => None,
            };
            if let Some(f) = found {
                *r.peer.get_or_insert(0) += usize::from(f);
            }
        }
    }
    let base = c.crs.len();
    q.benign.0 = benign.len();
    for (i, f) in ours_benign.iter().enumerate() {
        if !f.is_empty() {
            q.benign.1 += 1;
            if q.benign_flagged.len() < 20 {
                q.benign_flagged
                    .push(format!("{} ← {}", f.join(","), benign[i]));
            }
        }
        if let Some((s, x)) = peer_at(base + i) {
            *q.benign.2.get_or_insert(0) += usize::from(s || x);
        }
    }
    let base = base + benign.len();
    q.libinjection_fp.0 = fp.len();
    for (i, f) in ours_fp.iter().enumerate() {
        if !f.is_empty() {
            q.libinjection_fp.1 += 1;
            if q.benign_flagged.len() < 40 {
                q.benign_flagged
                    .push(format!("{} ← {}", f.join(","), fp[i]));
            }
        }
        if let Some((s, x)) = peer_at(base + i) {
            *q.libinjection_fp.2.get_or_insert(0) += usize::from(s || x);
        }
    }
    let (eps, parse_eps) = speed(&all);
    q.ours_eps = eps;
    q.ours_parse_eps = parse_eps;
    q.peer_eps = peer_secs.filter(|s| *s > 0.0).map(|s| all.len() as f64 / s);
    q
}

/// Ours on one core: detection alone over events parsed beforehand, and
/// parsing with detection, each repeated for at least a second.
fn speed(lines: &[&str]) -> (f64, f64) {
    let (p, rx) = parser();
    let d = WebAttackConfig::default().build();
    let mut w = tocsin_detect::Detector::worker(&d);
    let events: Vec<Event> = lines
        .iter()
        .map(|l| p.parse(Format::AccessLog, l.as_bytes(), &rx))
        .collect();
    let mut out = Vec::new();
    let mut n = 0usize;
    let t = Instant::now();
    while t.elapsed().as_secs_f64() < 1.0 {
        for ev in &events {
            out.clear();
            d.findings(&mut w, ev, &mut out);
        }
        n += events.len();
    }
    let detect = n as f64 / t.elapsed().as_secs_f64();
    let mut n = 0usize;
    let t = Instant::now();
    while t.elapsed().as_secs_f64() < 1.0 {
        for l in lines {
            let ev = p.parse(Format::AccessLog, l.as_bytes(), &rx);
            out.clear();
            d.findings(&mut w, &ev, &mut out);
        }
        n += lines.len();
    }
    (detect, n as f64 / t.elapsed().as_secs_f64())
}

fn pct(n: usize, of: usize) -> String {
    if of == 0 {
        return "—".into();
    }
    format!("{:.1} %", 100.0 * n as f64 / of as f64)
}

/// The evaluation as the Markdown tables docs/detection-quality.md holds.
pub fn report(q: &Quality) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| Class (CRS category) | Lines with the payload in the log | Tocsin | Tocsin, any web detector | libinjection | Left out (payload not logged) |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|");
    for (c, r) in &q.classes {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} |",
            c.name(),
            r.lines,
            pct(r.ours, r.lines),
            pct(r.ours_any, r.lines),
            r.peer.map_or("—".into(), |p| pct(p, r.lines)),
            r.unloggable
        );
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "| Benign set | Lines | Tocsin flagged | libinjection flagged |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|");
    for (name, (n, o, p)) in [
        ("Portal requests (generated)", q.benign),
        ("libinjection's false-positive inputs", q.libinjection_fp),
        (
            "CRS `no_expect` lines (not benign; informative)",
            q.crs_no_expect,
        ),
    ] {
        let _ = writeln!(
            s,
            "| {name} | {n} | {} ({}) | {} |",
            o,
            pct(o, n),
            p.map_or("—".into(), |p| format!("{p} ({})", pct(p, n)))
        );
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "Speed, one core: Tocsin {:.0} events/s detecting (parsed beforehand), {:.0} events/s parsing and detecting; libinjection {}.",
        q.ours_eps,
        q.ours_parse_eps,
        q.peer_eps.map_or_else(
            || "not run".to_string(),
            |e| format!(
                "{e:.0} lines/s (Python calling the C library, query split and decoded in Python)"
            )
        )
    );
    if let Some(m) = &q.peer_missing {
        let _ = writeln!(s, "\nlibinjection did not run: {m}");
    }
    s
}

/// Where `tocsin bench web` finds the peer's script: beside the binary's
/// source tree when run from a checkout, else as given.
pub fn peer_script(root: Option<PathBuf>) -> PathBuf {
    root.unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/libinjection_peer.py")
    })
}
