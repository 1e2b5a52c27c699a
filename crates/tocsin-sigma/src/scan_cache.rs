//! A memo of the prefilter's automaton scans, by text segment.
//!
//! Logs repeat themselves: the same image paths, the same command lines, and
//! in Windows' rendered `Message` the same `Image: …` / `User: …` lines event
//! after event, with only a time or an id changing between them. A needle
//! never spans a line break (the prefilter checks that per automaton), so
//! what an automaton finds in a string is the union of what it finds in each
//! line of it. The cache remembers, per (automaton, line), the patterns found
//! there; a line seen before costs one hash and one comparison instead of a
//! scan. Over the OTRF Windows corpus 96 % of the bytes looked up are
//! answered from the cache (`cargo bench -p tocsin-sigma` with
//! `TOCSIN_BENCH_CACHE_STATS=1`).
//!
//! Exact, not probabilistic: a hit compares the stored line byte for byte,
//! so the prefilter's contract (false positives allowed, never false
//! negatives) does not depend on hashing. Bounded: keys and results live in
//! two arenas; when they would pass the budget, everything is dropped and
//! the cache refills from the events that follow (the working set of a log
//! stream is small, so a reset costs a few thousand scans).

use crate::record::FxMap;

/// Lines longer than this are scanned, not remembered (they rarely repeat
/// and would crowd out the short ones that do).
pub(crate) const MAX_LINE: usize = 16 * 1024;

/// Bookkeeping bytes charged per entry besides its key and patterns (the
/// entry itself and its share of the hash table).
const ENTRY_OVERHEAD: usize = 40;

/// Where a remembered line and its patterns are. One entry per hash: two
/// lines sharing a 64-bit hash take turns (the later replaces the earlier),
/// which costs a rescan, never a wrong answer.
#[derive(Clone, Copy, Debug)]
struct Entry {
    /// The automaton the line was scanned by.
    tag: u32,
    /// The line: `keys[key_start..key_start + key_len]`.
    key_start: u32,
    /// Length of the line.
    key_len: u32,
    /// Its patterns: `hits[hits_start..hits_start + hits_len]`.
    hits_start: u32,
    /// How many patterns (0: the line holds none, also worth remembering).
    hits_len: u32,
}

/// Counters, for tuning and the benchmark's report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScanCacheStats {
    /// Lines looked up.
    pub lookups: u64,
    /// Lines that had to be scanned.
    pub misses: u64,
    /// Times the cache was emptied for being full.
    pub resets: u64,
    /// Bytes of the lines looked up, and of lines too long to remember.
    pub bytes: u64,
    /// Of those, bytes that had to be scanned.
    pub scanned_bytes: u64,
}

/// The memo itself (one per thread, inside the engine's scratch).
#[derive(Debug, Default)]
pub(crate) struct ScanCache {
    /// Hash of (tag, line) → where the line and its patterns are.
    entries: FxMap<u64, Entry>,
    /// Every remembered line, back to back (one allocation, not one each).
    keys: Vec<u8>,
    /// Every remembered pattern list, back to back.
    hits: Vec<u32>,
    /// Bytes allowed, as charged by `insert`.
    budget: usize,
    /// Bytes charged so far.
    used: usize,
    /// Counters since the cache was made (resets do not clear them).
    stats: ScanCacheStats,
}

/// The multiplier of FxHash (also [`crate::record::FxHasher`]'s).
const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// Up to 8 bytes as a little-endian word (byte by byte when fewer, so no
/// variable-length copy call).
#[inline]
fn word(b: &[u8]) -> u64 {
    if let Ok(w) = <[u8; 8]>::try_from(b) {
        return u64::from_le_bytes(w);
    }
    b.iter().rev().fold(0, |w, &x| (w << 8) | u64::from(x))
}

#[inline]
fn mix(h: u64, w: u64) -> u64 {
    (h.rotate_left(5) ^ w).wrapping_mul(K)
}

/// The hash of a line under an automaton's tag (FxHash-style, a word at a
/// time; four independent lanes over long lines so the multiplications
/// overlap instead of waiting on each other).
#[inline]
fn hash(tag: u32, line: &[u8]) -> u64 {
    let mut h = mix(u64::from(tag), line.len() as u64);
    let mut blocks = line.chunks_exact(32);
    if line.len() >= 64 {
        let mut lanes = [h, h ^ 1, h ^ 2, h ^ 3];
        for b in &mut blocks {
            for (lane, w) in lanes.iter_mut().zip(b.chunks_exact(8)) {
                *lane = mix(*lane, word(w));
            }
        }
        h = lanes.iter().fold(h, |h, &l| mix(h, l));
    }
    let rest = if line.len() >= 64 {
        blocks.remainder()
    } else {
        line
    };
    for w in rest.chunks(8) {
        h = mix(h, word(w));
    }
    h
}

impl ScanCache {
    /// A cache that keeps at most about `budget` bytes (0: keeps nothing).
    pub(crate) fn new(budget: usize) -> Self {
        ScanCache {
            budget,
            ..ScanCache::default()
        }
    }

    /// Counts a line scanned without the cache (too long to remember).
    pub(crate) fn count_uncached(&mut self, len: usize) {
        self.stats.bytes += len as u64;
        self.stats.scanned_bytes += len as u64;
    }

    pub(crate) fn stats(&self) -> ScanCacheStats {
        self.stats
    }

    /// The patterns found in `line` by automaton `tag`, if remembered.
    #[inline]
    pub(crate) fn get(&mut self, tag: u32, line: &[u8]) -> Option<&[u32]> {
        self.get_hashed(tag, line, hash(tag, line))
    }

    #[inline]
    fn get_hashed(&mut self, tag: u32, line: &[u8], h: u64) -> Option<&[u32]> {
        self.stats.lookups += 1;
        self.stats.bytes += line.len() as u64;
        if let Some(e) = self.entries.get(&h) {
            let k = e.key_start as usize..(e.key_start + e.key_len) as usize;
            if e.tag == tag && self.keys.get(k) == Some(line) {
                let h = e.hits_start as usize..(e.hits_start + e.hits_len) as usize;
                return self.hits.get(h);
            }
        }
        self.stats.misses += 1;
        self.stats.scanned_bytes += line.len() as u64;
        None
    }

    /// Remembers that automaton `tag` finds exactly `found` in `line`.
    pub(crate) fn insert(&mut self, tag: u32, line: &[u8], found: &[u32]) {
        self.insert_hashed(tag, line, found, hash(tag, line));
    }

    fn insert_hashed(&mut self, tag: u32, line: &[u8], found: &[u32], h: u64) {
        let cost = line.len() + 4 * found.len() + ENTRY_OVERHEAD;
        if cost > self.budget {
            return;
        }
        let arena_full = self.keys.len() + line.len() > u32::MAX as usize
            || self.hits.len() + found.len() > u32::MAX as usize;
        if self.used + cost > self.budget || arena_full {
            self.entries.clear();
            self.keys.clear();
            self.hits.clear();
            self.used = 0;
            self.stats.resets += 1;
        }
        self.entries.insert(
            h,
            Entry {
                tag,
                key_start: self.keys.len() as u32,
                key_len: line.len() as u32,
                hits_start: self.hits.len() as u32,
                hits_len: found.len() as u32,
            },
        );
        self.keys.extend_from_slice(line);
        self.hits.extend_from_slice(found);
        self.used += cost;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_by_tag_and_exact_text() {
        let mut c = ScanCache::new(1 << 20);
        assert_eq!(c.get(1, b"Image: cmd.exe"), None);
        c.insert(1, b"Image: cmd.exe", &[3, 7]);
        c.insert(2, b"Image: cmd.exe", &[]);
        assert_eq!(c.get(1, b"Image: cmd.exe"), Some(&[3, 7][..]));
        assert_eq!(c.get(2, b"Image: cmd.exe"), Some(&[][..]));
        assert_eq!(c.get(1, b"Image: cmd.exf"), None);
        assert_eq!(c.get(3, b"Image: cmd.exe"), None);
        let s = c.stats();
        assert_eq!((s.lookups, s.misses, s.resets), (5, 3, 0));
    }

    #[test]
    fn colliding_hashes_still_compare_the_text() {
        let mut c = ScanCache::new(1 << 20);
        // Two lines under one hash: the later one is remembered, the other
        // is a miss (rescanned), never answered with the other's patterns.
        c.insert_hashed(0, b"line 1", &[1], 42);
        c.insert_hashed(0, b"line 2", &[2], 42);
        assert_eq!(c.get_hashed(0, b"line 1", 42), None);
        assert_eq!(c.get_hashed(0, b"line 2", 42), Some(&[2][..]));
        assert_eq!(c.get_hashed(1, b"line 2", 42), None, "another automaton");
        // Different lengths of a shared prefix are different keys.
        c.insert(7, b"abc", &[1]);
        assert_eq!(c.get(7, b"abcd"), None);
        assert_eq!(c.get(7, b"ab"), None);
    }

    #[test]
    fn stays_within_its_budget() {
        let mut c = ScanCache::new(1_000);
        for i in 0..100u32 {
            c.insert(
                0,
                format!("a somewhat long line number {i}").as_bytes(),
                &[i],
            );
            assert!(c.used <= 1_000);
        }
        assert!(c.stats().resets > 0);
        // The newest survives a reset; the oldest is gone.
        assert_eq!(c.get(0, b"a somewhat long line number 99"), Some(&[99][..]));
        assert_eq!(c.get(0, b"a somewhat long line number 0"), None);
        // Nothing is kept with no budget.
        let mut none = ScanCache::new(0);
        none.insert(0, b"x", &[]);
        assert_eq!(none.get(0, b"x"), None);
    }
}
