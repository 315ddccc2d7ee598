//! The French wording the readers and checks share: values shortened for a report, sizes as a
//! statistician reads them, the refusal of a file with too many rows.

use crate::reader::ReadLimits;
use justat_model::french;

/// Longest value or raw line kept in a message or the quarantine (a 100 MB line stays out).
const MAX_SHOWN: usize = 200;

/// `s`, cut after [`MAX_SHOWN`] characters with an ellipsis.
pub(super) fn shorten(s: &str) -> String {
    if s.chars().count() <= MAX_SHOWN {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(MAX_SHOWN).collect::<String>())
    }
}

/// A size as a statistician reads it: `1 Mio`, `20 Gio`, `512 Kio` or `1 234 octets`.
pub(super) fn size_fr(bytes: u64) -> String {
    for (shift, unit) in [(30, "Gio"), (20, "Mio"), (10, "Kio")] {
        if bytes >= 1 << shift && bytes.is_multiple_of(1 << shift) {
            return format!("{} {unit}", french::integer((bytes >> shift) as i64));
        }
    }
    format!("{} octets", french::integer(bytes as i64))
}

/// Why a file is refused at `line`, the first data row beyond `limits.max_rows`.
pub(super) fn too_many_rows(file: &str, line: u64, limits: &ReadLimits) -> String {
    format!(
        "{file} : ligne {line} : plus de {} lignes de données ; le fichier est refusé (limite \
         max_rows)",
        french::integer(limits.max_rows as i64)
    )
}

#[cfg(test)]
mod tests {
    use super::{shorten, size_fr};

    #[test]
    fn sizes_are_named_in_the_largest_whole_unit() {
        assert_eq!(size_fr(1 << 20), "1 Mio");
        assert_eq!(size_fr(20 << 30), "20 Gio");
        assert_eq!(size_fr(512 << 10), "512 Kio");
        assert_eq!(size_fr((1 << 20) + 1), "1\u{a0}048\u{a0}577 octets");
    }

    #[test]
    fn long_values_are_cut_after_200_characters() {
        let short = "é".repeat(200);
        assert_eq!(shorten(&short), short);
        let long = "é".repeat(201);
        assert_eq!(shorten(&long), format!("{short}…"));
    }
}
