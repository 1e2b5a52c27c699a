//! Elasticsearch `_bulk` bodies from senders with a key.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(ops) = tocsin_ingest::bulk::bulk_ops(data) {
        for op in ops {
            if let tocsin_ingest::bulk::Op::Doc { doc, .. } = op {
                assert!(doc.len() <= data.len());
            }
        }
    }
});
