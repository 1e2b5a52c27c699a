//! The human-edited inventory file (TOML).
//!
//! ```toml
//! [[agency]]
//! code = "STC"
//! name = "Sở Tài chính"
//! name_en = "Department of Finance"
//! kind = "department"        # department | sector | commune | district | enterprise | other
//! parent = "UBND-TINH"       # optional
//! ranges = ["10.36.12.0/24", "2001:db8:36:12::/64"]
//!
//! [[agency.contacts]]
//! name = "Nguyễn Văn An"
//! role = "Cán bộ CNTT"
//! emails = ["an.nv@stc.example.gov.vn"]
//! phones = ["0912 345 678"]
//!
//! [[asset]]
//! code = "WEB-STC"
//! name = "Cổng thông tin Sở Tài chính"
//! kind = "website"           # server | website | service | network_device | endpoint_group
//! owner = "STC"
//! level = 2                  # 1–5, Decree 85/2016/NĐ-CP
//! addresses = ["10.36.250.21"]
//! hostnames = ["stc.example.gov.vn"]
//! urls = ["https://stc.example.gov.vn/"]
//! ```
//!
//! Reading goes through `Raw*` mirrors of the file whose values are
//! wrapped in `toml::Spanned`: the span gives each value's byte offset,
//! which a [`LineIndex`] turns into the line a diagnostic names. Writing
//! goes through `Out*` mirrors borrowing from the inventory, which leave
//! out empty lists and absent values so an export reads like a
//! hand-written file.

use serde::{Deserialize, Serialize};
use tocsin_model::Inventory;
use toml::Spanned;

use crate::diag::LineIndex;
use crate::{Diagnostic, Diagnostics, Draft, DraftAgency, DraftAsset, DraftContact, Src};

/// The file as written: `[[agency]]` and `[[asset]]` tables, either may be
/// missing. Unknown keys are refused here and in every table below, so a
/// misspelt key is reported instead of silently ignored.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    agency: Vec<Spanned<RawAgency>>,
    #[serde(default)]
    asset: Vec<Spanned<RawAsset>>,
}

/// One `[[agency]]` table; its contacts are nested `[[agency.contacts]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAgency {
    code: Spanned<String>,
    name: Spanned<String>,
    name_en: Option<Spanned<String>>,
    kind: Spanned<String>,
    parent: Option<Spanned<String>>,
    #[serde(default)]
    ranges: Vec<Spanned<String>>,
    #[serde(default)]
    contacts: Vec<Spanned<RawContact>>,
}

/// One `[[agency.contacts]]` table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawContact {
    name: Spanned<String>,
    #[serde(default)]
    role: String,
    #[serde(default)]
    emails: Vec<Spanned<String>>,
    #[serde(default)]
    phones: Vec<Spanned<String>>,
}

/// A level as written: `level = 2` and `level = "2"` are both accepted, and
/// either becomes text for validation, which checks the range once for
/// TOML and CSV alike.
#[derive(Deserialize)]
#[serde(untagged)]
enum NumOrStr {
    /// A TOML integer.
    N(i64),
    /// A TOML string.
    S(String),
}

/// One `[[asset]]` table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAsset {
    code: Spanned<String>,
    name: Spanned<String>,
    kind: Spanned<String>,
    owner: Spanned<String>,
    level: Spanned<NumOrStr>,
    #[serde(default)]
    addresses: Vec<Spanned<String>>,
    #[serde(default)]
    hostnames: Vec<Spanned<String>>,
    #[serde(default)]
    urls: Vec<Spanned<String>>,
    description: Option<String>,
}

/// Reads inventory TOML into a draft. Syntax and shape errors (unknown keys,
/// missing fields, wrong types) are reported with their line.
///
/// Unlike validation, this reports only the first such error: the TOML
/// parser stops there. `file` is the name used in diagnostics.
pub fn parse_toml(text: &str, file: &str) -> Result<Draft, Diagnostics> {
    let lines = LineIndex::new(text);
    let line_of = |_: &str, offset: usize| lines.line(offset);
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(0);
        Diagnostics(vec![Diagnostic {
            file: file.to_string(),
            line,
            field: None,
            message: e.message().trim().to_string(),
        }])
    })?;
    let src = |s: Spanned<String>| {
        let line = line_of(text, s.span().start);
        Src::new(s.into_inner(), line)
    };
    let srcs = |v: Vec<Spanned<String>>| v.into_iter().map(src).collect::<Vec<_>>();
    let mut draft = Draft::default();
    for a in raw.agency {
        let line = line_of(text, a.span().start);
        let a = a.into_inner();
        draft.agencies.push(DraftAgency {
            file: file.to_string(),
            line,
            code: src(a.code),
            name: src(a.name),
            name_en: a.name_en.map(src),
            kind: src(a.kind),
            parent: a.parent.map(src),
            ranges: srcs(a.ranges),
            contacts: a
                .contacts
                .into_iter()
                .map(|c| {
                    let line = line_of(text, c.span().start);
                    let c = c.into_inner();
                    DraftContact {
                        line,
                        name: src(c.name),
                        role: c.role,
                        emails: srcs(c.emails),
                        phones: srcs(c.phones),
                    }
                })
                .collect(),
        });
    }
    for a in raw.asset {
        let line = line_of(text, a.span().start);
        let a = a.into_inner();
        let level_line = line_of(text, a.level.span().start);
        let level = match a.level.into_inner() {
            NumOrStr::N(n) => n.to_string(),
            NumOrStr::S(s) => s,
        };
        draft.assets.push(DraftAsset {
            file: file.to_string(),
            line,
            code: src(a.code),
            name: src(a.name),
            kind: src(a.kind),
            owner: src(a.owner),
            level: Src::new(level, level_line),
            addresses: srcs(a.addresses),
            hostnames: srcs(a.hostnames),
            urls: srcs(a.urls),
            description: a.description,
        });
    }
    Ok(draft)
}

/// The file [`to_toml`] writes: agencies first, then assets, each in the
/// inventory's order.
#[derive(Serialize)]
struct OutFile<'a> {
    agency: Vec<OutAgency<'a>>,
    asset: Vec<OutAsset<'a>>,
}

/// One agency as written; the fields are in the order of the example
/// above.
#[derive(Serialize)]
struct OutAgency<'a> {
    code: &'a str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name_en: Option<&'a str>,
    kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ranges: Vec<String>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    contacts: &'a [tocsin_model::Contact],
}

/// One asset as written; the level as a number.
#[derive(Serialize)]
struct OutAsset<'a> {
    code: &'a str,
    name: &'a str,
    kind: &'a str,
    owner: &'a str,
    level: u8,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    addresses: Vec<String>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    hostnames: &'a [String],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    urls: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
}

/// Writes an inventory as TOML that [`parse_toml`] reads back unchanged.
///
/// Starts with a comment saying the file was exported. Serialization is
/// not expected to fail; should it, the reason is written into the output
/// as a comment rather than returned.
pub fn to_toml(inv: &Inventory) -> String {
    let out = OutFile {
        agency: inv
            .agencies
            .iter()
            .map(|a| OutAgency {
                code: a.code.as_str(),
                name: &a.name,
                name_en: a.name_en.as_deref(),
                kind: a.kind.as_str(),
                parent: a.parent.as_ref().map(|p| p.as_str()),
                ranges: a.ranges.iter().map(|r| r.to_string()).collect(),
                contacts: &a.contacts,
            })
            .collect(),
        asset: inv
            .assets
            .iter()
            .map(|a| OutAsset {
                code: a.code.as_str(),
                name: &a.name,
                kind: a.kind.as_str(),
                owner: a.owner.as_str(),
                level: a.level.get(),
                addresses: a.addresses.iter().map(|r| r.to_string()).collect(),
                hostnames: &a.hostnames,
                urls: &a.urls,
                description: a.description.as_deref(),
            })
            .collect(),
    };
    let body = toml::to_string(&out).unwrap_or_else(|e| format!("# export failed: {e}\n"));
    format!("# Tocsin province inventory (exported)\n\n{body}")
}
