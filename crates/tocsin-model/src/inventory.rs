//! The province inventory: agencies, their contacts and ranges, and assets.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Cidr, named_enum};

macro_rules! code_newtype {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// The code as written in the inventory.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(s.to_string())
            }
        }
    };
}

code_newtype!(
    /// An agency's short code, unique in the province (`STC`, `XA-QUANGPHU`).
    AgencyCode
);
code_newtype!(
    /// An asset's code, unique in the province (`SRV-DC-014`, `WEB-STC`).
    AssetCode
);

named_enum!(
    /// What kind of body an agency is.
    AgencyKind {
        /// A provincial department (Sở) or equivalent unit.
        Department => "department",
        /// A provincial sector body (ngành: police, tax, social insurance…).
        Sector => "sector",
        /// A commune or ward (xã, phường, đặc khu).
        Commune => "commune",
        /// A district-level unit; abolished on 1 July 2025, kept for older data.
        District => "district",
        /// A state enterprise or public service unit.
        Enterprise => "enterprise",
        /// Anything else the center serves.
        Other => "other",
    }
);

named_enum!(
    /// What kind of thing an asset is.
    AssetKind {
        /// A physical or virtual server.
        Server => "server",
        /// A website (one or more URLs).
        Website => "website",
        /// A software service: the public-service portal, document system…
        Service => "service",
        /// A router, switch, firewall, VPN concentrator…
        NetworkDevice => "network_device",
        /// A group of workstations, usually one LAN range.
        EndpointGroup => "endpoint_group",
    }
);

/// Security level of an information system, 1 (lowest) to 5, per Decree
/// 85/2016/NĐ-CP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct SecurityLevel(u8);

impl SecurityLevel {
    /// A level from 1 to 5.
    pub fn new(level: u8) -> Option<Self> {
        (1..=5).contains(&level).then_some(SecurityLevel(level))
    }

    /// The level as a number.
    pub fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for SecurityLevel {
    type Error = String;
    fn try_from(v: u8) -> Result<Self, String> {
        SecurityLevel::new(v).ok_or_else(|| format!("security level {v} is not between 1 and 5"))
    }
}

impl From<SecurityLevel> for u8 {
    fn from(l: SecurityLevel) -> u8 {
        l.0
    }
}

/// A person to call or write to at an agency.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// Full name.
    pub name: String,
    /// Role, e.g. "IT contact", "Deputy director".
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub role: String,
    /// E-mail addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<String>,
    /// Phone numbers as written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phones: Vec<String>,
}

/// A body the center protects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agency {
    /// Unique short code.
    pub code: AgencyCode,
    /// Vietnamese name.
    pub name: String,
    /// English name, when one is used.
    pub name_en: Option<String>,
    /// What kind of body it is.
    pub kind: AgencyKind,
    /// The parent agency, e.g. a legacy district for a commune.
    pub parent: Option<AgencyCode>,
    /// People to contact.
    pub contacts: Vec<Contact>,
    /// Network ranges the agency uses.
    pub ranges: Vec<Cidr>,
}

impl Agency {
    /// An agency with no parent, contacts or ranges.
    pub fn new(code: &str, name: &str, kind: AgencyKind) -> Self {
        Agency {
            code: code.into(),
            name: name.to_string(),
            name_en: None,
            kind,
            parent: None,
            contacts: Vec::new(),
            ranges: Vec::new(),
        }
    }
}

/// Something an agency runs that the center watches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asset {
    /// Unique code.
    pub code: AssetCode,
    /// Human name.
    pub name: String,
    /// What kind of thing it is.
    pub kind: AssetKind,
    /// The agency that owns it (and answers for its incidents).
    pub owner: AgencyCode,
    /// Security level under Decree 85/2016.
    pub level: SecurityLevel,
    /// IP addresses or ranges (an endpoint group is usually one range).
    pub addresses: Vec<Cidr>,
    /// Host names.
    pub hostnames: Vec<String>,
    /// URLs (websites and web services).
    pub urls: Vec<String>,
    /// Free text.
    pub description: Option<String>,
}

/// Every agency and asset of the province.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    /// Agencies, in file order.
    pub agencies: Vec<Agency>,
    /// Assets, in file order.
    pub assets: Vec<Asset>,
}

impl Inventory {
    /// The agency with this code.
    pub fn agency(&self, code: &str) -> Option<&Agency> {
        self.agencies.iter().find(|a| a.code.as_str() == code)
    }

    /// The asset with this code.
    pub fn asset(&self, code: &str) -> Option<&Asset> {
        self.assets.iter().find(|a| a.code.as_str() == code)
    }

    /// Sorts agencies and assets by code: the canonical order for export and
    /// comparison.
    pub fn sort(&mut self) {
        self.agencies.sort_by(|a, b| a.code.cmp(&b.code));
        self.assets.sort_by(|a, b| a.code.cmp(&b.code));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip_names() {
        for k in AgencyKind::ALL {
            assert_eq!(k.as_str().parse::<AgencyKind>().unwrap(), *k);
        }
        for k in AssetKind::ALL {
            assert_eq!(k.as_str().parse::<AssetKind>().unwrap(), *k);
        }
        let e = "ministry".parse::<AgencyKind>().unwrap_err();
        assert!(e.to_string().contains("department"), "{e}");
    }

    #[test]
    fn level_bounds() {
        assert!(SecurityLevel::new(0).is_none());
        assert_eq!(SecurityLevel::new(5).map(|l| l.get()), Some(5));
        assert!(SecurityLevel::new(6).is_none());
    }
}
