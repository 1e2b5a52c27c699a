//! JSON objects of any shape, flattened into fields (and `auto`, which
//! guesses the format from the record).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    tocsin_fuzz::parse(tocsin_parse::Format::Json, data);
    tocsin_fuzz::parse(tocsin_parse::Format::Auto, data);
});
