//! The inventory as the console reads it: loaded once, swapped when changed.

use std::sync::{Arc, RwLock};

use tocsin_detect::AttributionPolicy;
use tocsin_model::Inventory;
use tocsin_store::{Store, StoreError};

/// One consistent view of the inventory and the attribution policy over it.
pub struct Snapshot {
    /// The policy (which holds the inventory).
    pub policy: AttributionPolicy,
}

impl Snapshot {
    /// The inventory.
    pub fn inventory(&self) -> &Inventory {
        self.policy.inventory()
    }

    /// An agency's name, or nothing for a code the inventory does not
    /// hold (an alert of an agency removed since).
    pub fn agency_name(&self, code: &str) -> String {
        self.inventory()
            .agency(code)
            .map(|a| a.name.clone())
            .unwrap_or_default()
    }

    /// The store's inventory version it was read at.
    pub fn version(&self) -> i64 {
        self.policy.version()
    }
}

/// The current snapshot behind a lock held only to clone an `Arc`.
pub(crate) struct Shared {
    current: RwLock<Arc<Snapshot>>,
}

impl Shared {
    pub(crate) async fn load(store: &Store) -> Result<Self, StoreError> {
        Ok(Shared {
            current: RwLock::new(Arc::new(read(store).await?)),
        })
    }

    pub(crate) fn get(&self) -> Arc<Snapshot> {
        match self.current.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub(crate) async fn reload_if_changed(&self, store: &Store) -> Result<(), StoreError> {
        if store.inventory_version().await? == self.get().version() {
            return Ok(());
        }
        let fresh = Arc::new(read(store).await?);
        match self.current.write() {
            Ok(mut g) => *g = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
        Ok(())
    }
}

async fn read(store: &Store) -> Result<Snapshot, StoreError> {
    let version = store.inventory_version().await?;
    let inventory = store.load_inventory().await?;
    Ok(Snapshot {
        // The console looks addresses up as the pipeline attributes them;
        // no input is involved, so no source table.
        policy: AttributionPolicy::new(version, Arc::new(inventory), &Default::default()),
    })
}
