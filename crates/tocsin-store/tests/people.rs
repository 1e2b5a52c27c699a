//! People and the audit chain on every backend: users, sessions, tokens,
//! lockout, and a log that shows any row edited, removed or cut.

#![allow(clippy::unwrap_used)]

use sqlx::Connection;
use tocsin_model::{Actor, Role};
use tocsin_store::NewUser;
use tocsin_store::testkit::backends;

fn user(name: &str, role: Role) -> NewUser {
    NewUser {
        username: name.into(),
        display_name: format!("Người dùng {name}"),
        role,
        agency: role
            .is_agency_bound()
            .then(|| tocsin_model::AgencyCode("SYT".into())),
        password_hash: "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaA".into(),
    }
}

#[tokio::test]
async fn users_sessions_and_tokens_round_trip_and_are_audited() {
    for db in backends("people_round_trip").await.unwrap() {
        let s = &db.store;
        let cli = Actor::system("cli");
        let id = s
            .create_user(&cli, &user("lan", Role::AgencyContact))
            .await
            .unwrap()
            .unwrap();
        assert!(
            s.create_user(&cli, &user("lan", Role::Admin))
                .await
                .unwrap()
                .is_none(),
            "{}",
            db.label
        );
        let c = s.credentials("lan").await.unwrap().unwrap();
        assert_eq!(c.user.role, Role::AgencyContact);
        assert_eq!(c.user.agency.as_ref().map(|a| a.as_str()), Some("SYT"));
        s.create_session(
            &c.user,
            "digest-1",
            "csrf-1",
            &cli,
            Some("Mozilla/5.0 \0 NUL"),
        )
        .await
        .unwrap();
        let sess = s.session("digest-1").await.unwrap().unwrap();
        assert_eq!((sess.user.id, sess.csrf.as_str()), (id, "csrf-1"));
        // Disabling ends the sessions.
        s.set_user_disabled(&cli, id, true).await.unwrap();
        assert!(
            s.session("digest-1").await.unwrap().is_none(),
            "{}",
            db.label
        );
        s.set_user_disabled(&cli, id, false).await.unwrap();
        // Lockout after the third failure in a row.
        let until = chrono::Utc::now() + chrono::Duration::minutes(15);
        for n in 1..=3 {
            let o = s
                .record_login_failure(id, "lan", &cli, 3, until)
                .await
                .unwrap();
            assert_eq!(
                o == tocsin_store::LoginOutcome::Locked,
                n == 3,
                "{}",
                db.label
            );
        }
        assert!(s.user(id).await.unwrap().unwrap().locked_until.is_some());
        // A TOTP step is good once.
        assert!(s.accept_totp_step(id, 100).await.unwrap());
        assert!(!s.accept_totp_step(id, 100).await.unwrap());
        assert!(!s.accept_totp_step(id, 99).await.unwrap());
        // Tokens: digest only, revocable.
        let t = s
            .create_token(
                &cli,
                id,
                "siem",
                "tok-digest",
                Role::AgencyContact,
                None,
                None,
            )
            .await
            .unwrap();
        let (info, digest, owner) = s.token(t).await.unwrap().unwrap();
        assert_eq!(
            (digest.as_str(), owner.id, info.role),
            ("tok-digest", id, Role::AgencyContact)
        );
        assert!(s.revoke_token(&cli, t, Some(id)).await.unwrap());
        assert!(!s.revoke_token(&cli, t, Some(id)).await.unwrap(), "once");
        assert!(s.token(t).await.unwrap().unwrap().0.revoked_at.is_some());
        let actions: Vec<String> = s
            .audit_log(50)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        for a in [
            "user.create",
            "session.sign_in",
            "user.disable",
            "session.sign_in_failed",
            "token.create",
            "token.revoke",
        ] {
            assert!(
                actions.iter().any(|x| x == a),
                "{a} missing on {}",
                db.label
            );
        }
        let v = s.verify_audit().await.unwrap();
        assert!(v.ok(), "{}: {:?}", db.label, v.problems);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn the_audit_chain_shows_an_edited_a_removed_and_a_cut_entry() {
    for db in backends("audit_tamper").await.unwrap() {
        let s = &db.store;
        let cli = Actor::system("cli");
        for n in ["a", "b", "c", "d"] {
            s.create_user(&cli, &user(n, Role::Analyst)).await.unwrap();
        }
        let v = s.verify_audit().await.unwrap();
        assert!(v.ok() && v.entries == 4, "{}: {v:?}", db.label);
        let mut conn = sqlx::AnyConnection::connect(&db.raw_url()).await.unwrap();
        // Someone rewrites what entry 2 says.
        sqlx::query("UPDATE audit_log SET after_value = 'admin' WHERE seq = 2")
            .execute(&mut conn)
            .await
            .unwrap();
        let v = s.verify_audit().await.unwrap();
        assert_eq!(
            v.problems,
            vec!["entry 2 was changed after it was written".to_string()],
            "{}",
            db.label
        );
        // … removes entry 3 …
        sqlx::query("DELETE FROM audit_log WHERE seq = 3")
            .execute(&mut conn)
            .await
            .unwrap();
        let v = s.verify_audit().await.unwrap();
        assert!(
            v.problems
                .iter()
                .any(|p| p.contains("entries 3 to 3 are missing")),
            "{}: {v:?}",
            db.label
        );
        // … and cuts the last one.
        sqlx::query("DELETE FROM audit_log WHERE seq = 4")
            .execute(&mut conn)
            .await
            .unwrap();
        let v = s.verify_audit().await.unwrap();
        assert!(
            v.problems
                .iter()
                .any(|p| p.contains("removed from the end")),
            "{}: {v:?}",
            db.label
        );
        conn.close().await.unwrap();
        db.cleanup().await;
    }
}
