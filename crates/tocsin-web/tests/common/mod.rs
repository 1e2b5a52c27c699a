//! What the console's tests share: people signed in without a browser.

#![allow(dead_code, clippy::unwrap_used)]

use tocsin_model::{Actor, Role};
use tocsin_store::{NewUser, Store};

/// The session secret of the administrator [`sign_in`] makes (a test value:
/// 64 hex digits, as a real one).
pub const ADMIN_SECRET: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";

/// The cookie header of that administrator.
pub fn admin_cookie() -> String {
    format!("tocsin_session={ADMIN_SECRET}")
}

/// Console settings for tests: the cheapest Argon2 parameters.
pub fn web_config() -> tocsin_web::WebConfig {
    let mut c = tocsin_web::WebConfig::default();
    c.auth.password = tocsin_access::PasswordConfig::fast_for_tests();
    c
}

/// Creates `username` with `role` (and agency) and a session whose id is
/// `secret`; returns the CSRF token of that session.
pub async fn sign_in(
    store: &Store,
    username: &str,
    role: Role,
    agency: Option<&str>,
    secret: &str,
) -> String {
    let hasher = tocsin_access::PasswordConfig::fast_for_tests()
        .build()
        .unwrap();
    let id = store
        .create_user(
            &Actor::system("test"),
            &NewUser {
                username: username.into(),
                display_name: username.into(),
                role,
                agency: agency.map(|a| tocsin_model::AgencyCode(a.into())),
                password_hash: hasher.hash("đồi thông hai mộ 1975").unwrap(),
            },
        )
        .await
        .unwrap()
        .unwrap();
    let user = store.user(id).await.unwrap().unwrap();
    let s = tocsin_access::Secret::from_client(secret).unwrap();
    let csrf = tocsin_access::Secret::new();
    store
        .create_session(
            &user,
            &s.digest(),
            csrf.expose(),
            &Actor::system("test"),
            None,
        )
        .await
        .unwrap();
    csrf.expose().to_string()
}

/// The administrator of [`admin_cookie`]; returns their CSRF token.
pub async fn sign_in_admin(store: &Store) -> String {
    sign_in(store, "quantri", Role::Admin, None, ADMIN_SECRET).await
}
