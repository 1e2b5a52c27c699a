//! Text made safe for both databases before it is written: PostgreSQL
//! refuses NUL in text, so a NUL a hostile sender slipped into a field
//! would fail every commit that carries it. Both backends store the same
//! visible stand-in, U+2400 (␀), so what one shows the other shows too.

use std::borrow::Cow;

/// The stand-in for NUL.
pub(crate) const NUL_SIGN: char = '\u{2400}';

/// `s` with every NUL replaced by [`NUL_SIGN`]; borrowed when there is none.
pub(crate) fn safe(s: &str) -> Cow<'_, str> {
    if s.as_bytes().contains(&0) {
        Cow::Owned(s.replace('\0', &NUL_SIGN.to_string()))
    } else {
        Cow::Borrowed(s)
    }
}

/// [`safe`] for optional text.
pub(crate) fn safe_opt(s: Option<&str>) -> Option<Cow<'_, str>> {
    s.map(safe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_becomes_its_sign_and_nothing_else_changes() {
        assert!(matches!(safe("Đăng nhập"), Cow::Borrowed("Đăng nhập")));
        assert_eq!(safe("a\0b\0"), "a␀b␀");
        assert_eq!(safe_opt(None), None);
    }
}
