//! Evidence files of JSON records (lines, pretty objects, arrays) through
//! `tocsin hunt`'s streaming reader, cut into small reads.
#![no_main]
use std::io::Read;

struct Trickle<'a>(&'a [u8], usize);

impl Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.len().min(self.1).min(out.len());
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&step, data)) = data.split_first() else {
        return;
    };
    let mut r = tocsin_hunt::JsonReader::new(Trickle(data, usize::from(step).max(1)), 256);
    while let Ok(Some(item)) = r.next_item() {
        if let tocsin_hunt::Item::Record { text, .. } = item {
            assert!(text.len() <= 256);
        }
    }
});
