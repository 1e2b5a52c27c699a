//! The optional second factor: RFC 6238 time-based codes (SHA-1, six
//! digits, 30-second steps, one step of clock skew either way), as every
//! authenticator app reads them from an `otpauth://` link.

/// A user's TOTP generator.
pub struct Totp {
    inner: totp_rs::Totp,
    secret: Vec<u8>,
}

/// A stored TOTP secret could not be read.
#[derive(Debug, thiserror::Error)]
#[error("TOTP secret: {0}")]
pub struct TotpError(String);

impl Totp {
    /// A new random secret (160 bits, as RFC 4226 recommends).
    pub fn generate() -> Result<Totp, TotpError> {
        let mut b = vec![0u8; 20];
        getrandom::fill(&mut b).map_err(|e| TotpError(e.to_string()))?;
        Totp::from_secret(b)
    }

    /// The generator for a stored secret (raw bytes).
    pub fn from_secret(secret: Vec<u8>) -> Result<Totp, TotpError> {
        let inner = totp_rs::Builder::new()
            .with_secret(secret.clone())
            .build()
            .map_err(|e| TotpError(e.to_string()))?;
        Ok(Totp { inner, secret })
    }

    /// The stored form: the secret in hex.
    pub fn secret_hex(&self) -> String {
        self.secret.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Reads [`Totp::secret_hex`] back.
    pub fn from_hex(s: &str) -> Result<Totp, TotpError> {
        if !s.len().is_multiple_of(2) || !s.is_ascii() {
            return Err(TotpError("not hex".into()));
        }
        let bytes = (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .map_err(|e| TotpError(e.to_string()))?;
        Totp::from_secret(bytes)
    }

    /// The secret in base32, what a person types into an app.
    pub fn secret_base32(&self) -> String {
        base32(&self.secret)
    }

    /// The `otpauth://` link an authenticator app reads.
    pub fn url(&self, issuer: &str, account: &str) -> String {
        let enc = |s: &str| -> String {
            s.bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect()
        };
        format!(
            "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits=6&period=30",
            enc(issuer),
            enc(account),
            self.secret_base32(),
            enc(issuer)
        )
    }

    /// The code at `unix_secs`.
    pub fn code_at(&self, unix_secs: u64) -> String {
        self.inner.generate(unix_secs).to_string()
    }

    /// The step a code is valid for at `unix_secs` (±1 step), if any. The
    /// caller refuses a step at or before the last one accepted, so a code
    /// is good once.
    pub fn check(&self, code: &str, unix_secs: u64) -> Option<u64> {
        let code = code.trim();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        self.inner.check(code, unix_secs)
    }
}

/// RFC 4648 base32 without padding.
fn base32(b: &[u8]) -> String {
    const A: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buf, mut bits) = (0u32, 0u32);
    for &x in b {
        buf = (buf << 8) | u32::from(x);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(A[((buf >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(A[((buf << (5 - bits)) & 31) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_sha1_vectors() {
        // RFC 6238 appendix B, SHA-1 secret "12345678901234567890", the
        // last six digits of each eight-digit value.
        let t = Totp::from_secret(b"12345678901234567890".to_vec()).expect("secret");
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(t.code_at(time), code, "{time}");
            assert!(t.check(code, time).is_some());
        }
        assert_eq!(t.secret_base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    }

    #[test]
    fn codes_hold_one_step_either_way_and_garbage_is_refused() {
        let t = Totp::generate().expect("random");
        let now = 1_800_000_000;
        let code = t.code_at(now);
        assert!(t.check(&code, now + 30).is_some());
        assert!(t.check(&code, now + 95).is_none());
        for bad in ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦"] {
            assert!(t.check(bad, now).is_none(), "{bad}");
        }
        let back = Totp::from_hex(&t.secret_hex()).expect("hex");
        assert_eq!(back.code_at(now), code);
        assert!(Totp::from_hex("zz").is_err());
        assert!(
            t.url("Tocsin", "lan@stttt")
                .starts_with("otpauth://totp/Tocsin:lan%40stttt?secret=")
        );
    }
}
