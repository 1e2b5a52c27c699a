//! EVTX files through `tocsin hunt`: a damaged or forged event log is
//! reported, never fatal.
#![no_main]
use std::sync::OnceLock;

fn engine() -> &'static tocsin_sigma::Engine {
    static E: OnceLock<tocsin_sigma::Engine> = OnceLock::new();
    E.get_or_init(|| {
        let mut b = tocsin_sigma::EngineBuilder::new(tocsin_sigma::EngineConfig::default());
        b.add_text(
            "title: a\nlogsource: {product: windows}\ndetection:\n  s: {EventID: 4625}\n  condition: s\n",
            std::path::Path::new("fuzz.yml"),
        );
        b.build().0
    })
}

struct Quiet;
impl tocsin_hunt::Sink for Quiet {
    fn hit(&mut self, _: &tocsin_hunt::Hit<'_>) {}
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("fuzz.evtx");
    std::fs::write(&path, data).expect("write");
    let mut h = tocsin_hunt::Hunt::new(engine());
    h.file(&path, &mut Quiet);
});
