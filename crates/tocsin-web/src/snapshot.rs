//! The inventory as the console reads it: loaded once, swapped when changed.

use std::sync::{Arc, RwLock};

use tocsin_model::{Attributor, Inventory};
use tocsin_store::{Store, StoreError};

/// One consistent view of the inventory and its attribution index.
pub struct Snapshot {
    /// The inventory.
    pub inventory: Inventory,
    /// IP → agency/asset over that inventory.
    pub attributor: Attributor,
    /// The store's inventory version it was read at.
    pub version: i64,
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
        if store.inventory_version().await? == self.get().version {
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
    let attributor = Attributor::build(&inventory);
    Ok(Snapshot {
        inventory,
        attributor,
        version,
    })
}
