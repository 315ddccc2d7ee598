//! Pattern files: one row per cell — the dimension codes, `count`, `value` (with a response
//! variable) and `status` (`V`, `A`, `B`, `D`, `Z`) — the contract with other tools. The
//! pattern of linked tables lists the cells of their union; cells left out are not published.
//! Certificate files: the changes of the suppressed cells the protection found (`witness`, the
//! dimension codes, `change`), which the audit checks instead of searching them again.

use crate::hierarchy::Hierarchy;
use crate::primary::Status;
use crate::table::{Table, TableError};

/// Why a pattern file cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum PatternError {
    /// The header is not the expected one.
    #[error("pattern header: expected `{expected}`, found `{found}`")]
    Header {
        /// What was expected.
        expected: String,
        /// What was found.
        found: String,
    },
    /// A line is wrong.
    #[error("pattern line {line}: {message}")]
    Line {
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The table is inconsistent.
    #[error(transparent)]
    Table(#[from] TableError),
    /// The pattern to start from does not fit the table.
    #[error("the pattern to start from does not fit the table at cell ({cell}): {what}")]
    Start {
        /// The cell.
        cell: String,
        /// How it differs.
        what: String,
    },
    /// CSV syntax.
    #[error("pattern: {0}")]
    Csv(#[from] csv::Error),
}

/// Writes a table's cells as a pattern file.
pub fn write(table: &Table, out: impl std::io::Write) -> Result<(), csv::Error> {
    let mut w = csv::Writer::from_writer(out);
    let mut header: Vec<String> = table.dims.iter().map(|(n, _)| n.clone()).collect();
    header.push("count".into());
    if table.has_response {
        header.push("value".into());
    }
    header.push("status".into());
    w.write_record(&header)?;
    for c in table
        .cells
        .iter()
        .filter(|c| c.status != Status::NotPublished)
    {
        let mut rec: Vec<String> = c
            .codes
            .iter()
            .zip(&table.dims)
            .map(|(&i, (_, h))| h.code(i as usize).to_string())
            .collect();
        rec.push(c.count.to_string());
        if table.has_response {
            rec.push(format!("{}", c.value));
        }
        rec.push(c.status.letter().to_string());
        w.write_record(&rec)?;
    }
    w.flush()?;
    Ok(())
}

/// Reads a pattern file for the dimensions `dims`; refuses unknown codes, negative counts and
/// a table whose totals are not the sums of their parts.
pub fn read(dims: Vec<(String, Hierarchy)>, text: &str) -> Result<Table, PatternError> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let found: Vec<String> = r.headers()?.iter().map(str::to_string).collect();
    let names: Vec<String> = dims.iter().map(|(n, _)| n.clone()).collect();
    let has_response = found.iter().any(|h| h == "value");
    let mut expected = names.clone();
    expected.push("count".into());
    if has_response {
        expected.push("value".into());
    }
    expected.push("status".into());
    if found != expected {
        return Err(PatternError::Header {
            expected: expected.join(","),
            found: found.join(","),
        });
    }
    let mut cells = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let line = i + 2;
        let rec = rec?;
        let bad = |message: String| PatternError::Line { line, message };
        let mut codes = Vec::with_capacity(dims.len());
        for (d, (name, h)) in dims.iter().enumerate() {
            let code = &rec[d];
            codes.push(
                h.index(code).ok_or_else(|| {
                    bad(format!("code `{code}` of {name} is not in its hierarchy"))
                })? as u32,
            );
        }
        let n = dims.len();
        let count: i64 = rec[n]
            .parse()
            .map_err(|_| bad(format!("count `{}` is not a whole number", &rec[n])))?;
        if count < 0 {
            let cell = codes
                .iter()
                .zip(&dims)
                .map(|(&c, (_, h))| h.code(c as usize))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(TableError::NegativeCount { cell, count }.into());
        }
        let value = if has_response {
            rec[n + 1]
                .parse::<f64>()
                .map_err(|_| bad(format!("value `{}` is not a number", &rec[n + 1])))?
        } else {
            count as f64
        };
        let s = &rec[n + 1 + usize::from(has_response)];
        let status = Status::from_letter(s)
            .ok_or_else(|| bad(format!("status `{s}`: expected V, A, B, D or Z")))?;
        cells.push((codes, count as u64, value, status));
    }
    let table = Table::from_cells(dims, cells, has_response);
    table.check_additive()?;
    Ok(table)
}

/// Starts the protection of `table` from the secondary suppressions of an earlier pattern
/// `start` of the same table (e.g. one made by another tool, to be completed rather than
/// redone): its `D` cells are suppressed. Refuses a pattern of other data (a count that differs)
/// and a `D` on an empty cell; returns how many cells were taken.
pub fn start_from(table: &mut Table, start: &Table) -> Result<usize, PatternError> {
    let mut taken = 0;
    for cell in &start.cells {
        if cell.status == Status::NotPublished {
            continue;
        }
        let at = table.position(&cell.codes);
        let own = &mut table.cells[at];
        let mismatch = if own.count != cell.count {
            Some(format!(
                "count {} here, {} in the pattern",
                own.count, cell.count
            ))
        } else if cell.status == Status::Secondary && own.status == Status::Empty {
            Some(
                "empty here, suppressed in the pattern (an empty cell is published as such)".into(),
            )
        } else {
            None
        };
        if let Some(what) = mismatch {
            return Err(PatternError::Start {
                cell: start.label(at),
                what,
            });
        }
        if cell.status == Status::Secondary && own.status == Status::Publishable && !own.locked {
            own.status = Status::Secondary;
            taken += 1;
        }
    }
    Ok(taken)
}

/// A change of some cells of a table: (cell, change), sorted by cell.
pub type Certificate = Vec<(usize, f64)>;

/// Writes certificates, one row per cell of each: its number, the cell's codes, its change.
pub fn write_certificates(
    table: &Table,
    certificates: &[Certificate],
    out: impl std::io::Write,
) -> Result<(), csv::Error> {
    let mut w = csv::Writer::from_writer(out);
    let mut header = vec!["witness".to_string()];
    header.extend(table.dims.iter().map(|(n, _)| n.clone()));
    header.push("change".into());
    w.write_record(&header)?;
    for (i, certificate) in certificates.iter().enumerate() {
        for &(c, d) in certificate {
            let mut rec = vec![i.to_string()];
            rec.extend(
                table.cells[c]
                    .codes
                    .iter()
                    .zip(&table.dims)
                    .map(|(&k, (_, h))| h.code(k as usize).to_string()),
            );
            rec.push(format!("{d}"));
            w.write_record(&rec)?;
        }
    }
    w.flush()?;
    Ok(())
}

/// Reads certificates written by [`write_certificates`] for `table`; refuses an unknown code,
/// a change that is not a number and a cell given twice in one certificate.
pub fn read_certificates(table: &Table, text: &str) -> Result<Vec<Certificate>, PatternError> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let found: Vec<String> = r.headers()?.iter().map(str::to_string).collect();
    let mut expected = vec!["witness".to_string()];
    expected.extend(table.dims.iter().map(|(n, _)| n.clone()));
    expected.push("change".into());
    if found != expected {
        return Err(PatternError::Header {
            expected: expected.join(","),
            found: found.join(","),
        });
    }
    let mut out: Vec<Certificate> = Vec::new();
    let mut current: Option<String> = None;
    for (i, rec) in r.records().enumerate() {
        let line = i + 2;
        let rec = rec?;
        let bad = |message: String| PatternError::Line { line, message };
        let mut codes = Vec::with_capacity(table.dims.len());
        for (d, (name, h)) in table.dims.iter().enumerate() {
            let code = &rec[d + 1];
            codes.push(
                h.index(code).ok_or_else(|| {
                    bad(format!("code `{code}` of {name} is not in its hierarchy"))
                })? as u32,
            );
        }
        let change: f64 = rec[table.dims.len() + 1].parse().map_err(|_| {
            bad(format!(
                "change `{}` is not a number",
                &rec[table.dims.len() + 1]
            ))
        })?;
        if current.as_deref() != Some(&rec[0]) {
            current = Some(rec[0].to_string());
            out.push(Vec::new());
        }
        let cell = table.position(&codes);
        let certificate = out.last_mut().ok_or_else(|| bad("no witness".into()))?;
        if certificate.iter().any(|&(c, _)| c == cell) {
            return Err(bad(format!(
                "cell ({}) twice in witness {}",
                table.label(cell),
                &rec[0]
            )));
        }
        certificate.push((cell, change));
    }
    for certificate in &mut out {
        certificate.sort_by_key(|&(c, _)| c);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::primary::PrimaryRules;

    fn dims() -> Vec<(String, Hierarchy)> {
        vec![(
            "court".into(),
            Hierarchy::from_csv("court", "code,parent\nFR,\nTJ1,FR\nTJ2,FR\n").unwrap(),
        )]
    }

    /// One record in each of two courts.
    fn two_courts() -> Table {
        let recs = vec![
            (vec!["TJ1".to_string()], 1.0),
            (vec!["TJ2".to_string()], 1.0),
        ];
        Table::from_microdata(dims(), recs, false, &PrimaryRules::default()).unwrap()
    }

    #[test]
    fn patterns_round_trip() {
        let t = two_courts();
        let mut out = Vec::new();
        write(&t, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, "court,count,status\nFR,2,A\nTJ1,1,A\nTJ2,1,A\n");
        let back = read(dims(), &text).unwrap();
        assert_eq!(
            back.cells.iter().map(|c| c.status).collect::<Vec<_>>(),
            t.cells.iter().map(|c| c.status).collect::<Vec<_>>()
        );
    }

    #[test]
    fn certificates_round_trip_and_bad_ones_are_refused() {
        let t = two_courts();
        let certificates = vec![vec![(1, 1.0), (2, -1.0)], vec![(0, 0.5), (1, 0.5)]];
        let mut out = Vec::new();
        write_certificates(&t, &certificates, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "witness,court,change\n0,TJ1,1\n0,TJ2,-1\n1,FR,0.5\n1,TJ1,0.5\n"
        );
        assert_eq!(read_certificates(&t, &text).unwrap(), certificates);
        let e = |text: &str| read_certificates(&t, text).unwrap_err().to_string();
        assert_eq!(
            e("witness,court,change\n0,TJ3,1\n"),
            "pattern line 2: code `TJ3` of court is not in its hierarchy"
        );
        assert_eq!(
            e("witness,court,change\n0,TJ1,one\n"),
            "pattern line 2: change `one` is not a number"
        );
        assert_eq!(
            e("witness,court,change\n0,TJ1,1\n0,TJ1,1\n"),
            "pattern line 3: cell (TJ1) twice in witness 0"
        );
        assert!(e("witness,sex,change\n").starts_with("pattern header"));
    }

    #[test]
    fn bad_patterns_name_the_cell() {
        let e = read(dims(), "court,count,status\nFR,2,V\nTJ1,-1,V\nTJ2,3,V\n")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "cell (TJ1): negative count -1");
        let e = read(dims(), "court,count,status\nFR,5,V\nTJ1,1,A\nTJ2,3,V\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("cell (FR) is not the sum of its parts along court: count 5 ≠ 4"),
            "{e}"
        );
        let e = read(dims(), "court,count,status\nFR,2,V\nTJ3,1,A\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 3") && e.contains("`TJ3`"), "{e}");
        assert!(read(dims(), "tribunal,count,status\n").is_err());
    }

    #[test]
    fn a_protection_starts_from_another_pattern() {
        let recs = [
            "TJ1", "TJ1", "TJ1", "TJ1", "TJ1", "TJ2", "TJ2", "TJ2", "TJ2", "TJ2", "TJ2",
        ]
        .iter()
        .map(|c| (vec![c.to_string()], 1.0))
        .collect::<Vec<_>>();
        let fresh = || {
            Table::from_microdata(dims(), recs.clone(), false, &PrimaryRules::default()).unwrap()
        };
        let mut t = fresh();
        let start = read(dims(), "court,count,status\nFR,11,V\nTJ1,5,D\nTJ2,6,V\n").unwrap();
        assert_eq!(start_from(&mut t, &start).unwrap(), 1);
        let statuses: Vec<Status> = t.cells.iter().map(|c| c.status).collect();
        assert_eq!(
            statuses,
            [Status::Publishable, Status::Secondary, Status::Publishable]
        );
        let other = read(dims(), "court,count,status\nFR,11,V\nTJ1,4,D\nTJ2,7,V\n").unwrap();
        let e = start_from(&mut fresh(), &other).unwrap_err().to_string();
        assert_eq!(
            e,
            "the pattern to start from does not fit the table at cell (TJ1): count 5 here, 4 in the pattern"
        );
    }
}
