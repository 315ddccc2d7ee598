//! Civil dates as day numbers, and their two written forms in the extracts.
//!
//! The generator adds days to dates millions of times a second; counting days since
//! 1970-01-01 with Hinnant's algorithms keeps that to a few integer operations.

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub(crate) fn days_from_civil(year: i32, month: u32, day: u32) -> i32 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = month as i32;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number: (year, month, day).
pub(crate) fn civil_from_days(days: i32) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i32::from(month <= 2);
    (year, month, day)
}

/// Day of the week, 0 = Monday … 6 = Sunday.
pub(crate) fn weekday(days: i32) -> u32 {
    // 1970-01-01 was a Thursday.
    (days + 3).rem_euclid(7) as u32
}

/// Number of days in `year`.
pub(crate) fn days_in_year(year: i32) -> i32 {
    days_from_civil(year + 1, 1, 1) - days_from_civil(year, 1, 1)
}

fn push2(out: &mut Vec<u8>, v: u32) {
    out.push(b'0' + (v / 10) as u8);
    out.push(b'0' + (v % 10) as u8);
}

fn push4(out: &mut Vec<u8>, v: i32) {
    let v = v.clamp(0, 9999) as u32;
    push2(out, v / 100);
    push2(out, v % 100);
}

/// Appends `dd/mm/yyyy`.
pub(crate) fn push_french(out: &mut Vec<u8>, days: i32) {
    let (y, m, d) = civil_from_days(days);
    push2(out, d);
    out.push(b'/');
    push2(out, m);
    out.push(b'/');
    push4(out, y);
}

/// Appends `yyyy-mm-dd`.
pub(crate) fn push_iso(out: &mut Vec<u8>, days: i32) {
    let (y, m, d) = civil_from_days(days);
    push4(out, y);
    out.push(b'-');
    push2(out, m);
    out.push(b'-');
    push2(out, d);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_round_trip_and_match_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(
            days_from_civil(2024, 2, 29) + 1,
            days_from_civil(2024, 3, 1)
        );
        for d in -800_000..800_000 {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
        assert_eq!(days_in_year(2024), 366);
        assert_eq!(days_in_year(2100), 365);
        // 2019-01-07 was a Monday.
        assert_eq!(weekday(days_from_civil(2019, 1, 7)), 0);
    }

    #[test]
    fn dates_are_written_in_french_and_iso_forms() {
        let mut out = Vec::new();
        push_french(&mut out, days_from_civil(2019, 3, 7));
        out.push(b' ');
        push_iso(&mut out, days_from_civil(2019, 12, 1));
        assert_eq!(out, b"07/03/2019 2019-12-01");
    }
}
