//! The Sigma engine's own JSON decoder, with rules whose fields the
//! fuzzer's objects can reach.
#![no_main]
use std::sync::OnceLock;

fn engine() -> &'static tocsin_sigma::Engine {
    static E: OnceLock<tocsin_sigma::Engine> = OnceLock::new();
    E.get_or_init(|| {
        let mut b = tocsin_sigma::EngineBuilder::new(tocsin_sigma::EngineConfig::default());
        b.add_text(
            "title: a\nlogsource: {product: windows}\ndetection:\n  s: {CommandLine|contains: whoami, EventID: 1}\n  k: [mimikatz]\n  condition: s or k\n---\ntitle: b\nlogsource: {category: webserver}\ndetection:\n  s:\n    cs-uri-query|re: '(?i)union.+select'\n  condition: s\n",
            std::path::Path::new("fuzz.yml"),
        );
        b.build().0
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    thread_local! {
        static S: std::cell::RefCell<tocsin_sigma::Scratch> = std::cell::RefCell::new(engine().scratch());
    }
    S.with(|s| {
        let _ = engine().eval_json(data, &mut s.borrow_mut());
    });
});
