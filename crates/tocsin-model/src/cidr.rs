//! IPv4/IPv6 network ranges in CIDR notation.
//!
//! Own type rather than a dependency: attribution needs each range as an
//! inclusive integer interval, and inventory errors need to say *why* a range
//! is wrong (host bits set is almost always a typo for the network address).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// A network range such as `10.36.12.0/24` or `2001:db8::/48`.
///
/// A bare address parses as a single-host range (`/32` or `/128`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cidr {
    addr: IpAddr,
    len: u8,
}

/// Why a string is not a valid CIDR range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CidrError {
    /// The address part is not an IPv4 or IPv6 address.
    #[error("`{0}` is not an IP address")]
    BadAddress(String),
    /// The prefix length is not a number or too long for the family.
    #[error("prefix length `{0}` is not valid (0–32 for IPv4, 0–128 for IPv6)")]
    BadPrefix(String),
    /// Bits beyond the prefix are set: `10.1.2.3/24` instead of `10.1.2.0/24`.
    #[error("host bits are set; the network address is {0}")]
    HostBitsSet(String),
}

impl Cidr {
    /// A range from an address and prefix length; host bits must be zero.
    pub fn new(addr: IpAddr, len: u8) -> Result<Self, CidrError> {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if len > max {
            return Err(CidrError::BadPrefix(len.to_string()));
        }
        let c = Cidr { addr, len };
        let (first, _) = c.interval();
        if first != ip_to_u128(addr) {
            let net = Cidr {
                addr: u128_to_ip(first, addr.is_ipv4()),
                len,
            };
            return Err(CidrError::HostBitsSet(net.to_string()));
        }
        Ok(c)
    }

    /// The network address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    pub fn prefix_len(&self) -> u8 {
        self.len
    }

    /// True for IPv4 ranges.
    pub fn is_ipv4(&self) -> bool {
        self.addr.is_ipv4()
    }

    /// First and last address as integers (IPv4 in the low 32 bits).
    pub fn interval(&self) -> (u128, u128) {
        let bits: u32 = if self.addr.is_ipv4() { 32 } else { 128 };
        let v = ip_to_u128(self.addr);
        let host_bits = bits - u32::from(self.len);
        let mask: u128 = if host_bits == 128 {
            u128::MAX
        } else {
            (1u128 << host_bits) - 1
        };
        (v & !mask, v | mask)
    }

    /// True when `ip` lies in this range (families must match).
    pub fn contains(&self, ip: IpAddr) -> bool {
        if ip.is_ipv4() != self.addr.is_ipv4() {
            return false;
        }
        let (a, b) = self.interval();
        let v = ip_to_u128(ip);
        a <= v && v <= b
    }

    /// True when the two ranges share at least one address.
    pub fn overlaps(&self, other: &Cidr) -> bool {
        if self.is_ipv4() != other.is_ipv4() {
            return false;
        }
        let (a1, b1) = self.interval();
        let (a2, b2) = other.interval();
        a1 <= b2 && a2 <= b1
    }

    /// True when `other` lies wholly inside `self`.
    pub fn covers(&self, other: &Cidr) -> bool {
        if self.is_ipv4() != other.is_ipv4() {
            return false;
        }
        let (a1, b1) = self.interval();
        let (a2, b2) = other.interval();
        a1 <= a2 && b2 <= b1
    }
}

/// IPv4 in the low 32 bits; IPv4-mapped IPv6 addresses are *not* folded here
/// (see [`normalize_ip`]).
pub(crate) fn ip_to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

pub(crate) fn u128_to_ip(v: u128, v4: bool) -> IpAddr {
    if v4 {
        // Truncation is the point: IPv4 values live in the low 32 bits.
        IpAddr::V4(Ipv4Addr::from(v as u32))
    } else {
        IpAddr::V6(Ipv6Addr::from(v))
    }
}

/// `::ffff:10.1.2.3` (how dual-stack sockets report IPv4 peers) → `10.1.2.3`.
pub(crate) fn normalize_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => ip,
        },
        v4 => v4,
    }
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (addr_s, len_s) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr: IpAddr = addr_s
            .parse()
            .map_err(|_| CidrError::BadAddress(addr_s.to_string()))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = match len_s {
            None => max,
            Some(l) => match l.parse::<u8>() {
                Ok(n) if n <= max && !l.starts_with('+') => n,
                _ => return Err(CidrError::BadPrefix(l.to_string())),
            },
        };
        Cidr::new(addr, len)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

crate::serde_as_text!(Cidr);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        let c: Cidr = "10.36.12.0/24".parse().unwrap();
        assert_eq!(c.to_string(), "10.36.12.0/24");
        assert_eq!(c.interval(), (0x0a240c00, 0x0a240cff));
        let h: Cidr = "10.0.0.5".parse().unwrap();
        assert_eq!(h.prefix_len(), 32);
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains("2001:db8::1".parse().unwrap()));
        assert!(!v6.contains("10.0.0.1".parse().unwrap()));
        let all: Cidr = "::/0".parse().unwrap();
        assert_eq!(all.interval(), (0, u128::MAX));
    }

    #[test]
    fn rejects_bad_input_with_reason() {
        assert_eq!(
            "10.1.2.3/24".parse::<Cidr>(),
            Err(CidrError::HostBitsSet("10.1.2.0/24".into()))
        );
        assert!(matches!(
            "10.1.2.0/33".parse::<Cidr>(),
            Err(CidrError::BadPrefix(_))
        ));
        assert!(matches!(
            "10.1.2/24".parse::<Cidr>(),
            Err(CidrError::BadAddress(_))
        ));
        assert!(matches!(
            "10.1.2.0/+8".parse::<Cidr>(),
            Err(CidrError::BadPrefix(_))
        ));
    }

    #[test]
    fn overlap_and_cover() {
        let a: Cidr = "10.0.0.0/16".parse().unwrap();
        let b: Cidr = "10.0.5.0/24".parse().unwrap();
        let c: Cidr = "10.1.0.0/24".parse().unwrap();
        assert!(a.overlaps(&b) && a.covers(&b) && !b.covers(&a));
        assert!(!a.overlaps(&c));
    }

    #[test]
    fn mapped_v4_folds() {
        let ip: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        assert_eq!(normalize_ip(ip), "10.1.2.3".parse::<IpAddr>().unwrap());
    }
}
