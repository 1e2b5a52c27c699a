//! How severe a finding is: the one scale rules, detectors, alerts and
//! configuration share.

use std::fmt;
use std::str::FromStr;

use crate::UnknownVariant;

/// Severity, lowest first (so `>=` compares severities).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Level {
    /// informational
    Informational,
    /// low
    Low,
    /// medium (also the default when a rule gives none)
    #[default]
    Medium,
    /// high
    High,
    /// critical
    Critical,
}

impl Level {
    /// Parses a level name (any case; `info` for informational).
    pub fn parse(s: &str) -> Option<Level> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "informational" | "info" => Level::Informational,
            "low" => Level::Low,
            "medium" => Level::Medium,
            "high" => Level::High,
            "critical" => Level::Critical,
            _ => return None,
        })
    }

    /// The name used in rules, the database and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Informational => "informational",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }

    /// Every level, lowest first.
    pub const ALL: [Level; 5] = [
        Level::Informational,
        Level::Low,
        Level::Medium,
        Level::High,
        Level::Critical,
    ];
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Level {
    type Err = UnknownVariant;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Level::parse(s).ok_or_else(|| UnknownVariant {
            value: s.trim().to_string(),
            expected: "informational low medium high critical",
        })
    }
}

crate::serde_as_text!(Level);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_typos_are_refused() {
        for l in Level::ALL {
            assert_eq!(l.as_str().parse::<Level>(), Ok(l));
            let j = serde_json::to_string(&l).unwrap();
            assert_eq!(serde_json::from_str::<Level>(&j).unwrap(), l);
        }
        assert_eq!("INFO".parse::<Level>(), Ok(Level::Informational));
        let e = serde_json::from_str::<Level>("\"hihg\"").unwrap_err();
        assert!(e.to_string().contains("hihg"), "{e}");
        assert!(Level::Critical > Level::High && Level::Low > Level::Informational);
    }
}
