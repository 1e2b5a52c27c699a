//! The audit log: who changed what, when.
//!
//! Entries are only ever appended, by the store itself inside the
//! transaction of the change they describe (an inventory replaced, an
//! alert's status set), so the log cannot show a change that did not
//! commit nor miss one that did. The inventory's
//! version number is read from it too (`Store::inventory_version`).

use sqlx::Row;

use crate::{Store, StoreError};

/// One line of the audit log.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AuditEntry {
    /// When (the store's clock as the change was written).
    pub at: chrono::DateTime<chrono::Utc>,
    /// Who (a user, or `cli` / `demo`).
    pub actor: String,
    /// What kind of change, as `domain.verb`: `inventory.replace`,
    /// `alert.status`.
    pub action: String,
    /// Details, free text for people (an alert's id and new status, the
    /// caller's description of an import).
    pub detail: String,
}

impl Store {
    /// The newest audit entries first, at most `limit` of them. "Newest"
    /// is the order they were written in, not their `at`.
    pub async fn audit_log(&self, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT at, actor, action, detail FROM audit_log ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    at: crate::time::parse(&r.try_get::<String, _>("at")?, "audit_log.at")?,
                    actor: r.try_get("actor")?,
                    action: r.try_get("action")?,
                    detail: r.try_get("detail")?,
                })
            })
            .collect()
    }
}

/// Appends an entry inside the caller's transaction (the change and its
/// record commit together).
pub(crate) async fn insert(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    actor: &str,
    action: &str,
    detail: &str,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO audit_log (at, actor, action, detail) VALUES ($1, $2, $3, $4)")
        .bind(crate::time::now())
        .bind(crate::text::safe(actor).into_owned())
        .bind(action)
        .bind(crate::text::safe(detail).into_owned())
        .execute(&mut **tx)
        .await?;
    Ok(())
}
