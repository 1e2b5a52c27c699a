//! Apache and nginx access-log lines.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| tocsin_fuzz::parse(
    tocsin_parse::Format::AccessLog,
    data
));
