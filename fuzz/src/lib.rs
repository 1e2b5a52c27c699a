//! What the fuzz targets share: a parser and a record's receipt.

use tocsin_parse::{Format, Parser, ParserConfig, Received};

/// Parses `data` as `format` with the default limits, as the pipeline does,
/// and checks what any event must hold.
pub fn parse(format: Format, data: &[u8]) {
    thread_local! {
        static P: Parser = ParserConfig::default().build();
    }
    let rx = Received {
        input: "fuzz",
        at: chrono::DateTime::from_timestamp(1_764_460_800, 0).unwrap_or_default(),
        peer: Some([203, 0, 113, 9].into()),
    };
    P.with(|p| {
        let ev = p.parse(format, data, &rx);
        // The original is the record as text: invalid UTF-8 becomes
        // U+FFFD (three bytes for one), NUL a visible sign; nothing more.
        assert!(
            ev.original.len() <= data.len() * 3,
            "{} from {}",
            ev.original.len(),
            data.len()
        );
    });
}
