//! [`IndicatorSet`]: every indicator of every feed in one immutable,
//! compact structure, built once per load and swapped whole.
//!
//! * Addresses: hash maps from the address (as an integer) to an entry —
//!   IPv4 costs its 8-byte slot plus one 24-byte entry, about 40 bytes.
//! * Networks: one map per prefix length present, probed from the longest
//!   down (feeds use a handful of lengths, so a lookup is a few probes).
//! * Address:port: a map keyed by both.
//! * Domains, URLs and hashes: a map from a 64-bit hash of (kind, text) to
//!   an entry; the entry's text, kept in one arena, is compared on a hit,
//!   so a hash collision never matches. A domain is looked up with each of
//!   its parent domains (`a.b.evil.com`, `b.evil.com`, `evil.com`).
//!
//! The same value from several feeds is several entries chained from the
//! first: every source is reported.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use tocsin_model::{IndicatorKind, Threat};

use crate::indicator::Indicator;

/// A multiply-rotate hasher for integer keys and short texts. Not
/// resistant to chosen collisions: keys come from feeds the center chose,
/// and each lookup is bounded by the chain it walks.
#[derive(Default, Clone, Copy)]
pub(crate) struct Mix(u64);

const K: u64 = 0x9E37_79B9_7F4A_7C15;

impl Hasher for Mix {
    #[inline]
    fn finish(&self) -> u64 {
        // Fold the high bits down: the table indexes by the low ones.
        self.0 ^ (self.0 >> 29)
    }
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(b));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(26) ^ i).wrapping_mul(K);
    }
    #[inline]
    fn write_u128(&mut self, i: u128) {
        self.write_u64(i as u64);
        self.write_u64((i >> 64) as u64);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
}

type Map<K> = HashMap<K, u32, BuildHasherDefault<Mix>>;

/// No entry.
const NONE: u32 = u32::MAX;

/// One indicator of one source, as kept.
#[derive(Clone, Copy, Debug)]
struct Entry {
    /// The next entry with the same key (another source), or [`NONE`].
    next: u32,
    /// Its text in the arena (domains, URLs, hashes; `len` 0 for
    /// addresses, whose text is their key).
    text_at: u32,
    text_len: u16,
    kind: IndicatorKind,
    threat: Threat,
    source: u16,
    confidence: u8,
    /// Index into the family names, or [`NONE`].
    family: u32,
    /// Seconds since 1970; 0 for none.
    expires: u32,
}

/// A feed as the set knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// The feed's name.
    pub name: String,
    /// An allowlist: its matches suppress every other source's.
    pub allow: bool,
}

/// A match: which indicator, of which source.
#[derive(Clone, Copy, Debug)]
pub struct Match<'a> {
    set: &'a IndicatorSet,
    entry: u32,
    /// The key that matched, for addresses (their text is not kept).
    key: Key,
}

#[derive(Clone, Copy, Debug)]
enum Key {
    Text,
    Ip(IpAddr),
    Net(IpAddr, u8),
    IpPort(IpAddr, u16),
}

impl Match<'_> {
    fn e(&self) -> &Entry {
        &self.set.entries[self.entry as usize]
    }

    /// The indicator's kind.
    pub fn kind(&self) -> IndicatorKind {
        self.e().kind
    }

    /// The indicator's value, normalised.
    pub fn value(&self) -> String {
        match self.key {
            Key::Text => self.set.text(self.e()).to_string(),
            Key::Ip(ip) => ip.to_string(),
            Key::Net(ip, len) => format!("{ip}/{len}"),
            Key::IpPort(IpAddr::V4(a), p) => format!("{a}:{p}"),
            Key::IpPort(IpAddr::V6(a), p) => format!("[{a}]:{p}"),
        }
    }

    /// What it points at.
    pub fn threat(&self) -> Threat {
        self.e().threat
    }

    /// The feed.
    pub fn source(&self) -> &Source {
        &self.set.sources[usize::from(self.e().source)]
    }

    /// The family, when the feed names one.
    pub fn family(&self) -> Option<&str> {
        let f = self.e().family;
        (f != NONE).then(|| self.set.families[f as usize].as_str())
    }

    /// Confidence, 0–100.
    pub fn confidence(&self) -> u8 {
        self.e().confidence
    }
}

/// Every indicator in force. Immutable: a reload builds a new one.
#[derive(Default)]
pub struct IndicatorSet {
    v4: Map<u32>,
    v6: Map<u128>,
    /// (address, port) as one integer: IPv4 in the low bits, the port
    /// above 128 would not fit, so IPv6 ports go to their own map.
    v4_port: Map<u64>,
    v6_port: HashMap<(u128, u16), u32, BuildHasherDefault<Mix>>,
    /// Networks per prefix length, longest first.
    nets4: Vec<(u8, Map<u32>)>,
    nets6: Vec<(u8, Map<u128>)>,
    text: Map<u64>,
    arena: String,
    entries: Vec<Entry>,
    sources: Vec<Source>,
    families: Vec<String>,
    counts: HashMap<IndicatorKind, usize>,
    any_allow: bool,
    /// What events must yield for this set (computed at build).
    wanted: crate::observe::Wanted,
}

impl std::fmt::Debug for IndicatorSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndicatorSet")
            .field("indicators", &self.entries.len())
            .field("sources", &self.sources)
            .finish()
    }
}

fn text_key(kind: IndicatorKind, text: &str) -> u64 {
    let mut h = Mix::default();
    h.write_u8(kind as u8);
    h.write(text.as_bytes());
    h.finish()
}

fn v6_bits(a: std::net::Ipv6Addr) -> u128 {
    u128::from(a)
}

fn mask4(ip: u32, len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        ip & (u32::MAX << (32 - u32::from(len)))
    }
}

fn mask6(ip: u128, len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        ip & (u128::MAX << (128 - u32::from(len)))
    }
}

fn epoch_secs(t: Option<DateTime<Utc>>) -> u32 {
    t.map_or(0, |t| t.timestamp().clamp(1, i64::from(u32::MAX)) as u32)
}

/// The slot of network `key` in the map of its prefix length (made when
/// the length is new; the maps stay longest first).
fn net_slot<K: std::hash::Hash + Eq>(nets: &mut Vec<(u8, Map<K>)>, len: u8, key: K) -> &mut u32 {
    let pos = match nets.iter().position(|(l, _)| *l == len) {
        Some(p) => p,
        None => {
            nets.push((len, Map::default()));
            nets.sort_by_key(|n| std::cmp::Reverse(n.0));
            nets.iter().position(|(l, _)| *l == len).unwrap_or(0)
        }
    };
    nets[pos].1.entry(key).or_insert(NONE)
}

/// Builds an [`IndicatorSet`], one source at a time.
#[derive(Default)]
pub struct SetBuilder {
    set: IndicatorSet,
    family_ids: HashMap<String, u32>,
}

impl SetBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Room for `n` more indicators (saves rehashing on big loads).
    pub fn reserve(&mut self, n: usize) {
        self.set.entries.reserve(n);
    }

    /// Adds a source's indicators. Values that do not parse as their kind
    /// were refused by the feed reader already; here they are skipped.
    pub fn add(&mut self, source: Source, indicators: &[Indicator]) {
        let src = u16::try_from(self.set.sources.len()).unwrap_or(u16::MAX);
        self.set.any_allow |= source.allow;
        self.set.sources.push(source);
        for i in indicators {
            self.push(src, i);
        }
    }

    fn family(&mut self, f: Option<&str>) -> u32 {
        let Some(f) = f else { return NONE };
        if let Some(&id) = self.family_ids.get(f) {
            return id;
        }
        let id = self.set.families.len() as u32;
        self.set.families.push(f.to_string());
        self.family_ids.insert(f.to_string(), id);
        id
    }

    fn push(&mut self, source: u16, i: &Indicator) {
        let family = self.family(i.family.as_deref());
        let idx = self.set.entries.len() as u32;
        let mut e = Entry {
            next: NONE,
            text_at: 0,
            text_len: 0,
            kind: i.kind,
            threat: i.threat,
            source,
            confidence: i.confidence,
            family,
            expires: epoch_secs(i.expires),
        };
        let set = &mut self.set;
        let slot: Option<&mut u32> = match i.kind {
            IndicatorKind::Ip => match i.value.parse::<IpAddr>() {
                Ok(IpAddr::V4(a)) => Some(set.v4.entry(u32::from(a)).or_insert(NONE)),
                Ok(IpAddr::V6(a)) => Some(set.v6.entry(v6_bits(a)).or_insert(NONE)),
                Err(_) => None,
            },
            IndicatorKind::Cidr => match i.value.parse::<tocsin_model::Cidr>() {
                Ok(c) => match c.addr() {
                    IpAddr::V4(a) => Some(net_slot(&mut set.nets4, c.prefix_len(), u32::from(a))),
                    IpAddr::V6(a) => Some(net_slot(&mut set.nets6, c.prefix_len(), v6_bits(a))),
                },
                Err(_) => None,
            },
            IndicatorKind::IpPort => match crate::indicator::parse_ip_port(&i.value) {
                Some((IpAddr::V4(a), p)) => Some(
                    set.v4_port
                        .entry((u64::from(u32::from(a)) << 16) | u64::from(p))
                        .or_insert(NONE),
                ),
                Some((IpAddr::V6(a), p)) => {
                    Some(set.v6_port.entry((v6_bits(a), p)).or_insert(NONE))
                }
                None => None,
            },
            IndicatorKind::Domain
            | IndicatorKind::Url
            | IndicatorKind::Md5
            | IndicatorKind::Sha1
            | IndicatorKind::Sha256 => {
                // Values are bounded when read (`indicator::MAX_VALUE`); one
                // built by hand past 16 bits of length is skipped, not cut.
                let text = i.value.as_str();
                if text.len() > usize::from(u16::MAX) {
                    return;
                }
                e.text_at = set.arena.len() as u32;
                e.text_len = text.len() as u16;
                set.arena.push_str(text);
                Some(set.text.entry(text_key(i.kind, text)).or_insert(NONE))
            }
        };
        let Some(slot) = slot else { return };
        // Chain: the new entry goes in front of what the key held.
        e.next = *slot;
        *slot = idx;
        set.entries.push(e);
        *set.counts.entry(i.kind).or_default() += 1;
    }

    /// The finished set.
    pub fn build(mut self) -> IndicatorSet {
        let s = &mut self.set;
        s.v4.shrink_to_fit();
        s.v6.shrink_to_fit();
        s.text.shrink_to_fit();
        s.entries.shrink_to_fit();
        s.arena.shrink_to_fit();
        s.wanted = s.compute_wanted();
        self.set
    }
}

/// Where the matches of one lookup go.
pub type Matches<'a> = Vec<Match<'a>>;

impl IndicatorSet {
    /// How many indicators, of all kinds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many of one kind.
    pub fn count(&self, kind: IndicatorKind) -> usize {
        self.counts.get(&kind).copied().unwrap_or(0)
    }

    /// The sources, in the order added.
    pub fn sources(&self) -> &[Source] {
        &self.sources
    }

    /// Bytes held, approximately (tables at their capacity).
    pub fn heap_bytes(&self) -> usize {
        fn map<K>(m: &HashMap<K, u32, BuildHasherDefault<Mix>>) -> usize {
            // A SwissTable slot is the pair plus one control byte.
            m.capacity() * (std::mem::size_of::<(K, u32)>() + 1)
        }
        map(&self.v4)
            + map(&self.v6)
            + map(&self.v4_port)
            + map(&self.v6_port)
            + self.nets4.iter().map(|(_, m)| map(m)).sum::<usize>()
            + self.nets6.iter().map(|(_, m)| map(m)).sum::<usize>()
            + map(&self.text)
            + self.arena.capacity()
            + self.entries.capacity() * std::mem::size_of::<Entry>()
            + self
                .families
                .iter()
                .map(|f| f.capacity() + 24)
                .sum::<usize>()
    }

    fn text(&self, e: &Entry) -> &str {
        let at = e.text_at as usize;
        self.arena
            .get(at..at + usize::from(e.text_len))
            .unwrap_or("")
    }

    /// Pushes every live entry chained from `first` to `out`.
    fn chain<'a>(&'a self, first: u32, key: Key, now: u32, out: &mut Matches<'a>) {
        let mut i = first;
        while i != NONE {
            let e = &self.entries[i as usize];
            if e.expires == 0 || e.expires > now {
                out.push(Match {
                    set: self,
                    entry: i,
                    key,
                });
            }
            i = e.next;
        }
    }

    /// Matches on an address (exactly, and by every network holding it),
    /// and on the address with `port`, at `now` (seconds since 1970; an
    /// indicator expired by then does not match).
    pub fn lookup_ip<'a>(&'a self, ip: IpAddr, port: Option<u16>, now: u32, out: &mut Matches<'a>) {
        match ip {
            IpAddr::V4(a) => {
                let v = u32::from(a);
                if let Some(&i) = self.v4.get(&v) {
                    self.chain(i, Key::Ip(ip), now, out);
                }
                for (len, m) in &self.nets4 {
                    let n = mask4(v, *len);
                    if let Some(&i) = m.get(&n) {
                        self.chain(i, Key::Net(IpAddr::from(n.to_be_bytes()), *len), now, out);
                    }
                }
                if let Some(p) = port
                    && !self.v4_port.is_empty()
                    && let Some(&i) = self.v4_port.get(&((u64::from(v) << 16) | u64::from(p)))
                {
                    self.chain(i, Key::IpPort(ip, p), now, out);
                }
            }
            IpAddr::V6(a) => {
                // An IPv4 address written as IPv6 is the IPv4 address.
                if let Some(v4) = a.to_ipv4_mapped() {
                    return self.lookup_ip(IpAddr::V4(v4), port, now, out);
                }
                let v = v6_bits(a);
                if let Some(&i) = self.v6.get(&v) {
                    self.chain(i, Key::Ip(ip), now, out);
                }
                for (len, m) in &self.nets6 {
                    let n = mask6(v, *len);
                    if let Some(&i) = m.get(&n) {
                        let net = IpAddr::from(n.to_be_bytes());
                        self.chain(i, Key::Net(net, *len), now, out);
                    }
                }
                if let Some(p) = port
                    && let Some(&i) = self.v6_port.get(&(v, p))
                {
                    self.chain(i, Key::IpPort(ip, p), now, out);
                }
            }
        }
    }

    fn lookup_text<'a>(&'a self, kind: IndicatorKind, text: &str, now: u32, out: &mut Matches<'a>) {
        let Some(&first) = self.text.get(&text_key(kind, text)) else {
            return;
        };
        let mut i = first;
        while i != NONE {
            let e = &self.entries[i as usize];
            if e.kind == kind && self.text(e) == text && (e.expires == 0 || e.expires > now) {
                out.push(Match {
                    set: self,
                    entry: i,
                    key: Key::Text,
                });
            }
            i = e.next;
        }
    }

    /// Matches on a domain (already normalised: lowercase, no trailing
    /// dot) and each of its parents.
    pub fn lookup_domain<'a>(&'a self, domain: &str, now: u32, out: &mut Matches<'a>) {
        let mut d = domain;
        loop {
            self.lookup_text(IndicatorKind::Domain, d, now, out);
            match d.find('.') {
                Some(dot) => d = &d[dot + 1..],
                None => break,
            }
        }
    }

    /// Matches on a URL (already normalised) and on its host as a domain.
    pub fn lookup_url<'a>(&'a self, url: &str, now: u32, out: &mut Matches<'a>) {
        self.lookup_text(IndicatorKind::Url, url, now, out);
    }

    /// Matches on a file hash (lowercase hex; its length says the kind).
    pub fn lookup_hash<'a>(&'a self, hex: &str, now: u32, out: &mut Matches<'a>) {
        let kind = match hex.len() {
            32 => IndicatorKind::Md5,
            40 => IndicatorKind::Sha1,
            64 => IndicatorKind::Sha256,
            _ => return,
        };
        self.lookup_text(kind, hex, now, out);
    }

    /// Whether any source is an allowlist.
    pub fn has_allowlist(&self) -> bool {
        self.any_allow
    }

    /// The kinds of observable worth extracting from events for this set.
    pub fn wanted(&self) -> crate::observe::Wanted {
        self.wanted
    }

    fn compute_wanted(&self) -> crate::observe::Wanted {
        let n = |k| self.count(k) > 0;
        crate::observe::Wanted {
            ip: n(IndicatorKind::Ip) || n(IndicatorKind::Cidr) || n(IndicatorKind::IpPort),
            domain: n(IndicatorKind::Domain),
            url: n(IndicatorKind::Url),
            hash: n(IndicatorKind::Md5) || n(IndicatorKind::Sha1) || n(IndicatorKind::Sha256),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ind(kind: IndicatorKind, v: &str) -> Indicator {
        Indicator::new(kind, v, Threat::BotnetCc).unwrap()
    }

    fn src(name: &str) -> Source {
        Source {
            name: name.into(),
            allow: false,
        }
    }

    #[test]
    fn every_kind_matches_and_nothing_else_does() {
        use IndicatorKind::*;
        let mut b = SetBuilder::new();
        b.add(
            src("feodo"),
            &[
                ind(Ip, "192.0.2.7").family(Some("Pikabot")),
                ind(Ip, "2001:db8::7"),
                ind(Cidr, "198.51.100.0/24"),
                ind(Cidr, "2001:db8:1::/48"),
                ind(IpPort, "203.0.113.9:8443"),
                ind(Domain, "evil.example"),
                ind(Url, "http://dl.example/x.exe"),
                ind(Sha256, &"ab".repeat(32)),
            ],
        );
        b.add(src("second"), &[ind(Ip, "192.0.2.7")]);
        let s = b.build();
        assert_eq!(s.len(), 9);
        let mut out = Vec::new();
        s.lookup_ip("192.0.2.7".parse().unwrap(), None, 0, &mut out);
        let names: Vec<_> = out.iter().map(|m| m.source().name.clone()).collect();
        assert_eq!(names, ["second", "feodo"], "each source is reported");
        assert_eq!(out[1].family(), Some("Pikabot"));
        assert_eq!(out[1].value(), "192.0.2.7");
        out.clear();
        s.lookup_ip("::ffff:192.0.2.7".parse().unwrap(), None, 0, &mut out);
        assert_eq!(out.len(), 2, "IPv4-mapped IPv6 is the IPv4 address");
        out.clear();
        s.lookup_ip("198.51.100.200".parse().unwrap(), None, 0, &mut out);
        assert_eq!(out[0].value(), "198.51.100.0/24");
        out.clear();
        s.lookup_ip("2001:db8:1:ffff::1".parse().unwrap(), None, 0, &mut out);
        assert_eq!(out[0].value(), "2001:db8:1::/48");
        out.clear();
        s.lookup_ip("203.0.113.9".parse().unwrap(), Some(8443), 0, &mut out);
        assert_eq!(out[0].value(), "203.0.113.9:8443");
        out.clear();
        s.lookup_ip("203.0.113.9".parse().unwrap(), Some(80), 0, &mut out);
        assert!(out.is_empty(), "another port is not the indicator");
        s.lookup_domain("a.b.evil.example", 0, &mut out);
        assert_eq!(out[0].value(), "evil.example", "subdomains match");
        out.clear();
        s.lookup_domain("notevil.example", 0, &mut out);
        assert!(out.is_empty(), "a suffix that is not a parent does not");
        s.lookup_url("http://dl.example/x.exe", 0, &mut out);
        assert_eq!(out.len(), 1);
        out.clear();
        s.lookup_hash(&"ab".repeat(32), 0, &mut out);
        assert_eq!(out[0].kind(), Sha256);
        out.clear();
        s.lookup_ip("192.0.2.8".parse().unwrap(), None, 0, &mut out);
        s.lookup_ip("2001:db8::8".parse().unwrap(), None, 0, &mut out);
        s.lookup_domain("example", 0, &mut out);
        s.lookup_hash(&"ac".repeat(32), 0, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn expired_indicators_do_not_match() {
        let mut i = ind(IndicatorKind::Ip, "192.0.2.7");
        i.expires = DateTime::from_timestamp(1_000_000, 0);
        let mut b = SetBuilder::new();
        b.add(src("x"), &[i]);
        let s = b.build();
        let mut out = Vec::new();
        s.lookup_ip("192.0.2.7".parse().unwrap(), None, 999_999, &mut out);
        assert_eq!(out.len(), 1);
        out.clear();
        s.lookup_ip("192.0.2.7".parse().unwrap(), None, 1_000_000, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn text_keys_never_match_on_a_hash_alone() {
        // Same hash bucket or not, a different text is not a match.
        let mut b = SetBuilder::new();
        let many: Vec<_> = (0..20_000)
            .map(|n| ind(IndicatorKind::Domain, &format!("d{n}.example")))
            .collect();
        b.add(src("x"), &many);
        let s = b.build();
        let mut out = Vec::new();
        for n in 20_000..40_000 {
            s.lookup_domain(&format!("d{n}.example"), 0, &mut out);
        }
        assert!(out.is_empty());
        for n in [0, 19_999] {
            s.lookup_domain(&format!("d{n}.example"), 0, &mut out);
        }
        assert_eq!(out.len(), 2);
    }
}
