//! French formatting of numbers and instants, as the public and the staff read them.

use jiff::Timestamp;
use jiff::tz::TimeZone;

/// The time zone of every calendar time shown to users.
pub const PARIS: &str = "Europe/Paris";

const MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// An integer with French digit grouping: `1 855 704` (no-break spaces, so it never wraps).
pub fn integer(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{a0}');
        }
        out.push(c);
    }
    out
}

/// An instant as a Paris date and time: `29 novembre 2026 à 10 h 05`.
pub fn date_time(ts: Timestamp) -> String {
    let tz = TimeZone::get(PARIS).expect("the bundled tz database has Europe/Paris");
    let z = ts.to_zoned_datetime(tz);
    format!(
        "{} {} {} à {} h {:02}",
        day(z.day()),
        MONTHS[(z.month() - 1) as usize],
        z.year(),
        z.hour(),
        z.minute()
    )
}

fn day(d: i8) -> String {
    if d == 1 {
        "1er".to_string()
    } else {
        d.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_grouped_by_three() {
        assert_eq!(integer(0), "0");
        assert_eq!(integer(999), "999");
        assert_eq!(integer(1000), "1\u{a0}000");
        assert_eq!(integer(1_855_704), "1\u{a0}855\u{a0}704");
        assert_eq!(integer(-12_345), "-12\u{a0}345");
    }

    #[test]
    fn instants_are_shown_in_paris_time_across_dst() {
        // 2026-03-29 is the spring-forward day: 10:00 UTC is 12:00 in Paris.
        let ts: Timestamp = "2026-03-29T10:00:00Z".parse().unwrap();
        assert_eq!(date_time(ts), "29 mars 2026 à 12 h 00");
        let ts: Timestamp = "2026-12-01T08:05:00Z".parse().unwrap();
        assert_eq!(date_time(ts), "1er décembre 2026 à 9 h 05");
    }
}
