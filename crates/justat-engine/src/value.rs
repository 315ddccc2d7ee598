//! Parsing the text of one field into its declared type (level-0 checks), fast for the
//! formats the ministry's extracts use.

use crate::source::ColumnType;

/// A typed value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Empty field.
    Null,
    /// Text.
    Text(String),
    /// Whole number.
    Int(i64),
    /// Decimal number.
    Dec(f64),
    /// Days since 1970-01-01.
    Date(i32),
    /// Boolean.
    Bool(bool),
}

/// Parses `raw` (already trimmed of surrounding spaces) as `ty`; `None` when it is not one.
pub fn parse(raw: &str, ty: ColumnType, format: Option<&str>) -> Option<Value> {
    if raw.is_empty() {
        return Some(Value::Null);
    }
    match ty {
        ColumnType::String => Some(Value::Text(raw.to_string())),
        ColumnType::Integer => raw.parse::<i64>().ok().map(Value::Int),
        ColumnType::Decimal => {
            let normal = if raw.contains(',') {
                raw.replacen(',', ".", 1)
            } else {
                raw.to_string()
            };
            normal
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .map(Value::Dec)
        }
        ColumnType::Date => parse_date(raw, format.unwrap_or("%Y-%m-%d")).map(Value::Date),
        ColumnType::Boolean => match raw {
            "1" | "true" | "TRUE" | "O" | "o" | "oui" | "OUI" => Some(Value::Bool(true)),
            "0" | "false" | "FALSE" | "N" | "n" | "non" | "NON" => Some(Value::Bool(false)),
            _ => None,
        },
    }
}

fn digits(s: &[u8]) -> Option<u32> {
    let mut n = 0u32;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u32::from(b - b'0');
    }
    Some(n)
}

/// Days since 1970-01-01 of a date in `format`; `None` if it is not a real date.
pub fn parse_date(raw: &str, format: &str) -> Option<i32> {
    let b = raw.as_bytes();
    let (y, m, d) = match format {
        "%d/%m/%Y" if b.len() == 10 && b[2] == b'/' && b[5] == b'/' => {
            (digits(&b[6..10])?, digits(&b[3..5])?, digits(&b[0..2])?)
        }
        "%Y-%m-%d" if b.len() == 10 && b[4] == b'-' && b[7] == b'-' => {
            (digits(&b[0..4])?, digits(&b[5..7])?, digits(&b[8..10])?)
        }
        "%d/%m/%Y" | "%Y-%m-%d" => return None,
        _ => {
            let date = jiff::civil::Date::strptime(format, raw).ok()?;
            (date.year() as u32, date.month() as u32, date.day() as u32)
        }
    };
    let date = jiff::civil::Date::new(
        i16::try_from(y).ok()?,
        i8::try_from(m).ok()?,
        i8::try_from(d).ok()?,
    )
    .ok()?;
    Some(days_from_civil(
        date.year().into(),
        date.month().into(),
        date.day().into(),
    ))
}

/// Days since 1970-01-01 (proleptic Gregorian), after Howard Hinnant's algorithm.
pub fn days_from_civil(y: i32, m: i32, d: i32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_in_both_usual_formats_and_reject_impossible_days() {
        assert_eq!(parse_date("1970-01-01", "%Y-%m-%d"), Some(0));
        assert_eq!(
            parse_date("29/02/2024", "%d/%m/%Y"),
            Some(days_from_civil(2024, 2, 29))
        );
        assert_eq!(parse_date("29/02/2023", "%d/%m/%Y"), None);
        assert_eq!(parse_date("2024-13-01", "%Y-%m-%d"), None);
        assert_eq!(parse_date("2024-1-01", "%Y-%m-%d"), None);
        assert_eq!(
            parse_date("01.03.2024", "%d.%m.%Y"),
            Some(days_from_civil(2024, 3, 1))
        );
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn numbers_accept_a_french_decimal_comma() {
        assert_eq!(
            parse("12,5", ColumnType::Decimal, None),
            Some(Value::Dec(12.5))
        );
        assert_eq!(
            parse("12.5", ColumnType::Decimal, None),
            Some(Value::Dec(12.5))
        );
        assert_eq!(parse("1 200", ColumnType::Integer, None), None);
        assert_eq!(parse("", ColumnType::Integer, None), Some(Value::Null));
        assert_eq!(
            parse("oui", ColumnType::Boolean, None),
            Some(Value::Bool(true))
        );
        assert_eq!(parse("peut-être", ColumnType::Boolean, None), None);
    }
}
