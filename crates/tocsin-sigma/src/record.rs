//! One event, decoded once into a table the compiled rules read by slot.
//!
//! The engine interns every field name its rules use ([`FieldIndex`]); a
//! decoder (JSON, EVTX, Tocsin's own events) walks the event once and pushes
//! each leaf into the [`Record`] under its slot, lowercasing strings once for
//! every case-insensitive comparison of every rule. Buffers are reused from
//! event to event: in steady state decoding allocates nothing.
//!
//! Layout: all text of the event is appended to one `String`, all
//! lowercase forms to another, and each value is a range into them. A
//! field's slot records where its values start in the value list and how
//! many there are, stamped with the event's epoch, so clearing the record
//! for the next event touches no slot: a stamp from an older event simply
//! reads as absent. Values of fields no rule names are not stored at all,
//! except strings kept for keyword search when some rule needs it.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A field's number in the engine's table: dense from 0, so a record's
/// slots are a plain vector indexed by it.
pub type FieldId = u32;

/// A small, fast, non-cryptographic hasher for field names (the keys are the
/// engine's own rule fields; no attacker chooses the table's contents, and a
/// colliding event key costs one extra comparison, not a blow-up).
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
        for &b in chunks.remainder() {
            h = (h.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
        self.0 = h;
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// HashMap with [`FxHasher`].
pub type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// Field names → slots, with the aliases log formats use for them.
///
/// Built while rules compile and fixed once the engine is built; decoders
/// only look names up. Names are matched exactly, case included.
#[derive(Clone, Debug, Default)]
pub struct FieldIndex {
    /// Every name and alias → its slot.
    map: FxMap<Box<str>, FieldId>,
    /// Slot → the rule field's own name (aliases are not listed).
    names: Vec<Box<str>>,
    /// Prefixes that wrap Sigma names in some formats (`Event.EventData.`).
    strip: Vec<Box<str>>,
    /// Changes (to a number no other index had) whenever lookups may answer
    /// differently, so decoders can trust what they remembered of it.
    version: u64,
}

/// A number no index used before.
fn fresh_version() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl FieldIndex {
    /// Identifies this index's current contents (see [`crate::decode_json`]).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The slot of a rule field, creating it.
    pub fn intern(&mut self, name: &str) -> FieldId {
        if let Some(id) = self.map.get(name) {
            return *id;
        }
        let id = self.names.len() as FieldId;
        self.names.push(name.into());
        self.map.insert(name.into(), id);
        self.version = fresh_version();
        id
    }

    /// Makes `alias` (an event's own key) read into `name`'s slot, when
    /// `name` is a rule field. An alias never takes over a key that is
    /// already a name or alias: the first one registered wins.
    pub fn alias(&mut self, alias: &str, name: &str) {
        if let Some(id) = self.map.get(name).copied()
            && !self.map.contains_key(alias)
        {
            self.map.insert(alias.into(), id);
            self.version = fresh_version();
        }
    }

    /// Event keys starting with `prefix` are also tried without it.
    pub fn strip_prefix(&mut self, prefix: &str) {
        if !self.strip.iter().any(|p| &**p == prefix) {
            self.strip.push(prefix.into());
            self.version = fresh_version();
        }
    }

    /// The slot for an event key, if any rule reads it.
    ///
    /// The key as it is first, then without each registered prefix it
    /// starts with. Each try is a hash, which is why the JSON decoder
    /// remembers the answers for the paths of the previous event.
    #[inline]
    pub fn lookup(&self, key: &str) -> Option<FieldId> {
        if let Some(id) = self.map.get(key) {
            return Some(*id);
        }
        for p in &self.strip {
            if let Some(rest) = key.strip_prefix(&**p)
                && let Some(id) = self.map.get(rest)
            {
                return Some(*id);
            }
        }
        None
    }

    /// Number of slots.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when no rule reads any field.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The name of a slot. Panics on a slot this index never gave out.
    pub fn name(&self, id: FieldId) -> &str {
        &self.names[id as usize]
    }
}

/// A leaf value as a decoder hands it over.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scalar<'a> {
    /// Text (already unescaped).
    Str(&'a str),
    /// A number, as written.
    Num(&'a str),
    /// true / false.
    Bool(bool),
    /// null.
    Null,
}

/// The kind of a stored value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Text.
    Str,
    /// Number (text kept as written).
    Num,
    /// Boolean (`true`/`false` as text).
    Bool,
    /// null.
    Null,
}

/// One stored value: ranges into the record's text and lowercase buffers
/// (`u32` offsets keep it small: an event's text must stay under 4 GiB,
/// which nothing checks).
#[derive(Clone, Copy, Debug)]
struct Val {
    /// What kind of value.
    kind: Kind,
    /// Its text: `text[start..end]`.
    start: u32,
    /// End of its text.
    end: u32,
    /// Its lowercase: `lower[lstart..lend]`, when `lowered`.
    lstart: u32,
    /// End of its lowercase.
    lend: u32,
    /// The lowercase form lives in `lower` (else it is the text itself).
    lowered: bool,
}

/// Where a field's values are in `vals`, valid only when `epoch` is the
/// record's current one.
#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    /// The event this slot was last set in.
    epoch: u32,
    /// Index of its first value.
    start: u32,
    /// How many values (consecutive in `vals`).
    len: u32,
}

/// Whether a string's lowercase form exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LowerState {
    /// The text is its own lowercase.
    Same,
    /// Stored in `lower`.
    Made,
    /// Not computed (a field no rule names).
    NotMade,
}

/// A string of the event, for keyword search.
#[derive(Clone, Copy, Debug)]
struct StrVal {
    /// Its field's slot (`u32::MAX`: a field no rule names).
    field: FieldId,
    /// Its text: `text[start..end]`.
    start: u32,
    /// End of its text.
    end: u32,
    /// Its lowercase, when `lower` is `Made`.
    lstart: u32,
    /// End of its lowercase.
    lend: u32,
    /// Whether and where its lowercase exists.
    lower: LowerState,
}

/// A value read from a record.
#[derive(Clone, Copy, Debug)]
pub struct FieldVal<'r> {
    /// What kind of value.
    pub kind: Kind,
    /// The text as in the event.
    pub text: &'r str,
    /// The text lowercased (character by character).
    pub lower: &'r str,
}

/// The decoded event.
///
/// Made once per thread ([`Record::new`]) and reused: [`Record::clear`],
/// then a decoder's pushes, then the engine's reads.
#[derive(Debug, Default)]
pub struct Record {
    /// The current event's number; slots stamped otherwise are absent.
    epoch: u32,
    /// Per field slot: where its values are.
    slots: Vec<Slot>,
    /// Every stored value, grouped by field in push order.
    vals: Vec<Val>,
    /// The text of every value, back to back.
    text: String,
    /// The lowercase forms that differ from their text, back to back.
    lower: String,
    /// The fields set in this event, in the order first seen.
    present: Vec<FieldId>,
    /// Every string value: (text range, lowercase range, lowercase state).
    strings: Vec<StrVal>,
    /// Whether to keep every string for keyword search (some rule has
    /// keywords); without it, strings of unnamed fields are dropped.
    keep_strings: bool,
}

/// Lowercases `s` onto `out`, character by character (context-free, so a
/// substring's lowercase is a substring of the lowercase: prefilters rely on
/// it). Returns false when `s` had nothing to lowercase.
#[inline]
pub fn push_lower(s: &str, out: &mut String) -> bool {
    if s.is_ascii() {
        if !s.bytes().any(|b| b.is_ascii_uppercase()) {
            return false;
        }
        // Copy, then lowercase in place: one memcpy and a vectorisable pass.
        let start = out.len();
        out.push_str(s);
        out[start..].make_ascii_lowercase();
        return true;
    }
    // Mostly ASCII with a few other characters (`Microsoft® Windows®`):
    // ASCII runs take the fast path, only the rest goes through Unicode's
    // tables.
    let mut changed = false;
    let mut rest = s;
    while !rest.is_empty() {
        let ascii = rest
            .bytes()
            .position(|b| !b.is_ascii())
            .unwrap_or(rest.len());
        let (run, tail) = rest.split_at(ascii);
        let start = out.len();
        out.push_str(run);
        if run.bytes().any(|b| b.is_ascii_uppercase()) {
            out[start..].make_ascii_lowercase();
            changed = true;
        }
        let mut chars = tail.chars();
        let Some(c) = chars.next() else { break };
        let mut it = c.to_lowercase();
        match (it.next(), it.next()) {
            (Some(l), None) if l == c => out.push(c),
            (Some(l), more) => {
                changed = true;
                out.push(l);
                if let Some(r) = more {
                    out.push(r);
                    out.extend(it);
                }
            }
            (None, _) => {}
        }
        rest = chars.as_str();
    }
    changed
}

/// Lowercase of `s` as a new string (compile time; not for the hot path).
pub fn lower(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    if !push_lower(s, &mut out) {
        return s.to_string();
    }
    out
}

impl Record {
    /// An empty record for an engine with `fields` slots. `keep_strings`:
    /// keep every string of the event for keyword search.
    pub fn new(fields: usize, keep_strings: bool) -> Self {
        Record {
            epoch: 1,
            slots: vec![Slot::default(); fields],
            keep_strings,
            ..Record::default()
        }
    }

    /// Forgets the previous event, keeping the buffers. Costs the same
    /// however many fields the engine has: slots are invalidated by moving
    /// to a new epoch, not by resetting them.
    pub fn clear(&mut self) {
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            // Wrapped after 4 billion events: reset stamps so none look current.
            for s in &mut self.slots {
                s.epoch = 0;
            }
            self.epoch = 1;
        }
        self.vals.clear();
        self.text.clear();
        self.lower.clear();
        self.present.clear();
        self.strings.clear();
    }

    /// Adds a leaf. Repeated pushes to the same field in a row make a list
    /// (JSON arrays); a field seen again later keeps its first value.
    ///
    /// `field` is `None` for a key no rule names: such a value is dropped,
    /// unless it is a string kept for keyword search. Numbers keep the text
    /// they were written with; booleans are stored as `true`/`false`.
    #[inline]
    pub fn push(&mut self, field: Option<FieldId>, v: Scalar<'_>) {
        let (kind, text) = match v {
            Scalar::Str(s) => {
                let start = self.text.len();
                self.text.push_str(s);
                self.commit_str(field, start);
                return;
            }
            Scalar::Num(s) => (Kind::Num, s),
            Scalar::Bool(true) => (Kind::Bool, "true"),
            Scalar::Bool(false) => (Kind::Bool, "false"),
            Scalar::Null => (Kind::Null, ""),
        };
        let Some(id) = field else { return };
        if !self.accepts(id) {
            return;
        }
        let start = self.text.len();
        self.text.push_str(text);
        self.commit(id, kind, start);
    }

    /// Adds a string leaf that `build` writes in place (a decoder unescaping
    /// straight into the record, saving a copy). On error nothing is added.
    #[inline]
    pub fn push_str_with<E>(
        &mut self,
        field: Option<FieldId>,
        build: impl FnOnce(&mut String) -> Result<(), E>,
    ) -> Result<(), E> {
        let start = self.text.len();
        if let Err(e) = build(&mut self.text) {
            self.text.truncate(start);
            return Err(e);
        }
        self.commit_str(field, start);
        Ok(())
    }

    /// Whether a value for `id` would be kept: not a later, separate
    /// occurrence of a field already set (the first value wins).
    #[inline]
    fn accepts(&self, id: FieldId) -> bool {
        let slot = self.slots[id as usize];
        slot.epoch != self.epoch || slot.start + slot.len == self.vals.len() as u32
    }

    /// Files the string just written at `text[start..]`.
    #[inline]
    fn commit_str(&mut self, field: Option<FieldId>, start: usize) {
        let end = self.text.len() as u32;
        let start32 = start as u32;
        match field {
            Some(id) if self.accepts(id) => {
                let lstart = self.lower.len() as u32;
                let lowered = self.commit(id, Kind::Str, start);
                if self.keep_strings {
                    let state = if lowered {
                        LowerState::Made
                    } else {
                        LowerState::Same
                    };
                    let lend = self.lower.len() as u32;
                    self.strings.push(StrVal {
                        field: id,
                        start: start32,
                        end,
                        lstart,
                        lend,
                        lower: state,
                    });
                }
            }
            // Strings of fields no rule names serve keyword search only;
            // their lowercase is made on demand (rarely needed).
            None if self.keep_strings => {
                self.strings.push(StrVal {
                    field: FieldId::MAX,
                    start: start32,
                    end,
                    lstart: 0,
                    lend: 0,
                    lower: LowerState::NotMade,
                });
            }
            _ => self.text.truncate(start),
        }
    }

    /// Files the value just written at `text[start..]` under `id` (which
    /// accepts it), lowercasing it; returns whether the lowercase differs.
    #[inline]
    fn commit(&mut self, id: FieldId, kind: Kind, start: usize) -> bool {
        let n = self.vals.len() as u32;
        let end = self.text.len() as u32;
        let lstart = self.lower.len() as u32;
        let lowered = push_lower(&self.text[start..], &mut self.lower);
        let lend = self.lower.len() as u32;
        self.vals.push(Val {
            kind,
            start: start as u32,
            end,
            lstart,
            lend,
            lowered,
        });
        let s = &mut self.slots[id as usize];
        if s.epoch == self.epoch {
            s.len += 1;
        } else {
            *s = Slot {
                epoch: self.epoch,
                start: n,
                len: 1,
            };
            self.present.push(id);
        }
        lowered
    }

    #[inline]
    fn val(&self, v: &Val) -> FieldVal<'_> {
        let text = &self.text[v.start as usize..v.end as usize];
        FieldVal {
            kind: v.kind,
            text,
            lower: if v.lowered {
                &self.lower[v.lstart as usize..v.lend as usize]
            } else {
                text
            },
        }
    }

    /// The values of a field (several for lists); empty when absent.
    #[inline]
    pub fn get(&self, id: FieldId) -> impl Iterator<Item = FieldVal<'_>> + '_ {
        let s = self.slots.get(id as usize).copied().unwrap_or_default();
        let range = if s.epoch == self.epoch {
            s.start as usize..(s.start + s.len) as usize
        } else {
            0..0
        };
        self.vals[range].iter().map(move |v| self.val(v))
    }

    /// True when the event has the field (even as null).
    #[inline]
    pub fn has(&self, id: FieldId) -> bool {
        self.slots
            .get(id as usize)
            .is_some_and(|s| s.epoch == self.epoch)
    }

    /// The fields this event has, in decoding order. The prefilter walks
    /// these instead of every field the rules know.
    pub fn present(&self) -> &[FieldId] {
        &self.present
    }

    /// Every string value of the event, known field or not (for keywords):
    /// the text, and its lowercase when already made (`None`: lowercase it
    /// yourself if you need it).
    pub fn strings(&self) -> impl Iterator<Item = (&str, Option<&str>)> + '_ {
        self.strings_by_field().map(|(_, t, l)| (t, l))
    }

    /// [`Record::strings`] with the slot of each string's field (`None`:
    /// a field no rule names).
    pub fn strings_by_field(
        &self,
    ) -> impl Iterator<Item = (Option<FieldId>, &str, Option<&str>)> + '_ {
        self.strings.iter().map(|v| {
            let t = &self.text[v.start as usize..v.end as usize];
            let l = match v.lower {
                LowerState::Same => Some(t),
                LowerState::Made => Some(&self.lower[v.lstart as usize..v.lend as usize]),
                LowerState::NotMade => None,
            };
            ((v.field != FieldId::MAX).then_some(v.field), t, l)
        })
    }

    /// Grows the slot table when the engine gained fields. Pushing to a
    /// slot the table does not have panics, so a record made for one
    /// engine must be grown before it serves a larger one.
    pub fn ensure_fields(&mut self, n: usize) {
        if self.slots.len() < n {
            self.slots.resize(n, Slot::default());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_lowercase_and_reuse() {
        let mut idx = FieldIndex::default();
        let img = idx.intern("Image");
        let tags = idx.intern("tags");
        idx.strip_prefix("Event.EventData.");
        let mut r = Record::new(idx.len(), true);
        r.push(
            idx.lookup("Event.EventData.Image"),
            Scalar::Str(r"C:\Windows\CMD.exe"),
        );
        r.push(idx.lookup("tags"), Scalar::Str("a"));
        r.push(idx.lookup("tags"), Scalar::Str("B"));
        r.push(idx.lookup("Image"), Scalar::Str("second"));
        r.push(idx.lookup("Other"), Scalar::Str("kw"));
        let v: Vec<_> = r.get(img).collect();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].text, r"C:\Windows\CMD.exe");
        assert_eq!(v[0].lower, r"c:\windows\cmd.exe");
        let t: Vec<_> = r.get(tags).map(|v| v.lower).collect();
        assert_eq!(t, ["a", "b"]);
        assert_eq!(r.strings().count(), 4);
        assert!(
            r.strings()
                .any(|(t, l)| t == r"C:\Windows\CMD.exe" && l == Some(r"c:\windows\cmd.exe"))
        );
        assert!(r.strings().any(|(t, l)| t == "kw" && l.is_none()));
        r.clear();
        assert!(!r.has(img));
        assert_eq!(r.get(tags).count(), 0);
    }

    #[test]
    fn unicode_lowercase_is_per_character() {
        assert_eq!(lower("ÉCOLE Đông"), "école đông");
        assert_eq!(lower("abc"), "abc");
        assert_eq!(
            lower("Microsoft® WINDOWS® İx"),
            "microsoft® windows® i\u{307}x"
        );
        let mut out = String::new();
        assert!(!push_lower("déjà vu ®", &mut out), "nothing to lowercase");
    }
}
