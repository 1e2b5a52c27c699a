//! How the store writes times: fixed-width RFC 3339 text in UTC, so text
//! order is time order in both backends and no dialect's time type is
//! needed.

use chrono::{DateTime, Utc};

use crate::StoreError;

/// Times as stored: `2026-11-24T03:00:00.123456Z`.
///
/// Always six fractional digits, so the text has one width and compares
/// like the time; precision below a microsecond is dropped.
pub(crate) fn text(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// The hour key of `event_counts`: `2026-11-24T03`. A prefix of
/// [`text`], so it sorts the same way.
pub(crate) fn hour_text(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H").to_string()
}

/// Now, as stored.
pub(crate) fn now() -> String {
    text(Utc::now())
}

/// A stored time read back (the column names the value in the error).
/// Accepts any RFC 3339 time, converted to UTC; anything else is
/// [`StoreError::Corrupt`].
pub(crate) fn parse(s: &str, column: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt {
            what: format!("{column} `{s}`"),
            reason: e.to_string(),
        })
}

/// A nullable time column read back (`None` for NULL).
pub(crate) fn opt(r: &sqlx::any::AnyRow, col: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
    use sqlx::Row;
    r.try_get::<Option<String>, _>(col)?
        .map(|s| parse(&s, col))
        .transpose()
}

/// An `event_counts` hour read back: the start of that hour.
pub(crate) fn parse_hour(s: &str) -> Result<DateTime<Utc>, StoreError> {
    parse(&format!("{s}:00:00Z"), "hour")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips_and_sorts() {
        let t = DateTime::parse_from_rfc3339("2026-11-24T03:04:05.5Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(text(t), "2026-11-24T03:04:05.500000Z");
        assert_eq!(parse(&text(t), "x").unwrap(), t);
        assert_eq!(hour_text(t), "2026-11-24T03");
        assert_eq!(
            text(parse_hour("2026-11-24T03").unwrap()),
            "2026-11-24T03:00:00.000000Z"
        );
        assert!(parse("yesterday", "created_at").is_err());
    }
}
