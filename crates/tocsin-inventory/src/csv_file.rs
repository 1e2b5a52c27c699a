//! Spreadsheet exports: `agencies.csv`, `contacts.csv`, `assets.csv`.
//!
//! The first row names the columns (any order). Cells holding several values
//! (ranges, addresses, e-mails…) separate them with `;`. Which table a file
//! holds is told by its header: an `owner` column means assets, an `agency`
//! column contacts, otherwise agencies.
//!
//! | file | columns (required in bold) |
//! |---|---|
//! | agencies | **code**, **name**, **kind**, name_en, parent, ranges |
//! | contacts | **agency**, **name**, role, emails, phones |
//! | assets | **code**, **name**, **kind**, **owner**, **level**, addresses, hostnames, urls, description |
//!
//! Contacts are a table of their own because a spreadsheet cell cannot
//! hold a list of records; each row names its agency by code. Header
//! names are matched without regard to case or surrounding spaces, and
//! every cell is trimmed.

use tocsin_model::Inventory;

use crate::{Diagnostic, Diagnostics, Draft, DraftAgency, DraftAsset, DraftContact, Src};

/// The columns of `agencies.csv`, in the order [`to_csv`] writes them.
const AGENCY_COLS: &[&str] = &["code", "name", "kind", "name_en", "parent", "ranges"];
/// The agency columns a file must have (the rest may be left out).
const AGENCY_REQ: &[&str] = &["code", "name", "kind"];
/// The columns of `contacts.csv`, in the order [`to_csv`] writes them.
const CONTACT_COLS: &[&str] = &["agency", "name", "role", "emails", "phones"];
/// The contact columns a file must have.
const CONTACT_REQ: &[&str] = &["agency", "name"];
/// The columns of `assets.csv`, in the order [`to_csv`] writes them.
const ASSET_COLS: &[&str] = &[
    "code",
    "name",
    "kind",
    "owner",
    "level",
    "addresses",
    "hostnames",
    "urls",
    "description",
];
/// The asset columns a file must have.
const ASSET_REQ: &[&str] = &["code", "name", "kind", "owner", "level"];

/// A file's header, to find cells by column name whatever the column
/// order.
struct Table {
    /// The header's names, trimmed and lower-cased.
    cols: Vec<String>,
}

impl Table {
    /// The trimmed cell of `rec` under `col`; empty when the file has no
    /// such column (an optional one left out).
    fn get<'r>(&self, rec: &'r csv::StringRecord, col: &str) -> &'r str {
        self.cols
            .iter()
            .position(|c| c == col)
            .and_then(|i| rec.get(i))
            .map(str::trim)
            .unwrap_or("")
    }
}

/// The values of a `;`-separated cell, each trimmed; empty pieces (a
/// trailing `;`, an empty cell) are dropped.
fn multi(cell: &str, line: usize) -> Vec<Src<String>> {
    cell.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| Src::new(s.to_string(), line))
        .collect()
}

/// An optional value: an empty cell is absent.
fn opt(cell: &str, line: usize) -> Option<Src<String>> {
    (!cell.is_empty()).then(|| Src::new(cell.to_string(), line))
}

/// Reads one CSV export into `draft` (contacts attach to agencies already in
/// the draft, so load agencies first).
///
/// `file` is the name used in diagnostics. A byte-order mark, which
/// spreadsheets often put at the start of an export, is skipped. Header
/// problems (unknown or missing columns) are reported together and stop
/// the read; after that every bad row is reported and the good rows are
/// still added to `draft`. A row with a different number of cells than
/// the header is an error, and a row's line is where it starts (a quoted
/// cell may span lines).
pub fn parse_csv(text: &str, file: &str, draft: &mut Draft) -> Result<(), Diagnostics> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let header = rdr
        .headers()
        .map_err(|e| one(file, 1, None, e.to_string()))?;
    let cols: Vec<String> = header.iter().map(|c| c.trim().to_lowercase()).collect();
    let (known, required) = if cols.iter().any(|c| c == "owner") {
        (ASSET_COLS, ASSET_REQ)
    } else if cols.iter().any(|c| c == "agency") {
        (CONTACT_COLS, CONTACT_REQ)
    } else {
        (AGENCY_COLS, AGENCY_REQ)
    };
    let mut diags = Vec::new();
    for c in &cols {
        if !known.contains(&c.as_str()) {
            diags.push(Diagnostic::at(
                file,
                1,
                c,
                format!("unknown column; expected: {}", known.join(", ")),
            ));
        }
    }
    for r in required {
        if !cols.iter().any(|c| c == r) {
            diags.push(Diagnostic::at(file, 1, r, "required column is missing"));
        }
    }
    if !diags.is_empty() {
        return Err(Diagnostics(diags));
    }
    let table = Table { cols };
    for rec in rdr.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line() as usize).unwrap_or(0);
                diags.push(Diagnostic {
                    file: file.to_string(),
                    line,
                    field: None,
                    message: e.to_string(),
                });
                continue;
            }
        };
        let line = rec.position().map(|p| p.line() as usize).unwrap_or(0);
        let f = |c: &str| table.get(&rec, c);
        let s = |c: &str| Src::new(f(c).to_string(), line);
        if known == ASSET_COLS {
            draft.assets.push(DraftAsset {
                file: file.to_string(),
                line,
                code: s("code"),
                name: s("name"),
                kind: s("kind"),
                owner: s("owner"),
                level: s("level"),
                addresses: multi(f("addresses"), line),
                hostnames: multi(f("hostnames"), line),
                urls: multi(f("urls"), line),
                description: opt(f("description"), line).map(|d| d.value),
            });
        } else if known == CONTACT_COLS {
            let contact = DraftContact {
                line,
                name: s("name"),
                role: f("role").to_string(),
                emails: multi(f("emails"), line),
                phones: multi(f("phones"), line),
            };
            match draft
                .agencies
                .iter_mut()
                .find(|a| a.code.value == f("agency"))
            {
                Some(a) => a.contacts.push(contact),
                None => diags.push(Diagnostic::at(
                    file,
                    line,
                    "agency",
                    format!("no agency with code `{}` was loaded", f("agency")),
                )),
            }
        } else {
            draft.agencies.push(DraftAgency {
                file: file.to_string(),
                line,
                code: s("code"),
                name: s("name"),
                name_en: opt(f("name_en"), line),
                kind: s("kind"),
                parent: opt(f("parent"), line),
                ranges: multi(f("ranges"), line),
                contacts: Vec::new(),
            });
        }
    }
    if diags.is_empty() {
        Ok(())
    } else {
        Err(Diagnostics(diags))
    }
}

/// A single problem as a [`Diagnostics`], for errors that stop the read.
fn one(file: &str, line: usize, field: Option<&str>, message: String) -> Diagnostics {
    Diagnostics(vec![Diagnostic {
        file: file.to_string(),
        line,
        field: field.map(str::to_string),
        message,
    }])
}

/// The three CSV exports of an inventory: (agencies, contacts, assets).
///
/// Every column is written, empty when there is no value, and lists are
/// joined with `;` as [`parse_csv`] splits them; the csv writer quotes
/// cells that need it. Writing to memory does not fail in practice; the
/// error is the csv writer's, passed on.
pub fn to_csv(inv: &Inventory) -> Result<(String, String, String), csv::Error> {
    let join = |v: &[String]| v.join(";");
    let mut ag = csv::Writer::from_writer(Vec::new());
    ag.write_record(AGENCY_COLS)?;
    let mut ct = csv::Writer::from_writer(Vec::new());
    ct.write_record(CONTACT_COLS)?;
    for a in &inv.agencies {
        let ranges: Vec<String> = a.ranges.iter().map(|r| r.to_string()).collect();
        ag.write_record([
            a.code.as_str(),
            &a.name,
            a.kind.as_str(),
            a.name_en.as_deref().unwrap_or(""),
            a.parent.as_ref().map(|p| p.as_str()).unwrap_or(""),
            &join(&ranges),
        ])?;
        for c in &a.contacts {
            ct.write_record([
                a.code.as_str(),
                &c.name,
                &c.role,
                &join(&c.emails),
                &join(&c.phones),
            ])?;
        }
    }
    let mut asw = csv::Writer::from_writer(Vec::new());
    asw.write_record(ASSET_COLS)?;
    for a in &inv.assets {
        let addrs: Vec<String> = a.addresses.iter().map(|r| r.to_string()).collect();
        asw.write_record([
            a.code.as_str(),
            &a.name,
            a.kind.as_str(),
            a.owner.as_str(),
            &a.level.get().to_string(),
            &join(&addrs),
            &join(&a.hostnames),
            &join(&a.urls),
            a.description.as_deref().unwrap_or(""),
        ])?;
    }
    let s = |w: csv::Writer<Vec<u8>>| -> Result<String, csv::Error> {
        let bytes = w.into_inner().map_err(|e| e.into_error())?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    Ok((s(ag)?, s(ct)?, s(asw)?))
}
