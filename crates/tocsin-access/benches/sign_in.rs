//! What a sign-in and a signed-in request cost on this machine: verifying a
//! password with the default Argon2id parameters (the goal: at most 0.5 s),
//! and proving a session id against its stored digest (part of the 1 ms a
//! page may spend on its caller). `cargo bench -p tocsin-access`.

use criterion::{Criterion, criterion_group, criterion_main};
use tocsin_access::{PasswordConfig, Secret};

fn bench(c: &mut Criterion) {
    let hasher = PasswordConfig::default()
        .build()
        .expect("default parameters");
    let phc = hasher.hash("đồi thông hai mộ 1975").expect("hash");
    let mut g = c.benchmark_group("sign_in");
    g.sample_size(10);
    g.bench_function("argon2id_verify_default_params", |b| {
        b.iter(|| assert!(hasher.verify(Some(&phc), "đồi thông hai mộ 1975")))
    });
    g.bench_function("unknown_user_dummy_verify", |b| {
        b.iter(|| assert!(!hasher.verify(None, "đồi thông hai mộ 1975")))
    });
    g.finish();
    let s = Secret::new();
    let stored = s.digest();
    c.bench_function("session_secret_matches_digest", |b| {
        b.iter(|| assert!(s.matches(&stored)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
