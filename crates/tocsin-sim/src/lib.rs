//! Simulation: a province to run on and traffic to run through it.
//! Composition, beside `tocsin-app`; no production path depends on it.
//!
//! ```text
//! province() ─► Inventory ─► Traffic (records as devices write them)
//!                               ├─► Feeder: the demo's live feed through the real inputs
//!                               └─► loadgen: TCP load as fast as a socket takes it ─► bench
//! ```
//!
//! * [`province`] builds *Ngọc Sơn*, the synthetic province of the demo and
//!   the tests: 48 provincial units, 423 communes, 27 legacy districts, 55
//!   servers, 128 websites, with contacts and address plans.
//! * [`Traffic`] is the one record generator: deterministic for a seed,
//!   allocation-light in its load mix.
//! * [`feed::Feeder`] sends it through the inputs of a running server (the
//!   demo); [`loadgen`] writes it over TCP for load tests; [`bench`] is the
//!   harness of `tocsin bench ingest`.
//! * [`intel`]: the demo's blocklist, allowlist and national botnet list.
//!
//! ```
//! let inv = tocsin_sim::province();
//! assert_eq!(inv.assets.iter().filter(|a| a.kind == tocsin_model::AssetKind::Website).count(), 128);
//! let mut t = tocsin_sim::Traffic::new(&inv, 42);
//! assert!(t.ssh().contains("sshd["));
//! ```

pub mod bench;
pub mod feed;
pub mod http;
pub mod intel;
pub mod loadgen;
pub mod province;
pub mod traffic;
pub mod webquality;

pub use province::{CENTER, DOMAIN, province};
pub use traffic::Traffic;
