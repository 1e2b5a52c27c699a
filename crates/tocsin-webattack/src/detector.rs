//! Web hits as findings: one per kind and request, classed, levelled by
//! what the server answered.

use std::sync::atomic::{AtomicU64, Ordering};

use tocsin_detect::{Detector, Reading};
use tocsin_model::{AlertKind, AttackClass, Category, Event, Finding, Level};

use crate::{Request, Scratch, WebHit, WebKind, inspect};

/// Web-attack detection settings (`[ingest.pipeline.web]`).
#[derive(Clone, Debug, serde::Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct WebAttackConfig {
    /// Whether requests are inspected at all.
    pub enabled: bool,
    /// The longest part of a request read, bytes (a longer one is read
    /// to this length and counted).
    pub max_value_bytes: usize,
    /// Responses that mean the attack did not reach anything: the
    /// request is an attempt, at the lower level of its kind (see
    /// `levels`), labelled so.
    pub attempt_statuses: Vec<u16>,
    /// Scanners and probes for sensitive paths raise alerts when true
    /// (low; high when a probed file is served); when false a scanner is
    /// only a tag on an injection it sends, and probes raise nothing.
    pub recon_alerts: bool,
}

impl Default for WebAttackConfig {
    fn default() -> Self {
        WebAttackConfig {
            enabled: true,
            max_value_bytes: crate::MAX_VALUE,
            attempt_statuses: vec![400, 401, 403, 404, 405, 406, 410, 414, 429, 501],
            recon_alerts: true,
        }
    }
}

impl WebAttackConfig {
    /// The detector these settings ask for.
    pub fn build(self) -> WebAttackDetector {
        WebAttackDetector {
            cfg: self,
            cut: AtomicU64::new(0),
            found: AtomicU64::new(0),
        }
    }
}

/// Finds web attacks in web events (see the crate's docs).
#[derive(Debug)]
pub struct WebAttackDetector {
    cfg: WebAttackConfig,
    cut: AtomicU64,
    found: AtomicU64,
}

/// One worker's buffers.
#[derive(Default)]
pub struct WebWorker {
    scratch: Scratch,
    hits: Vec<WebHit>,
}

/// How severe a kind is when the server answered (hit) and when it
/// refused (attempt).
fn levels(kind: WebKind) -> (Level, Level) {
    match kind {
        WebKind::Webshell => (Level::Critical, Level::Medium),
        WebKind::Sqli | WebKind::Cmdi | WebKind::Rfi => (Level::High, Level::Medium),
        WebKind::Traversal => (Level::High, Level::Low),
        WebKind::Xss => (Level::Medium, Level::Low),
        // Probes stay visible (low) even when refused: they announce what
        // comes next.
        WebKind::Scanner | WebKind::Recon => (Level::Low, Level::Low),
    }
}

/// ATT&CK: exploiting a public application, web shells, active scanning.
fn technique(kind: WebKind) -> &'static str {
    match kind {
        WebKind::Webshell => "attack.t1505.003",
        WebKind::Scanner | WebKind::Recon => "attack.t1595",
        WebKind::Cmdi => "attack.t1059",
        _ => "attack.t1190",
    }
}

/// The finding's title (the console shows it in the reader's language by
/// its rule id).
fn title(kind: WebKind) -> &'static str {
    match kind {
        WebKind::Sqli => "SQL injection",
        WebKind::Xss => "Cross-site scripting",
        WebKind::Traversal => "Path traversal or local file inclusion",
        WebKind::Rfi => "Remote file inclusion",
        WebKind::Cmdi => "OS command injection",
        WebKind::Webshell => "Web shell access",
        WebKind::Scanner => "Web vulnerability scanner",
        WebKind::Recon => "Probe for sensitive files",
    }
}

impl WebAttackDetector {
    /// The findings of one request (what `observe` reports), for callers
    /// without a pipeline (`tocsin bench web`).
    pub fn findings(&self, w: &mut WebWorker, ev: &Event, out: &mut Vec<Finding>) {
        let Some(target) = ev.fields.get_str("url.original") else {
            return;
        };
        let req = Request {
            target,
            referrer: ev.fields.get_str("http.request.referrer"),
            agent: ev.fields.get_str("user_agent.original"),
        };
        w.hits.clear();
        if inspect(&req, self.cfg.max_value_bytes, &mut w.scratch, &mut w.hits) {
            self.cut.fetch_add(1, Ordering::Relaxed);
        }
        if w.hits.is_empty() {
            return;
        }
        let status = ev
            .fields
            .get("http.response.status_code")
            .and_then(|v| v.as_i64())
            .and_then(|s| u16::try_from(s).ok());
        let attempt = status.is_some_and(|s| self.cfg.attempt_statuses.contains(&s));
        // A scanner that also injects is one finding about the injection,
        // tagged with the tool.
        let injected = w
            .hits
            .iter()
            .any(|h| !matches!(h.kind, WebKind::Scanner | WebKind::Recon));
        let mut kinds: Vec<WebKind> = w.hits.iter().map(|h| h.kind).collect();
        kinds.sort();
        kinds.dedup();
        for kind in kinds {
            let recon = matches!(kind, WebKind::Scanner | WebKind::Recon);
            if recon && (injected || !self.cfg.recon_alerts) {
                continue;
            }
            let (hit_level, attempt_level) = levels(kind);
            // A sensitive file the server handed out is no longer a probe.
            let level = match (kind, attempt, status) {
                (_, true, _) => attempt_level,
                (WebKind::Recon, false, Some(200)) => Level::High,
                _ => hit_level,
            };
            let parts: Vec<String> = w
                .hits
                .iter()
                .filter(|h| h.kind == kind)
                .map(|h| match &h.name {
                    Some(n) => format!("{} `{}`: {}", h.part.as_str(), short(n), h.reason),
                    None => format!("{}: {}", h.part.as_str(), h.reason),
                })
                .collect();
            let outcome = if attempt { "attempt" } else { "hit" };
            let method = ev.fields.get_str("http.request.method").unwrap_or("");
            let summary = format!(
                "[{outcome}{}] {method} {} — {}",
                status.map(|s| format!(", {s}")).unwrap_or_default(),
                short(target),
                parts.join("; ")
            );
            let mut tags = vec![
                technique(kind).to_string(),
                format!("tocsin.web.{}", kind.as_str()),
                format!("tocsin.outcome.{outcome}"),
            ];
            if injected && w.hits.iter().any(|h| h.kind == WebKind::Scanner) {
                tags.push("tocsin.web.scanner".into());
            }
            self.found.fetch_add(1, Ordering::Relaxed);
            out.push(Finding {
                rule_id: format!("tocsin:web:{}", kind.as_str()),
                title: title(kind).to_string(),
                level,
                kind: AlertKind::Rule,
                class: if recon {
                    AttackClass::Recon
                } else {
                    AttackClass::WebAttack
                },
                tags,
                entity: None,
                summary: Some(summary),
                intel: None,
                repeat: false,
            });
        }
    }
}

/// At most 160 characters of `s`, for summaries.
fn short(s: &str) -> String {
    if s.len() <= 160 {
        return s.to_string();
    }
    let mut end = 160;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

impl Detector for WebAttackDetector {
    type Worker = WebWorker;
    type Carry = ();

    fn name(&self) -> &'static str {
        "web"
    }

    fn worker(&self) -> WebWorker {
        WebWorker::default()
    }

    fn interested(&self, ev: &Event) -> bool {
        self.cfg.enabled
            && (ev.category == Category::Web || ev.fields.get("url.original").is_some())
    }

    fn observe(&self, w: &mut WebWorker, ev: &Event, out: &mut Vec<Finding>) -> Option<()> {
        self.findings(w, ev, out);
        None
    }

    fn readings(&self) -> Vec<Reading> {
        vec![
            Reading {
                name: "tocsin_web_values_cut_total",
                help: "Web requests with a part longer than [ingest.pipeline.web] max_value_bytes, read only to that length",
                value: self.cut.load(Ordering::Relaxed),
                total: true,
            },
            Reading {
                name: "tocsin_web_findings_total",
                help: "Web-attack findings (before folding into alerts)",
                value: self.found.load(Ordering::Relaxed),
                total: true,
            },
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tocsin_model::{Observer, Timestamp};

    fn request(target: &str, status: i64, agent: &str) -> Event {
        let mut ev = Event::new(Timestamp::received(chrono_now()), Observer::default(), "");
        ev.category = Category::Web;
        ev.fields.insert("url.original", target.to_string());
        ev.fields.insert("http.response.status_code", status);
        ev.fields.insert("user_agent.original", agent.to_string());
        ev
    }

    fn chrono_now() -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp(1_764_900_000, 0).unwrap_or_default()
    }

    fn found(d: &WebAttackDetector, ev: &Event) -> Vec<Finding> {
        let mut w = WebWorker::default();
        let mut out = Vec::new();
        d.findings(&mut w, ev, &mut out);
        out
    }

    #[test]
    fn probes_are_recon_and_stay_low_when_refused() {
        let d = WebAttackConfig::default().build();
        let nuclei = "Mozilla/5.0 (compatible; Nuclei - Open-source project)";
        let f = found(&d, &request("/phpmyadmin/", 404, nuclei));
        let kinds: Vec<_> = f
            .iter()
            .map(|f| (f.rule_id.as_str(), f.level, f.class))
            .collect();
        assert_eq!(
            kinds,
            [
                ("tocsin:web:scanner", Level::Low, AttackClass::Recon),
                ("tocsin:web:recon", Level::Low, AttackClass::Recon)
            ]
        );
        // A probe for a system file is a traversal attempt, the tool a tag.
        let f = found(&d, &request("/.env", 404, nuclei));
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            (f[0].rule_id.as_str(), f[0].level),
            ("tocsin:web:traversal", Level::Low)
        );
        assert!(f[0].tags.contains(&"tocsin.web.scanner".to_string()));
        // The file served: high.
        let f = found(&d, &request("/.env", 200, "curl/8.5.0"));
        assert_eq!(f[0].level, Level::High);
    }

    #[test]
    fn the_answer_decides_attempt_or_hit() {
        let d = WebAttackConfig::default().build();
        let shell = |status| found(&d, &request("/uploads/wso.php", status, "Mozilla/5.0"));
        assert_eq!(shell(404)[0].level, Level::Medium);
        assert!(
            shell(404)[0]
                .tags
                .contains(&"tocsin.outcome.attempt".to_string())
        );
        assert_eq!(shell(200)[0].level, Level::Critical);
        assert!(
            shell(200)[0]
                .summary
                .as_deref()
                .unwrap_or("")
                .starts_with("[hit, 200]")
        );
        // A scanner that injects is one finding about the injection.
        let f = found(
            &d,
            &request("/?id=1%27%20or%20%271%27%3D%271", 200, "sqlmap/1.8"),
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].tags.contains(&"tocsin.web.scanner".to_string()));
    }
}
