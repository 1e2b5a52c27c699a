//! Foreign and hostile text through every rule: values in Vietnamese, with
//! invalid UTF-8 escapes, NUL, CRLF, lone surrogates, very long and deeply
//! nested records go through the JSON decoder and every matcher (modifiers,
//! case folding, keywords, regular expressions, the prefilter) without a
//! panic. Rules: Tocsin's pack and, when the shared corpus is beside the
//! checkout, all of SigmaHQ's.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::OnceLock;

use proptest::prelude::*;
use tocsin_sigma::{Engine, EngineBuilder, EngineConfig};

fn engine() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| {
        let mut b = EngineBuilder::new(EngineConfig::default());
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        b.add_path(&root.join("rules"));
        let corpus = root.join("../shared/corpus/sigma/rules");
        if corpus.exists() {
            b.add_path(&corpus);
        } else {
            eprintln!("note: ../shared/corpus is absent; Tocsin's rules only");
        }
        b.build().0
    })
}

const FIELDS: &[&str] = &[
    "CommandLine",
    "Image",
    "ParentImage",
    "TargetFilename",
    "OriginalFileName",
    "TargetObject",
    "Details",
    "QueryName",
    "url.original",
    "message",
    "user.name",
    "ScriptBlockText",
    "EventID",
    "Channel",
    "c-uri",
    "cs-user-agent",
];

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("ă".to_string()),
            Just("Đường".to_string()),
            Just("ệ".to_string()),
            Just("\\\\".to_string()),
            Just("\\u0000".to_string()),
            Just("\\ud800".to_string()),
            Just("\\r\\n".to_string()),
            Just("powershell".to_string()),
            Just(".exe".to_string()),
            Just("C:\\\\Windows\\\\".to_string()),
            Just("İ".to_string()),
            Just("ß".to_string()),
            Just("ﬃ".to_string()),
            "[a-zA-Z0-9 ./_-]{0,8}",
        ],
        0..24,
    )
    .prop_map(|v| v.concat())
}

fn record() -> impl Strategy<Value = String> {
    prop::collection::vec((prop::sample::select(FIELDS), text()), 0..8).prop_map(|kv| {
        let body: Vec<String> = kv.iter().map(|(k, v)| format!("\"{k}\":\"{v}\"")).collect();
        format!("{{{}}}", body.join(","))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    #[test]
    fn any_record_is_evaluated_without_panic(r in record()) {
        let e = engine();
        let mut s = e.scratch();
        let _ = e.eval_json(r.as_bytes(), &mut s);
        // The same record once more: through the scan cache this time.
        let _ = e.eval_json(r.as_bytes(), &mut s);
    }

    #[test]
    fn any_bytes_are_refused_or_evaluated(b in prop::collection::vec(any::<u8>(), 0..300)) {
        let e = engine();
        let mut s = e.scratch();
        let _ = e.eval_json(&b, &mut s);
    }
}

#[test]
fn deep_and_long_records() {
    let e = engine();
    let mut s = e.scratch();
    let long = format!("{{\"CommandLine\":\"{}\"}}", "ă".repeat(1 << 20));
    let deep_array = format!("{{\"a\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_object = format!("{}1{}", "{\"a\":".repeat(100_000), "}".repeat(100_000));
    for r in [
        long,
        deep_array,
        deep_object,
        "{\"a\":\"\\".into(),
        "\u{feff}{}".into(),
    ] {
        let _ = e.eval_json(r.as_bytes(), &mut s);
    }
}
