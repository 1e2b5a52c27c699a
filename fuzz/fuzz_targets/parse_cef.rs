//! CEF records, bare or inside syslog.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| tocsin_fuzz::parse(tocsin_parse::Format::Cef, data));
