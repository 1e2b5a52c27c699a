//! What the queue holds for each record: the raw bytes and how they
//! arrived. A compact binary layout (the queue carries every event):
//!
//! ```text
//! version u8 = 1 | received µs i64 LE | format u8 | peer: 0 | 4 a.b.c.d | 6 16 bytes
//! | input: len u8 + UTF-8 | sender agency: len u8 + UTF-8 | raw bytes…
//! ```
//!
//! The leading version byte lets the layout change later without
//! misreading records already queued. The format is stored as its index in
//! `Format::ALL`, so reordering that list would change the meaning of
//! queued records.

use std::net::IpAddr;

use tocsin_parse::Format;

/// One received record.
///
/// Borrows its strings and bytes: [`Envelope::decode`] reads straight out
/// of the queue's buffer without copying the raw record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// Receipt time, microseconds since the epoch.
    pub received_us: i64,
    /// The input's name. Stored in at most 255 bytes (longer names are cut).
    pub input: &'a str,
    /// The format the input declares.
    pub format: Format,
    /// The sending host, when the input knows one (a tailed file has none).
    pub peer: Option<IpAddr>,
    /// The agency an API key binds the sender to. Encoded as an empty
    /// string when absent, so `Some("")` reads back as `None`; at most 255
    /// bytes are kept.
    pub sender: Option<&'a str>,
    /// The record as received.
    pub raw: &'a [u8],
}

/// A queued record that cannot be read back.
///
/// Holds a short fixed reason (truncated, unknown version or format, bad
/// peer address, a name that is not UTF-8). A record read whole from the
/// disk queue has already passed its checksum, so there this points at a
/// writer bug or an incompatible version rather than disk damage.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("queued record is malformed: {0}")]
pub struct EnvelopeError(&'static str);

impl<'a> Envelope<'a> {
    /// Appends the encoding to `out`, so a caller batching many records can
    /// reuse one buffer.
    ///
    /// The input and sender names are cut to 255 bytes to fit their length
    /// byte. The cut is by bytes, not characters: a longer name cut inside a
    /// multi-byte character would not decode, so names are expected to stay
    /// short (they come from configuration).
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.reserve(32 + self.input.len() + self.raw.len());
        out.push(1);
        out.extend_from_slice(&self.received_us.to_le_bytes());
        out.push(self.format.index() as u8);
        match self.peer {
            None => out.push(0),
            Some(IpAddr::V4(a)) => {
                out.push(4);
                out.extend_from_slice(&a.octets());
            }
            Some(IpAddr::V6(a)) => {
                out.push(6);
                out.extend_from_slice(&a.octets());
            }
        }
        for s in [self.input, self.sender.unwrap_or("")] {
            // At most 255 bytes, cut on a character boundary: a name cut
            // inside a character would make the record undecodable.
            let mut end = s.len().min(255);
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            let b = &s.as_bytes()[..end];
            out.push(b.len() as u8);
            out.extend_from_slice(b);
        }
        out.extend_from_slice(self.raw);
    }

    /// The encoding as a new buffer.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.encode_into(&mut v);
        v
    }

    /// Reads an encoding back. Everything after the names is the raw
    /// record, so the raw bytes need no length of their own.
    pub fn decode(b: &'a [u8]) -> Result<Self, EnvelopeError> {
        let mut r = Reader { b, i: 0 };
        if r.take(1)?[0] != 1 {
            return Err(EnvelopeError("unknown version"));
        }
        let mut ts = [0u8; 8];
        ts.copy_from_slice(r.take(8)?);
        let format = *Format::ALL
            .get(r.take(1)?[0] as usize)
            .ok_or(EnvelopeError("unknown format"))?;
        let peer = match r.take(1)?[0] {
            0 => None,
            4 => {
                let mut a = [0u8; 4];
                a.copy_from_slice(r.take(4)?);
                Some(IpAddr::from(a))
            }
            6 => {
                let mut a = [0u8; 16];
                a.copy_from_slice(r.take(16)?);
                Some(IpAddr::from(a))
            }
            _ => return Err(EnvelopeError("bad peer address")),
        };
        let input = r.string()?;
        let sender = Some(r.string()?).filter(|s| !s.is_empty());
        Ok(Envelope {
            received_us: i64::from_le_bytes(ts),
            input,
            format,
            peer,
            sender,
            raw: &b[r.i..],
        })
    }
}

/// A cursor over an encoding: every read is bounds-checked and a short
/// buffer is a [`EnvelopeError`], never a panic.
struct Reader<'a> {
    /// The whole encoding.
    b: &'a [u8],
    /// Where the next read starts.
    i: usize,
}

impl<'a> Reader<'a> {
    /// The next `n` bytes.
    fn take(&mut self, n: usize) -> Result<&'a [u8], EnvelopeError> {
        let s = self
            .b
            .get(self.i..self.i + n)
            .ok_or(EnvelopeError("truncated"))?;
        self.i += n;
        Ok(s)
    }

    /// A name: one length byte, then that many bytes of UTF-8.
    fn string(&mut self) -> Result<&'a str, EnvelopeError> {
        let n = self.take(1)?[0] as usize;
        std::str::from_utf8(self.take(n)?).map_err(|_| EnvelopeError("name is not UTF-8"))
    }
}

/// The hour (since the epoch, UTC) of a receipt time in µs: how event
/// counts and the raw archive are grouped. Rounds down, also for times
/// before the epoch.
pub fn hour_of(received_us: i64) -> i64 {
    received_us.div_euclid(3_600_000_000)
}

/// Microseconds since the epoch, now: the receipt time inputs stamp on
/// each [`Envelope`].
pub fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for peer in [
            None,
            Some("10.0.0.1".parse().ok()),
            Some("2001:db8::1".parse().ok()),
        ] {
            let e = Envelope {
                received_us: 1_795_996_800_123_456,
                input: "syslog-tcp",
                format: Format::Cef,
                peer: peer.flatten(),
                sender: Some("SOYTE"),
                raw: b"CEF:0|a",
            };
            assert_eq!(Envelope::decode(&e.encode()), Ok(e));
        }
        assert!(Envelope::decode(&[1, 2, 3]).is_err());
        // A long Vietnamese name is cut whole characters at a time.
        let long = "Trung tâm Công nghệ thông tin và Truyền thông ".repeat(8);
        let e = Envelope {
            received_us: 0,
            input: &long,
            format: Format::Syslog,
            peer: None,
            sender: Some(&long),
            raw: b"x",
        };
        let bytes = e.encode();
        let back = Envelope::decode(&bytes).expect("decodes");
        assert!(long.starts_with(back.input) && back.input.len() > 250);
        assert_eq!(back.sender, Some(back.input));
        assert!(Envelope::decode(&[9; 40]).is_err());
    }
}
