//! Scanners and web shells: tools that say who they are in the
//! User-Agent, requests for what only a scanner looks for, and requests
//! for the files attackers leave behind to run commands.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use std::sync::OnceLock;

/// Scanning and attack tools by their User-Agent.
const SCANNERS: &[&str] = &[
    "sqlmap",
    "nikto",
    "nmap",
    "nuclei",
    "havij",
    "arachni",
    "acunetix",
    "netsparker",
    "masscan",
    "zgrab",
    "dirbuster",
    "gobuster",
    "dirb/",
    "wpscan",
    "nessus",
    "openvas",
    "w3af",
    "jaeles",
    "burp",
    "owasp zap",
    "zaproxy",
    "wfuzz",
    "ffuf",
    "feroxbuster",
    "whatweb",
    "skipfish",
    "commix",
    "xsstrike",
    "fimap",
    "joomscan",
    "appscan",
    "webinspect",
    "qualys",
    "brutus",
    "hydra",
    "medusa",
    "jorgee",
    "morfeus",
    "zmeu",
    "censys",
    "l9explore",
    "nessus",
    "sf-",
    "paros",
    "webshag",
    "grabber",
    "vega/",
    "bsqlbf",
    "pangolin",
];

/// Paths only a scanner or an attacker asks for on a government site.
const RECON_PATHS: &[&str] = &[
    "/.env",
    "/.git/",
    "/.svn/",
    "/.hg/",
    "/.ds_store",
    "/wp-config.php.bak",
    "/phpmyadmin",
    "/pma/",
    "/myadmin",
    "/adminer",
    "/server-status",
    "/server-info",
    "/phpinfo.php",
    "/info.php",
    "/.aws/",
    "/actuator",
    "/jmx-console",
    "/manager/html",
    "/solr/admin",
    "/cgi-bin/test-cgi",
    "/etc/passwd",
    "/.well-known/security.txt.bak",
    "/backup.sql",
    "/dump.sql",
    "/db.sql",
    "/config.json",
    "/.vscode/",
    "/.idea/",
    "/web.config",
    "/vendor/phpunit",
    "/boaform/",
    "/hnap1",
    "/console/",
    "/owa/auth/x.js",
];

/// Web shells by file name, and the parameters shells take.
const SHELL_NAMES: &[&str] = &[
    "c99",
    "r57",
    "wso.php",
    "b374k",
    "shell.php",
    "shell.aspx",
    "shell.jsp",
    "cmd.php",
    "cmd.aspx",
    "cmd.jsp",
    "webshell",
    "alfa.php",
    "indoxploit",
    "mini.php",
    "up.php",
    "bypass.php",
    "priv8",
    "adminer.php",
    "chopper",
    "antsword",
    "behinder",
    "godzilla",
    "404.php?cmd",
    "x.php?cmd",
    "wp-content/uploads/shell",
    "filesman",
    "p0wny",
];

fn automaton(
    words: &'static [&'static str],
    cell: &'static OnceLock<AhoCorasick>,
) -> &'static AhoCorasick {
    cell.get_or_init(|| {
        AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .kind(Some(aho_corasick::AhoCorasickKind::DFA))
            .match_kind(MatchKind::LeftmostFirst)
            .build(words)
            .expect("fixed word lists build")
    })
}

static SCANNER_AC: OnceLock<AhoCorasick> = OnceLock::new();
static RECON_AC: OnceLock<AhoCorasick> = OnceLock::new();
static SHELL_AC: OnceLock<AhoCorasick> = OnceLock::new();

/// The scanner a User-Agent names.
pub fn scanner(agent: &str) -> Option<&'static str> {
    automaton(SCANNERS, &SCANNER_AC)
        .find(agent)
        .map(|m| SCANNERS[m.pattern().as_usize()])
}

/// The recon target a path asks for.
pub fn recon_path(path: &str) -> Option<&'static str> {
    automaton(RECON_PATHS, &RECON_AC)
        .find(path)
        .map(|m| RECON_PATHS[m.pattern().as_usize()])
}

/// The web shell a path names: a name at the start of a path segment and
/// ending it, or followed by its extension (`/uploads/c99.php`, not
/// `/signup.php` for `up.php` nor `/godzilla-review` for `godzilla`).
pub fn shell(path: &str) -> Option<&'static str> {
    let b = path.as_bytes();
    automaton(SHELL_NAMES, &SHELL_AC)
        .find_iter(path)
        .find(|m| {
            let starts = m.start() == 0 || b[m.start() - 1] == b'/';
            let ends = matches!(b.get(m.end()), None | Some(b'.' | b'/' | b'?' | b';'))
                || SHELL_NAMES[m.pattern().as_usize()].contains('.');
            starts && ends
        })
        .map(|m| SHELL_NAMES[m.pattern().as_usize()])
}

/// Parameters web shells take, with a command in them.
pub fn shell_parameter(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "cmd" | "exec" | "command" | "execute" | "shell" | "c" | "z0" | "pass" | "act"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_and_shells_are_named() {
        assert_eq!(
            scanner("sqlmap/1.7.2#stable (https://sqlmap.org)"),
            Some("sqlmap")
        );
        assert_eq!(scanner("Mozilla/5.0 (compatible; Nuclei)"), Some("nuclei"));
        assert_eq!(
            scanner("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120"),
            None
        );
        assert_eq!(recon_path("/.git/config"), Some("/.git/"));
        assert_eq!(recon_path("/tin-tuc/2024"), None);
        assert_eq!(shell("/wp-content/uploads/2024/c99.php"), Some("c99"));
        assert_eq!(shell("/index.php"), None);
        assert_eq!(shell("/signup.php"), None);
        assert_eq!(shell("/godzilla-review.html"), None);
        assert_eq!(shell("/uploads/up.php"), Some("up.php"));
        assert_eq!(shell("/x/c99"), Some("c99"));
    }
}
