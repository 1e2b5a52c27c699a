//! Sigma rule files (YAML): a rule, a filter, a correlation, or garbage;
//! loading reports errors, never panics.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut b = tocsin_sigma::EngineBuilder::new(tocsin_sigma::EngineConfig::default());
    b.add_text(text, std::path::Path::new("fuzz.yml"));
    let (e, _report) = b.build();
    let mut s = e.scratch();
    let _ = e.eval_json(
        br#"{"EventID":4625,"CommandLine":"whoami","TargetUserName":"quan-tri"}"#,
        &mut s,
    );
});
