//! IP address → agency and asset, by the most specific range.
//!
//! CIDR ranges are either nested or disjoint, so the whole inventory flattens
//! at build time into sorted, non-overlapping intervals, each carrying the
//! most specific owner that covers it. A lookup is then one binary search over
//! a flat array (≈14 probes for 10,000 ranges), with no allocation and no
//! pointer chasing — see docs/benchmarks.md for the figures against a trie.

use std::net::IpAddr;

use crate::cidr::normalize_ip;
use crate::{Cidr, Inventory};

/// What an address belongs to. Indices point into the [`Inventory`] the
/// attributor was built from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Attribution {
    /// Index of the responsible agency in `Inventory::agencies`.
    pub agency: Option<usize>,
    /// Index of the asset in `Inventory::assets`.
    pub asset: Option<usize>,
}

/// The lookup structure. Build once per inventory version; share freely.
#[derive(Clone, Debug, Default)]
pub struct Attributor {
    agencies: Tables,
    assets: Tables,
    /// Owner agency index of each asset (the asset's owner answers for it).
    asset_owner: Vec<Option<usize>>,
}

#[derive(Clone, Debug, Default)]
struct Tables {
    v4: IntervalTable<u32>,
    v6: IntervalTable<u128>,
}

impl Attributor {
    /// Flattens the inventory's agency ranges and asset addresses.
    ///
    /// Overlaps between unrelated agencies are a validation error upstream;
    /// should they reach here anyway, the first range listed wins.
    pub fn build(inv: &Inventory) -> Self {
        let agencies = Tables::build(
            inv.agencies
                .iter()
                .enumerate()
                .flat_map(|(i, a)| a.ranges.iter().map(move |c| (*c, i))),
        );
        let assets = Tables::build(
            inv.assets
                .iter()
                .enumerate()
                .flat_map(|(i, a)| a.addresses.iter().map(move |c| (*c, i))),
        );
        let asset_owner = inv
            .assets
            .iter()
            .map(|a| inv.agencies.iter().position(|g| g.code == a.owner))
            .collect();
        Attributor {
            agencies,
            assets,
            asset_owner,
        }
    }

    /// The asset at `ip` (most specific address range), and the responsible
    /// agency: the asset's owner when there is an asset, else the agency with
    /// the most specific range holding `ip`.
    ///
    /// The asset's owner wins because a server hosted in the center's data
    /// center still belongs to — and is answered for by — the agency that
    /// runs it.
    pub fn lookup(&self, ip: IpAddr) -> Attribution {
        let ip = normalize_ip(ip);
        let asset = self.assets.get(ip);
        let agency = asset
            .and_then(|a| self.asset_owner.get(a).copied().flatten())
            .or_else(|| self.agencies.get(ip));
        Attribution { agency, asset }
    }

    /// The agency with the most specific range holding `ip`, ignoring assets.
    pub fn agency_by_range(&self, ip: IpAddr) -> Option<usize> {
        self.agencies.get(normalize_ip(ip))
    }

    /// Number of flattened intervals (both families, agencies and assets).
    pub fn interval_count(&self) -> usize {
        self.agencies.v4.len()
            + self.agencies.v6.len()
            + self.assets.v4.len()
            + self.assets.v6.len()
    }
}

impl Tables {
    fn build(ranges: impl Iterator<Item = (Cidr, usize)>) -> Self {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for (c, owner) in ranges {
            let (a, b) = c.interval();
            if c.is_ipv4() {
                // IPv4 intervals live in the low 32 bits by construction.
                v4.push((a as u32, b as u32, owner));
            } else {
                v6.push((a, b, owner));
            }
        }
        Tables {
            v4: IntervalTable::build(v4),
            v6: IntervalTable::build(v6),
        }
    }

    fn get(&self, ip: IpAddr) -> Option<usize> {
        match ip {
            IpAddr::V4(v4) => self.v4.get(u32::from(v4)),
            IpAddr::V6(v6) => self.v6.get(u128::from(v6)),
        }
    }
}

/// Integer keys the interval table works over.
trait Key: Copy + Ord {
    fn succ(self) -> Option<Self>;
    fn pred(self) -> Option<Self>;
}

impl Key for u32 {
    fn succ(self) -> Option<Self> {
        self.checked_add(1)
    }
    fn pred(self) -> Option<Self> {
        self.checked_sub(1)
    }
}

impl Key for u128 {
    fn succ(self) -> Option<Self> {
        self.checked_add(1)
    }
    fn pred(self) -> Option<Self> {
        self.checked_sub(1)
    }
}

/// Sorted disjoint intervals in struct-of-arrays form: the binary search
/// touches only `starts`.
#[derive(Clone, Debug)]
struct IntervalTable<K> {
    starts: Vec<K>,
    ends: Vec<K>,
    owners: Vec<u32>,
}

impl<K> Default for IntervalTable<K> {
    fn default() -> Self {
        IntervalTable {
            starts: Vec::new(),
            ends: Vec::new(),
            owners: Vec::new(),
        }
    }
}

impl<K: Key> IntervalTable<K> {
    fn len(&self) -> usize {
        self.starts.len()
    }

    /// Flattens nested-or-disjoint intervals: a sweep with a stack of the
    /// ranges enclosing the cursor; the top of the stack is the most specific.
    fn build(mut ranges: Vec<(K, K, usize)>) -> Self {
        // Outer ranges first at equal starts; stable, so the first listed of
        // two identical ranges stays below and is dropped as a duplicate.
        ranges.sort_by(|x, y| x.0.cmp(&y.0).then(y.1.cmp(&x.1)));
        let mut out = IntervalTable::default();
        let mut stack: Vec<(K, K, usize)> = Vec::new();
        let mut cursor: Option<K> = None; // next address not yet emitted
        for r in ranges {
            if let Some(top) = stack.last()
                && top.0 == r.0
                && top.1 == r.1
            {
                continue; // identical range: the first one listed keeps it
            }
            out.close_until(&mut stack, &mut cursor, Some(r.0));
            // Emit the enclosing range's part before this one starts.
            if let (Some(top), Some(c)) = (stack.last(), cursor)
                && c < r.0
                && let Some(end) = r.0.pred()
            {
                out.push(c, end, top.2);
            }
            // A partially overlapping (non-CIDR) range would break nesting;
            // clip it to its enclosing range so the table stays sorted.
            let r = match stack.last() {
                Some(top) if r.1 > top.1 => (r.0, top.1, r.2),
                _ => r,
            };
            cursor = Some(r.0);
            stack.push(r);
        }
        out.close_until(&mut stack, &mut cursor, None);
        out
    }

    /// Pops every stacked range that ends before `next_start` (all of them for
    /// `None`), emitting what is left of each.
    fn close_until(
        &mut self,
        stack: &mut Vec<(K, K, usize)>,
        cursor: &mut Option<K>,
        next_start: Option<K>,
    ) {
        while let Some(&(_, end, owner)) = stack.last() {
            if let Some(ns) = next_start
                && end >= ns
            {
                break;
            }
            stack.pop();
            if let Some(c) = *cursor
                && c <= end
            {
                self.push(c, end, owner);
            }
            *cursor = end.succ();
            if cursor.is_none() {
                // The range ended at the top of the address space.
                stack.clear();
            }
        }
    }

    fn push(&mut self, start: K, end: K, owner: usize) {
        let owner = owner as u32;
        // Merge with the previous segment when contiguous and same owner.
        if let (Some(&pe), Some(&po)) = (self.ends.last(), self.owners.last())
            && po == owner
            && pe.succ() == Some(start)
            && let Some(last) = self.ends.last_mut()
        {
            *last = end;
            return;
        }
        self.starts.push(start);
        self.ends.push(end);
        self.owners.push(owner);
    }

    #[inline]
    fn get(&self, k: K) -> Option<usize> {
        let i = self.starts.partition_point(|s| *s <= k);
        if i == 0 {
            return None;
        }
        (k <= self.ends[i - 1]).then(|| self.owners[i - 1] as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Agency, AgencyKind, Asset, AssetKind, SecurityLevel};

    fn agency(code: &str, ranges: &[&str]) -> Agency {
        let mut a = Agency::new(code, code, AgencyKind::Department);
        a.ranges = ranges.iter().map(|r| r.parse().unwrap()).collect();
        a
    }

    fn asset(code: &str, owner: &str, addrs: &[&str]) -> Asset {
        Asset {
            code: code.into(),
            name: code.into(),
            kind: AssetKind::Server,
            owner: owner.into(),
            level: SecurityLevel::new(3).unwrap(),
            addresses: addrs.iter().map(|r| r.parse().unwrap()).collect(),
            hostnames: vec![],
            urls: vec![],
            description: None,
        }
    }

    fn code_at(inv: &Inventory, at: &Attributor, ip: &str) -> Option<String> {
        at.lookup(ip.parse().unwrap())
            .agency
            .map(|i| inv.agencies[i].code.to_string())
    }

    #[test]
    fn most_specific_range_wins() {
        let inv = Inventory {
            agencies: vec![
                agency("DISTRICT", &["10.40.0.0/16"]),
                agency("COMMUNE", &["10.40.5.0/24"]),
                agency("HAMLET", &["10.40.5.128/25"]),
                agency("V6", &["2001:db8::/32"]),
            ],
            assets: vec![],
        };
        let at = Attributor::build(&inv);
        assert_eq!(code_at(&inv, &at, "10.40.0.1").as_deref(), Some("DISTRICT"));
        assert_eq!(code_at(&inv, &at, "10.40.5.1").as_deref(), Some("COMMUNE"));
        assert_eq!(code_at(&inv, &at, "10.40.5.200").as_deref(), Some("HAMLET"));
        assert_eq!(code_at(&inv, &at, "10.40.6.0").as_deref(), Some("DISTRICT"));
        assert_eq!(
            code_at(&inv, &at, "10.40.255.255").as_deref(),
            Some("DISTRICT")
        );
        assert_eq!(code_at(&inv, &at, "10.41.0.0"), None);
        assert_eq!(code_at(&inv, &at, "10.39.255.255"), None);
        assert_eq!(code_at(&inv, &at, "2001:db8:1::9").as_deref(), Some("V6"));
        assert_eq!(
            code_at(&inv, &at, "::ffff:10.40.5.1").as_deref(),
            Some("COMMUNE")
        );
    }

    #[test]
    fn asset_owner_answers_for_hosted_server() {
        let inv = Inventory {
            agencies: vec![agency("DC", &["10.36.250.0/24"]), agency("STC", &[])],
            assets: vec![asset("SRV-1", "STC", &["10.36.250.10"])],
        };
        let at = Attributor::build(&inv);
        let hit = at.lookup("10.36.250.10".parse().unwrap());
        assert_eq!(hit.asset, Some(0));
        assert_eq!(hit.agency, Some(1));
        assert_eq!(at.agency_by_range("10.36.250.10".parse().unwrap()), Some(0));
        let miss = at.lookup("10.36.250.11".parse().unwrap());
        assert_eq!((miss.agency, miss.asset), (Some(0), None));
    }

    #[test]
    fn whole_address_space_edges() {
        let inv = Inventory {
            agencies: vec![
                agency("ALL", &["0.0.0.0/0"]),
                agency("TOP", &["255.255.255.255/32"]),
            ],
            assets: vec![],
        };
        let at = Attributor::build(&inv);
        assert_eq!(code_at(&inv, &at, "0.0.0.0").as_deref(), Some("ALL"));
        assert_eq!(
            code_at(&inv, &at, "255.255.255.254").as_deref(),
            Some("ALL")
        );
        assert_eq!(
            code_at(&inv, &at, "255.255.255.255").as_deref(),
            Some("TOP")
        );
    }

    /// Differential check against the obvious oracle: scan every range.
    #[test]
    fn matches_linear_scan_oracle() {
        let mut inv = Inventory::default();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for i in 0..300 {
            let len = 8 + (next() % 25) as u8;
            let raw = (next() as u32) & 0x0fff_ffff | 0x0a00_0000;
            let mask = if len == 32 {
                u32::MAX
            } else {
                !(u32::MAX >> len)
            };
            let c = Cidr::new(IpAddr::from(std::net::Ipv4Addr::from(raw & mask)), len).unwrap();
            let mut a = Agency::new(&format!("A{i}"), "x", AgencyKind::Other);
            a.ranges.push(c);
            inv.agencies.push(a);
        }
        let at = Attributor::build(&inv);
        for _ in 0..20_000 {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(
                (next() as u32) & 0x0fff_ffff | 0x0a00_0000,
            ));
            // Oracle: the longest prefix; ties go to the first listed.
            let mut best: Option<(u8, usize)> = None;
            for (i, a) in inv.agencies.iter().enumerate() {
                let c = a.ranges[0];
                if c.contains(ip) && best.is_none_or(|(l, _)| c.prefix_len() > l) {
                    best = Some((c.prefix_len(), i));
                }
            }
            assert_eq!(at.agency_by_range(ip), best.map(|b| b.1), "{ip}");
        }
    }
}
