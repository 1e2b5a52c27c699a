//! The audit log: who changed what, when, from where — append-only and
//! tamper-evident.
//!
//! Entries are only ever appended, by the store itself inside the
//! transaction of the change they describe (an inventory replaced, an
//! alert's status set, a user created, a sign-in), so the log cannot show a
//! change that did not commit nor miss one that did. The inventory's
//! version number is read from it too (`Store::inventory_version`).
//!
//! **The chain.** Each entry has a sequence number and carries the hash of
//! the one before: `hash = SHA-256(prev_hash, seq, at, actor, address,
//! action, object, before, after, detail)`. The head (`audit_head`: last
//! sequence number and hash) is updated in the same transaction, which also
//! serialises appends (the head row's lock). [`Store::verify_audit`] walks
//! the chain: an edited entry no longer hashes to its stored hash, a
//! deleted one leaves a gap in the sequence and a broken link, a cut tail
//! no longer reaches the head. Someone able to rewrite every row *and* the
//! head can forge a consistent chain; the head's hash, printed by `tocsin
//! audit verify` and kept outside the database, shows that too.

use sha2::{Digest, Sha256};
use sqlx::Row;
use tocsin_model::Actor;

use crate::{Store, StoreError};

/// One line of the audit log.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AuditEntry {
    /// Its place in the chain, from 1.
    pub seq: i64,
    /// When (the store's clock as the change was written).
    pub at: chrono::DateTime<chrono::Utc>,
    /// Who (a user, or `cli` / `demo`).
    pub actor: String,
    /// From which address, for changes made over the network.
    pub address: Option<String>,
    /// What kind of change, as `domain.verb`: `inventory.replace`,
    /// `alert.status`, `user.create`, `session.sign_in`.
    pub action: String,
    /// What was changed: `alert 42`, `user lan`.
    pub object: String,
    /// The state before, when there was one (`new`).
    pub before: Option<String>,
    /// The state after (`closed`).
    pub after: Option<String>,
    /// Details, free text for people.
    pub detail: String,
}

/// What [`Store::verify_audit`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct AuditVerdict {
    /// Entries read.
    pub entries: i64,
    /// The head's hash (keep it elsewhere to detect a rewritten chain).
    pub head: String,
    /// Each break found, with the entry it concerns.
    pub problems: Vec<String>,
}

impl AuditVerdict {
    /// Whether the chain is whole.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// A change to append (the entry without its time and chain fields).
pub(crate) struct Change<'a> {
    pub(crate) actor: &'a Actor,
    pub(crate) action: &'a str,
    pub(crate) object: String,
    pub(crate) before: Option<String>,
    pub(crate) after: Option<String>,
    pub(crate) detail: String,
}

impl<'a> Change<'a> {
    /// A change with only an object and details.
    pub(crate) fn new(actor: &'a Actor, action: &'a str, object: impl Into<String>) -> Self {
        Change {
            actor,
            action,
            object: object.into(),
            before: None,
            after: None,
            detail: String::new(),
        }
    }

    pub(crate) fn detail(mut self, d: impl Into<String>) -> Self {
        self.detail = d.into();
        self
    }

    pub(crate) fn states(mut self, before: Option<String>, after: Option<String>) -> Self {
        self.before = before;
        self.after = after;
        self
    }
}

/// The hash of one entry given the previous entry's hash. Fields are
/// length-prefixed, so no two different entries hash the same text.
#[allow(clippy::too_many_arguments)]
fn entry_hash(
    prev: &str,
    seq: i64,
    at: &str,
    actor: &str,
    address: Option<&str>,
    action: &str,
    object: &str,
    before: Option<&str>,
    after: Option<&str>,
    detail: &str,
) -> String {
    let mut h = Sha256::new();
    let mut field = |s: Option<&str>| match s {
        Some(s) => {
            h.update((s.len() as u64).to_be_bytes());
            h.update(s.as_bytes());
        }
        None => h.update(u64::MAX.to_be_bytes()),
    };
    field(Some(prev));
    field(Some(&seq.to_string()));
    field(Some(at));
    field(Some(actor));
    field(address);
    field(Some(action));
    field(Some(object));
    field(before);
    field(after);
    field(Some(detail));
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

impl Store {
    /// The newest audit entries first, at most `limit` of them.
    pub async fn audit_log(&self, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, at, actor, address, action, object, before_value, after_value, detail FROM audit_log ORDER BY seq DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool())
        .await?;
        rows.iter().map(read).collect()
    }

    /// Walks the whole chain and reports every break (see the module).
    pub async fn verify_audit(&self) -> Result<AuditVerdict, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, at, actor, address, action, object, before_value, after_value, detail, prev_hash, hash FROM audit_log ORDER BY seq",
        )
        .fetch_all(&self.pool())
        .await?;
        let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_optional(&self.pool())
            .await?;
        let mut v = AuditVerdict::default();
        let (mut prev, mut expect) = (String::new(), 1i64);
        for r in &rows {
            let seq: i64 = r.try_get("seq")?;
            let at: String = r.try_get("at")?;
            let stored_prev: String = r.try_get("prev_hash")?;
            let stored: String = r.try_get("hash")?;
            if seq != expect {
                v.problems
                    .push(format!("entries {expect} to {} are missing", seq - 1));
            }
            if stored_prev != prev {
                v.problems.push(format!(
                    "entry {seq} does not follow the entry before it (its link is broken)"
                ));
            }
            let computed = entry_hash(
                &stored_prev,
                seq,
                &at,
                &r.try_get::<String, _>("actor")?,
                r.try_get::<Option<String>, _>("address")?.as_deref(),
                &r.try_get::<String, _>("action")?,
                &r.try_get::<String, _>("object")?,
                r.try_get::<Option<String>, _>("before_value")?.as_deref(),
                r.try_get::<Option<String>, _>("after_value")?.as_deref(),
                &r.try_get::<String, _>("detail")?,
            );
            if computed != stored {
                v.problems
                    .push(format!("entry {seq} was changed after it was written"));
            }
            prev = stored;
            expect = seq + 1;
            v.entries += 1;
        }
        match head {
            Some(h) => {
                let (hseq, hhash): (i64, String) = (h.try_get("seq")?, h.try_get("hash")?);
                if hseq != expect - 1 || hhash != prev {
                    v.problems.push(format!(
                        "the log ends at entry {} but its head says {hseq}: entries were removed from the end",
                        expect - 1
                    ));
                }
                v.head = hhash;
            }
            None => v.problems.push("the chain's head is missing".into()),
        }
        Ok(v)
    }
}

fn read(r: &sqlx::any::AnyRow) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        seq: r.try_get("seq")?,
        at: crate::time::parse(&r.try_get::<String, _>("at")?, "audit_log.at")?,
        actor: r.try_get("actor")?,
        address: r.try_get("address")?,
        action: r.try_get("action")?,
        object: r.try_get("object")?,
        before: r.try_get("before_value")?,
        after: r.try_get("after_value")?,
        detail: r.try_get("detail")?,
    })
}

/// Takes the next place in the chain: the head row's lock (held to the end
/// of `tx`) orders appends on both backends. Returns the new entry's
/// sequence number and the hash it follows.
async fn take_link(tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> Result<(i64, String), StoreError> {
    let head = sqlx::query("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
        .fetch_one(&mut **tx)
        .await?;
    Ok((head.try_get("seq")?, head.try_get("hash")?))
}

/// Moves the head to the entry just written.
async fn set_head(tx: &mut sqlx::Transaction<'_, sqlx::Any>, hash: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(hash)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Appends an entry inside the caller's transaction (the change and its
/// record commit together).
pub(crate) async fn append(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    c: Change<'_>,
) -> Result<(), StoreError> {
    let (seq, prev) = take_link(tx).await?;
    let at = crate::time::now();
    let safe = |s: &str| crate::text::safe(s).into_owned();
    let actor = safe(&c.actor.name);
    let address = c.actor.address.map(|a| a.to_string());
    let object = safe(&c.object);
    let before = c.before.as_deref().map(safe);
    let after = c.after.as_deref().map(safe);
    let detail = safe(&c.detail);
    let hash = entry_hash(
        &prev,
        seq,
        &at,
        &actor,
        address.as_deref(),
        c.action,
        &object,
        before.as_deref(),
        after.as_deref(),
        &detail,
    );
    sqlx::query(
        "INSERT INTO audit_log (seq, at, actor, address, action, object, before_value, after_value, detail, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(seq)
    .bind(&at)
    .bind(&actor)
    .bind(address)
    .bind(c.action)
    .bind(&object)
    .bind(before)
    .bind(after)
    .bind(&detail)
    .bind(&prev)
    .bind(&hash)
    .execute(&mut **tx)
    .await?;
    set_head(tx, &hash).await
}

/// Chains entries written before the chain existed (schema 4 and older),
/// once, in their order: from then on they are checked like the rest.
pub(crate) async fn chain_legacy(store: &Store) -> Result<(), StoreError> {
    let mut tx = store.pool().begin().await?;
    let rows = sqlx::query(
        "SELECT id, at, actor, action, detail FROM audit_log WHERE seq IS NULL ORDER BY id",
    )
    .fetch_all(&mut *tx)
    .await?;
    if rows.is_empty() {
        return Ok(());
    }
    for r in &rows {
        let id: i64 = r.try_get("id")?;
        let (seq, prev) = take_link(&mut tx).await?;
        let at: String = r.try_get("at")?;
        let actor: String = r.try_get("actor")?;
        let action: String = r.try_get("action")?;
        let detail: String = r.try_get("detail")?;
        let hash = entry_hash(
            &prev, seq, &at, &actor, None, &action, "", None, None, &detail,
        );
        sqlx::query("UPDATE audit_log SET seq = $1, prev_hash = $2, hash = $3 WHERE id = $4")
            .bind(seq)
            .bind(&prev)
            .bind(&hash)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        set_head(&mut tx, &hash).await?;
    }
    tx.commit().await?;
    Ok(())
}
