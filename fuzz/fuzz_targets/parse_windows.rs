//! Windows events as Winlogbeat and NXLog ship them (JSON).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| tocsin_fuzz::parse(tocsin_parse::Format::Windows, data));
