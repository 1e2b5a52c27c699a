//! Inventory records as read, each value with the line it came from.

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
    /// Line of the record.
    pub line: usize,
    /// `code`.
    pub code: Src<String>,
    /// `name`.
    pub name: Src<String>,
    /// `name_en`.
    pub name_en: Option<Src<String>>,
    /// `kind`.
    pub kind: Src<String>,
    /// `parent`.
    pub parent: Option<Src<String>>,
    /// `ranges`.
    pub ranges: Vec<Src<String>>,
    /// `contacts`.
    pub contacts: Vec<DraftContact>,
}

/// A contact as read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DraftContact {
    /// Line of the record.
    pub line: usize,
    /// `name`.
    pub name: Src<String>,
    /// `role`.
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
    /// `level` (1–5), as written.
    pub level: Src<String>,
    /// `addresses`.
    pub addresses: Vec<Src<String>>,
    /// `hostnames`.
    pub hostnames: Vec<Src<String>>,
    /// `urls`.
    pub urls: Vec<Src<String>>,
    /// `description`.
    pub description: Option<String>,
}

/// A whole inventory as read, not yet validated.
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

fn s(v: &str) -> Src<String> {
    Src::new(v.to_string(), 0)
}

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
