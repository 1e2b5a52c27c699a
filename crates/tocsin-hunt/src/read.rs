//! Limits on what evidence may cost to read, and the readers that hold
//! them: inflated data capped, archives' EVTX members spilled to disk.

use std::io::{self, Read, Seek, Write};

/// How far `tocsin hunt` trusts the files it reads (`[hunt]` keys and
/// flags).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadLimits {
    /// Longest JSON record (a line, a pretty-printed object): a longer one
    /// is skipped, unbuffered, and reported. Default 16 MiB.
    pub max_record: usize,
    /// Most bytes one compressed file or archive member may inflate to; the
    /// rest is not read and the file is reported (a zip bomb inflates to
    /// petabytes). Default 64 GiB.
    pub max_inflated: u64,
    /// Whether symbolic links leading out of the given tree are followed
    /// (links inside it are; loops never are).
    pub follow_links: bool,
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            max_record: 16 << 20,
            max_inflated: 64 << 30,
            follow_links: false,
        }
    }
}

impl ReadLimits {
    /// `r`, failing once it has given `max_inflated` bytes.
    pub(crate) fn capped<R: Read>(&self, r: R, what: &'static str) -> Capped<R> {
        Capped {
            inner: r,
            left: self.max_inflated,
            max: self.max_inflated,
            what,
        }
    }
}

/// A reader that refuses to give more than its cap.
pub(crate) struct Capped<R> {
    inner: R,
    left: u64,
    max: u64,
    what: &'static str,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            // Is there more? One byte says.
            let mut one = [0u8; 1];
            return match self.inner.read(&mut one).map_err(|e| self.named(e))? {
                0 => Ok(0),
                _ => Err(io::Error::other(format!(
                    "{} inflates past max_inflated ({} bytes); the rest is not read",
                    self.what, self.max
                ))),
            };
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self
            .inner
            .read(&mut buf[..want])
            .map_err(|e| self.named(e))?;
        self.left -= n as u64;
        Ok(n)
    }
}

impl<R> Capped<R> {
    /// The inner reader's error, saying whose it is (`gzip: …`).
    fn named(&self, e: io::Error) -> io::Error {
        io::Error::new(e.kind(), format!("{}: {e}", self.what))
    }
}

/// Copies `r` to an anonymous temporary file and rewinds it, for the EVTX
/// parser, which seeks: memory stays bounded whatever the member's size.
pub(crate) fn spill(mut r: impl Read) -> io::Result<std::fs::File> {
    let mut f = tempfile::tempfile()?;
    let mut w = io::BufWriter::new(&mut f);
    io::copy(&mut r, &mut w)?;
    w.flush()?;
    drop(w);
    f.seek(io::SeekFrom::Start(0))?;
    Ok(f)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_cap_stops_a_bomb_and_lets_the_exact_size_pass() {
        let l = ReadLimits {
            max_inflated: 10,
            ..ReadLimits::default()
        };
        let mut out = Vec::new();
        let e = l
            .capped(&[7u8; 11][..], "gzip")
            .read_to_end(&mut out)
            .unwrap_err();
        assert!(e.to_string().contains("max_inflated (10 bytes)"), "{e}");
        let mut out = Vec::new();
        l.capped(&[7u8; 10][..], "gzip")
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out.len(), 10);
    }
}
