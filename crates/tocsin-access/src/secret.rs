//! Random secrets and how they are kept: only their SHA-256 digest is
//! stored, so a copy of the database opens no session and no token.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// 32 random bytes from the operating system, written as 64 hex digits.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl Default for Secret {
    fn default() -> Self {
        Self::new()
    }
}

impl Secret {
    /// A fresh secret. Panics only if the operating system has no random
    /// source, when nothing safe can be done anyway.
    pub fn new() -> Secret {
        let mut b = [0u8; 32];
        getrandom::fill(&mut b).expect("the operating system's random source");
        Secret(hex(&b))
    }

    /// A secret as a client sent it back (a cookie, a form field).
    pub fn from_client(s: &str) -> Option<Secret> {
        (s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())).then(|| Secret(s.to_string()))
    }

    /// The text to hand the client (once).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What the store keeps: the SHA-256 of the text, in hex.
    pub fn digest(&self) -> String {
        digest(&self.0)
    }

    /// Whether this secret is the one whose digest was stored; constant
    /// time in the digest's content.
    pub fn matches(&self, stored_digest: &str) -> bool {
        self.digest()
            .as_bytes()
            .ct_eq(stored_digest.as_bytes())
            .into()
    }

    /// Constant-time equality with another secret's text (a CSRF token
    /// against the session's).
    pub fn same_as(&self, other: &str) -> bool {
        self.0.as_bytes().ct_eq(other.as_bytes()).into()
    }
}

/// Whether two secrets given as text (a configured token and what a client
/// sent) are equal; their digests are compared in constant time, so
/// neither where they differ nor their lengths show in the time taken.
pub fn secrets_equal(a: &str, b: &str) -> bool {
    digest(a).as_bytes().ct_eq(digest(b).as_bytes()).into()
}

/// SHA-256 of `s`, in hex.
pub(crate) fn digest(s: &str) -> String {
    hex(&Sha256::digest(s.as_bytes()))
}

fn hex(b: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

/// A personal API token as its owner holds it: `tcs_<id>_<secret>`. The id
/// finds the stored row; the secret proves it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiToken {
    /// The token's row in the store.
    pub id: i64,
    /// The proof.
    pub secret: Secret,
}

impl ApiToken {
    /// The text to give the owner, once.
    pub fn text(&self) -> String {
        format!("tcs_{}_{}", self.id, self.secret.expose())
    }

    /// Reads a token from an `Authorization: Bearer` value; anything else
    /// is `None`.
    pub fn parse(s: &str) -> Option<ApiToken> {
        let rest = s.strip_prefix("tcs_")?;
        let (id, secret) = rest.split_once('_')?;
        Some(ApiToken {
            id: id.parse().ok().filter(|n: &i64| *n > 0)?,
            secret: Secret::from_client(secret)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_fresh_and_match_only_their_digest() {
        let (a, b) = (Secret::new(), Secret::new());
        assert_ne!(a, b);
        assert!(a.matches(&a.digest()));
        assert!(!a.matches(&b.digest()));
        assert!(!a.matches(""));
        assert_eq!(format!("{a:?}"), "Secret(***)");
    }

    #[test]
    fn clients_cannot_send_anything_but_a_secret() {
        assert!(Secret::from_client("x").is_none());
        assert!(Secret::from_client(&"g".repeat(64)).is_none());
        assert!(Secret::from_client(&"ă".repeat(32)).is_none());
        let s = Secret::new();
        assert_eq!(Secret::from_client(s.expose()), Some(s));
    }

    #[test]
    fn tokens_read_back_and_refuse_garbage() {
        let t = ApiToken {
            id: 42,
            secret: Secret::new(),
        };
        assert_eq!(ApiToken::parse(&t.text()), Some(t));
        for bad in [
            "",
            "tcs_",
            "tcs_x_y",
            "tcs_0_00",
            "tcs_-1_aa",
            "Bearer tcs_1_a",
            "tcs_1",
        ] {
            assert_eq!(ApiToken::parse(bad), None, "{bad}");
        }
    }
}
