//! Time helpers: unix milliseconds, month boundaries, parsing dates from query strings.

use jiff::civil::Date;
use jiff::{Timestamp, tz::TimeZone};

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    Timestamp::now().as_millisecond()
}

/// Unix milliseconds of the first instant of the calendar month containing `at_ms`, in `tz`.
pub fn month_start_ms(at_ms: i64, tz: &TimeZone) -> i64 {
    let Ok(ts) = Timestamp::from_millisecond(at_ms) else {
        return 0;
    };
    let zoned = ts.to_zoned(tz.clone());
    zoned
        .date()
        .first_of_month()
        .to_zoned(tz.clone())
        .map(|z| z.timestamp().as_millisecond())
        .unwrap_or(0)
}

/// Unix milliseconds of the first instant of the next calendar month after `at_ms`, in `tz`.
pub fn next_month_start_ms(at_ms: i64, tz: &TimeZone) -> i64 {
    let Ok(ts) = Timestamp::from_millisecond(at_ms) else {
        return 0;
    };
    let first = ts.to_zoned(tz.clone()).date().first_of_month();
    first
        .checked_add(jiff::Span::new().months(1))
        .ok()
        .and_then(|d| d.to_zoned(tz.clone()).ok())
        .map(|z| z.timestamp().as_millisecond())
        .unwrap_or(i64::MAX)
}

/// Parses an RFC 3339 timestamp, a `YYYY-MM-DD` date (midnight UTC) or unix seconds.
pub fn parse_instant_ms(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Some(ts.as_millisecond());
    }
    if let Ok(d) = text.parse::<Date>() {
        return d
            .to_zoned(TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp().as_millisecond());
    }
    text.parse::<i64>().ok().and_then(|s| s.checked_mul(1000))
}

/// RFC 3339 text of unix milliseconds.
pub fn rfc3339(ms: i64) -> String {
    Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_boundaries_in_utc_and_shanghai() {
        // 2026-03-31T20:00:00Z is already April 1st 04:00 in Shanghai (UTC+8).
        let at = "2026-03-31T20:00:00Z"
            .parse::<Timestamp>()
            .unwrap()
            .as_millisecond();
        let utc = TimeZone::UTC;
        let sh = TimeZone::get("Asia/Shanghai").unwrap();
        assert_eq!(rfc3339(month_start_ms(at, &utc)), "2026-03-01T00:00:00Z");
        assert_eq!(
            rfc3339(next_month_start_ms(at, &utc)),
            "2026-04-01T00:00:00Z"
        );
        assert_eq!(rfc3339(month_start_ms(at, &sh)), "2026-03-31T16:00:00Z");
        assert_eq!(
            rfc3339(next_month_start_ms(at, &sh)),
            "2026-04-30T16:00:00Z"
        );
    }

    #[test]
    fn instants_parse_three_ways() {
        assert_eq!(parse_instant_ms("1970-01-02"), Some(86_400_000));
        assert_eq!(parse_instant_ms("1970-01-01T00:00:01Z"), Some(1000));
        assert_eq!(parse_instant_ms("60"), Some(60_000));
        assert_eq!(parse_instant_ms("yesterday"), None);
    }
}
