//! Inventory records as read, each value with the line it came from.
//!
//! Every value is still the text that was written (a level is `"2"`, a
//! range `"10.36.12.0/24"`): parsing it is validation's job, so that a bad
//! value becomes a [`Diagnostic`](crate::Diagnostic) with its line instead
//! of stopping the read. The TOML and CSV readers both produce these
//! types, which is why validation is written once for both formats.

use tocsin_model::{Agency, Asset, Inventory};

/// A value and the line it was written on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Src<T> {
    /// The value as written.
    pub value: T,
    /// 1-based line (0 for records that came from the database).
    pub line: usize,
}

impl<T> Src<T> {
    /// A value at a line.
    pub fn new(value: T, line: usize) -> Self {
        Src { value, line }
    }
}

/// An agency as read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DraftAgency {
    /// Source file.
    pub file: String,
    /// Line where the record starts, for problems that concern the record
    /// rather than one value.
    pub line: usize,
    /// `code`: the agency's identifier, which parents, asset owners, CSV
    /// contacts and [`Draft::merge`] refer to.
    pub code: Src<String>,
    /// `name`.
    pub name: Src<String>,
    /// `name_en`.
    pub name_en: Option<Src<String>>,
    /// `kind`.
    pub kind: Src<String>,
    /// `parent`: another agency's code.
    pub parent: Option<Src<String>>,
    /// `ranges`: the address blocks whose traffic is this agency's, as
    /// CIDR text (a bare address is a single-address block).
    pub ranges: Vec<Src<String>>,
    /// `contacts`.
    pub contacts: Vec<DraftContact>,
}

/// A contact as read. It has no code of its own: it belongs to the agency
/// it is listed under.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DraftContact {
    /// Line of the record.
    pub line: usize,
    /// `name`.
    pub name: Src<String>,
    /// `role`: free text, never checked (hence no line).
    pub role: String,
    /// `emails`.
    pub emails: Vec<Src<String>>,
    /// `phones`.
    pub phones: Vec<Src<String>>,
}

/// An asset as read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DraftAsset {
    /// Source file.
    pub file: String,
    /// Line of the record.
    pub line: usize,
    /// `code`.
    pub code: Src<String>,
    /// `name`.
    pub name: Src<String>,
    /// `kind`.
    pub kind: Src<String>,
    /// `owner` (an agency code).
    pub owner: Src<String>,
    /// `level` (1–5), as written. Text even when the TOML had a number, so
    /// both formats are checked the same way.
    pub level: Src<String>,
    /// `addresses`: CIDR text, like an agency's ranges.
    pub addresses: Vec<Src<String>>,
    /// `hostnames`.
    pub hostnames: Vec<Src<String>>,
    /// `urls`: http or https (a website needs at least one).
    pub urls: Vec<Src<String>>,
    /// `description`: free text, never checked.
    pub description: Option<String>,
}

/// A whole inventory as read, not yet validated.
///
/// May hold anything a file can: duplicate codes, references to missing
/// agencies, values that do not parse. [`Draft::validate`] is the only way
/// from here to an inventory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Draft {
    /// Agencies in file order.
    pub agencies: Vec<DraftAgency>,
    /// Assets in file order.
    pub assets: Vec<DraftAsset>,
}

impl Draft {
    /// A draft of an already valid inventory (for merging with the stored
    /// one: its records are reported as coming from `origin`).
    ///
    /// Its values carry line 0, so a problem found in a stored record names
    /// `origin` without a line.
    pub fn from_inventory(inv: &Inventory, origin: &str) -> Self {
        Draft {
            agencies: inv
                .agencies
                .iter()
                .map(|a| agency_draft(a, origin))
                .collect(),
            assets: inv.assets.iter().map(|a| asset_draft(a, origin)).collect(),
        }
    }

    /// Adds `newer` on top: records with a code already present replace the
    /// old record in place; new codes are appended.
    ///
    /// A replaced record is replaced whole, its contacts included: nothing
    /// of the old one is kept. Nothing is ever removed, so merging cannot
    /// delete an agency or asset. A code listed twice in `newer` ends as
    /// one record, the later: such a duplicate is not left for
    /// validation to report.
    pub fn merge(&mut self, newer: Draft) {
        for a in newer.agencies {
            match self
                .agencies
                .iter_mut()
                .find(|x| x.code.value == a.code.value)
            {
                Some(slot) => *slot = a,
                None => self.agencies.push(a),
            }
        }
        for a in newer.assets {
            match self
                .assets
                .iter_mut()
                .find(|x| x.code.value == a.code.value)
            {
                Some(slot) => *slot = a,
                None => self.assets.push(a),
            }
        }
    }
}

/// A stored value as draft text, at line 0.
fn s(v: &str) -> Src<String> {
    Src::new(v.to_string(), 0)
}

/// A valid agency back as draft text, written the way the files write it.
fn agency_draft(a: &Agency, origin: &str) -> DraftAgency {
    DraftAgency {
        file: origin.to_string(),
        line: 0,
        code: s(a.code.as_str()),
        name: s(&a.name),
        name_en: a.name_en.as_deref().map(s),
        kind: s(a.kind.as_str()),
        parent: a.parent.as_ref().map(|p| s(p.as_str())),
        ranges: a.ranges.iter().map(|r| s(&r.to_string())).collect(),
        contacts: a
            .contacts
            .iter()
            .map(|c| DraftContact {
                line: 0,
                name: s(&c.name),
                role: c.role.clone(),
                emails: c.emails.iter().map(|e| s(e)).collect(),
                phones: c.phones.iter().map(|p| s(p)).collect(),
            })
            .collect(),
    }
}

/// A valid asset back as draft text, written the way the files write it.
fn asset_draft(a: &Asset, origin: &str) -> DraftAsset {
    DraftAsset {
        file: origin.to_string(),
        line: 0,
        code: s(a.code.as_str()),
        name: s(&a.name),
        kind: s(a.kind.as_str()),
        owner: s(a.owner.as_str()),
        level: s(&a.level.get().to_string()),
        addresses: a.addresses.iter().map(|r| s(&r.to_string())).collect(),
        hostnames: a.hostnames.iter().map(|h| s(h)).collect(),
        urls: a.urls.iter().map(|u| s(u)).collect(),
        description: a.description.clone(),
    }
}
