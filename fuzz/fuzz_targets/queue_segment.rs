//! The durable queue's segment files: a damaged or forged segment is
//! recovered at open (torn tail cut, damage counted), and every record read
//! back decodes or is refused.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(dir.path().join(format!("{:020}.q", 0)), data).expect("write segment");
    let Ok(q) = tocsin_queue::DiskQueueConfig::in_dir(dir.path()).build("fuzz", 0) else {
        return;
    };
    let rt = tokio_rt();
    let (first, next) = tocsin_queue::Queue::bounds(&q);
    let mut at = first;
    while at < next {
        let Ok(entries) = rt.block_on(tocsin_queue::Queue::read(&q, at, 64)) else {
            break;
        };
        let Some(last) = entries.last() else { break };
        at = last.seq + 1;
        for e in &entries {
            let _ = tocsin_queue::Envelope::decode(&e.data);
        }
    }
});

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
}
