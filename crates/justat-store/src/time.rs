//! Instants as stored: fixed-width RFC 3339 in UTC, to the microsecond.

use crate::StoreError;
use jiff::Timestamp;

/// Formats an instant for storage; the fixed width makes text order equal time order.
pub(crate) fn to_db(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Reads a stored instant.
pub(crate) fn from_db(s: &str) -> Result<Timestamp, StoreError> {
    s.parse().map_err(|_| StoreError::Corrupt {
        what: "timestamp",
        value: s.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_instants_are_fixed_width_and_round_trip() {
        let ts: Timestamp = "2026-11-29T04:05:06.5Z".parse().unwrap();
        assert_eq!(to_db(ts), "2026-11-29T04:05:06.500000Z");
        assert_eq!(from_db(&to_db(ts)).unwrap(), ts);
        assert!(from_db("yesterday").is_err());
    }
}
