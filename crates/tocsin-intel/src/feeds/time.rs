//! The times feeds write: abuse.ch's `2024-04-04 07:03:03` (UTC), plain
//! dates, RFC 3339, MISP's epoch seconds, and the Vietnamese
//! `12/03/2019 10:22` (day first, UTC+07:00 when no zone is given).

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// A time as written, `zone` assumed when it names none.
pub(crate) fn parse(s: &str, zone: FixedOffset) -> Option<DateTime<Utc>> {
    let s = s.trim().trim_matches('"');
    if s.is_empty() || s.eq_ignore_ascii_case("none") || s == "null" {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    if s.len() <= 12 && s.bytes().all(|b| b.is_ascii_digit()) {
        return s
            .parse::<i64>()
            .ok()
            .and_then(|n| DateTime::from_timestamp(n, 0));
    }
    for f in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%d/%m/%Y %H:%M:%S",
        "%d/%m/%Y %H:%M",
        "%Y-%m-%dT%H:%M:%S%.f",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return zone
                .from_local_datetime(&t)
                .single()
                .map(|t| t.with_timezone(&Utc));
        }
    }
    for f in ["%Y-%m-%d", "%d/%m/%Y"] {
        if let Ok(d) = NaiveDate::parse_from_str(s, f) {
            let t = d.and_hms_opt(0, 0, 0)?;
            return zone
                .from_local_datetime(&t)
                .single()
                .map(|t| t.with_timezone(&Utc));
        }
    }
    None
}

/// UTC, as abuse.ch writes.
pub(crate) fn utc() -> FixedOffset {
    FixedOffset::east_opt(0).unwrap_or_else(tocsin_model::vietnam_offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forms_feeds_write() {
        let vn = tocsin_model::vietnam_offset();
        let t = |s| parse(s, utc()).map(|t| t.to_rfc3339());
        assert_eq!(
            t("2024-04-04 07:03:03").as_deref(),
            Some("2024-04-04T07:03:03+00:00")
        );
        assert_eq!(
            t("2024-04-04").as_deref(),
            Some("2024-04-04T00:00:00+00:00")
        );
        assert_eq!(
            t("1712214183").as_deref(),
            Some("2024-04-04T07:03:03+00:00")
        );
        assert_eq!(t("None"), None);
        assert_eq!(
            parse("12/03/2019 10:22:01", vn)
                .map(|t| t.to_rfc3339())
                .as_deref(),
            Some("2019-03-12T03:22:01+00:00"),
            "day first, Vietnam's time"
        );
        assert_eq!(t("32/13/2019"), None);
    }
}
