//! People: users, their sessions and their API tokens.
//!
//! The store keeps what the access rules (`tocsin-access`) compute: Argon2id
//! hashes in PHC form, and SHA-256 digests of session ids and token
//! secrets — never a secret itself. Every change to a user or a token, and
//! every sign-in and failure, is appended to the audit log in the same
//! transaction.

use chrono::{DateTime, Utc};
use sqlx::Row;
use tocsin_model::{Actor, AgencyCode, Role, UserId};

use crate::audit::{Change, append};
use crate::{Store, StoreError, time};

/// A user as the console lists them (no secrets).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct User {
    /// Their number.
    pub id: UserId,
    /// What they sign in with.
    pub username: String,
    /// Their name as shown.
    pub display_name: String,
    /// What they may do.
    pub role: Role,
    /// The agency an agency contact speaks for (its subtree is their scope).
    pub agency: Option<AgencyCode>,
    /// Whether they may no longer sign in.
    pub disabled: bool,
    /// Whether sign-in asks for a TOTP code.
    pub totp: bool,
    /// Until when sign-in is refused after repeated failures.
    pub locked_until: Option<DateTime<Utc>>,
    /// When the account was made.
    pub created_at: DateTime<Utc>,
    /// The last successful sign-in.
    pub last_login_at: Option<DateTime<Utc>>,
}

/// A user to create.
#[derive(Clone, Debug)]
pub struct NewUser {
    /// Sign-in name (unique).
    pub username: String,
    /// Name shown.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Agency, required for agency contacts.
    pub agency: Option<AgencyCode>,
    /// The Argon2id PHC string.
    pub password_hash: String,
}

/// What sign-in needs to check a user.
#[derive(Clone, Debug)]
pub struct Credentials {
    /// The user.
    pub user: User,
    /// Their Argon2id PHC string.
    pub password_hash: String,
    /// Their TOTP secret (hex), when they use a second factor.
    pub totp_secret: Option<String>,
}

/// A signed-in session read back with its user.
#[derive(Clone, Debug)]
pub struct SessionInfo {
    /// The user.
    pub user: User,
    /// The session's CSRF token (sent with every form).
    pub csrf: String,
    /// When the session began (absolute timeout).
    pub created_at: DateTime<Utc>,
    /// When it was last used (idle timeout).
    pub seen_at: DateTime<Utc>,
}

/// A personal API token as listed (never its secret).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ApiTokenInfo {
    /// Its number (the `tcs_<id>_` part).
    pub id: i64,
    /// The owner.
    pub user_id: UserId,
    /// What the owner called it.
    pub name: String,
    /// The role it acts with (no stronger than the owner's).
    pub role: Role,
    /// The agency it is limited to, if any.
    pub agency: Option<AgencyCode>,
    /// When made.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: Option<DateTime<Utc>>,
    /// When revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// What a failed sign-in did to the account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginOutcome {
    /// Counted; the account is still open.
    Counted,
    /// This failure locked the account until the given time.
    Locked,
}

/// The columns `user_row` reads, each behind `$p` (a table alias or
/// nothing): a literal, so every query over users is a constant string.
macro_rules! user_columns {
    ($p:literal) => {
        concat!(
            $p,
            "id, ",
            $p,
            "username, ",
            $p,
            "display_name, ",
            $p,
            "role, ",
            $p,
            "agency, ",
            $p,
            "disabled, ",
            $p,
            "totp_secret, ",
            $p,
            "locked_until, ",
            $p,
            "created_at, ",
            $p,
            "last_login_at"
        )
    };
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        what: what.to_string(),
        reason: e.to_string(),
    }
}

fn user_row(r: &sqlx::any::AnyRow) -> Result<User, StoreError> {
    let role: String = r.try_get("role")?;
    Ok(User {
        id: UserId(r.try_get("id")?),
        username: r.try_get("username")?,
        display_name: r.try_get("display_name")?,
        role: role.parse().map_err(|e| corrupt("users.role", e))?,
        agency: r.try_get::<Option<String>, _>("agency")?.map(AgencyCode),
        disabled: r.try_get::<i64, _>("disabled")? != 0,
        totp: r.try_get::<Option<String>, _>("totp_secret")?.is_some(),
        locked_until: time::opt(r, "locked_until")?,
        created_at: time::parse(&r.try_get::<String, _>("created_at")?, "users.created_at")?,
        last_login_at: time::opt(r, "last_login_at")?,
    })
}

/// The name of user `id`, read inside `tx` (None: no such user).
async fn username_of(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: UserId,
) -> Result<Option<String>, StoreError> {
    let r = sqlx::query("SELECT username FROM users WHERE id = $1")
        .bind(id.0)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(r.map(|r| r.try_get("username")).transpose()?)
}

fn token_row(r: &sqlx::any::AnyRow) -> Result<ApiTokenInfo, StoreError> {
    let role: String = r.try_get("role")?;
    Ok(ApiTokenInfo {
        id: r.try_get("id")?,
        user_id: UserId(r.try_get("user_id")?),
        name: r.try_get("name")?,
        role: role.parse().map_err(|e| corrupt("api_tokens.role", e))?,
        agency: r.try_get::<Option<String>, _>("agency")?.map(AgencyCode),
        created_at: time::parse(
            &r.try_get::<String, _>("created_at")?,
            "api_tokens.created_at",
        )?,
        expires_at: time::opt(r, "expires_at")?,
        revoked_at: time::opt(r, "revoked_at")?,
    })
}

impl Store {
    /// How many users exist (none: the console offers first-time setup).
    pub async fn user_count(&self) -> Result<i64, StoreError> {
        let r = sqlx::query("SELECT COUNT(*) AS n FROM users")
            .fetch_one(&self.pool())
            .await?;
        Ok(r.try_get("n")?)
    }

    /// Creates a user; `None` when the name is taken.
    pub async fn create_user(
        &self,
        actor: &Actor,
        u: &NewUser,
    ) -> Result<Option<UserId>, StoreError> {
        let mut tx = self.pool().begin().await?;
        let taken = sqlx::query("SELECT id FROM users WHERE username = $1")
            .bind(&u.username)
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            return Ok(None);
        }
        let now = time::now();
        let r = sqlx::query(
            "INSERT INTO users (username, display_name, role, agency, password_hash, created_at, password_changed_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
        )
        .bind(crate::text::safe(&u.username).into_owned())
        .bind(crate::text::safe(&u.display_name).into_owned())
        .bind(u.role.as_str())
        .bind(u.agency.as_ref().map(|a| a.as_str()))
        .bind(&u.password_hash)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?;
        let id = UserId(r.try_get("id")?);
        let after = match &u.agency {
            Some(a) => format!("{} ({a})", u.role),
            None => u.role.to_string(),
        };
        append(
            &mut tx,
            Change::new(actor, "user.create", format!("user {}", u.username))
                .states(None, Some(after)),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(id))
    }

    /// Every user, by name.
    pub async fn users(&self) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            user_columns!(""),
            " FROM users ORDER BY username"
        ))
        .fetch_all(&self.pool())
        .await?;
        rows.iter().map(user_row).collect()
    }

    /// One user by id.
    pub async fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let r = sqlx::query(concat!(
            "SELECT ",
            user_columns!(""),
            " FROM users WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool())
        .await?;
        r.as_ref().map(user_row).transpose()
    }

    /// What sign-in checks, by user name.
    pub async fn credentials(&self, username: &str) -> Result<Option<Credentials>, StoreError> {
        let r = sqlx::query(concat!(
            "SELECT ",
            user_columns!(""),
            ", password_hash FROM users WHERE username = $1"
        ))
        .bind(username)
        .fetch_optional(&self.pool())
        .await?;
        let Some(r) = r else { return Ok(None) };
        Ok(Some(Credentials {
            user: user_row(&r)?,
            password_hash: r.try_get("password_hash")?,
            totp_secret: r.try_get("totp_secret")?,
        }))
    }

    /// Counts a failed sign-in of `id`; the `lock_after`-th failure in a
    /// row locks the account until `lock_until`.
    pub async fn record_login_failure(
        &self,
        id: UserId,
        username: &str,
        actor: &Actor,
        lock_after: i64,
        lock_until: DateTime<Utc>,
    ) -> Result<LoginOutcome, StoreError> {
        let mut tx = self.pool().begin().await?;
        let r = sqlx::query(
            "UPDATE users SET failed_logins = failed_logins + 1 WHERE id = $1 RETURNING failed_logins",
        )
        .bind(id.0)
        .fetch_one(&mut *tx)
        .await?;
        let n: i64 = r.try_get("failed_logins")?;
        let locked = n >= lock_after.max(1);
        if locked {
            sqlx::query("UPDATE users SET locked_until = $1, failed_logins = 0 WHERE id = $2")
                .bind(time::text(lock_until))
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
        }
        append(
            &mut tx,
            Change::new(actor, "session.sign_in_failed", format!("user {username}")).detail(
                if locked {
                    format!(
                        "{n} failures in a row: locked until {}",
                        time::text(lock_until)
                    )
                } else {
                    format!("failure {n} in a row")
                },
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(if locked {
            LoginOutcome::Locked
        } else {
            LoginOutcome::Counted
        })
    }

    /// Records a failed sign-in that counts against no account: a name no
    /// user has, or a disabled or locked account (`why` says which).
    pub async fn record_refused_login(
        &self,
        username: &str,
        actor: &Actor,
        why: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        append(
            &mut tx,
            Change::new(actor, "session.sign_in_failed", format!("user {username}")).detail(why),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Accepts TOTP step `step` for `id` once: false when that step (or a
    /// later one) was used already — a code is good for one sign-in.
    pub async fn accept_totp_step(&self, id: UserId, step: u64) -> Result<bool, StoreError> {
        let n = sqlx::query(
            "UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1",
        )
        .bind(step as i64)
        .bind(id.0)
        .execute(&self.pool())
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Opens a session for `user` (the id's digest and its CSRF token),
    /// clears the failure count and records the sign-in.
    pub async fn create_session(
        &self,
        user: &User,
        id_digest: &str,
        csrf: &str,
        actor: &Actor,
        user_agent: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        let now = time::now();
        sqlx::query(
            "INSERT INTO sessions (id_digest, user_id, csrf, created_at, seen_at, address, user_agent) VALUES ($1, $2, $3, $4, $4, $5, $6)",
        )
        .bind(id_digest)
        .bind(user.id.0)
        .bind(csrf)
        .bind(&now)
        .bind(actor.address.map(|a| a.to_string()))
        .bind(user_agent.map(|u| crate::text::safe(u).into_owned()))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = $1 WHERE id = $2",
        )
        .bind(&now)
        .bind(user.id.0)
        .execute(&mut *tx)
        .await?;
        append(
            &mut tx,
            Change::new(actor, "session.sign_in", format!("user {}", user.username)),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The session with this id digest and its user, when both are alive.
    pub async fn session(&self, id_digest: &str) -> Result<Option<SessionInfo>, StoreError> {
        // Every signed-in request asks this: one constant query, one round trip.
        let r = sqlx::query(concat!(
            "SELECT s.csrf, s.created_at AS s_created, s.seen_at, ",
            user_columns!("u."),
            " FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_digest = $1"
        ))
        .bind(id_digest)
        .fetch_optional(&self.pool())
        .await?;
        let Some(r) = r else { return Ok(None) };
        Ok(Some(SessionInfo {
            user: user_row(&r)?,
            csrf: r.try_get("csrf")?,
            created_at: time::parse(&r.try_get::<String, _>("s_created")?, "sessions.created_at")?,
            seen_at: time::parse(&r.try_get::<String, _>("seen_at")?, "sessions.seen_at")?,
        }))
    }

    /// Marks a session used now (the idle clock restarts).
    pub async fn touch_session(&self, id_digest: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET seen_at = $1 WHERE id_digest = $2")
            .bind(time::now())
            .bind(id_digest)
            .execute(&self.pool())
            .await?;
        Ok(())
    }

    /// Ends a session (sign-out, or a timeout noticed).
    pub async fn end_session(
        &self,
        id_digest: &str,
        actor: Option<&Actor>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        let n = sqlx::query("DELETE FROM sessions WHERE id_digest = $1")
            .bind(id_digest)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if let Some(a) = actor
            && n > 0
        {
            append(
                &mut tx,
                Change::new(a, "session.sign_out", format!("user {}", a.name)),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Drops sessions last used before `idle_before` or begun before
    /// `created_before`; returns how many.
    pub async fn purge_sessions(
        &self,
        idle_before: DateTime<Utc>,
        created_before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("DELETE FROM sessions WHERE seen_at < $1 OR created_at < $2")
                .bind(time::text(idle_before))
                .bind(time::text(created_before))
                .execute(&self.pool())
                .await?
                .rows_affected(),
        )
    }

    /// Disables or enables a user; disabling ends their sessions and
    /// revokes nothing else (tokens stop working with the account).
    pub async fn set_user_disabled(
        &self,
        actor: &Actor,
        id: UserId,
        disabled: bool,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        let r = sqlx::query("SELECT username, disabled FROM users WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(r) = r else { return Ok(false) };
        let name: String = r.try_get("username")?;
        let was = r.try_get::<i64, _>("disabled")? != 0;
        sqlx::query("UPDATE users SET disabled = $1 WHERE id = $2")
            .bind(i64::from(disabled))
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        if disabled {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
        }
        let word = |d: bool| if d { "disabled" } else { "enabled" }.to_string();
        append(
            &mut tx,
            Change::new(actor, "user.disable", format!("user {name}"))
                .states(Some(word(was)), Some(word(disabled))),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Sets a new password hash, unlocks the account and ends its sessions.
    pub async fn set_password(
        &self,
        actor: &Actor,
        id: UserId,
        password_hash: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        let Some(name) = username_of(&mut tx, id).await? else {
            return Ok(false);
        };
        sqlx::query(
            "UPDATE users SET password_hash = $1, password_changed_at = $2, failed_logins = 0, locked_until = NULL WHERE id = $3",
        )
        .bind(password_hash)
        .bind(time::now())
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        append(
            &mut tx,
            Change::new(actor, "user.password", format!("user {name}")),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Turns the second factor on (a hex secret) or off.
    pub async fn set_totp(
        &self,
        actor: &Actor,
        id: UserId,
        secret_hex: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        let Some(name) = username_of(&mut tx, id).await? else {
            return Ok(false);
        };
        sqlx::query("UPDATE users SET totp_secret = $1, totp_last_step = 0 WHERE id = $2")
            .bind(secret_hex)
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        append(
            &mut tx,
            Change::new(actor, "user.totp", format!("user {name}")).states(
                None,
                Some(if secret_hex.is_some() { "on" } else { "off" }.into()),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Records a new API token (its secret's digest) and returns its id.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_token(
        &self,
        actor: &Actor,
        user: UserId,
        name: &str,
        digest: &str,
        role: Role,
        agency: Option<&AgencyCode>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<i64, StoreError> {
        let mut tx = self.pool().begin().await?;
        let r = sqlx::query(
            "INSERT INTO api_tokens (user_id, name, digest, role, agency, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(user.0)
        .bind(crate::text::safe(name).into_owned())
        .bind(digest)
        .bind(role.as_str())
        .bind(agency.map(|a| a.as_str()))
        .bind(time::now())
        .bind(expires_at.map(time::text))
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = r.try_get("id")?;
        append(
            &mut tx,
            Change::new(actor, "token.create", format!("token {id}")).detail(format!(
                "for user {user}, role {role}{}",
                agency.map(|a| format!(", agency {a}")).unwrap_or_default()
            )),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// A token with its digest and its owner, to check a request.
    pub async fn token(&self, id: i64) -> Result<Option<(ApiTokenInfo, String, User)>, StoreError> {
        let r = sqlx::query(
            "SELECT id, user_id, name, digest, role, agency, created_at, expires_at, revoked_at FROM api_tokens WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool())
        .await?;
        let Some(r) = r else { return Ok(None) };
        let info = token_row(&r)?;
        let digest: String = r.try_get("digest")?;
        let Some(user) = self.user(info.user_id).await? else {
            return Ok(None);
        };
        Ok(Some((info, digest, user)))
    }

    /// A user's tokens, newest first.
    pub async fn tokens_of(&self, user: UserId) -> Result<Vec<ApiTokenInfo>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, user_id, name, role, agency, created_at, expires_at, revoked_at FROM api_tokens WHERE user_id = $1 ORDER BY id DESC",
        )
        .bind(user.0)
        .fetch_all(&self.pool())
        .await?;
        rows.iter().map(token_row).collect()
    }

    /// Revokes token `id` of `owner` (or of anyone with `owner` None).
    pub async fn revoke_token(
        &self,
        actor: &Actor,
        id: i64,
        owner: Option<UserId>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        let n = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL AND ($3 < 0 OR user_id = $3)",
        )
        .bind(time::now())
        .bind(id)
        .bind(owner.map_or(-1, |u| u.0))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n > 0 {
            append(
                &mut tx,
                Change::new(actor, "token.revoke", format!("token {id}")),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(n > 0)
    }
}
