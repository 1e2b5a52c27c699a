//! Inventory files (TOML): parsed and validated, errors reported.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(draft) = tocsin_inventory::parse_toml(text, "fuzz.toml") {
        let _ = draft.validate();
    }
});
