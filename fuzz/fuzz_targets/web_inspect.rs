//! A request as attackers send it (the bytes split into target, referrer
//! and agent at the first two newlines) through every web-attack decoder
//! and tokenizer: no panic, bounded output, and decoding never grows.
#![no_main]
use tocsin_webattack::{Request, Scratch, decode, inspect};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\n');
    let target = parts.next().unwrap_or("");
    let referrer = parts.next();
    let agent = parts.next();
    let req = Request {
        target,
        referrer,
        agent,
    };
    let mut s = Scratch::default();
    let mut out = Vec::new();
    inspect(&req, 4096, &mut s, &mut out);
    // At most one hit per kind and part.
    assert!(out.len() <= 8 * 6);
    for plus in [false, true] {
        let d = decode::normalize(&text, plus);
        // Each escape decodes to fewer bytes than it takes; invalid bytes
        // become U+FFFD (3 bytes for 1), so bound by 3x.
        assert!(d.len() <= text.len() * 3);
    }
});
