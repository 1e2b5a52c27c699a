//! Path traversal and file inclusion: climbing out of the web root
//! (`../`, `..\`, however encoded), naming the system's own files, PHP's
//! stream wrappers, and including a script from another server.

use std::sync::OnceLock;

use aho_corasick::AhoCorasick;

use crate::find_ci as find;

/// One case-insensitive pass for every sensitive name and wrapper.
fn names() -> &'static (AhoCorasick, usize) {
    static AC: OnceLock<(AhoCorasick, usize)> = OnceLock::new();
    AC.get_or_init(|| {
        let ac = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .kind(Some(aho_corasick::AhoCorasickKind::DFA))
            .build(SENSITIVE.iter().chain(WRAPPERS))
            .expect("fixed lists build");
        (ac, SENSITIVE.len())
    })
}

/// Files and folders no web request should name.
const SENSITIVE: &[&[u8]] = &[
    b"/etc/passwd",
    b"/etc/shadow",
    b"/etc/hosts",
    b"/etc/group",
    b"/etc/issue",
    b"/etc/[",
    b"/proc/self/",
    b"/proc/version",
    b"/proc/net/",
    b"/proc/cpuinfo",
    b"/sys/class",
    b"/var/log/",
    b"boot.ini",
    b"win.ini",
    b"system.ini",
    b"windows\\system32",
    b"windows/system32",
    b"c:\\windows",
    b"c:/windows",
    b"\\system32\\",
    b".htpasswd",
    b".htaccess",
    b"web.config",
    b"wp-config.php",
    b".ssh/",
    b"id_rsa",
    b"id_dsa",
    b"authorized_keys",
    b".bash_history",
    b".git/",
    b".svn/",
    b".env",
    b"/.aws/",
    b".docker",
    b"error.log",
    b"access.log",
    b"php.ini",
    b"my.cnf",
    b".npmrc",
    b".pgpass",
    b"/etc/",
    b"/proc/",
    b"/root/",
    b"/tmp/",
    b"/dev/tcp",
    b"/sys/kernel",
    b"debug.log",
    b"errors.log",
    b".sql.zip",
    b".sql.gz",
    b"backup.sql",
    b"dump.sql",
    b"/.kube/",
];

/// PHP and other stream wrappers that read or run what they name.
const WRAPPERS: &[&[u8]] = &[
    b"php://",
    b"file://",
    b"expect://",
    b"zip://",
    b"phar://",
    b"data://",
    b"glob://",
    b"compress.zlib://",
    b"input://",
    b"jar:",
    b"netdoc:",
    b"gopher://",
    b"dict://",
];

/// Whether `v` (decoded) climbs out of the web root or names a system
/// file, and why.
pub fn traversal(v: &str) -> Option<&'static str> {
    let b = v.as_bytes();
    if !b.iter().any(|c| matches!(c, b'.' | b'/' | b'\\' | b':')) {
        return None;
    }
    // `../` or `..\`, also `..;/` (Tomcat) and `.../` (doubled dots).
    let mut i = 0;
    while let Some(p) = crate::find(&b[i..], b"..") {
        let at = i + p;
        i = at + 2;
        let mut j = at + 2;
        while b.get(j) == Some(&b'.') {
            j += 1;
        }
        if b.get(j) == Some(&b';') {
            j += 1;
        }
        let next = b.get(j);
        let prev = if at == 0 { None } else { Some(b[at - 1]) };
        let after_sep = matches!(prev, None | Some(b'/' | b'\\' | b'=' | b' '));
        if after_sep && (matches!(next, Some(b'/' | b'\\')) || (next.is_none() && j == at + 2)) {
            return Some("directory traversal");
        }
    }
    let (ac, sensitive) = names();
    ac.find(b).map(|m| {
        if m.pattern().as_usize() < *sensitive {
            "system file"
        } else {
            "stream wrapper"
        }
    })
}

/// Whether a parameter value (decoded) asks the server to include a
/// script from elsewhere: a URL with an address for its host, or one
/// ending in `?` (what cuts off the server's own suffix), or with a
/// script's extension.
pub fn remote_include(v: &str) -> Option<&'static str> {
    let b = v.trim().as_bytes();
    let rest = [&b"http://"[..], b"https://", b"ftp://", b"ftps://", b"\\\\"]
        .iter()
        .find_map(|s| {
            (b.len() > s.len() && b[..s.len()].eq_ignore_ascii_case(s)).then(|| &b[s.len()..])
        })?;
    let host_end = rest
        .iter()
        .position(|c| matches!(c, b'/' | b'?' | b'#' | b':'))
        .unwrap_or(rest.len());
    let host = &rest[..host_end];
    let by_address = !host.is_empty() && host.iter().all(|c| c.is_ascii_digit() || *c == b'.');
    let trailing_q = b.ends_with(b"?") || b.ends_with(b"%00") || b.ends_with(b"?\0");
    let script = [
        &b".txt?"[..],
        b".php?",
        b".txt",
        b".sh",
        b".pl",
        b".py",
        b"/shell",
        b"c99",
        b"r57",
    ]
    .iter()
    .any(|s| find(rest, s).is_some());
    match (by_address, trailing_q, script) {
        (true, _, _) => Some("remote include by address"),
        (_, true, _) => Some("remote include"),
        (_, _, true) => Some("remote script"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn climbing_out_is_found() {
        for v in [
            "../../../../etc/passwd",
            "..\\..\\boot.ini",
            "/static/..;/WEB-INF/web.xml",
            "....//....//etc/hosts",
            "php://filter/convert.base64-encode/resource=index.php",
            "/proc/self/environ",
            "C:\\Windows\\win.ini",
            ".ssh/id_rsa",
            "..",
        ] {
            let v = crate::decode::normalize(v, true);
            assert!(traversal(&v).is_some(), "missed: {v}");
        }
        assert!(remote_include("http://1.2.3.4/shell.txt").is_some());
        assert!(remote_include("http://evil.example/x?").is_some());
        assert!(remote_include("https://evil.example/c99.txt").is_some());
    }

    #[test]
    fn ordinary_values_pass() {
        for v in [
            "/tin-tuc/2024/01/bai-viet.html",
            "Hà Nội...",
            "v1.2.3",
            "file.pdf",
            "a..b",
            "https://dichvucong.gov.vn/p/home.html",
        ] {
            assert!(traversal(v).is_none(), "false positive: {v}");
        }
        assert!(remote_include("https://dichvucong.gov.vn/p/home.html").is_none());
        assert!(remote_include("tin tức").is_none());
    }
}
