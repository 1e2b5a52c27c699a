//! One suite, every backend: SQLite always, PostgreSQL with TOCSIN_TEST_POSTGRES.

#![allow(clippy::unwrap_used)] // tests fail loudly on bad fixtures

use tocsin_model::{AgencyKind, AssetKind};
use tocsin_sim as synth;
use tocsin_store::testkit::backends;

#[tokio::test]
async fn inventory_round_trips() {
    let inv = synth::province();
    for db in backends("inventory_round_trips").await.unwrap() {
        assert!(db.store.load_inventory().await.unwrap().agencies.is_empty());
        db.store
            .replace_inventory(
                &inv,
                &tocsin_model::Actor::system("test"),
                "synthetic province",
            )
            .await
            .unwrap();
        let back = db.store.load_inventory().await.unwrap();
        assert_eq!(back, inv, "{}", db.label);
        let counts = db.store.inventory_counts().await.unwrap();
        assert!(
            counts.agencies.contains(&(AgencyKind::Commune, 423)),
            "{}",
            db.label
        );
        assert!(
            counts.assets.contains(&(AssetKind::Website, 128)),
            "{}",
            db.label
        );
        let audit = db.store.audit_log(10).await.unwrap();
        assert_eq!(audit.len(), 1, "{}", db.label);
        assert_eq!(audit[0].detail, "synthetic province");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn failed_replace_changes_nothing() {
    let inv = synth::province();
    for db in backends("failed_replace").await.unwrap() {
        db.store
            .replace_inventory(&inv, &tocsin_model::Actor::system("test"), "v1")
            .await
            .unwrap();
        // An asset whose owner is not stored violates the foreign key midway
        // through the transaction: everything must roll back.
        let mut bad = inv.clone();
        bad.agencies.truncate(10);
        bad.assets[0].owner = "NO-SUCH-AGENCY".into();
        assert!(
            db.store
                .replace_inventory(&bad, &tocsin_model::Actor::system("test"), "v2")
                .await
                .is_err(),
            "{}",
            db.label
        );
        assert_eq!(
            db.store.load_inventory().await.unwrap(),
            inv,
            "{}",
            db.label
        );
        assert_eq!(
            db.store.audit_log(10).await.unwrap().len(),
            1,
            "{}",
            db.label
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn migrations_are_idempotent() {
    for db in backends("migrations").await.unwrap() {
        // Opening again must find the schema current and apply nothing.
        db.store.ping().await.unwrap();
        db.cleanup().await;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db").display().to_string();
    let s1 = tocsin_store::StoreConfig::new(&path).build().await.unwrap();
    s1.replace_inventory(&synth::province(), &tocsin_model::Actor::system("t"), "x")
        .await
        .unwrap();
    s1.close().await;
    let s2 = tocsin_store::StoreConfig::new(&path).build().await.unwrap();
    assert_eq!(
        s2.load_inventory().await.unwrap().agencies.len(),
        48 + 27 + 423
    );
}

#[tokio::test]
async fn memory_database_works() {
    let s = tocsin_store::StoreConfig::new("sqlite::memory:")
        .build()
        .await
        .unwrap();
    s.replace_inventory(&synth::province(), &tocsin_model::Actor::system("t"), "x")
        .await
        .unwrap();
    assert_eq!(
        s.load_inventory().await.unwrap().assets.len(),
        synth::province().assets.len()
    );
}

#[tokio::test]
async fn unreachable_postgres_is_a_clear_error() {
    let err = tocsin_store::StoreConfig::new("postgres://nobody:pw@127.0.0.1:1/none")
        .build()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("cannot open database postgres://nobody:***@127.0.0.1:1/none"),
        "{err}"
    );
}
