//! `tocsin inventory …`: validate, import, list, export, look up.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use tocsin_detect::AttributionPolicy;
use tocsin_inventory::{Diagnostics, Draft, load_path, to_csv, to_toml};
use tocsin_model::Inventory;
use tocsin_store::Store;

use crate::config::Config;

/// What `tocsin inventory list` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListWhat {
    /// Agencies.
    Agencies,
    /// Assets.
    Assets,
}

/// The format of `tocsin inventory export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// One TOML file.
    Toml,
    /// agencies.csv, contacts.csv, assets.csv.
    Csv,
}

/// A `tocsin inventory` command.
#[derive(Debug, Clone)]
pub enum Command {
    /// Check files; print every problem.
    Validate {
        /// Files or directories.
        paths: Vec<PathBuf>,
    },
    /// Import files (all or nothing).
    Import {
        /// Files or directories.
        paths: Vec<PathBuf>,
        /// Make the database exactly these files.
        replace: bool,
        /// Report, changing nothing.
        dry_run: bool,
    },
    /// List agencies or assets.
    List {
        /// Which.
        what: ListWhat,
        /// Only this kind.
        kind: Option<String>,
        /// JSON instead of a table.
        json: bool,
    },
    /// Export the stored inventory.
    Export {
        /// Format.
        format: ExportFormat,
        /// File or directory (default: standard output, TOML).
        out: Option<PathBuf>,
    },
    /// The agency and asset of an address.
    Lookup {
        /// The address.
        ip: IpAddr,
    },
}

/// Opens the configured database (applying migrations).
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    Ok(config.database.build().await?)
}

/// Reads every path into one draft, collecting all problems before failing.
fn load_all(paths: &[PathBuf]) -> Result<Draft, Diagnostics> {
    let mut draft = Draft::default();
    let mut diags = Vec::new();
    for p in paths {
        match load_path(p) {
            Ok(d) => draft.merge(d),
            Err(e) => diags.extend(e.0),
        }
    }
    if diags.is_empty() {
        Ok(draft)
    } else {
        Err(Diagnostics(diags))
    }
}

fn report(d: &Diagnostics) -> anyhow::Error {
    for line in &d.0 {
        eprintln!("{line}");
    }
    anyhow::anyhow!(
        "{} problem{} found; nothing was changed",
        d.0.len(),
        if d.0.len() == 1 { "" } else { "s" }
    )
}

/// Runs a `tocsin inventory` command.
pub async fn run(cmd: Command, config: &Config) -> anyhow::Result<()> {
    match cmd {
        Command::Validate { paths } => {
            let inv = load_all(&paths)
                .and_then(|d| d.validate())
                .map_err(|d| report(&d))?;
            println!(
                "ok: {} agencies, {} assets",
                inv.agencies.len(),
                inv.assets.len()
            );
            Ok(())
        }
        Command::Import {
            paths,
            replace,
            dry_run,
        } => {
            let incoming = load_all(&paths).map_err(|d| report(&d))?;
            let store = open_store(config).await?;
            let stored = store.load_inventory().await?;
            let (added, updated) = diff_counts(&stored, &incoming);
            let draft = if replace {
                incoming
            } else {
                let mut base = Draft::from_inventory(&stored, "database");
                base.merge(incoming);
                base
            };
            let inv = draft.validate().map_err(|d| report(&d))?;
            let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
            let summary = format!(
                "{}: {} agencies, {} assets ({added} added, {updated} updated{})",
                names.join(", "),
                inv.agencies.len(),
                inv.assets.len(),
                if replace { ", replacing the rest" } else { "" }
            );
            if dry_run {
                println!("dry run, nothing changed: {summary}");
                return Ok(());
            }
            store
                .replace_inventory(&inv, &tocsin_model::Actor::system("cli"), &summary)
                .await
                .context("import failed; the database is unchanged")?;
            println!("imported {summary}");
            Ok(())
        }
        Command::List { what, kind, json } => {
            let inv = open_store(config).await?.load_inventory().await?;
            list(&inv, what, kind.as_deref(), json)
        }
        Command::Export { format, out } => {
            let inv = open_store(config).await?.load_inventory().await?;
            export(&inv, format, out)
        }
        Command::Lookup { ip } => {
            let inv = open_store(config).await?.load_inventory().await?;
            // The same policy the pipeline and the console use.
            let policy = AttributionPolicy::new(0, Arc::new(inv), &Default::default());
            let (agency, asset) = policy.lookup(ip);
            match agency {
                Some(a) => println!("agency: {} ({})", a.code, a.name),
                None => println!("agency: none"),
            }
            match asset {
                Some(a) => println!("asset:  {} ({}, level {})", a.code, a.name, a.level.get()),
                None => println!("asset:  none"),
            }
            Ok(())
        }
    }
}

/// (records new to the database, records replacing one with the same code).
fn diff_counts(stored: &Inventory, incoming: &Draft) -> (usize, usize) {
    let mut added = 0;
    let mut updated = 0;
    for a in &incoming.agencies {
        if stored.agency(&a.code.value).is_some() {
            updated += 1;
        } else {
            added += 1;
        }
    }
    for a in &incoming.assets {
        if stored.asset(&a.code.value).is_some() {
            updated += 1;
        } else {
            added += 1;
        }
    }
    (added, updated)
}

fn list(inv: &Inventory, what: ListWhat, kind: Option<&str>, json: bool) -> anyhow::Result<()> {
    match what {
        ListWhat::Agencies => {
            let rows: Vec<_> = inv
                .agencies
                .iter()
                .filter(|a| kind.is_none_or(|k| a.kind.as_str() == k))
                .collect();
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
                return Ok(());
            }
            println!("{:<22} {:<11} {:<34} NAME", "CODE", "KIND", "RANGES");
            for a in &rows {
                let ranges: Vec<String> = a.ranges.iter().map(|r| r.to_string()).collect();
                println!(
                    "{:<22} {:<11} {:<34} {}",
                    a.code,
                    a.kind,
                    ranges.join(","),
                    a.name
                );
            }
            eprintln!("{} agencies", rows.len());
        }
        ListWhat::Assets => {
            let rows: Vec<_> = inv
                .assets
                .iter()
                .filter(|a| kind.is_none_or(|k| a.kind.as_str() == k))
                .collect();
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
                return Ok(());
            }
            println!(
                "{:<18} {:<15} {:<14} {:<3} {:<20} NAME",
                "CODE", "KIND", "OWNER", "LVL", "ADDRESSES"
            );
            for a in &rows {
                let addrs: Vec<String> = a.addresses.iter().map(|r| r.to_string()).collect();
                println!(
                    "{:<18} {:<15} {:<14} {:<3} {:<20} {}",
                    a.code,
                    a.kind,
                    a.owner,
                    a.level.get(),
                    addrs.join(","),
                    a.name
                );
            }
            eprintln!("{} assets", rows.len());
        }
    }
    Ok(())
}

fn export(inv: &Inventory, format: ExportFormat, out: Option<PathBuf>) -> anyhow::Result<()> {
    match (format, out) {
        (ExportFormat::Toml, None) => print!("{}", to_toml(inv)),
        (ExportFormat::Toml, Some(p)) => {
            std::fs::write(&p, to_toml(inv))
                .with_context(|| format!("cannot write {}", p.display()))?;
            eprintln!("wrote {}", p.display());
        }
        (ExportFormat::Csv, None) => {
            bail!("CSV export writes three files: give a directory with --out")
        }
        (ExportFormat::Csv, Some(dir)) => {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let (ag, ct, asv) = to_csv(inv)?;
            for (name, body) in [
                ("agencies.csv", ag),
                ("contacts.csv", ct),
                ("assets.csv", asv),
            ] {
                let p = dir.join(name);
                std::fs::write(&p, body)
                    .with_context(|| format!("cannot write {}", p.display()))?;
            }
            eprintln!(
                "wrote agencies.csv, contacts.csv, assets.csv to {}",
                dir.display()
            );
        }
    }
    Ok(())
}
