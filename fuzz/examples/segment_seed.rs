//! Writes the queue_segment seed: a real segment with three envelopes.
fn main() {
    let dir = tempfile::tempdir().expect("dir");
    let q = tocsin_queue::DiskQueueConfig::in_dir(dir.path())
        .build("seed", 0)
        .expect("queue");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("rt");
    let recs: Vec<Vec<u8>> = ["<13>xin chào", "{\"a\":1}", "Đăng nhập thất bại"]
        .iter()
        .map(|r| {
            tocsin_queue::Envelope {
                received_us: 1_764_460_800_000_000,
                input: "seed",
                format: tocsin_parse::Format::Auto,
                peer: Some([10, 36, 1, 5].into()),
                sender: Some("STC"),
                raw: r.as_bytes(),
            }
            .encode()
        })
        .collect();
    rt.block_on(tocsin_queue::Queue::append(&q, recs))
        .expect("append");
    drop(q);
    let seg = std::fs::read(dir.path().join(format!("{:020}.q", 0))).expect("segment");
    std::fs::create_dir_all("seeds/queue_segment").expect("mkdir");
    std::fs::write("seeds/queue_segment/seed-0", seg).expect("write");
}
