//! Composition: the configuration turned into running stages, and the
//! commands of the `tocsin` binary. The end of the flow, above every other
//! crate; the binary only parses its command line and calls in here.
//!
//! ```text
//! tocsin.toml ─► Config ─► node::run ─┬─ inputs (tocsin-ingest) ─► queue ─► pipeline (tocsin-pipeline)
//!                                      └─ console (tocsin-web)
//!                          hunt::run      files ─► tocsin-hunt
//!                          inventory::run files ⇄ store
//!                          demo::run      province + feed (tocsin-sim) ─► node::run
//! ```
//!
//! * [`config`]: `tocsin.toml` (every key in `tocsin.example.toml`) with
//!   the environment and flags over it; unknown keys are errors with their
//!   line.
//! * [`node`]: a node of the deployment; today all roles in one process.
//! * [`rules`]: the detection rules in force (Tocsin's own pack is built
//!   in).
//! * [`intel`]: the feed loader and retro-hunt of a node, and `tocsin intel`.
//! * [`hunt`], [`inventory`], [`demo`], [`users`]: the commands.
//!
//! Commands report with `anyhow`: this crate is the binary's edge, split
//! out so the binary is its command line alone.

pub mod config;
pub mod demo;
pub mod hunt;
pub mod intel;
pub mod inventory;
pub mod node;
pub mod rules;
pub mod users;

pub use config::{Config, Overrides};

/// Makes every file and directory this process creates from now on
/// readable by its owner alone (umask 077): the queue, the archive, the
/// database, checkpoints and dead letters hold the agencies' logs, and
/// the database their contacts. Called first thing by the binary.
pub fn private_files() {
    rustix::process::umask(rustix::fs::Mode::from_bits_truncate(0o077));
}
