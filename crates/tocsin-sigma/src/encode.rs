//! Value encodings for `base64`, `base64offset`, `utf16*` and `windash`.
//!
//! These modifiers do not decode the event: they encode the rule's value
//! into every form it may take in the event, at load time, and the engine
//! then searches for those forms as plain strings. Events are never
//! decoded: the cost is only more strings to look for.

/// The standard base64 alphabet.
const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn base64(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(B64[(n >> 18) as usize & 63] as char);
        out.push(B64[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            B64[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            B64[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// The three forms `data` takes inside a longer base64 text, depending on
/// its offset modulo 3 (the characters that depend on neighbours are cut).
///
/// Each form is found with `contains`, as the specification intends for
/// `base64offset`. Duplicates and empty forms (a value too short to leave
/// any character independent of its neighbours) are left out.
pub fn base64_offsets(data: &[u8]) -> Vec<String> {
    const START: [usize; 3] = [0, 2, 3];
    let mut out = Vec::with_capacity(3);
    for (i, &start) in START.iter().enumerate() {
        let mut padded = vec![b' '; i];
        padded.extend_from_slice(data);
        let enc = base64(&padded);
        let end_cut = match (data.len() + i) % 3 {
            0 => 0,
            1 => 3,
            _ => 2,
        };
        let end = enc.len().saturating_sub(end_cut);
        let v = enc.get(start..end).unwrap_or("").to_string();
        if !v.is_empty() && !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// UTF-16 little-endian bytes.
pub fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// UTF-16 big-endian bytes.
pub fn utf16be(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

/// UTF-16 with a little-endian byte-order mark.
pub fn utf16bom(s: &str) -> Vec<u8> {
    let mut v = vec![0xFF, 0xFE];
    v.extend(utf16le(s));
    v
}

/// The dash characters Windows command lines accept for option prefixes.
pub const WINDASH: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

/// Most dashes `windash` expands in one value (5ⁿ variants).
pub const MAX_WINDASH: usize = 6;

/// Every way of writing the `-` characters of `s` with [`WINDASH`].
///
/// The original spelling is among them. More than [`MAX_WINDASH`] dashes
/// is an error rather than thousands of variants.
pub fn windash(s: &str) -> Result<Vec<String>, String> {
    let positions: Vec<usize> = s
        .char_indices()
        .filter(|(_, c)| *c == '-')
        .map(|(i, _)| i)
        .collect();
    if positions.len() > MAX_WINDASH {
        return Err(format!(
            "windash: `{s}` has {} dashes; at most {MAX_WINDASH} are expanded",
            positions.len()
        ));
    }
    let total = WINDASH.len().pow(positions.len() as u32);
    let mut out = Vec::with_capacity(total);
    for combo in 0..total {
        let mut v = String::with_capacity(s.len() + 4);
        let mut k = combo;
        let mut last = 0;
        for &p in &positions {
            v.push_str(&s[last..p]);
            v.push(WINDASH[k % WINDASH.len()]);
            k /= WINDASH.len();
            last = p + 1;
        }
        v.push_str(&s[last..]);
        out.push(v);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_known_values() {
        assert_eq!(base64(b"Man"), "TWFu");
        assert_eq!(base64(b"Ma"), "TWE=");
        assert_eq!(base64(b"M"), "TQ==");
    }

    #[test]
    fn offsets_are_found_in_real_encodings() {
        let needle = b"Invoke-Mimikatz";
        let variants = base64_offsets(needle);
        for prefix in ["", "a", "ab", "abc", "xyzw"] {
            let mut data = prefix.as_bytes().to_vec();
            data.extend_from_slice(needle);
            data.extend_from_slice(b" tail");
            let enc = base64(&data);
            assert!(
                variants.iter().any(|v| enc.contains(v.as_str())),
                "{prefix}: {enc} {variants:?}"
            );
        }
    }

    #[test]
    fn windash_expands_every_dash() {
        let v = windash("-a -b").unwrap();
        assert_eq!(v.len(), 25);
        assert!(v.contains(&"/a \u{2013}b".to_string()));
        assert!(windash("-------").is_err());
    }

    #[test]
    fn utf16_forms() {
        assert_eq!(utf16le("ab"), [b'a', 0, b'b', 0]);
        assert_eq!(utf16be("ab"), [0, b'a', 0, b'b']);
        assert_eq!(utf16bom("a"), [0xFF, 0xFE, b'a', 0]);
    }
}
