//! TCP syslog framing (octet counting and newlines) over a stream cut in
//! two reads: no frame is longer than the limit, and the framer consumes
//! no more than it was given.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&cut, data)) = data.split_first() else {
        return;
    };
    let max = 64;
    let mut f = tocsin_ingest::framer::Framer::new(max);
    let cut = usize::from(cut).min(data.len());
    let mut buf = data[..cut].to_vec();
    let mut check = |frame: &[u8]| assert!(frame.len() <= max, "a frame of {}", frame.len());
    let used = f.frames(&buf, &mut check);
    assert!(used <= buf.len());
    buf.drain(..used);
    buf.extend_from_slice(&data[cut..]);
    let used = f.frames(&buf, &mut check);
    assert!(used <= buf.len());
    if let Some(rest) = f.finish(&buf[used..]) {
        check(rest);
    }
});
