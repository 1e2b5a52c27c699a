//! Tocsin's access rules: how a person proves who they are, and how the
//! proof is kept. Synchronous and free of I/O, beside the detection layer:
//! the store keeps users, sessions and tokens; the console asks this crate
//! what to compute and compare.
//!
//! ```text
//! sign-in form ─► Throttle (address, account) ─► PasswordHasher::verify (Argon2id)
//!             ─► Totp::check (optional second factor) ─► Secret::new → session cookie
//! API request  ─► ApiToken::parse → id + secret ─► store finds the token by id,
//!                                                 Secret::matches its stored hash
//! ```
//!
//! * [`PasswordConfig`] → [`PasswordConfig::build`] → [`PasswordHasher`]:
//!   Argon2id hashes in PHC strings, a password policy (length, a bundled
//!   list of common passwords, not the user's own name), and a verify that
//!   costs the same for an unknown user as for a wrong password;
//! * [`Secret`]: random session ids, CSRF tokens, API token secrets and
//!   setup tokens, stored as SHA-256 digests and compared in constant time
//!   (they carry 256 bits of entropy, so a fast digest suffices);
//! * [`ApiToken`]: `tcs_<id>_<secret>`, found by id, proved by secret;
//! * [`Totp`]: RFC 6238 codes, each accepted once;
//! * [`Throttle`]: failures per key (an address, an account) in a window,
//!   bounded in memory.
//!
//! ```
//! use tocsin_access::{PasswordConfig, Secret};
//!
//! let hasher = PasswordConfig::fast_for_tests().build().unwrap();
//! let phc = hasher.hash("Ngọc Sơn 2026 an toàn").unwrap();
//! assert!(hasher.verify(Some(&phc), "Ngọc Sơn 2026 an toàn"));
//! assert!(!hasher.verify(Some(&phc), "wrong"));
//! assert!(!hasher.verify(None, "anything")); // an unknown user costs the same
//!
//! let s = Secret::new();
//! assert!(s.matches(&s.digest()));
//! ```

mod common;
mod password;
mod secret;
mod throttle;
mod totp;

pub use password::{PasswordConfig, PasswordError, PasswordHasher, PolicyError};
pub use secret::{ApiToken, Secret, secrets_equal};
pub use throttle::{Throttle, ThrottleConfig};
pub use totp::{Totp, TotpError};
