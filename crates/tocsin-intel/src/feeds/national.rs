//! The national center's list of the province's addresses seen in
//! botnets: a spreadsheet or CSV of address, time, botnet or malware
//! family, sometimes port and domain, with Vietnamese or English headers. Its rows are
//! sightings for the agencies owning the addresses, not indicators.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use tocsin_model::fold_vietnamese;

use super::abusech::{short, split_csv};
use super::time::parse as time;
use super::{Parsed, lines};

/// One row: an address of the province seen in a botnet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NationalRow {
    /// Its line in the file.
    pub line: u64,
    /// The province's address.
    pub ip: IpAddr,
    /// When it was seen.
    pub at: DateTime<Utc>,
    /// The botnet or malware family.
    pub family: Option<String>,
    /// The port, when given.
    pub port: Option<u16>,
    /// The domain it contacted, when given.
    pub domain: Option<String>,
}

#[derive(Default)]
struct Columns {
    ip: Option<usize>,
    at: Option<usize>,
    family: Option<usize>,
    port: Option<usize>,
    domain: Option<usize>,
}

/// Which column is which, from header words in either language.
fn columns(header: &[String]) -> Columns {
    let mut c = Columns::default();
    for (i, h) in header.iter().enumerate() {
        let f = fold_vietnamese(h);
        let slot = if f.starts_with("ip")
            || f.ends_with("ip")
            || f.contains("diachi")
            || f.contains("address")
        {
            &mut c.ip
        } else if f.contains("thoigian") || f.contains("time") || f.contains("ngay") || f == "date"
        {
            &mut c.at
        } else if f.contains("botnet")
            || f.contains("madoc")
            || f.contains("malware")
            || f.contains("family")
            || f.contains("loai")
        {
            &mut c.family
        } else if f.contains("cong") || f.contains("port") {
            &mut c.port
        } else if f.contains("tenmien") || f.contains("domain") {
            &mut c.domain
        } else {
            continue;
        };
        slot.get_or_insert(i);
    }
    c
}

/// Reads the list — a CSV, or a spreadsheet (`.xlsx`, `.xls`, `.ods`: its
/// first sheet) as the national center sends it; bad rows are problems in
/// the returned [`Parsed`].
pub fn parse_national(bytes: &[u8]) -> (Vec<NationalRow>, Parsed) {
    // Spreadsheets are zip (xlsx, ods) or OLE (xls) files.
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return parse_sheet(bytes);
    }
    let mut p = Parsed::default();
    let mut cells = Vec::new();
    for (n, line) in lines(bytes, &mut p) {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        // Spreadsheets saved as CSV in Vietnam often use `;`.
        let row: Vec<String> = if t.contains(';') && !t.contains(',') {
            t.split(';')
                .map(|s| s.trim().trim_matches('"').to_string())
                .collect()
        } else {
            split_csv(t)
                .into_iter()
                .map(|s| s.trim().to_string())
                .collect()
        };
        cells.push((n, row));
    }
    let rows = from_rows(cells, &mut p);
    (rows, p)
}

/// The first sheet of a spreadsheet as rows of text (dates written the
/// way the CSV reader reads them).
fn parse_sheet(bytes: &[u8]) -> (Vec<NationalRow>, Parsed) {
    use calamine::{Data, DataType, Reader};
    let mut p = Parsed::default();
    let mut book = match calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes)) {
        Ok(b) => b,
        Err(e) => {
            p.problem(1, None, format!("not a spreadsheet that can be read: {e}"));
            return (Vec::new(), p);
        }
    };
    let range = match book.worksheet_range_at(0) {
        Some(Ok(r)) => r,
        Some(Err(e)) => {
            p.problem(1, None, format!("the first sheet cannot be read: {e}"));
            return (Vec::new(), p);
        }
        None => {
            p.problem(1, None, "the spreadsheet has no sheet");
            return (Vec::new(), p);
        }
    };
    let cells: Vec<(u64, Vec<String>)> = range
        .rows()
        .enumerate()
        .map(|(i, r)| {
            let row = r
                .iter()
                .map(|c| match c {
                    Data::DateTime(_) => c
                        .as_datetime()
                        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                        .unwrap_or_default(),
                    // Ports and row numbers come as floats.
                    Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => {
                        format!("{}", *f as i64)
                    }
                    other => other.to_string().trim().to_string(),
                })
                .collect();
            (i as u64 + 1, row)
        })
        .filter(|(_, r): &(u64, Vec<String>)| r.iter().any(|c| !c.is_empty()))
        .collect();
    let rows = from_rows(cells, &mut p);
    (rows, p)
}

/// Rows of cells, the first naming the columns, into sightings' rows.
fn from_rows(cells: Vec<(u64, Vec<String>)>, p: &mut Parsed) -> Vec<NationalRow> {
    let mut rows = Vec::new();
    let mut cols: Option<Columns> = None;
    let vn = tocsin_model::vietnam_offset();
    for (n, cells) in cells {
        let Some(c) = &cols else {
            let c = columns(&cells);
            if c.ip.is_none() || c.at.is_none() {
                p.problem(n, None, "the header names no address or time column");
                return rows;
            }
            cols = Some(c);
            continue;
        };
        let get = |i: Option<usize>| {
            i.and_then(|i| cells.get(i))
                .map(String::as_str)
                .filter(|s| !s.is_empty())
        };
        let Some(ip_s) = get(c.ip) else {
            p.problem(n, Some("address"), "missing");
            continue;
        };
        let Ok(ip) = ip_s.parse::<IpAddr>() else {
            p.problem(
                n,
                Some("address"),
                format!("not an address: {:?}", short(ip_s)),
            );
            continue;
        };
        let Some(at) = get(c.at).and_then(|s| time(s, vn)) else {
            p.problem(
                n,
                Some("time"),
                format!("not a time: {:?}", short(get(c.at).unwrap_or(""))),
            );
            continue;
        };
        let port = match get(c.port) {
            None => None,
            Some(s) => match s.parse::<u16>() {
                Ok(p) => Some(p),
                Err(_) => {
                    p.problem(n, Some("port"), format!("not a port: {:?}", short(s)));
                    continue;
                }
            },
        };
        rows.push(NationalRow {
            line: n,
            ip,
            at,
            family: get(c.family).map(|s| s.chars().take(100).collect()),
            port,
            domain: get(c.domain).and_then(crate::indicator::normalize_domain),
        });
    }
    rows
}
