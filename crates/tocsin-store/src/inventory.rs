//! The province inventory in the database.
//!
//! Agencies and assets are stored one row each, with their lists
//! (contacts, ranges, addresses, hostnames, URLs) as JSON text, since the
//! two backends share no array type. A `position` column keeps the order
//! of the imported files, so what is loaded back reads like what was
//! imported. The inventory is only ever replaced whole; validation is
//! tocsin-inventory's, before it gets here.

use sqlx::Row;
use sqlx::any::AnyRow;
use tocsin_model::{Agency, AgencyKind, Asset, AssetKind, Cidr, Inventory, SecurityLevel};

use crate::{Store, StoreError};

/// How many agencies and assets of each kind are stored.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct InventoryCounts {
    /// (agency kind, count), every kind listed (0 for none), in the order
    /// of `AgencyKind::ALL`.
    pub agencies: Vec<(AgencyKind, i64)>,
    /// (asset kind, count), every kind listed (0 for none), in the order
    /// of `AssetKind::ALL`.
    pub assets: Vec<(AssetKind, i64)>,
}

/// A [`StoreError::Corrupt`] naming the column and the agency or asset.
fn corrupt(what: &str, code: &str, reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        what: format!("{what} of {code}"),
        reason: reason.to_string(),
    }
}

/// A list column of the row of `code`, read back from its JSON text.
fn json_list<T: serde::de::DeserializeOwned>(
    row: &AnyRow,
    col: &str,
    code: &str,
) -> Result<Vec<T>, StoreError> {
    let text: String = row.try_get(col)?;
    serde_json::from_str(&text).map_err(|e| corrupt(col, code, e))
}

/// A list as the JSON text [`json_list`] reads.
fn to_json<T: serde::Serialize>(v: &T) -> String {
    // Serializing plain strings and structs of strings cannot fail.
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

impl Store {
    /// Reads the whole inventory, in the order it was imported.
    ///
    /// Empty before the first import. A row that does not parse back
    /// (unknown kind, level outside 1–5, bad JSON) fails the whole load
    /// with [`StoreError::Corrupt`] rather than loading a partial
    /// inventory.
    pub async fn load_inventory(&self) -> Result<Inventory, StoreError> {
        let mut inv = Inventory::default();
        let rows = sqlx::query(
            "SELECT code, name, name_en, kind, parent, contacts, ranges FROM agencies ORDER BY position",
        )
        .fetch_all(&self.pool())
        .await?;
        for r in rows {
            let code: String = r.try_get("code")?;
            let kind: String = r.try_get("kind")?;
            let ranges: Vec<Cidr> = json_list(&r, "ranges", &code)?;
            inv.agencies.push(Agency {
                kind: kind.parse().map_err(|e| corrupt("kind", &code, e))?,
                name: r.try_get("name")?,
                name_en: r.try_get("name_en")?,
                parent: r
                    .try_get::<Option<String>, _>("parent")?
                    .map(|p| p.as_str().into()),
                contacts: json_list(&r, "contacts", &code)?,
                ranges,
                code: code.as_str().into(),
            });
        }
        let rows = sqlx::query(
            "SELECT code, name, kind, owner, level, addresses, hostnames, urls, description FROM assets ORDER BY position",
        )
        .fetch_all(&self.pool())
        .await?;
        for r in rows {
            let code: String = r.try_get("code")?;
            let kind: String = r.try_get("kind")?;
            let level: i64 = r.try_get("level")?;
            let owner: String = r.try_get("owner")?;
            inv.assets.push(Asset {
                kind: kind.parse().map_err(|e| corrupt("kind", &code, e))?,
                name: r.try_get("name")?,
                owner: owner.as_str().into(),
                level: u8::try_from(level)
                    .ok()
                    .and_then(SecurityLevel::new)
                    .ok_or_else(|| corrupt("level", &code, level))?,
                addresses: json_list(&r, "addresses", &code)?,
                hostnames: json_list(&r, "hostnames", &code)?,
                urls: json_list(&r, "urls", &code)?,
                description: r.try_get("description")?,
                code: code.as_str().into(),
            });
        }
        Ok(inv)
    }

    /// Makes the stored inventory exactly `inv`, in one transaction: on any
    /// error nothing changes. The caller validates first (tocsin-inventory).
    ///
    /// `actor` and `detail` go into the `inventory.replace` audit entry,
    /// which also moves [`Store::inventory_version`]. Alerts name their
    /// agency and asset by code without a foreign key, so replacing the
    /// inventory never touches stored alerts; the database still refuses
    /// an asset whose owner is not among the agencies.
    pub async fn replace_inventory(
        &self,
        inv: &Inventory,
        actor: &tocsin_model::Actor,
        detail: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM assets").execute(&mut *tx).await?;
        sqlx::query("DELETE FROM agencies")
            .execute(&mut *tx)
            .await?;
        // Parents are plain codes (no foreign key) so order does not matter;
        // asset owners reference agencies, inserted first.
        for (i, a) in inv.agencies.iter().enumerate() {
            sqlx::query(
                "INSERT INTO agencies (code, position, name, name_en, kind, parent, contacts, ranges) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(a.code.as_str())
            .bind(i as i64)
            .bind(a.name.as_str())
            .bind(a.name_en.as_deref())
            .bind(a.kind.as_str())
            .bind(a.parent.as_ref().map(|p| p.as_str()))
            .bind(to_json(&a.contacts))
            .bind(to_json(&a.ranges))
            .execute(&mut *tx)
            .await?;
        }
        for (i, a) in inv.assets.iter().enumerate() {
            sqlx::query(
                "INSERT INTO assets (code, position, name, kind, owner, level, addresses, hostnames, urls, description) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(a.code.as_str())
            .bind(i as i64)
            .bind(a.name.as_str())
            .bind(a.kind.as_str())
            .bind(a.owner.as_str())
            .bind(i64::from(a.level.get()))
            .bind(to_json(&a.addresses))
            .bind(to_json(&a.hostnames))
            .bind(to_json(&a.urls))
            .bind(a.description.as_deref())
            .execute(&mut *tx)
            .await?;
        }
        crate::audit::append(
            &mut tx,
            crate::audit::Change::new(actor, "inventory.replace", "inventory").detail(detail),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Counts per agency kind and asset kind, counted by the database
    /// rather than by loading the inventory. A stored kind this binary
    /// does not know is left out of the counts.
    pub async fn inventory_counts(&self) -> Result<InventoryCounts, StoreError> {
        let mut out = InventoryCounts::default();
        let rows = sqlx::query("SELECT kind, COUNT(*) AS n FROM agencies GROUP BY kind")
            .fetch_all(&self.pool())
            .await?;
        let ag: Vec<(String, i64)> = rows
            .iter()
            .map(|r| Ok((r.try_get("kind")?, r.try_get("n")?)))
            .collect::<Result<_, sqlx::Error>>()?;
        for k in AgencyKind::ALL {
            let n = ag.iter().find(|(s, _)| s == k.as_str()).map_or(0, |x| x.1);
            out.agencies.push((*k, n));
        }
        let rows = sqlx::query("SELECT kind, COUNT(*) AS n FROM assets GROUP BY kind")
            .fetch_all(&self.pool())
            .await?;
        let asv: Vec<(String, i64)> = rows
            .iter()
            .map(|r| Ok((r.try_get("kind")?, r.try_get("n")?)))
            .collect::<Result<_, sqlx::Error>>()?;
        for k in AssetKind::ALL {
            let n = asv.iter().find(|(s, _)| s == k.as_str()).map_or(0, |x| x.1);
            out.assets.push((*k, n));
        }
        Ok(out)
    }

    /// A number that changes whenever the inventory is replaced (the newest
    /// inventory audit entry), so readers can cache it. 0 before the first
    /// import. Only "changed or not" is meaningful, not the size of the
    /// step: the audit log's ids are shared with other changes.
    pub async fn inventory_version(&self) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "SELECT COALESCE(MAX(id), 0) AS v FROM audit_log WHERE action LIKE 'inventory.%'",
        )
        .fetch_one(&self.pool())
        .await?;
        Ok(row.try_get("v")?)
    }
}
