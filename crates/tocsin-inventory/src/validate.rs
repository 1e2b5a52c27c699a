//! Whole-draft validation: every problem at once, or a valid inventory.
//!
//! The checks run in order — agency codes, then each agency's fields,
//! parent cycles, overlapping ranges, then the assets — and none stops at
//! the first problem. Where a value is bad, a placeholder stands in (a
//! default kind, level 1, the range left out) so that the checks after it still
//! run; any problem means the inventory is never returned, so the
//! placeholders never leave this module.
//!
//! The format checks (codes, e-mails, phones, host names) are deliberately
//! simple: they catch typing and pasting mistakes in a spreadsheet, not
//! every corner of the relevant standards.

use std::collections::HashMap;

use tocsin_model::{Agency, AgencyKind, Asset, AssetKind, Cidr, Contact, Inventory, SecurityLevel};

use crate::{Diagnostic, Diagnostics, Draft, Src};

/// The problems found so far.
struct Ctx {
    /// In the order found.
    diags: Vec<Diagnostic>,
}

impl Ctx {
    /// Reports each value that `ok` refuses as "`value` is not `what`".
    fn each(
        &mut self,
        file: &str,
        field: &str,
        values: &[Src<String>],
        ok: fn(&str) -> bool,
        what: &str,
    ) {
        for v in values {
            if !ok(&v.value) {
                self.err(file, v.line, field, format!("`{}` is not {what}", v.value));
            }
        }
    }

    /// Records one problem at a line and field.
    fn err(&mut self, file: &str, s_line: usize, field: &str, msg: impl Into<String>) {
        self.diags.push(Diagnostic::at(file, s_line, field, msg));
    }
}

/// An agency or asset code: 1 to 64 ASCII letters, digits, `-`, `_` or
/// `.`. Codes are what other records and the rest of Tocsin refer to, so
/// they are kept to characters that need no quoting or escaping anywhere.
fn valid_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 64
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// A plausible e-mail address: something before one `@`, a host name with a
/// dot after it, and no spaces, `,` or `;` (the marks of several addresses
/// pasted into one value).
fn valid_email(e: &str) -> bool {
    let Some((local, domain)) = e.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !e.chars().any(|c| c.is_whitespace() || c == ',' || c == ';')
        && valid_hostname(domain)
}

/// A phone number as people write it: 6 to 15 digits (15 is the
/// international maximum), with spaces, `+`, `-`, `.` and parentheses
/// allowed among them and nothing else.
fn valid_phone(p: &str) -> bool {
    let digits = p.chars().filter(|c| c.is_ascii_digit()).count();
    (6..=15).contains(&digits)
        && p.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '.' | '(' | ')'))
}

/// A DNS host name: dot-separated labels of ASCII letters, digits and `-`
/// (not at either end of a label), at most 63 bytes a label and 253 in
/// all; one trailing dot is allowed. A name in another script must be
/// written in its `xn--` form.
fn valid_hostname(h: &str) -> bool {
    let h = h.strip_suffix('.').unwrap_or(h);
    !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// An asset URL: parses, is `http` or `https`, and has a host. The error
/// is the whole message, quoting the URL.
fn check_url(u: &str) -> Result<(), String> {
    let parsed = url::Url::parse(u).map_err(|e| format!("`{u}` is not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("`{u}`: scheme must be http or https"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("`{u}` has no host"));
    }
    Ok(())
}

impl Draft {
    /// Checks the whole draft; returns the inventory, or every problem found.
    ///
    /// Records keep the draft's order. On the way to the model, names and
    /// roles are trimmed and host names lower-cased; other values are kept
    /// as written. Validation reads the draft only, so it can be repeated
    /// after a merge.
    pub fn validate(&self) -> Result<Inventory, Diagnostics> {
        let mut cx = Ctx { diags: Vec::new() };
        let mut inv = Inventory::default();

        // Agencies: codes first, so parents and owners can be checked.
        let mut codes: HashMap<&str, (usize, &str, usize)> = HashMap::new();
        for (i, a) in self.agencies.iter().enumerate() {
            let code = a.code.value.as_str();
            if !valid_code(code) {
                cx.err(
                    &a.file,
                    a.code.line,
                    "code",
                    format!(
                        "`{code}` is not a valid code (letters, digits, `-`, `_`, `.`; at most 64)"
                    ),
                );
            } else if let Some((_, file, line)) = codes.get(code) {
                cx.err(
                    &a.file,
                    a.code.line,
                    "code",
                    format!("duplicate agency code `{code}` (first defined at {file}:{line})"),
                );
            } else {
                codes.insert(code, (i, &a.file, a.code.line));
            }
        }
        for a in &self.agencies {
            let kind = a.kind.value.parse::<AgencyKind>();
            if let Err(e) = &kind {
                cx.err(&a.file, a.kind.line, "kind", e.to_string());
            }
            if a.name.value.trim().is_empty() {
                cx.err(&a.file, a.name.line, "name", "must not be empty");
            }
            if let Some(p) = &a.parent {
                if p.value == a.code.value {
                    cx.err(
                        &a.file,
                        p.line,
                        "parent",
                        "an agency cannot be its own parent",
                    );
                } else if !codes.contains_key(p.value.as_str()) {
                    cx.err(
                        &a.file,
                        p.line,
                        "parent",
                        format!("unknown parent agency `{}`", p.value),
                    );
                }
            }
            let ranges = parse_cidrs(&mut cx, &a.file, "ranges", &a.ranges);
            let mut contacts = Vec::new();
            for c in &a.contacts {
                if c.name.value.trim().is_empty() {
                    cx.err(&a.file, c.name.line, "contacts.name", "must not be empty");
                }
                cx.each(
                    &a.file,
                    "contacts.emails",
                    &c.emails,
                    valid_email,
                    "an e-mail address",
                );
                cx.each(
                    &a.file,
                    "contacts.phones",
                    &c.phones,
                    valid_phone,
                    "a phone number",
                );
                contacts.push(Contact {
                    name: c.name.value.trim().to_string(),
                    role: c.role.trim().to_string(),
                    emails: c.emails.iter().map(|e| e.value.clone()).collect(),
                    phones: c.phones.iter().map(|p| p.value.clone()).collect(),
                });
            }
            inv.agencies.push(Agency {
                code: a.code.value.as_str().into(),
                name: a.name.value.trim().to_string(),
                name_en: a.name_en.as_ref().map(|n| n.value.trim().to_string()),
                kind: kind.unwrap_or(AgencyKind::Other),
                parent: a.parent.as_ref().map(|p| p.value.as_str().into()),
                contacts,
                ranges,
            });
        }
        self.check_cycles(&mut cx, &codes);
        self.check_overlaps(&mut cx, &inv, &codes);

        let mut asset_codes: HashMap<&str, (&str, usize)> = HashMap::new();
        for a in &self.assets {
            let code = a.code.value.as_str();
            if !valid_code(code) {
                cx.err(
                    &a.file,
                    a.code.line,
                    "code",
                    format!("`{code}` is not a valid code"),
                );
            } else if let Some((file, line)) = asset_codes.get(code) {
                cx.err(
                    &a.file,
                    a.code.line,
                    "code",
                    format!("duplicate asset code `{code}` (first defined at {file}:{line})"),
                );
            } else {
                asset_codes.insert(code, (&a.file, a.code.line));
            }
            if a.name.value.trim().is_empty() {
                cx.err(&a.file, a.name.line, "name", "must not be empty");
            }
            let kind = a.kind.value.parse::<AssetKind>();
            if let Err(e) = &kind {
                cx.err(&a.file, a.kind.line, "kind", e.to_string());
            }
            if !codes.contains_key(a.owner.value.as_str()) {
                cx.err(
                    &a.file,
                    a.owner.line,
                    "owner",
                    format!("unknown owner agency `{}`", a.owner.value),
                );
            }
            let level = a
                .level
                .value
                .trim()
                .parse::<u8>()
                .ok()
                .and_then(SecurityLevel::new);
            if level.is_none() {
                cx.err(
                    &a.file,
                    a.level.line,
                    "level",
                    format!(
                        "`{}` is not a security level 1–5 (Decree 85/2016)",
                        a.level.value
                    ),
                );
            }
            let addresses = parse_cidrs(&mut cx, &a.file, "addresses", &a.addresses);
            cx.each(
                &a.file,
                "hostnames",
                &a.hostnames,
                valid_hostname,
                "a host name",
            );
            for u in &a.urls {
                if let Err(m) = check_url(&u.value) {
                    cx.err(&a.file, u.line, "urls", m);
                }
            }
            if matches!(kind, Ok(AssetKind::Website)) && a.urls.is_empty() {
                cx.err(&a.file, a.line, "urls", "a website needs at least one URL");
            }
            inv.assets.push(Asset {
                code: code.into(),
                name: a.name.value.trim().to_string(),
                kind: kind.unwrap_or(AssetKind::Server),
                owner: a.owner.value.as_str().into(),
                level: level.unwrap_or(SecurityLevel::new(1).expect("1 is a level")),
                addresses,
                hostnames: a.hostnames.iter().map(|h| h.value.to_lowercase()).collect(),
                urls: a.urls.iter().map(|u| u.value.clone()).collect(),
                description: a.description.clone(),
            });
        }
        if cx.diags.is_empty() {
            Ok(inv)
        } else {
            Err(Diagnostics(cx.diags))
        }
    }

    /// Reports each agency whose parent chain leads back to itself, naming
    /// the chain. `codes` maps a code to (index, file, line) of its first
    /// definition. Every agency on a loop is reported once, at its own
    /// `parent`; an agency that only leads into a loop is not. Unknown
    /// parents end the walk (they are reported elsewhere).
    fn check_cycles(&self, cx: &mut Ctx, codes: &HashMap<&str, (usize, &str, usize)>) {
        for a in &self.agencies {
            let mut seen = vec![a.code.value.as_str()];
            let mut cur = a.parent.as_ref().map(|p| p.value.as_str());
            while let Some(p) = cur {
                if p == a.code.value {
                    cx.err(
                        &a.file,
                        a.parent.as_ref().map_or(a.line, |p| p.line),
                        "parent",
                        format!("parent chain loops back: {} → {}", seen.join(" → "), p),
                    );
                    break;
                }
                if seen.contains(&p) {
                    break; // a loop further up: reported at its own members
                }
                seen.push(p);
                cur = codes
                    .get(p)
                    .and_then(|(i, _, _)| self.agencies[*i].parent.as_ref())
                    .map(|q| q.value.as_str());
            }
        }
    }

    /// Ranges of two agencies may overlap only when one is nested inside the
    /// other and belongs to a descendant (a commune's block inside its
    /// district's, say). Sweep over ranges sorted by start: CIDR blocks are
    /// nested or disjoint, so the ranges overlapping one are exactly the
    /// enclosing ones on the stack.
    ///
    /// The same block listed by two agencies is refused even between an
    /// ancestor and its descendant: an address must belong to one agency
    /// most precisely. Costs one sort of all ranges; each range is then
    /// compared only with the blocks enclosing it.
    fn check_overlaps(
        &self,
        cx: &mut Ctx,
        inv: &Inventory,
        codes: &HashMap<&str, (usize, &str, usize)>,
    ) {
        // Walks at most as many steps as there are agencies, so a parent
        // loop (reported by `check_cycles`) cannot make it spin.
        let is_ancestor = |anc: usize, mut of: usize| {
            for _ in 0..=self.agencies.len() {
                let Some(p) = &self.agencies[of].parent else {
                    return false;
                };
                match codes.get(p.value.as_str()) {
                    Some((i, _, _)) if *i == anc => return true,
                    Some((i, _, _)) => of = *i,
                    None => return false,
                }
            }
            false
        };
        // (is IPv4, first address, last address, agency index, range index).
        let mut all: Vec<(bool, u128, u128, usize, usize)> = Vec::new();
        for (ai, a) in inv.agencies.iter().enumerate() {
            for (ri, r) in a.ranges.iter().enumerate() {
                let (s, e) = r.interval();
                all.push((r.is_ipv4(), s, e, ai, ri));
            }
        }
        // By family and start; at the same start the larger block first, so
        // an enclosing block is always on the stack before what it holds.
        all.sort_by(|x, y| (x.0, x.1).cmp(&(y.0, y.1)).then(y.2.cmp(&x.2)));
        let mut stack: Vec<(bool, u128, u128, usize, usize)> = Vec::new();
        for r in all {
            while stack.last().is_some_and(|t| t.0 != r.0 || t.2 < r.1) {
                stack.pop();
            }
            for outer in &stack {
                let (oa, ia) = (outer.3, r.3);
                if oa == ia {
                    continue; // an agency may list nested ranges of its own
                }
                let same = outer.1 == r.1 && outer.2 == r.2;
                if same || !is_ancestor(oa, ia) {
                    let d = &self.agencies[ia];
                    let o = &self.agencies[oa];
                    let line = d.ranges.get(r.4).map_or(d.line, |s| s.line);
                    let oline = o.ranges.get(outer.4).map_or(o.line, |s| s.line);
                    cx.err(&d.file, line, "ranges", format!(
                        "range {} of agency `{}` overlaps range {} of agency `{}` ({}:{}); \
                         a range may lie inside another agency's only when that agency is its parent or ancestor",
                        inv.agencies[ia].ranges[r.4], d.code.value,
                        inv.agencies[oa].ranges[outer.4], o.code.value, o.file, oline));
                }
            }
            stack.push(r);
        }
    }
}

/// The blocks of one list (an agency's ranges, an asset's addresses),
/// reporting each that does not parse (host bits set included) and each
/// listed twice. The bad and repeated ones are left out of the result.
fn parse_cidrs(cx: &mut Ctx, file: &str, field: &str, v: &[Src<String>]) -> Vec<Cidr> {
    let mut out: Vec<Cidr> = Vec::new();
    for s in v {
        match s.value.parse::<Cidr>() {
            Ok(c) if out.contains(&c) => {
                cx.err(file, s.line, field, format!("{c} is listed twice"));
            }
            Ok(c) => out.push(c),
            Err(e) => cx.err(file, s.line, field, format!("`{}`: {e}", s.value)),
        }
    }
    out
}
