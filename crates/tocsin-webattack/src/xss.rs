//! Cross-site scripting by reading the value as a browser would: a tag
//! that runs script or loads a document, an event-handler attribute, a
//! `javascript:` URL (however spaced), breaking out of an attribute or a
//! script string into code, template injection.

use crate::find;

/// Tags that run or load something whatever their attributes.
const ACTIVE_TAGS: &[&[u8]] = &[
    b"script",
    b"iframe",
    b"frame",
    b"frameset",
    b"object",
    b"embed",
    b"applet",
    b"base",
    b"meta",
    b"link",
    b"svg",
    b"math",
    b"xml",
    b"import",
    b"isindex",
    b"xss",
    b"style",
    b"template",
    b"portal",
    b"handler",
    b"listener",
    b"set",
    b"animate",
];

/// Attributes whose value is a URL a browser may run.
const URL_ATTRS: &[&[u8]] = &[
    b"src",
    b"href",
    b"action",
    b"formaction",
    b"data",
    b"xlink:href",
    b"background",
    b"dynsrc",
    b"lowsrc",
    b"poster",
    b"code",
    b"codebase",
    b"srcdoc",
    b"to",
    b"values",
    b"from",
];

/// Calls that are what an XSS proof does.
const SINKS: &[&[u8]] = &[
    b"alert",
    b"prompt",
    b"confirm",
    b"eval",
    b"settimeout",
    b"setinterval",
    b"fromcharcode",
    b"atob",
    b"print",
    b"open",
];

fn lower(s: &str) -> Vec<u8> {
    s.bytes()
        .filter(|&c| c != 0)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// `v` with blanks and control characters removed: what a browser reads
/// `java\tscript:` as.
fn squeezed(v: &[u8]) -> Vec<u8> {
    v.iter()
        .copied()
        .filter(|c| !c.is_ascii_whitespace() && *c >= 0x20)
        .collect()
}

fn word_at(b: &[u8], i: usize) -> &[u8] {
    let end = b[i..]
        .iter()
        .position(|c| !(c.is_ascii_alphanumeric() || matches!(c, b':' | b'-' | b'_')))
        .map_or(b.len(), |p| i + p);
    &b[i..end]
}

/// Whether `v` (decoded) is cross-site scripting, and why.
pub fn check(v: &str) -> Option<&'static str> {
    let raw = v.as_bytes();
    if !raw.iter().any(|c| XSS_BYTES[usize::from(*c)]) {
        return None;
    }
    let b = lower(v);
    // Tags.
    let mut i = 0;
    while let Some(p) = b[i..].iter().position(|&c| c == b'<') {
        let at = i + p + 1;
        i = at;
        let close = b.get(at) == Some(&b'/');
        let name_at = if close { at + 1 } else { at };
        // `< x: script`, `<f o r m`: a tag name spelled with blanks.
        let spaced: Vec<u8> = b[at..b.len().min(at + 24)]
            .iter()
            .copied()
            .filter(|c| *c != b' ')
            .collect();
        if b.get(at) == Some(&b' ') || b.get(at + 1) == Some(&b' ') {
            let w = word_at(&spaced, 0);
            let w = w.strip_prefix(b"x:").unwrap_or(w);
            if ACTIVE_TAGS
                .iter()
                .chain([&&b"form"[..], &&b"dialog"[..]])
                .any(|t| w.starts_with(t))
            {
                return Some("tag spelled with blanks");
            }
        }
        if name_at >= b.len() || !b[name_at].is_ascii_alphabetic() {
            // `<!--`, `<?import`, `<%`: markup a filter should refuse.
            if matches!(b.get(at), Some(b'!' | b'?')) && word_at(&b, at + 1).len() >= 3 {
                return Some("markup declaration");
            }
            continue;
        }
        let name = word_at(&b, name_at);
        if ACTIVE_TAGS
            .iter()
            .any(|t| name == *t || (t.len() >= 6 && name.starts_with(t)))
        {
            return Some("active tag");
        }
        // The tag's attributes, up to `>`, the next `<` or the end: each
        // byte is read once however many `<` a hostile value holds.
        let end = b[name_at..]
            .iter()
            .position(|&c| c == b'>' || c == b'<')
            .map_or(b.len(), |p| name_at + p);
        if let Some(r) = attributes(&b[name_at + name.len()..end]) {
            return Some(r);
        }
    }
    // Out of an attribute or string, into a handler: `" onmouseover=`.
    if let Some(r) = handler_outside_tag(&b) {
        return Some(r);
    }
    let sq = squeezed(&b);
    if let Some(m) = schemes().find(&sq) {
        // `javascript:` anywhere with something after it.
        if sq.len() > m.end() {
            return Some("script URL");
        }
    }
    // Breaking out of a script string into a call: `';alert(1)//`,
    // `"-alert(1)-"`, a sink called with backticks.
    let calls = memchr::memchr2(b'(', b'`', &sq).is_some();
    for sink in SINKS.iter().filter(|_| calls) {
        let mut from = 0;
        while let Some(p) = find(&sq[from..], sink) {
            let at = from + p;
            from = at + 1;
            let after = sq.get(at + sink.len());
            let called = matches!(after, Some(b'(' | b'`'));
            let before = if at == 0 { None } else { sq.get(at - 1) };
            let boundary = before.is_none_or(|c| !c.is_ascii_alphanumeric());
            if called && boundary {
                let broke = sq[..at].iter().any(|c| {
                    matches!(
                        c,
                        b'\''
                            | b'"'
                            | b';'
                            | b'>'
                            | b'`'
                            | b'-'
                            | b'+'
                            | b'|'
                            | b'&'
                            | b'}'
                            | b'{'
                            | b'['
                            | b']'
                    )
                }) || at == 0;
                if broke {
                    return Some("script call");
                }
            }
        }
    }
    if expressions().is_match(&sq) {
        return Some("script expression");
    }
    if find(&sq, b"{{").is_some() && find(&sq, b"}}").is_some() && sq.contains(&b'(') {
        return Some("template injection");
    }
    None
}

/// What makes a tag's attributes active: an event handler, a script URL,
/// a style expression.
fn attributes(a: &[u8]) -> Option<&'static str> {
    let mut i = 0;
    while i < a.len() {
        let c = a[i];
        // Attribute names follow a blank, `/` or a quote.
        if c.is_ascii_alphabetic()
            && (i == 0
                || matches!(
                    a[i - 1],
                    b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' | b'/' | b'"' | b'\''
                ))
        {
            let name = word_at(a, i);
            let mut j = i + name.len();
            while j < a.len() && a[j].is_ascii_whitespace() {
                j += 1;
            }
            if a.get(j) == Some(&b'=') || name.starts_with(b"on") {
                if name.len() > 2 && name.starts_with(b"on") && a.get(j) == Some(&b'=') {
                    return Some("event handler");
                }
                if URL_ATTRS.contains(&name) {
                    let value = squeezed(&a[j + 1..]);
                    let value = value
                        .strip_prefix(b"\"")
                        .or_else(|| value.strip_prefix(b"'"))
                        .unwrap_or(&value);
                    if [&b"javascript:"[..], b"vbscript:", b"data:"]
                        .iter()
                        .any(|s| value.starts_with(s))
                    {
                        return Some("script URL");
                    }
                }
                if name == b"style" {
                    let value = squeezed(&a[j + 1..]);
                    if find(&value, b"expression(").is_some()
                        || find(&value, b"javascript:").is_some()
                    {
                        return Some("style expression");
                    }
                }
            }
            i += name.len().max(1);
        } else {
            i += 1;
        }
    }
    None
}

/// `" onfocus=alert(1) autofocus="`: a handler after a quote that closes
/// an attribute.
fn handler_outside_tag(b: &[u8]) -> Option<&'static str> {
    let mut i = 0;
    while let Some(p) = find(&b[i..], b"on") {
        let at = i + p;
        i = at + 2;
        let before = if at == 0 { None } else { Some(b[at - 1]) };
        if !matches!(
            before,
            None | Some(b' ' | b'\t' | b'\n' | b'/' | b'"' | b'\'')
        ) {
            continue;
        }
        let name = word_at(b, at);
        if name.len() < 5 || !name[2..].iter().all(|c| c.is_ascii_alphabetic()) {
            continue;
        }
        let mut j = at + name.len();
        while j < b.len() && b[j].is_ascii_whitespace() {
            j += 1;
        }
        // After a quote that closes an attribute, or a handler whose name
        // is long enough not to be a word (`onwebkit…=`, `onmouseover=`).
        if b.get(j) == Some(&b'=')
            && (b[..at].iter().any(|c| matches!(c, b'"' | b'\'')) || name.len() >= 9)
        {
            return Some("event handler");
        }
    }
    None
}

fn schemes() -> &'static aho_corasick::AhoCorasick {
    static AC: std::sync::OnceLock<aho_corasick::AhoCorasick> = std::sync::OnceLock::new();
    AC.get_or_init(|| {
        aho_corasick::AhoCorasick::builder()
            .kind(Some(aho_corasick::AhoCorasickKind::DFA))
            .build(["javascript:", "vbscript:", "livescript:", "data:text/html"])
            .expect("fixed list builds")
    })
}

/// What only script says, in one pass (over the lower-cased value with
/// blanks removed).
fn expressions() -> &'static aho_corasick::AhoCorasick {
    static AC: std::sync::OnceLock<aho_corasick::AhoCorasick> = std::sync::OnceLock::new();
    AC.get_or_init(|| {
        aho_corasick::AhoCorasick::builder()
            .kind(Some(aho_corasick::AhoCorasickKind::DFA))
            .build([
                "url(javascript",
                "-moz-binding",
                "expression(",
                ".call`",
                "reflect.apply",
                "reflect.construct",
                "${alert",
                "${prompt",
                "${confirm",
                "${eval}",
                "newfunction(",
                "btoa(",
                "formaction=",
                "document.cookie",
                "document.domain",
                "document.write",
                "window.location",
                "constructor.constructor",
                ".innerhtml",
                "[].map.call",
            ])
            .expect("fixed list builds")
    })
}

/// Bytes without which a value cannot be XSS.
static XSS_BYTES: [bool; 256] = crate::byte_set(b"<>\"'`:(={}");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripting_is_found() {
        for v in [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "<svg/onload=alert()>",
            "<a href=\"jav&#x09;ascript:alert(1)\">x</a>",
            "\" onmouseover=\"alert(1)",
            "';alert(String.fromCharCode(88,83,83))//",
            "javascript:alert(document.cookie)",
            "<body onload=alert(1)>",
            "<iframe src=//evil>",
            "<div style=\"width: expression(alert(1))\">",
            "{{constructor.constructor('alert(1)')()}}",
            "confirm()",
            "  onwebkitplaybacktargetavailabilitychanged= ",
            "STYLE=X:URL(JAVASCRIPT",
            "<f o r m",
            "<importimplementation=",
            "[ ] . /**/ sort . call ` ${ alert } 1337 `",
            "Reflect.apply.call`${navigation.navigate}`",
            "new Function()",
            "<?import implementation =",
            "[].map.call`${eval}\\u{61}lert\\x281337\\x29`",
        ] {
            let v = crate::decode::normalize(v, true);
            assert!(check(&v).is_some(), "missed: {v}");
        }
    }

    #[test]
    fn ordinary_values_pass() {
        for v in [
            "Nguyễn Văn A",
            "a < b and c > d",
            "1 < 2",
            "tin tức: sự kiện",
            "email: a@b.vn",
            "https://dichvucong.gov.vn/p/home/dvc-trang-chu.html",
            "Điều 5 (khoản 2)",
            "\"Báo cáo\" năm 2023",
            "online",
            "turn on = yes",
            "alerts(3)",
            "online=1",
            "onsale",
            "Hội nghị trực tuyến (online)",
        ] {
            assert!(check(v).is_none(), "false positive: {v}");
        }
    }
}
