//! Scopes: which agencies a caller, or an input, may speak for.
//!
//! The same idea serves two boundaries. A person's scope decides what the
//! store lets them read (an agency's IT contact sees their agency and its
//! descendants, the center's staff everything); an input's scope decides
//! which agencies its events may be attributed to (a collector an agency
//! runs cannot file events under another agency).

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::Deserialize;

use crate::{AgencyCode, Inventory};

/// A set of agencies, or all of them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Scope {
    /// Every agency, and data attributed to none (the center's own view).
    #[default]
    All,
    /// Only these agencies (never unattributed data).
    Agencies(Arc<BTreeSet<AgencyCode>>),
}

impl Scope {
    /// Whether data of `agency` is inside. Unattributed data (`None`) is
    /// inside only the whole scope.
    pub fn allows(&self, agency: Option<&AgencyCode>) -> bool {
        match (self, agency) {
            (Scope::All, _) => true,
            (Scope::Agencies(set), Some(a)) => set.contains(a),
            (Scope::Agencies(_), None) => false,
        }
    }

    /// The agencies, or None for all.
    pub fn agencies(&self) -> Option<&BTreeSet<AgencyCode>> {
        match self {
            Scope::All => None,
            Scope::Agencies(set) => Some(set),
        }
    }

    /// True for the whole province.
    pub fn is_all(&self) -> bool {
        matches!(self, Scope::All)
    }
}

impl Inventory {
    /// `code` and every agency below it (communes under their former
    /// district…), as a scope. An unknown code gives a scope of that code
    /// alone, so nothing else leaks through a typo.
    pub fn subtree(&self, code: &AgencyCode) -> Scope {
        let mut set = BTreeSet::from([code.clone()]);
        // Parents are listed before or after children: repeat until stable
        // (depth is small: province → district → commune).
        loop {
            let before = set.len();
            for a in &self.agencies {
                if let Some(p) = &a.parent
                    && set.contains(p)
                {
                    set.insert(a.code.clone());
                }
            }
            if set.len() == before {
                break;
            }
        }
        Scope::Agencies(Arc::new(set))
    }
}

/// Which agencies an input may attribute its events to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ScopeSetting {
    /// The input's agency and its descendants (every agency for an input
    /// bound to none: the center's own collectors).
    #[default]
    Agency,
    /// Every agency.
    All,
    /// These agencies and their descendants.
    Agencies(Vec<AgencyCode>),
}

impl<'de> Deserialize<'de> for ScopeSetting {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Word(String),
            List(Vec<AgencyCode>),
        }
        match Raw::deserialize(d)? {
            Raw::Word(w) if w == "all" => Ok(ScopeSetting::All),
            Raw::Word(w) if w == "agency" => Ok(ScopeSetting::Agency),
            Raw::Word(w) => Err(serde::de::Error::custom(format!(
                "scope `{w}`: expected \"agency\", \"all\" or a list of agency codes"
            ))),
            Raw::List(l) => Ok(ScopeSetting::Agencies(l)),
        }
    }
}

/// What one input (or HTTP sender) may speak for, from its configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceTrust {
    /// The agency the input is bound to (an HTTP key's agency).
    pub agency: Option<AgencyCode>,
    /// How far beyond it the input's events may be attributed.
    pub scope: ScopeSetting,
    /// The asset a file input reads for (a website's access log).
    pub asset: Option<crate::AssetCode>,
    /// A sensor: its own alerts (Suricata `alert` records) become alerts.
    /// From any other input such records are kept as events only — anyone
    /// can write an `alert` record.
    pub sensor: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Agency, AgencyKind};

    #[test]
    fn a_subtree_holds_descendants_only() {
        let mut inv = Inventory::default();
        let mut commune = Agency::new("XA-A", "Xã A", AgencyKind::Commune);
        commune.parent = Some("H-1".into());
        let mut hamlet = Agency::new("XA-A-1", "Thôn 1", AgencyKind::Other);
        hamlet.parent = Some("XA-A".into());
        inv.agencies = vec![
            hamlet,
            commune,
            Agency::new("H-1", "Huyện 1", AgencyKind::District),
            Agency::new("STC", "Sở Tài chính", AgencyKind::Department),
        ];
        let s = inv.subtree(&"H-1".into());
        for code in ["H-1", "XA-A", "XA-A-1"] {
            assert!(s.allows(Some(&code.into())), "{code}");
        }
        assert!(!s.allows(Some(&"STC".into())));
        assert!(!s.allows(None));
        assert!(Scope::All.allows(None));
        let typo = inv.subtree(&"NOPE".into());
        assert_eq!(typo.agencies().map(|s| s.len()), Some(1));
    }
}
