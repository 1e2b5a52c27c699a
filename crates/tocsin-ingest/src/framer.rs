//! RFC 6587 framing of a syslog TCP stream, decided per frame: a frame
//! starting with `LEN SP <` is octet-counted, anything else ends at LF (CR
//! LF and NUL tolerated).
//!
//! Nothing longer than the record limit is ever buffered: an octet-counted
//! frame longer than `max` is emitted cut to `max` as soon as that much has
//! arrived, and the rest of it is skipped as it arrives; a newline frame
//! longer than `max` the same way, up to its newline.

use crate::syslog::trim_frame;

/// The framer of one connection.
#[derive(Debug)]
pub struct Framer {
    max: usize,
    /// Records cut at `max` since last read.
    pub truncated: u64,
    /// What is being skipped.
    skip: Skip,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skip {
    /// Nothing.
    No,
    /// The rest of an over-long newline frame, up to its newline.
    ToNewline,
    /// This many bytes of an over-long octet-counted frame.
    Bytes(usize),
}

impl Framer {
    /// A framer keeping at most `max` bytes per record.
    pub fn new(max: usize) -> Self {
        Framer {
            max: max.max(1),
            truncated: 0,
            skip: Skip::No,
        }
    }

    /// Calls `emit` for each whole frame in `buf`; returns the bytes used.
    /// What is not used (an incomplete frame, at most `max` and a header)
    /// is to be given again with more bytes after it.
    pub fn frames(&mut self, buf: &[u8], mut emit: impl FnMut(&[u8])) -> usize {
        let mut i = 0;
        while i < buf.len() {
            match self.skip {
                Skip::ToNewline => match memchr::memchr(b'\n', &buf[i..]) {
                    Some(nl) => {
                        i += nl + 1;
                        self.skip = Skip::No;
                        continue;
                    }
                    None => return buf.len(),
                },
                Skip::Bytes(n) => {
                    let take = n.min(buf.len() - i);
                    i += take;
                    self.skip = if take == n {
                        Skip::No
                    } else {
                        Skip::Bytes(n - take)
                    };
                    continue;
                }
                Skip::No => {}
            }
            let rest = &buf[i..];
            if rest[0] == b'\n' || rest[0] == b'\r' || rest[0] == 0 {
                i += 1;
                continue;
            }
            if let Some((len, hdr)) = octet_count(rest) {
                if len > self.max {
                    // Cut once `max` has arrived; skip the rest as it comes.
                    if rest.len() < hdr + self.max {
                        return i;
                    }
                    self.truncated += 1;
                    let t = trim_frame(&rest[hdr..hdr + self.max]);
                    if !t.is_empty() {
                        emit(t);
                    }
                    i += hdr + self.max;
                    self.skip = Skip::Bytes(len - self.max);
                    continue;
                }
                if rest.len() < hdr + len {
                    return i;
                }
                let t = trim_frame(&rest[hdr..hdr + len]);
                if !t.is_empty() {
                    emit(t);
                }
                i += hdr + len;
                continue;
            }
            match memchr::memchr(b'\n', rest) {
                Some(nl) => {
                    let frame = &rest[..nl];
                    if frame.len() > self.max {
                        self.truncated += 1;
                    }
                    let t = trim_frame(&frame[..frame.len().min(self.max)]);
                    if !t.is_empty() {
                        emit(t);
                    }
                    i += nl + 1;
                }
                None if rest.len() > self.max => {
                    emit(trim_frame(&rest[..self.max]));
                    self.truncated += 1;
                    self.skip = Skip::ToNewline;
                    return buf.len();
                }
                None => return i,
            }
        }
        i
    }

    /// The unterminated last record at the end of a stream.
    pub fn finish<'b>(&self, buf: &'b [u8]) -> Option<&'b [u8]> {
        if self.skip != Skip::No {
            return None;
        }
        let t = trim_frame(buf);
        let t = &t[..t.len().min(self.max)];
        (!t.is_empty()).then_some(t)
    }
}

/// `123 ` at the start: (length, header bytes). Only when the digits are
/// followed by a space and then `<` (a syslog record), so a newline-framed
/// message that happens to start with a number is not misread.
fn octet_count(b: &[u8]) -> Option<(usize, usize)> {
    let digits = b.iter().take(10).take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || b.get(digits) != Some(&b' ') {
        return None;
    }
    if b.get(digits + 1).is_some_and(|c| *c != b'<') {
        return None;
    }
    let len: usize = std::str::from_utf8(&b[..digits]).ok()?.parse().ok()?;
    Some((len, digits + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn all(f: &mut Framer, input: &[u8]) -> (Vec<String>, usize) {
        let mut out = Vec::new();
        let used = f.frames(input, |r| out.push(String::from_utf8_lossy(r).into_owned()));
        (out, used)
    }

    #[test]
    fn newline_and_octet_counting_frames_mix() {
        let mut f = Framer::new(1000);
        let input = b"<13>one\n11 <13>two\nx\r\n<13>three\n\n12 <13>four";
        let (out, used) = all(&mut f, input);
        assert_eq!(out, vec!["<13>one", "<13>two\nx", "<13>three"]);
        // `12 <13>four` is incomplete (needs 12 bytes): kept for the next read.
        assert_eq!(&input[used..], b"12 <13>four");
        assert_eq!(f.finish(&input[used..]), Some(&b"12 <13>four"[..]));
    }

    #[test]
    fn long_records_are_cut_and_counted() {
        let mut f = Framer::new(5);
        let (out, used) = all(&mut f, b"abcdefgh\nxy\n");
        assert_eq!(out, vec!["abcde", "xy"]);
        assert_eq!(used, 12);
        assert_eq!(f.truncated, 1);
        // No newline yet and already too long: cut now, skip to the newline.
        let mut f = Framer::new(5);
        let (out, _) = all(&mut f, b"abcdefghij");
        assert_eq!(out, vec!["abcde"]);
        let (out, _) = all(&mut f, b"klm\nnext\n");
        assert_eq!(out, vec!["next"]);
    }

    /// Issue 11: an octet-counted frame used to be buffered up to 8 MiB
    /// before the record limit applied. It is cut as soon as `max` bytes
    /// have arrived and the rest skipped as it comes, never buffered.
    #[test]
    fn issue_11_a_long_octet_counted_frame_is_cut_without_buffering() {
        let mut f = Framer::new(8);
        let (out, used) = all(&mut f, b"1000000 <13>abcdefghij");
        assert_eq!(out, vec!["<13>abcd"]);
        assert_eq!(used, 22, "nothing kept back");
        assert_eq!(f.truncated, 1);
        // The rest of its million bytes is skipped as it arrives.
        // (Its first 14 bytes were in the first read.)
        let mut skipped = 1_000_000 - 14;
        while skipped > 0 {
            let chunk = vec![b'z'; skipped.min(65_536)];
            let (out, used) = all(&mut f, &chunk);
            assert!(out.is_empty());
            assert_eq!(used, chunk.len());
            skipped -= chunk.len();
        }
        let (out, _) = all(&mut f, b"5 <13>x\n");
        assert_eq!(out, vec!["<13>x"]);
    }

    #[test]
    fn a_number_at_line_start_is_not_a_length() {
        let mut f = Framer::new(100);
        let (out, _) = all(&mut f, b"2026 was a year\n");
        assert_eq!(out, vec!["2026 was a year"]);
    }

    proptest! {
        /// However a stream is cut into reads, the same records come out,
        /// and nothing the framer keeps back is longer than a record and
        /// its header.
        #[test]
        fn any_split_of_a_stream_frames_the_same(
            records in prop::collection::vec("[a-zĐăờ <>0-9]{0,40}", 1..30),
            octet in prop::collection::vec(any::<bool>(), 30),
            cuts in prop::collection::vec(1usize..50, 1..40),
        ) {
            let mut stream = Vec::new();
            let mut want = Vec::new();
            for (i, r) in records.iter().enumerate() {
                let rec = format!("<13>{}", r.trim());
                let rec = rec.replace('\n', " ");
                if octet[i] {
                    stream.extend_from_slice(format!("{} {rec}", rec.len()).as_bytes());
                } else {
                    stream.extend_from_slice(rec.as_bytes());
                    stream.push(b'\n');
                }
                let kept = &rec.as_bytes()[..rec.len().min(20)];
                let t = trim_frame(kept);
                if !t.is_empty() {
                    want.push(t.to_vec());
                }
            }
            let mut f = Framer::new(20);
            let mut got: Vec<Vec<u8>> = Vec::new();
            let mut buf: Vec<u8> = Vec::new();
            let mut at = 0;
            let mut c = 0;
            while at < stream.len() {
                let n = cuts[c % cuts.len()].min(stream.len() - at);
                c += 1;
                buf.extend_from_slice(&stream[at..at + n]);
                at += n;
                let used = f.frames(&buf, |r| got.push(r.to_vec()));
                buf.drain(..used);
                prop_assert!(buf.len() <= 20 + 11, "kept {} bytes", buf.len());
            }
            if let Some(r) = f.finish(&buf) {
                got.push(r.to_vec());
            }
            prop_assert_eq!(got, want);
        }
    }
}
