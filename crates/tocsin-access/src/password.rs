//! Passwords: Argon2id hashes and the policy a new password must meet.

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};

/// How passwords are hashed and what they must be (`[web.auth.password]`).
///
/// The defaults are OWASP's first Argon2id setting (46 MiB, one pass, one
/// lane): about 50 ms per sign-in on one core of the center's machines (see
/// docs/benchmarks.md), well within the 0.5 s a person notices. Hashes keep their
/// parameters, so raising them later only affects new passwords.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordConfig {
    /// Memory per hash, in KiB (default 47,104 = 46 MiB).
    pub memory_kib: u32,
    /// Passes over the memory (default 1).
    pub iterations: u32,
    /// Lanes (default 1).
    pub parallelism: u32,
    /// Shortest password accepted, in characters (default 12).
    pub min_length: usize,
}

impl Default for PasswordConfig {
    fn default() -> Self {
        PasswordConfig {
            memory_kib: 47_104,
            iterations: 1,
            parallelism: 1,
            min_length: 12,
        }
    }
}

impl PasswordConfig {
    /// The cheapest parameters Argon2 accepts, for tests only.
    pub fn fast_for_tests() -> Self {
        PasswordConfig {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
            min_length: 12,
        }
    }

    /// Checks the parameters and makes the hasher.
    pub fn build(&self) -> Result<PasswordHasher, PasswordError> {
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|e| PasswordError(format!("Argon2 parameters: {e}")))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        // Verifying against this hash when the user is unknown costs what a
        // real verification costs: the answer's time says nothing.
        let dummy = argon
            .hash_password(b"tocsin: no such user")
            .map_err(|e| PasswordError(e.to_string()))?
            .to_string();
        Ok(PasswordHasher {
            argon,
            dummy,
            min_length: self.min_length,
        })
    }
}

/// Hashing failed (bad parameters, no random source).
#[derive(Debug, thiserror::Error)]
#[error("password hashing: {0}")]
pub struct PasswordError(String);

/// Why a new password was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// Shorter than the minimum.
    #[error("a password needs at least {min} characters")]
    TooShort {
        /// The minimum.
        min: usize,
    },
    /// On the bundled list of common passwords, or a variation of one.
    #[error("this password is among the most common ones")]
    Common,
    /// Contains the user's own name.
    #[error("a password must not contain the user name")]
    HasUserName,
    /// One or two characters repeated.
    #[error("a password must not be one character repeated")]
    Repetitive,
}

/// Hashes and verifies passwords with fixed parameters.
pub struct PasswordHasher {
    argon: Argon2<'static>,
    dummy: String,
    min_length: usize,
}

impl PasswordHasher {
    /// The PHC string to store (`$argon2id$v=19$m=…$salt$hash`), with a
    /// fresh random salt.
    pub fn hash(&self, password: &str) -> Result<String, PasswordError> {
        self.argon
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| PasswordError(e.to_string()))
    }

    /// Whether `password` is the one hashed in `phc`. With `None` (no such
    /// user, or a disabled one) it verifies against a dummy hash and
    /// answers false, in the same time.
    pub fn verify(&self, phc: Option<&str>, password: &str) -> bool {
        match phc {
            Some(h) => self.argon.verify_password(password.as_bytes(), h).is_ok(),
            None => {
                let _ = self
                    .argon
                    .verify_password(password.as_bytes(), self.dummy.as_str());
                false
            }
        }
    }

    /// Whether `password` may be set for `user`.
    pub fn check_policy(&self, user: &str, password: &str) -> Result<(), PolicyError> {
        if password.chars().count() < self.min_length {
            return Err(PolicyError::TooShort {
                min: self.min_length,
            });
        }
        let folded = tocsin_model::fold_vietnamese(password);
        let distinct: std::collections::BTreeSet<char> = password.to_lowercase().chars().collect();
        if distinct.len() <= 2 {
            return Err(PolicyError::Repetitive);
        }
        let name = tocsin_model::fold_vietnamese(user);
        if name.chars().count() >= 3 && folded.contains(&name) {
            return Err(PolicyError::HasUserName);
        }
        if crate::common::is_common(&folded) {
            return Err(PolicyError::Common);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher() -> PasswordHasher {
        PasswordConfig::fast_for_tests().build().expect("params")
    }

    #[test]
    fn a_hash_is_argon2id_salted_and_verifies_only_its_password() {
        let h = hasher();
        let a = h.hash("Mật khẩu rất dài của tôi").expect("hash");
        let b = h.hash("Mật khẩu rất dài của tôi").expect("hash");
        assert!(a.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{a}");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(h.verify(Some(&a), "Mật khẩu rất dài của tôi"));
        assert!(!h.verify(Some(&a), "Mat khau rat dai cua toi"));
        assert!(!h.verify(Some("not a hash"), "x"));
        assert!(!h.verify(None, "Mật khẩu rất dài của tôi"));
    }

    #[test]
    fn the_policy_refuses_short_common_repetitive_and_named_passwords() {
        let h = hasher();
        assert_eq!(
            h.check_policy("lan", "ngắn"),
            Err(PolicyError::TooShort { min: 12 })
        );
        assert_eq!(
            h.check_policy("lan", "aaaaaaaaaaaaaaaa"),
            Err(PolicyError::Repetitive)
        );
        assert_eq!(
            h.check_policy("nguyenvanlan", "nguyenvanlan2026!"),
            Err(PolicyError::HasUserName)
        );
        assert_eq!(
            h.check_policy("lan", "Password123456"),
            Err(PolicyError::Common)
        );
        assert_eq!(
            h.check_policy("lan", "Mật Khẩu 123456"),
            Err(PolicyError::Common)
        );
        assert_eq!(h.check_policy("lan", "đồi thông hai mộ 1975"), Ok(()));
    }

    #[test]
    fn bad_parameters_are_an_error_not_a_panic() {
        let cfg = PasswordConfig {
            memory_kib: 1,
            ..PasswordConfig::default()
        };
        assert!(cfg.build().is_err());
    }
}
