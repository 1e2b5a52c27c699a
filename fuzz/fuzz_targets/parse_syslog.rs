//! Syslog records (RFC 3164 and 5424 headers, and the messages of the
//! programs Tocsin reads further).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| tocsin_fuzz::parse(tocsin_parse::Format::Syslog, data));
