//! Undoing what attackers do to get past filters: percent-encoding several
//! layers deep, `+` for space, `%uXXXX`, `\uXXXX` and `\xHH` escapes, HTML
//! entities, overlong UTF-8 (`%c0%ae` for `.`), NUL bytes and comments
//! inside keywords are for the tokenizers.
//!
//! Every step is bounded: at most [`MAX_LAYERS`] rounds, and the output is
//! never longer than the input (each escape decodes to fewer bytes than
//! it takes), so decoding cannot be made to grow.

use std::borrow::Cow;

/// Rounds of decoding at most: attackers stack two or three layers; more
/// rounds only cost time.
pub const MAX_LAYERS: usize = 4;

/// `s` decoded until it stops changing (at most [`MAX_LAYERS`] rounds):
/// percent and `+` (when `plus` — in a query, not a path), unicode and hex
/// escapes, HTML entities, overlong UTF-8; NUL bytes dropped. Bytes that
/// are not UTF-8 after decoding become U+FFFD.
pub fn normalize(s: &str, plus: bool) -> Cow<'_, str> {
    if !needs_decoding(s.as_bytes(), plus) {
        return Cow::Borrowed(s);
    }
    let mut cur: Vec<u8> = s.as_bytes().to_vec();
    for _ in 0..MAX_LAYERS {
        let next = round(&cur, plus);
        if next == cur {
            break;
        }
        cur = next;
        if !needs_decoding(&cur, plus) {
            break;
        }
    }
    Cow::Owned(match String::from_utf8(cur) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// Whether anything in `b` could decode.
pub fn needs_decoding(b: &[u8], plus: bool) -> bool {
    b.iter()
        .any(|&c| matches!(c, b'%' | b'\\' | b'&' | 0 | 0xc0 | 0xc1 | 0xe0) || (plus && c == b'+'))
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn hex_n(b: &[u8]) -> Option<u32> {
    b.iter()
        .try_fold(0u32, |acc, &c| Some(acc * 16 + u32::from(hex(c)?)))
}

fn push_char(out: &mut Vec<u8>, cp: u32) {
    let c = char::from_u32(cp).unwrap_or('\u{fffd}');
    let mut buf = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}

/// One round over every escape form.
fn round(b: &[u8], plus: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'%' => {
                // %uXXXX (IIS), then %HH.
                if let (Some(b'u' | b'U'), Some(cp)) =
                    (b.get(i + 1), b.get(i + 2..i + 6).and_then(hex_n))
                {
                    push_char(&mut out, cp);
                    i += 6;
                } else if let Some(v) = b.get(i + 1..i + 3).and_then(hex_n) {
                    out.push(v as u8);
                    i += 3;
                } else {
                    out.push(c);
                    i += 1;
                }
            }
            // UTF-7 (`+ADw-script+AD4-`): what old browsers decoded.
            b'+' if b
                .get(i + 1..i + 5)
                .is_some_and(|w| matches!(w, b"ADw-" | b"AD4-" | b"ACI-" | b"ACc-")) =>
            {
                out.push(match b[i + 3] {
                    b'w' => b'<',
                    b'4' => b'>',
                    b'I' => b'"',
                    _ => b'\'',
                });
                i += 5;
            }
            b'+' if plus => {
                out.push(b' ');
                i += 1;
            }
            b'\\' => match b.get(i + 1) {
                Some(b'u' | b'U') => {
                    // \uXXXX and \u{X…}
                    if let Some(cp) = b.get(i + 2..i + 6).and_then(hex_n) {
                        push_char(&mut out, cp);
                        i += 6;
                    } else if b.get(i + 2) == Some(&b'{') {
                        let end = b[i + 3..]
                            .iter()
                            .take(7)
                            .position(|&x| x == b'}')
                            .map(|p| i + 3 + p);
                        match end.and_then(|e| hex_n(&b[i + 3..e]).map(|cp| (e, cp))) {
                            Some((e, cp)) => {
                                push_char(&mut out, cp);
                                i = e + 1;
                            }
                            None => {
                                out.push(c);
                                i += 1;
                            }
                        }
                    } else {
                        out.push(c);
                        i += 1;
                    }
                }
                Some(b'x' | b'X') => match b.get(i + 2..i + 4).and_then(hex_n) {
                    Some(v) => {
                        out.push(v as u8);
                        i += 4;
                    }
                    None => {
                        out.push(c);
                        i += 1;
                    }
                },
                _ => {
                    out.push(c);
                    i += 1;
                }
            },
            b'&' => match entity(&b[i..]) {
                Some((cp, len)) => {
                    push_char(&mut out, cp);
                    i += len;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            },
            0 => i += 1,
            // Overlong two-byte forms of ASCII (`C0 AE` is `.`): no
            // decoder should accept them, some did, attackers still try.
            0xc0 | 0xc1 if b.get(i + 1).is_some_and(|n| n & 0xc0 == 0x80) => {
                out.push(((c & 0x1f) << 6) | (b[i + 1] & 0x3f));
                i += 2;
            }
            0xe0 if b.get(i + 1).is_some_and(|n| *n == 0x80)
                && b.get(i + 2).is_some_and(|n| n & 0xc0 == 0x80) =>
            {
                out.push(b[i + 2] & 0x3f);
                i += 3;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// An HTML character reference at the start of `b` (`&lt;`, `&#60;`,
/// `&#x3c;`, with or without the `;`): its code point and length.
fn entity(b: &[u8]) -> Option<(u32, usize)> {
    if b.get(1) == Some(&b'#') {
        let (digits, radix, start) = match b.get(2) {
            Some(b'x' | b'X') => (&b[3..], 16, 3),
            _ => (&b[2..], 10, 2),
        };
        let n = digits
            .iter()
            .take(8)
            .take_while(|c| {
                if radix == 16 {
                    c.is_ascii_hexdigit()
                } else {
                    c.is_ascii_digit()
                }
            })
            .count();
        if n == 0 {
            return None;
        }
        let text = std::str::from_utf8(&digits[..n]).ok()?;
        let cp = u32::from_str_radix(text, radix).ok()?;
        let mut len = start + n;
        if b.get(len) == Some(&b';') {
            len += 1;
        }
        return Some((cp, len));
    }
    const NAMED: &[(&[u8], u32)] = &[
        (b"lt", '<' as u32),
        (b"gt", '>' as u32),
        (b"quot", '"' as u32),
        (b"apos", '\'' as u32),
        (b"amp", '&' as u32),
        (b"lpar", '(' as u32),
        (b"rpar", ')' as u32),
        (b"colon", ':' as u32),
        (b"sol", '/' as u32),
        (b"bsol", '\\' as u32),
        (b"semi", ';' as u32),
        (b"tab", '\t' as u32),
        (b"newline", '\n' as u32),
        (b"grave", '`' as u32),
        (b"equals", '=' as u32),
        (b"period", '.' as u32),
    ];
    let rest = &b[1..];
    NAMED.iter().find_map(|(name, cp)| {
        let n = name.len();
        (rest.len() >= n && rest[..n].eq_ignore_ascii_case(name)).then(|| {
            let len = if rest.get(n) == Some(&b';') {
                n + 2
            } else {
                n + 1
            };
            (*cp, len)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_of_encoding_come_off() {
        assert_eq!(normalize("%2527%2520or%25201%253D1", true), "' or 1=1");
        assert_eq!(normalize("a+b%20c", true), "a b c");
        assert_eq!(normalize("a+b", false), "a+b");
        assert_eq!(normalize("%u003cscript%u003e", true), "<script>");
        assert_eq!(normalize("\\u003cimg\\x20src\\u{3d}x", true), "<img src=x");
        assert_eq!(
            normalize("&lt;svg&#x2f;onload&#61;alert&lpar;1&rpar;&gt;", true),
            "<svg/onload=alert(1)>"
        );
        assert_eq!(normalize("%c0%ae%c0%ae%c0%afetc", true), "../etc");
        assert_eq!(normalize("a%00b", true), "ab");
        assert_eq!(normalize("%252bADw-script%252bAD4-", true), "<script>");
        assert_eq!(normalize("Hà Nội", true), "Hà Nội");
        assert!(matches!(normalize("/tin-tuc/2024", true), Cow::Borrowed(_)));
    }

    #[test]
    fn broken_escapes_stay_as_sent() {
        assert_eq!(normalize("100%", true), "100%");
        assert_eq!(normalize("%zz&#;&nope;\\u12", true), "%zz&#;&nope;\\u12");
        assert_eq!(normalize("%ff%fe", true), "\u{fffd}\u{fffd}");
    }
}
