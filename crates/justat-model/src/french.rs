//! French formatting of numbers and instants, as the public and the staff read them.

use jiff::Timestamp;
use jiff::tz::TimeZone;

/// The time zone of every calendar time shown to users.
pub const PARIS: &str = "Europe/Paris";

/// The months' French names, January first.
pub(crate) const MONTHS: [&str; 12] = [
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
    let z = in_paris(ts);
    format!(
        "{} {} {} à {} h {:02}",
        day(z.day()),
        MONTHS[(z.month() - 1) as usize],
        z.year(),
        z.hour(),
        z.minute()
    )
}

/// A number with `places` decimals, a decimal comma and French digit grouping: `12 345,7`
/// (no-break spaces). Halves round away from zero, as the service's tables do.
pub fn decimal(x: f64, places: u32) -> String {
    let scale = 10f64.powi(places as i32);
    let scaled = (x.abs() * scale).round();
    // Above 2^53 an f64 holds no decimals anyway; clamp rather than wrap.
    let units = (scaled / scale).trunc().min(i64::MAX as f64) as i64;
    let frac = (scaled - (units as f64) * scale).round() as u64;
    let mut out = String::new();
    if x < 0.0 && scaled > 0.0 {
        out.push('-');
    }
    out.push_str(&integer(units));
    if places > 0 {
        out.push(',');
        out.push_str(&format!("{frac:0width$}", width = places as usize));
    }
    out
}

/// A number rounded to a multiple of `step` (1, 10, 100, 1000…), written as an integer:
/// `rounded(548_712.0, 1000)` is `549 000`.
pub fn rounded(x: f64, step: u64) -> String {
    let step = step.max(1) as f64;
    integer(((x / step).round() * step) as i64)
}

/// An instant as a Paris date only: `29 novembre 2026`.
pub fn date(ts: Timestamp) -> String {
    let z = in_paris(ts);
    format!(
        "{} {} {}",
        day(z.day()),
        MONTHS[(z.month() - 1) as usize],
        z.year()
    )
}

/// A calendar day (already a Paris day, e.g. a campaign's close date): `1er mars 2026`.
pub fn day_of(d: jiff::civil::Date) -> String {
    format!(
        "{} {} {}",
        day(d.day()),
        MONTHS[(d.month() - 1) as usize],
        d.year()
    )
}

/// The instant on Paris's wall clock.
pub fn in_paris(ts: Timestamp) -> jiff::ZonedDateTime {
    ts.to_zoned_datetime(paris())
}

/// Europe/Paris.
pub(crate) fn paris() -> TimeZone {
    // The tz database is compiled in (jiff's `tzdb-bundle-always`): Europe/Paris is always there.
    TimeZone::get(PARIS).expect("the bundled tz database has Europe/Paris")
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
    fn calendar_days_are_written_with_1er_and_the_month_in_french() {
        use jiff::civil::date;
        assert_eq!(day_of(date(2026, 3, 1)), "1er mars 2026");
        assert_eq!(day_of(date(2026, 8, 2)), "2 août 2026");
        assert_eq!(day_of(date(2025, 12, 31)), "31 décembre 2025");
        assert_eq!(day_of(date(2027, 1, 10)), "10 janvier 2027");
    }

    #[test]
    fn integers_are_grouped_by_three() {
        assert_eq!(integer(0), "0");
        assert_eq!(integer(999), "999");
        assert_eq!(integer(1000), "1\u{a0}000");
        assert_eq!(integer(1_855_704), "1\u{a0}855\u{a0}704");
        assert_eq!(integer(-12_345), "-12\u{a0}345");
    }

    #[test]
    fn decimals_use_a_comma_and_round_half_away_from_zero() {
        assert_eq!(decimal(12345.66, 1), "12\u{a0}345,7");
        assert_eq!(decimal(0.05, 1), "0,1");
        assert_eq!(decimal(-2.25, 1), "-2,3");
        assert_eq!(decimal(-0.01, 1), "0,0");
        assert_eq!(decimal(3.0, 0), "3");
        assert_eq!(decimal(9.999, 2), "10,00");
        assert_eq!(rounded(548_712.0, 1000), "549\u{a0}000");
        assert_eq!(rounded(548_412.0, 1000), "548\u{a0}000");
        assert_eq!(rounded(12.0, 1), "12");
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
