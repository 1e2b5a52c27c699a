//! Threat-intelligence feeds at run time — a running stage beside ingest:
//! each `[[intel.feeds]]` entry read when due (a file when it changed, a
//! URL on its interval), parsed by `tocsin-intel` on the blocking pool,
//! and every feed's last good indicators rebuilt into one set swapped into
//! the pipeline's [`tocsin_intel::IntelHandle`] without pausing ingest.
//! Each load, good or failed, is recorded in the store for the console.
//!
//! ```text
//! [[intel.feeds]] ─► fetch (file | HTTPS + Auth-Key, bounded) ─► feeds::parse
//!                 ─► last good per feed ─► build_set ─► IntelHandle::swap
//!                 └► Store::record_feed (status, problems) ─► console
//!                 └► Round::new (indicators never seen) ─► retro-hunt
//! national list   ─► national::import ─► sightings for the owning agencies
//! ```
//!
//! * [`FeedsConfig`] (`[intel]`) → [`Feeds::new`] → [`Feeds::run`];
//! * [`fetch::fetch`]: bounded reads, an Auth-Key per feed, a 401 that
//!   says what to do;
//! * [`national`]: the national center's list as sightings.

pub mod fetch;
mod loader;
mod misp;
pub mod national;
mod settings;

pub use loader::{Feeds, Round, build_set};
pub use settings::{FeedConfig, FeedsConfig, MIN_URL_INTERVAL};
