//! Inventory exports (CSV: agencies, contacts, assets), parsed and
//! validated.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut draft = tocsin_inventory::Draft::default();
    let _ = tocsin_inventory::parse_csv(
        "code,name,kind,parent,ranges,domains\nSTC,Sở Tài chính,department,,10.36.12.0/24,stc.gov.vn\n",
        "agencies.csv",
        &mut draft,
    );
    let _ = tocsin_inventory::parse_csv(text, "fuzz.csv", &mut draft);
    let _ = draft.validate();
});
