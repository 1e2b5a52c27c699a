//! The province inventory as people keep it: files in, files out.
//!
//! Sits beside `tocsin-model` at the head of the flow: the CLI and the store
//! call it to turn a human-edited TOML file or a spreadsheet's CSV export into
//! a validated [`tocsin_model::Inventory`], and back.
//!
//! Loading has two steps so that *every* problem is reported at once, with
//! file, line and field, and nothing is changed when there is any:
//!
//! 1. [`load_path`] reads a `.toml` file, a `.csv` file or a directory of
//!    `agencies.csv` / `assets.csv` / `contacts.csv` into a [`Draft`]: records
//!    that remember where each value was written.
//! 2. [`Draft::validate`] checks the whole draft — duplicate codes, unknown
//!    parents and owners, parent cycles, bad CIDR ranges, ranges of two
//!    unrelated agencies that overlap, bad URLs, e-mails, levels — and yields
//!    the inventory or the full list of [`Diagnostic`]s.
//!
//! [`to_toml`] and [`to_csv`] write an inventory back out; a file exported and
//! loaded again gives the same inventory. (The synthetic province of the
//! demo and the tests is `tocsin_sim::province`.)
//!
//! An import that adds to the stored inventory rather than replacing it
//! turns the stored one into a draft ([`Draft::from_inventory`]), lays the
//! files on top ([`Draft::merge`]) and validates the result as a whole, so
//! a file may refer to agencies that are only in the database.
//!
//! Nothing here touches the database or the network: the functions take
//! text or paths and return values, which keeps them easy to test and to
//! run as a dry run.
//!
//! ```
//! let text = r#"
//! [[agency]]
//! code = "STC"
//! name = "Sở Tài chính"
//! kind = "department"
//! ranges = ["10.36.12.0/24"]
//! "#;
//! let draft = tocsin_inventory::parse_toml(text, "inventory.toml").unwrap();
//! let inv = draft.validate().unwrap();
//! assert_eq!(inv.agencies[0].name, "Sở Tài chính");
//! ```

mod csv_file;
mod diag;
mod draft;
mod toml_file;
mod validate;

pub use csv_file::{parse_csv, to_csv};
pub use diag::{Diagnostic, Diagnostics};
pub use draft::{Draft, DraftAgency, DraftAsset, DraftContact, Src};
pub use toml_file::{parse_toml, to_toml};

use std::path::Path;

/// Reads an inventory source into a draft: a `.toml` file, a `.csv` file
/// (agencies, assets or contacts, told apart by their header) or a directory
/// holding `inventory.toml` or `agencies.csv` and optional `assets.csv` and
/// `contacts.csv`.
///
/// In a directory, `inventory.toml` wins: the CSV files beside it are then
/// not read. The CSV files are read agencies first, then contacts (which
/// attach to agencies already read), then assets. A single file is told
/// apart by its extension, `.toml` or `.csv` (lower case).
///
/// Only reading and shape are checked here; the draft may still be
/// invalid. An unreadable file, or a path that is none of the above, is
/// one [`Diagnostic`] for the whole file.
pub fn load_path(path: &Path) -> Result<Draft, Diagnostics> {
    let io_err = |p: &Path, e: std::io::Error| {
        Diagnostics(vec![Diagnostic::file(p, format!("cannot read: {e}"))])
    };
    if path.is_dir() {
        let toml = path.join("inventory.toml");
        if toml.exists() {
            return load_path(&toml);
        }
        let mut draft = Draft::default();
        let mut found = false;
        for name in ["agencies.csv", "contacts.csv", "assets.csv"] {
            let p = path.join(name);
            if p.exists() {
                found = true;
                let text = std::fs::read_to_string(&p).map_err(|e| io_err(&p, e))?;
                parse_csv(&text, &p.display().to_string(), &mut draft)?;
            }
        }
        if !found {
            return Err(Diagnostics(vec![Diagnostic::file(
                path,
                "directory holds neither inventory.toml nor agencies.csv".to_string(),
            )]));
        }
        return Ok(draft);
    }
    let text = std::fs::read_to_string(path).map_err(|e| io_err(path, e))?;
    let name = path.display().to_string();
    match path.extension().and_then(|e| e.to_str()) {
        Some("toml") => parse_toml(&text, &name),
        Some("csv") => {
            let mut draft = Draft::default();
            parse_csv(&text, &name, &mut draft)?;
            Ok(draft)
        }
        _ => Err(Diagnostics(vec![Diagnostic::file(
            path,
            "unknown inventory format: use a .toml file, a .csv file or a directory".to_string(),
        )])),
    }
}
