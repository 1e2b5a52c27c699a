//! `tocsin user …` and `tocsin audit verify`: people managed from the
//! command line (the first administrator among them), and the audit chain
//! checked.

use std::io::Read as _;

use anyhow::{Context, bail};
use tocsin_access::{ApiToken, Secret};
pub use tocsin_model::Role;
use tocsin_model::{Actor, AgencyCode};
use tocsin_store::{NewUser, Store};

use crate::config::Config;

/// A `tocsin user` command.
#[derive(Debug, Clone)]
pub enum Command {
    /// Create a user. The password comes from standard input (one line)
    /// or, with `generate`, is made and printed once.
    Add {
        /// Sign-in name.
        username: String,
        /// Role.
        role: Role,
        /// Agency (required for agency contacts).
        agency: Option<String>,
        /// Name shown.
        display_name: Option<String>,
        /// Make a strong password and print it.
        generate: bool,
    },
    /// List users.
    List {
        /// JSON instead of a table.
        json: bool,
    },
    /// Disable a user (their sessions end).
    Disable {
        /// Sign-in name.
        username: String,
    },
    /// Enable a disabled user.
    Enable {
        /// Sign-in name.
        username: String,
    },
    /// Set a new password (from standard input, or generated).
    ResetPassword {
        /// Sign-in name.
        username: String,
        /// Make a strong password and print it.
        generate: bool,
    },
    /// Make a personal API token and print it once.
    Token {
        /// Sign-in name.
        username: String,
        /// What the token is for.
        name: String,
        /// Role (default: the user's; never stronger).
        role: Option<Role>,
        /// Days until it expires (none: never).
        days: Option<i64>,
    },
}

/// A password people can type and machines cannot guess: 20 characters
/// of lowercase letters and digits (about 100 bits).
pub fn generate_password() -> String {
    const A: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let secret = Secret::new();
    let hex = secret.expose().as_bytes();
    let chars: Vec<char> = (0..20)
        .map(|i| {
            let pair = std::str::from_utf8(&hex[2 * i..2 * i + 2]).unwrap_or("00");
            let b = u8::from_str_radix(pair, 16).unwrap_or(0);
            // 32 letters: a byte's low five bits pick one uniformly.
            A[usize::from(b & 31)] as char
        })
        .collect();
    chars
        .chunks(5)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

fn read_password(generate: bool) -> anyhow::Result<(String, bool)> {
    if generate {
        return Ok((generate_password(), true));
    }
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .context("reading the password from standard input")?;
    let p = s.lines().next().unwrap_or("").to_string();
    if p.is_empty() {
        bail!("no password on standard input (or pass --generate)");
    }
    Ok((p, false))
}

async fn find(store: &Store, username: &str) -> anyhow::Result<tocsin_store::User> {
    store
        .credentials(username)
        .await?
        .map(|c| c.user)
        .with_context(|| format!("no user `{username}`"))
}

/// Creates a user; the password is checked against the policy.
#[allow(clippy::too_many_arguments)]
pub async fn add_user(
    store: &Store,
    config: &Config,
    actor: &Actor,
    username: &str,
    role: Role,
    agency: Option<&str>,
    display_name: Option<&str>,
    password: &str,
) -> anyhow::Result<()> {
    let hasher = config.web.auth.password.build()?;
    hasher
        .check_policy(username, password)
        .map_err(|e| anyhow::anyhow!("password refused: {e}"))?;
    let agency = agency.map(|a| AgencyCode(a.to_string()));
    if role.is_agency_bound() && agency.is_none() {
        bail!("an agency contact needs --agency");
    }
    if let Some(a) = &agency
        && store.load_inventory().await?.agency(a.as_str()).is_none()
    {
        bail!("no agency `{a}` in the inventory");
    }
    let made = store
        .create_user(
            actor,
            &NewUser {
                username: username.to_string(),
                display_name: display_name.unwrap_or(username).to_string(),
                role,
                agency,
                password_hash: hasher.hash(password)?,
            },
        )
        .await?;
    if made.is_none() {
        bail!("the user name `{username}` is taken");
    }
    Ok(())
}

/// Runs a `tocsin user` command.
pub async fn run(cmd: Command, config: &Config) -> anyhow::Result<()> {
    let store = crate::inventory::open_store(config).await?;
    let actor = Actor::system("cli");
    match cmd {
        Command::Add {
            username,
            role,
            agency,
            display_name,
            generate,
        } => {
            let (pw, made) = read_password(generate)?;
            add_user(
                &store,
                config,
                &actor,
                &username,
                role,
                agency.as_deref(),
                display_name.as_deref(),
                &pw,
            )
            .await?;
            println!("created {username} ({role})");
            if made {
                println!("password: {pw}");
            }
        }
        Command::List { json } => {
            let users = store.users().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&users)?);
            } else {
                println!(
                    "{:<20} {:<16} {:<10} {:<9} LAST SIGN-IN",
                    "USER", "ROLE", "AGENCY", "STATE"
                );
                for u in users {
                    println!(
                        "{:<20} {:<16} {:<10} {:<9} {}",
                        u.username,
                        u.role,
                        u.agency.as_ref().map_or("-", |a| a.as_str()),
                        if u.disabled { "disabled" } else { "active" },
                        u.last_login_at.map_or("-".to_string(), |t| t.to_rfc3339())
                    );
                }
            }
        }
        Command::Disable { username } => {
            let u = find(&store, &username).await?;
            store.set_user_disabled(&actor, u.id, true).await?;
            println!("disabled {username}; their sessions ended");
        }
        Command::Enable { username } => {
            let u = find(&store, &username).await?;
            store.set_user_disabled(&actor, u.id, false).await?;
            println!("enabled {username}");
        }
        Command::ResetPassword { username, generate } => {
            let u = find(&store, &username).await?;
            let (pw, made) = read_password(generate)?;
            let hasher = config.web.auth.password.build()?;
            hasher
                .check_policy(&username, &pw)
                .map_err(|e| anyhow::anyhow!("password refused: {e}"))?;
            store.set_password(&actor, u.id, &hasher.hash(&pw)?).await?;
            println!("new password set for {username}; their sessions ended");
            if made {
                println!("password: {pw}");
            }
        }
        Command::Token {
            username,
            name,
            role,
            days,
        } => {
            let u = find(&store, &username).await?;
            let role = role.unwrap_or(u.role);
            if !u.role.covers(role) {
                bail!(
                    "a token cannot have a stronger role ({role}) than its owner ({})",
                    u.role
                );
            }
            let secret = Secret::new();
            let expires = days.map(|d| chrono::Utc::now() + chrono::Duration::days(d));
            let id = store
                .create_token(
                    &actor,
                    u.id,
                    &name,
                    &secret.digest(),
                    role,
                    u.agency.as_ref(),
                    expires,
                )
                .await?;
            println!("{}", ApiToken { id, secret }.text());
        }
    }
    Ok(())
}

/// `tocsin audit verify`: walks the chain; an error when it is broken.
pub async fn verify_audit(config: &Config) -> anyhow::Result<()> {
    let store = crate::inventory::open_store(config).await?;
    let v = store.verify_audit().await?;
    if v.ok() {
        println!("audit log whole: {} entries; head {}", v.entries, v.head);
        Ok(())
    } else {
        for p in &v.problems {
            eprintln!("audit: {p}");
        }
        bail!(
            "the audit log was tampered with: {} problem(s) in {} entries",
            v.problems.len(),
            v.entries
        )
    }
}
