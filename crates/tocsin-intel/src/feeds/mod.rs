//! Feed readers: the bytes a feed serves → indicators, and every row that
//! could not be read, with its line, field and reason. A bad row never
//! stops the rest.
//!
//! | format | source |
//! |---|---|
//! | `feodo_csv`, `feodo_json` | abuse.ch Feodo Tracker blocklists |
//! | `urlhaus_csv` | abuse.ch URLhaus (commented header, tags in one field) |
//! | `threatfox_csv` | abuse.ch ThreatFox (`", "` separators, `None` nulls, 14 or 15 columns) |
//! | `plain` | one value per line, kind guessed per line, `#`/`;` comments |
//! | `misp` | a MISP event (`{"Event": …}`), attributes with `to_ids` |
//! | `stix` | a STIX 2.1 bundle, indicators whose patterns are ORed comparisons |
//! | `national_csv` | the national center's list of the province's botnet addresses (sightings, not indicators) |

mod abusech;
mod misp;
mod national;
mod plain;
mod stix;
mod time;

use tocsin_model::Threat;

pub use national::{NationalRow, parse_national};

use crate::indicator::Indicator;

tocsin_model::named_enum!(
    /// How a feed is written.
    FeedFormat {
        /// Feodo Tracker's CSV blocklist.
        FeodoCsv => "feodo_csv",
        /// Feodo Tracker's JSON blocklist.
        FeodoJson => "feodo_json",
        /// URLhaus CSV.
        UrlhausCsv => "urlhaus_csv",
        /// ThreatFox CSV.
        ThreatfoxCsv => "threatfox_csv",
        /// One value per line.
        Plain => "plain",
        /// A MISP event as JSON.
        Misp => "misp",
        /// A STIX 2.1 bundle.
        Stix => "stix",
        /// The national center's list of botnet addresses (CSV).
        NationalCsv => "national_csv",
    }
);

/// A row that could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Its line (1-based; for JSON feeds, the item's position).
    pub line: u64,
    /// The field, when one is at fault.
    pub field: Option<String>,
    /// Why.
    pub reason: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "line {}, {field}: {}", self.line, self.reason),
            None => write!(f, "line {}: {}", self.line, self.reason),
        }
    }
}

/// What a feed held.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    /// The indicators read.
    pub indicators: Vec<Indicator>,
    /// The first problems (at most [`MAX_PROBLEMS`] kept).
    pub problems: Vec<Problem>,
    /// Every problem, counted.
    pub rejected: u64,
}

/// Problems kept per load; the rest are counted.
pub const MAX_PROBLEMS: usize = 100;

impl Parsed {
    /// Counts a refused row and keeps it while fewer than [`MAX_PROBLEMS`]
    /// are kept.
    pub fn problem(&mut self, line: u64, field: Option<&str>, reason: impl Into<String>) {
        self.rejected += 1;
        self.keep(Problem {
            line,
            field: field.map(str::to_string),
            reason: reason.into(),
        });
    }

    /// Keeps a problem counted elsewhere, while fewer than
    /// [`MAX_PROBLEMS`] are kept.
    pub fn keep(&mut self, p: Problem) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(p);
        }
    }
}

/// What to assume of a feed that does not say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedDefaults {
    /// What its indicators point at (plain lists say nothing).
    pub threat: Threat,
    /// Their family.
    pub family: Option<String>,
    /// Their confidence.
    pub confidence: u8,
}

impl Default for FeedDefaults {
    fn default() -> Self {
        FeedDefaults {
            threat: Threat::Other,
            family: None,
            confidence: 75,
        }
    }
}

/// The feed's error as a whole (nothing could be read).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FeedError {
    /// The document is not the format said (not JSON, not a bundle).
    #[error("not a {format} feed: {reason}")]
    Format {
        /// The format expected.
        format: FeedFormat,
        /// Why not.
        reason: String,
    },
    /// `national_csv` holds sightings, read with [`parse_national`].
    #[error("the national list holds sightings, not indicators")]
    Sightings,
}

/// Reads a feed of `format`. Rows that cannot be read are problems; the
/// document as a whole failing (not JSON at all) is an error.
pub fn parse(format: FeedFormat, bytes: &[u8], d: &FeedDefaults) -> Result<Parsed, FeedError> {
    match format {
        FeedFormat::FeodoCsv => Ok(abusech::feodo_csv(bytes)),
        FeedFormat::FeodoJson => abusech::feodo_json(bytes),
        FeedFormat::UrlhausCsv => Ok(abusech::urlhaus_csv(bytes)),
        FeedFormat::ThreatfoxCsv => Ok(abusech::threatfox_csv(bytes)),
        FeedFormat::Plain => Ok(plain::parse(bytes, d)),
        FeedFormat::Misp => misp::parse(bytes, d),
        FeedFormat::Stix => stix::parse(bytes, d),
        FeedFormat::NationalCsv => Err(FeedError::Sightings),
    }
}

/// The lines of a text feed, numbered from 1, each as text when it is
/// UTF-8 (a problem otherwise), without its line end.
pub(crate) fn lines<'a>(bytes: &'a [u8], out: &mut Parsed) -> Vec<(u64, &'a str)> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut v = Vec::new();
    for (i, l) in bytes.split(|&b| b == b'\n').enumerate() {
        let n = i as u64 + 1;
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        match std::str::from_utf8(l) {
            Ok(s) => v.push((n, s)),
            Err(e) => out.problem(n, None, format!("not UTF-8 at byte {}", e.valid_up_to())),
        }
    }
    v
}

#[cfg(test)]
mod tests;
