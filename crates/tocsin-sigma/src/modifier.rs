//! Value modifiers: `Field|contains|all: …`.

use std::fmt;

/// Which part of a timestamp a time modifier compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimePart {
    /// 0–59
    Minute,
    /// 0–23
    Hour,
    /// 1–31
    Day,
    /// ISO week, 1–53
    Week,
    /// 1–12
    Month,
    /// e.g. 2025
    Year,
}

/// The modifiers of one detection item, checked for consistency.
///
/// Order in the rule does not matter (`|contains|all` is `|all|contains`),
/// except that a modifier may not be given twice. Combinations the
/// specification leaves meaningless are refused at load time instead of
/// being silently resolved one way.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Modifiers {
    /// `contains`
    pub contains: bool,
    /// `startswith`
    pub startswith: bool,
    /// `endswith`
    pub endswith: bool,
    /// `all`: every value must match (AND instead of OR).
    pub all: bool,
    /// `re`, with flags `i`, `m`, `s`.
    pub re: bool,
    /// `i` flag of `re`.
    pub re_i: bool,
    /// `m` flag of `re`.
    pub re_m: bool,
    /// `s` flag of `re`.
    pub re_s: bool,
    /// `base64`
    pub base64: bool,
    /// `base64offset`
    pub base64offset: bool,
    /// `utf16le` / `wide`
    pub utf16le: bool,
    /// `utf16be`
    pub utf16be: bool,
    /// `utf16` (with byte-order mark)
    pub utf16: bool,
    /// `windash`
    pub windash: bool,
    /// `cidr`
    pub cidr: bool,
    /// `exists`
    pub exists: bool,
    /// `cased`
    pub cased: bool,
    /// `expand`
    pub expand: bool,
    /// `fieldref`
    pub fieldref: bool,
    /// `lt`, `lte`, `gt`, `gte`
    pub cmp: Option<Cmp>,
    /// `neq`
    pub neq: bool,
    /// `minute` … `year`
    pub time: Option<TimePart>,
}

/// Numeric comparisons.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    /// `lt`
    Lt,
    /// `lte`
    Lte,
    /// `gt`
    Gt,
    /// `gte`
    Gte,
}

/// A modifier chain that is not valid. Holds the message for the rule's
/// author; the caller adds the key and line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModifierError(pub String);

impl fmt::Display for ModifierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Modifiers {
    /// Parses the names after the field (`["contains", "all"]`).
    ///
    /// Names are case-sensitive. An unknown name is an error listing the
    /// known ones.
    pub fn parse(names: &[&str]) -> Result<Self, ModifierError> {
        let mut m = Modifiers::default();
        for (i, raw) in names.iter().enumerate() {
            let name = raw.trim();
            let set = |flag: &mut bool| {
                if *flag {
                    Err(ModifierError(format!("modifier `{name}` is given twice")))
                } else {
                    *flag = true;
                    Ok(())
                }
            };
            match name {
                "contains" => set(&mut m.contains)?,
                "startswith" => set(&mut m.startswith)?,
                "endswith" => set(&mut m.endswith)?,
                "all" => set(&mut m.all)?,
                "re" => set(&mut m.re)?,
                "i" | "ignorecase" => set(&mut m.re_i)?,
                "m" | "multiline" => set(&mut m.re_m)?,
                "s" | "dotall" => set(&mut m.re_s)?,
                "base64" => set(&mut m.base64)?,
                "base64offset" => set(&mut m.base64offset)?,
                "utf16le" | "wide" => set(&mut m.utf16le)?,
                "utf16be" => set(&mut m.utf16be)?,
                "utf16" => set(&mut m.utf16)?,
                "windash" => set(&mut m.windash)?,
                "cidr" => set(&mut m.cidr)?,
                "exists" => set(&mut m.exists)?,
                "cased" => set(&mut m.cased)?,
                "expand" => set(&mut m.expand)?,
                "fieldref" => set(&mut m.fieldref)?,
                "neq" => set(&mut m.neq)?,
                "lt" | "lte" | "gt" | "gte" => {
                    if m.cmp.is_some() {
                        return Err(ModifierError(
                            "only one of lt, lte, gt, gte may be used".into(),
                        ));
                    }
                    m.cmp = Some(match name {
                        "lt" => Cmp::Lt,
                        "lte" => Cmp::Lte,
                        "gt" => Cmp::Gt,
                        _ => Cmp::Gte,
                    });
                }
                "minute" | "hour" | "day" | "week" | "month" | "year" => {
                    if m.time.is_some() {
                        return Err(ModifierError("only one time modifier may be used".into()));
                    }
                    m.time = Some(match name {
                        "minute" => TimePart::Minute,
                        "hour" => TimePart::Hour,
                        "day" => TimePart::Day,
                        "week" => TimePart::Week,
                        "month" => TimePart::Month,
                        _ => TimePart::Year,
                    });
                }
                "" if i == 0 => {}
                other => {
                    return Err(ModifierError(format!(
                        "unknown modifier `{other}` (Sigma 2.1 knows contains, startswith, endswith, all, re, i, m, s, base64, base64offset, utf16le, utf16be, utf16, wide, windash, cidr, exists, cased, expand, fieldref, lt, lte, gt, gte, neq, minute, hour, day, week, month, year)"
                    )));
                }
            }
        }
        m.check()?;
        Ok(m)
    }

    /// Refuses combinations that have no single meaning: two position
    /// modifiers, regex flags without `re`, two "special" tests at once
    /// (`re`, `cidr`, `exists`, a comparison, a time part…), an encoding of
    /// a value that is not a plain string, a UTF-16 form without base64.
    fn check(&self) -> Result<(), ModifierError> {
        let pos = [self.contains, self.startswith, self.endswith]
            .iter()
            .filter(|b| **b)
            .count();
        if pos > 1 {
            return Err(ModifierError(
                "contains, startswith and endswith exclude each other".into(),
            ));
        }
        if (self.re_i || self.re_m || self.re_s) && !self.re {
            return Err(ModifierError(
                "flags i, m and s need the re modifier".into(),
            ));
        }
        let special = [
            self.re,
            self.cidr,
            self.exists,
            self.fieldref && pos == 0,
            self.cmp.is_some(),
            self.time.is_some(),
            self.expand,
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if special > 1 {
            return Err(ModifierError(
                "re, cidr, exists, fieldref, expand, lt/lte/gt/gte and time modifiers cannot be combined".into(),
            ));
        }
        if (self.re || self.cidr || self.exists || self.cmp.is_some()) && pos > 0 {
            return Err(ModifierError(
                "re, cidr, exists and comparisons cannot be combined with contains/startswith/endswith".into(),
            ));
        }
        if self.base64 && self.base64offset {
            return Err(ModifierError(
                "base64 and base64offset exclude each other".into(),
            ));
        }
        let enc = [self.utf16le, self.utf16be, self.utf16]
            .iter()
            .filter(|b| **b)
            .count();
        if enc > 1 {
            return Err(ModifierError(
                "choose one of utf16le/wide, utf16be, utf16".into(),
            ));
        }
        if enc > 0 && !(self.base64 || self.base64offset) {
            return Err(ModifierError(
                "utf16le/wide/utf16be/utf16 encode the value for base64 or base64offset; use one of them after it".into(),
            ));
        }
        if (self.re || self.cidr || self.exists || self.cmp.is_some())
            && (self.base64 || self.base64offset || self.windash)
        {
            return Err(ModifierError(
                "encoding modifiers only apply to plain string values".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_chains() {
        let m = Modifiers::parse(&["contains", "all", "windash"]).unwrap();
        assert!(m.contains && m.all && m.windash);
        let m = Modifiers::parse(&["re", "i", "m"]).unwrap();
        assert!(m.re && m.re_i && m.re_m);
        assert!(Modifiers::parse(&["wide", "base64offset", "contains"]).is_ok());
        assert_eq!(Modifiers::parse(&["gte"]).unwrap().cmp, Some(Cmp::Gte));
        assert_eq!(
            Modifiers::parse(&["hour"]).unwrap().time,
            Some(TimePart::Hour)
        );
    }

    #[test]
    fn rejects_bad_chains() {
        for bad in [
            vec!["contain"],
            vec!["contains", "endswith"],
            vec!["i"],
            vec!["re", "cidr"],
            vec!["contains", "contains"],
            vec!["wide"],
            vec!["lt", "gt"],
        ] {
            assert!(Modifiers::parse(&bad).is_err(), "{bad:?}");
        }
        let e = Modifiers::parse(&["containz"]).unwrap_err().0;
        assert!(e.starts_with("unknown modifier `containz`"), "{e}");
    }
}
