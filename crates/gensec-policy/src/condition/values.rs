//! Typed condition values: numbers, dates and IP addresses, as written in
//! policies and as found in request contexts.

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use ipnet::IpNet;
use std::net::IpAddr;

/// A number as IAM's `Numeric...` operators read it (integer or decimal).
pub(crate) fn parse_number(text: &str) -> Option<f64> {
    let looks_numeric = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'));
    if !looks_numeric {
        return None;
    }
    text.parse::<f64>().ok().filter(|number| number.is_finite())
}

/// A date as milliseconds since the epoch: W3C/ISO 8601 date-times (with
/// `Z` or an offset; without one, UTC), dates (`2024-06-01`, UTC midnight),
/// or epoch seconds (`1717200000`), the forms IAM's date operators accept
/// ("IAM JSON policy elements: Condition operators", *Date condition operators*).
pub(crate) fn parse_date(text: &str) -> Option<i64> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse::<i64>().ok()?.checked_mul(1000);
    }
    if let Ok(datetime) = DateTime::parse_from_rfc3339(text) {
        return Some(datetime.timestamp_millis());
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            return Some(naive.and_utc().timestamp_millis());
        }
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis())
}

/// An `IpAddress` value: a CIDR block, or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IpPattern {
    Block(IpNet),
    Address(IpAddr),
}

impl IpPattern {
    pub fn parse(text: &str) -> Option<Self> {
        if text.contains('/') {
            text.parse::<IpNet>().ok().map(IpPattern::Block)
        } else {
            text.parse::<IpAddr>().ok().map(IpPattern::Address)
        }
    }

    /// An address of the other family is outside the block.
    pub fn contains(&self, address: &IpAddr) -> bool {
        match self {
            IpPattern::Block(block) => block.contains(address),
            IpPattern::Address(own) => own == address,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_number("3600"), Some(3600.0));
        assert_eq!(parse_number("-1.5"), Some(-1.5));
        assert_eq!(parse_number("1e3"), Some(1000.0));
        for bad in ["", "abc", "12abc", "inf", "NaN", " 1"] {
            assert_eq!(parse_number(bad), None, "{bad}");
        }
    }

    #[test]
    fn dates_in_every_accepted_form() {
        let midnight = parse_date("2024-06-01T00:00:00Z").unwrap();
        assert_eq!(parse_date("2024-06-01"), Some(midnight));
        assert_eq!(parse_date("2024-06-01T00:00:00"), Some(midnight));
        assert_eq!(parse_date("2024-06-01T02:00:00+02:00"), Some(midnight));
        assert_eq!(parse_date("1717200000"), Some(midnight));
        assert_eq!(parse_date("2024-06-01T00:00:00.500Z"), Some(midnight + 500));
        assert_eq!(parse_date("June 1st"), None);
    }

    #[test]
    fn ip_blocks_and_addresses_of_both_families() {
        let block = IpPattern::parse("203.0.113.0/24").unwrap();
        assert!(block.contains(&"203.0.113.7".parse().unwrap()));
        assert!(!block.contains(&"198.51.100.7".parse().unwrap()));
        assert!(!block.contains(&"2001:db8::1".parse().unwrap()));
        let v6 = IpPattern::parse("2001:db8::/32").unwrap();
        assert!(v6.contains(&"2001:db8:1::5".parse().unwrap()));
        let single = IpPattern::parse("10.0.0.1").unwrap();
        assert!(single.contains(&"10.0.0.1".parse().unwrap()));
        assert_eq!(IpPattern::parse("10.0.0.0/33"), None);
    }
}
