//! The shared vocabulary of Tocsin: what every pipeline stage speaks.
//!
//! Tocsin's flow is `ingest → detect → respond → report → web`; this crate sits
//! *before* all of them and depends on none. It owns:
//!
//! * the **province inventory** ([`Agency`], [`Asset`], [`Inventory`]): who the
//!   center protects, their contacts, their network ranges and what they run,
//!   with the security level of each system (Decree 85/2016/NĐ-CP);
//! * the **normalized event** ([`Event`]): one record from any sensor, with its
//!   timestamp, observer, kind and category, ECS-style fields, the original
//!   record verbatim and the agency/asset it is attributed to;
//! * **attribution** ([`Attributor`]): any IP address → the most specific agency
//!   range and the asset that owns it, in tens of nanoseconds;
//! * **findings and alerts** ([`Finding`], [`NewAlert`], [`Alert`]) with
//!   their typed [`Level`], [`AlertKind`] and [`AlertStatus`];
//! * **threat intelligence** ([`IndicatorKind`], [`IntelHit`], [`Sighting`],
//!   [`DeviceStatus`]): what a match on an indicator says and records;
//! * **people** ([`Role`], [`Permission`]): what each role may do;
//! * **scopes** ([`Scope`]): which agencies a person or an input may speak
//!   for — the tenant boundary the store applies and attribution respects.
//!
//! Loading and validating inventory files lives in `tocsin-inventory`; storing
//! them in `tocsin-store`. This crate is synchronous and does no I/O, but
//! for reading a [`Secret`] the configuration names by file or variable.
//!
//! ```
//! use tocsin_model::{Agency, AgencyKind, Inventory, Attributor};
//!
//! let mut inv = Inventory::default();
//! let mut a = Agency::new("STC", "Sở Tài chính", AgencyKind::Department);
//! a.ranges.push("10.36.12.0/24".parse().unwrap());
//! inv.agencies.push(a);
//! let attributor = Attributor::build(&inv);
//! let hit = attributor.lookup("10.36.12.77".parse().unwrap());
//! assert_eq!(hit.agency.map(|i| inv.agencies[i].code.as_str()), Some("STC"));
//! ```

mod access;
mod alert;
mod attribution;
mod cidr;
mod class;
mod event;
mod intel;
mod inventory;
mod level;
mod names;
mod scope;
mod secret;
mod text;

pub use access::{Actor, Permission, Role, UserId};
pub use alert::{Alert, AlertId, AlertKind, AlertStatus, EventCount, Finding, NewAlert};
pub use attribution::{Attribution, Attributor};
pub use cidr::{Cidr, CidrError};
pub use class::{AttackClass, technique};
pub use event::{
    Category, Event, EventAttribution, EventKind, Fields, Observer, TimeOrigin, Timestamp,
    TimestampError, Value, vietnam_offset,
};
pub use intel::{Device, DeviceStatus, IndicatorKind, IntelHit, Sighting, Threat};
pub use inventory::{
    Agency, AgencyCode, AgencyKind, Asset, AssetCode, AssetKind, Contact, Inventory, SecurityLevel,
};
pub use level::Level;
pub use names::UnknownVariant;
pub use scope::{Scope, ScopeSetting, SourceTrust};
pub use secret::Secret;
pub use text::fold_vietnamese;
