//! What identifying the caller costs a request, through the whole router:
//! `/healthz` for nobody (no session to look up) against `/api/v1/me` with
//! a session cookie and with an API token (the session or token read from
//! the store, its user, the scope). The goal: at most 1 ms added to a page.
//! `cargo bench -p tocsin-web --bench session`.

#![allow(clippy::unwrap_used)]

use axum::body::Body;
use axum::http::{Request, header};
use criterion::{Criterion, criterion_group, criterion_main};
use tocsin_model::{Actor, Role};
use tower::ServiceExt;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (app, cookie, token) = rt.block_on(async {
        let store = tocsin_store::StoreConfig::new(&dir.path().join("b.db").display().to_string())
            .build()
            .await
            .unwrap();
        store
            .replace_inventory(&tocsin_sim::province(), &Actor::system("bench"), "province")
            .await
            .unwrap();
        let hasher = tocsin_access::PasswordConfig::fast_for_tests()
            .build()
            .unwrap();
        let id = store
            .create_user(
                &Actor::system("bench"),
                &tocsin_store::NewUser {
                    username: "yte".into(),
                    display_name: "yte".into(),
                    role: Role::AgencyContact,
                    agency: Some(tocsin_model::AgencyCode("SYT".into())),
                    password_hash: hasher.hash("đồi thông hai mộ 1975").unwrap(),
                },
            )
            .await
            .unwrap()
            .unwrap();
        let user = store.user(id).await.unwrap().unwrap();
        let sid = tocsin_access::Secret::new();
        store
            .create_session(&user, &sid.digest(), "csrf", &Actor::system("bench"), None)
            .await
            .unwrap();
        let secret = tocsin_access::Secret::new();
        let tid = store
            .create_token(
                &Actor::system("bench"),
                id,
                "b",
                &secret.digest(),
                Role::AgencyContact,
                user.agency.as_ref(),
                None,
            )
            .await
            .unwrap();
        let token = tocsin_access::ApiToken { id: tid, secret }.text();
        let mut cfg = tocsin_web::WebConfig::default();
        cfg.auth.password = tocsin_access::PasswordConfig::fast_for_tests();
        let app = cfg.build(store).await.unwrap().router();
        (app, format!("tocsin_session={}", sid.expose()), token)
    });
    let call = |req: Request<Body>| {
        let app = app.clone();
        rt.block_on(async move {
            let r = app.oneshot(req).await.unwrap();
            assert!(r.status().is_success(), "{}", r.status());
        })
    };
    let mut g = c.benchmark_group("identify");
    g.bench_function("anonymous_healthz", |b| {
        b.iter(|| {
            call(
                Request::get("/healthz")
                    .header(header::HOST, "127.0.0.1:8080")
                    .body(Body::empty())
                    .unwrap(),
            )
        })
    });
    g.bench_function("session_me", |b| {
        b.iter(|| {
            call(
                Request::get("/api/v1/me")
                    .header(header::HOST, "127.0.0.1:8080")
                    .header(header::COOKIE, &cookie)
                    .body(Body::empty())
                    .unwrap(),
            )
        })
    });
    g.bench_function("token_me", |b| {
        b.iter(|| {
            call(
                Request::get("/api/v1/me")
                    .header(header::HOST, "127.0.0.1:8080")
                    .header(header::AUTHORIZATION, format!("Bearer {token}"))
                    .body(Body::empty())
                    .unwrap(),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
