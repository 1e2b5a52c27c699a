//! The bundled list of common passwords: what guessing tools try first,
//! in English and in Vietnamese, and the province's own obvious words.
//!
//! Passwords are compared folded (lowercase ASCII letters and digits, as
//! `fold_vietnamese` makes them), with the digits around a word taken off:
//! `Mật Khẩu@2026` is `matkhau` with digits, so it is common.

/// Words that, alone or with digits around them, make a common password.
const WORDS: &[&str] = &[
    "password",
    "passw0rd",
    "pass",
    "passwd",
    "admin",
    "administrator",
    "root",
    "toor",
    "user",
    "guest",
    "test",
    "demo",
    "login",
    "welcome",
    "letmein",
    "changeme",
    "default",
    "secret",
    "master",
    "qwerty",
    "qwertyuiop",
    "asdfgh",
    "asdfghjkl",
    "zxcvbn",
    "zxcvbnm",
    "abc",
    "abcd",
    "abcdef",
    "abcdefgh",
    "iloveyou",
    "monkey",
    "dragon",
    "sunshine",
    "princess",
    "football",
    "baseball",
    "superman",
    "batman",
    "trustno",
    "whatever",
    "shadow",
    "michael",
    "charlie",
    "computer",
    "internet",
    "server",
    "system",
    "oracle",
    "postgres",
    "mysql",
    "ubuntu",
    "centos",
    "windows",
    "microsoft",
    "google",
    "facebook",
    "matkhau",
    "matkhaumoi",
    "matkhaucuatoi",
    "quantri",
    "quantrivien",
    "quantrihethong",
    "admin@",
    "anhyeuem",
    "emyeuanh",
    "yeuem",
    "yeuanh",
    "vietnam",
    "vietnamoi",
    "hanoi",
    "saigon",
    "hochiminh",
    "tocsin",
    "soc",
    "ngocson",
    "ubnd",
    "sotttt",
    "stttt",
    "tttt",
    "congthongtin",
    "cntt",
    "antoan",
    "antoanthongtin",
    "baomat",
    "hethong",
    "thanhpho",
    "tinh",
    "xa",
    "huyen",
    "coquan",
    "vanthu",
    "motcua",
    "dichvucong",
    "egov",
    "chinhphu",
    "khongbiet",
    "khongcogi",
    "conmeo",
    "concho",
    "hoangsa",
    "truongsa",
];

/// Whole passwords (folded) that are common though not a word with digits.
const WHOLE: &[&str] = &[
    "1q2w3e4r",
    "1q2w3e4r5t",
    "1q2w3e4r5t6y",
    "q1w2e3r4",
    "1qaz2wsx",
    "1qaz2wsx3edc",
    "qazwsx",
    "qazwsxedc",
    "zaq12wsx",
    "aa123456",
    "a123456",
    "123456a",
    "123qwe",
    "qwe123",
    "abc123",
    "123abc",
    "admin123",
    "admin1234",
    "p4ssw0rd",
    "12345678910",
    "0123456789",
    "9876543210",
    "147258369",
    "123123123",
    "112233445566",
    "147852369",
    "qwerty123456",
    "asdf1234",
    "1234qwer",
    "qwer1234",
];

/// Whether `folded` is a common password or a word of the list with digits
/// before or after it.
pub(crate) fn is_common(folded: &str) -> bool {
    if WHOLE.contains(&folded) {
        return true;
    }
    let core = folded.trim_matches(|c: char| c.is_ascii_digit());
    // Only digits (dates, phone numbers, 123456789…).
    if core.is_empty() {
        return true;
    }
    WORDS.iter().any(|w| {
        let w = w.trim_end_matches('@');
        core == w || (core.len() <= w.len() + 3 && core.starts_with(w) && w.len() >= 4)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_with_digits_are_common_and_phrases_are_not() {
        for p in [
            "password",
            "password123",
            "2026matkhau",
            "123456789012",
            "1qaz2wsx",
            "quantri2026",
        ] {
            assert!(is_common(p), "{p}");
        }
        for p in [
            "dongthonghaimo1975",
            "cayduatrongvuon",
            "correcthorsebatterystaple",
        ] {
            assert!(!is_common(p), "{p}");
        }
    }
}
