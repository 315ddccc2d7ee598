//! Codelists (nomenclatures): codes with a label, an optional parent and a validity period.
//!
//! A codelist is read from CSV text with the header `code,label,parent,valid_from,valid_to`
//! (dates `YYYY-MM-DD`, empty for an open bound). Codes follow SDMX: `[A-Za-z0-9_@$-]`, at most
//! 50 characters, and `_T` is the usual code of a grand total. A codelist with a hierarchy has
//! exactly one root, so that "the total" of a cube is well defined; a flat list (no parent at
//! all) may have many. The engine aggregates leaf data to every level of a hierarchy by joining
//! it with [`Codelist::closure`].
//!
//! The codelists shipped with Justat are embedded from `crates/justat-model/codelists/`
//! ([`shipped`]); their `README.md` says where each comes from.

use jiff::civil::Date;
use std::collections::HashMap;

/// One code of a codelist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    /// The code (SDMX charset).
    pub code: String,
    /// Its label in French.
    pub label: String,
    /// The code it rolls up into, if any.
    pub parent: Option<String>,
    /// First day of validity (inclusive); `None` for "always was".
    pub valid_from: Option<Date>,
    /// Last day of validity (inclusive); `None` for "still valid".
    pub valid_to: Option<Date>,
}

/// A validated codelist: unique codes, known parents, no cycle, one root if hierarchical.
#[derive(Debug, Clone)]
pub struct Codelist {
    id: String,
    label: String,
    codes: Vec<Code>,
    index: HashMap<String, usize>,
    parents: Vec<Option<usize>>,
    children: Vec<Vec<usize>>,
}

/// Why a codelist's CSV text was refused. Lines are 1-based, the header being line 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodelistError {
    /// The text is empty (not even a header).
    #[error("the codelist is empty: expected the header `code,label,parent,valid_from,valid_to`")]
    Empty,
    /// A quoted field is not closed before the end of the text.
    #[error("line {line}: a quoted field is not closed")]
    UnclosedQuote {
        /// Line where the record starts.
        line: usize,
    },
    /// A quote appears inside an unquoted field, or text follows a closing quote.
    #[error(
        "line {line}, field {field}: misplaced `\"` (quote the whole field and double inner quotes)"
    )]
    StrayQuote {
        /// Line of the quote.
        line: usize,
        /// 1-based field number.
        field: usize,
    },
    /// A header column is missing.
    #[error("line 1: the header lacks the column `{column}`")]
    MissingColumn {
        /// The missing column.
        column: &'static str,
    },
    /// The header has a column Justat does not know, or the same one twice.
    #[error(
        "line 1: unexpected header column `{column}` (expected code,label,parent,valid_from,valid_to)"
    )]
    UnexpectedColumn {
        /// The column as written.
        column: String,
    },
    /// A record does not have as many fields as the header.
    #[error("line {line}: {found} fields where the header has {expected}")]
    FieldCount {
        /// Line of the record.
        line: usize,
        /// Number of header columns.
        expected: usize,
        /// Number of fields found.
        found: usize,
    },
    /// A code is empty, too long or outside the SDMX charset.
    #[error("line {line}: invalid code `{code}` (1 to 50 characters among A-Z a-z 0-9 _ @ $ -)")]
    InvalidCode {
        /// Line of the record.
        line: usize,
        /// The code as written (or the parent, for an invalid parent).
        code: String,
    },
    /// A code has no label.
    #[error("line {line}: code `{code}` has no label")]
    MissingLabel {
        /// Line of the record.
        line: usize,
        /// The code.
        code: String,
    },
    /// A code appears twice.
    #[error("line {line}: code `{code}` already defined at line {first_line}")]
    DuplicateCode {
        /// Line of the second occurrence.
        line: usize,
        /// The code.
        code: String,
        /// Line of the first occurrence.
        first_line: usize,
    },
    /// A parent is not a code of the list.
    #[error("line {line}: the parent `{parent}` of `{code}` is not in the codelist")]
    UnknownParent {
        /// Line of the child.
        line: usize,
        /// The child.
        code: String,
        /// The missing parent.
        parent: String,
    },
    /// Following parents from a code comes back to it.
    #[error("line {line}: the hierarchy has a cycle: {}", cycle_text(.codes))]
    Cycle {
        /// Line of the first code of the cycle, in file order.
        line: usize,
        /// The codes of the cycle, each the parent of the one before, starting at `line`'s code.
        codes: Vec<String>,
    },
    /// A date is not `YYYY-MM-DD`.
    #[error("line {line}: {column} of `{code}` is `{value}`, not a date YYYY-MM-DD")]
    BadDate {
        /// Line of the record.
        line: usize,
        /// The code.
        code: String,
        /// `valid_from` or `valid_to`.
        column: &'static str,
        /// The value as written.
        value: String,
    },
    /// The validity period ends before it starts.
    #[error("line {line}: `{code}` is valid to {valid_to}, before it is valid from {valid_from}")]
    ValidityOrder {
        /// Line of the record.
        line: usize,
        /// The code.
        code: String,
        /// Start of validity.
        valid_from: Date,
        /// End of validity.
        valid_to: Date,
    },
    /// A hierarchical codelist has a second root.
    #[error(
        "line {line}: `{code}` has no parent, but `{first_root}` (line {first_line}) is already the root of this hierarchy"
    )]
    SeveralRoots {
        /// Line of the second root.
        line: usize,
        /// The second root.
        code: String,
        /// The first root, in file order.
        first_root: String,
        /// Its line.
        first_line: usize,
    },
}

fn cycle_text(codes: &[String]) -> String {
    let mut text = codes.join(" → ");
    if let Some(first) = codes.first() {
        text.push_str(" → ");
        text.push_str(first);
    }
    text
}

const COLUMNS: [&str; 5] = ["code", "label", "parent", "valid_from", "valid_to"];

/// Whether `code` is a valid SDMX code: 1 to 50 characters among `A-Z a-z 0-9 _ @ $ -`.
pub fn is_valid_code(code: &str) -> bool {
    (1..=50).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'@' | b'$' | b'-'))
}

impl Codelist {
    /// Parses and validates a codelist from CSV text (RFC 4180 quoting, `\n` or `\r\n`).
    ///
    /// The header must name the five columns `code,label,parent,valid_from,valid_to`, in any
    /// order. Blank lines are ignored; a leading UTF-8 byte order mark is dropped.
    pub fn parse_csv(id: &str, label: &str, text: &str) -> Result<Codelist, CodelistError> {
        let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
        let records = parse_records(text)?;
        let mut records = records.into_iter();
        let Some((_, header)) = records.next() else {
            return Err(CodelistError::Empty);
        };
        let mut position: [Option<usize>; 5] = [None; 5];
        for (i, name) in header.iter().enumerate() {
            let name = name.trim();
            match COLUMNS.iter().position(|c| *c == name) {
                Some(k) if position[k].is_none() => position[k] = Some(i),
                _ => {
                    return Err(CodelistError::UnexpectedColumn {
                        column: name.to_string(),
                    });
                }
            }
        }
        let mut cols = [0; 5];
        for (k, p) in position.iter().enumerate() {
            cols[k] = p.ok_or(CodelistError::MissingColumn { column: COLUMNS[k] })?;
        }

        let mut codes = Vec::new();
        let mut lines = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for (line, fields) in records {
            if fields.len() != header.len() {
                return Err(CodelistError::FieldCount {
                    line,
                    expected: header.len(),
                    found: fields.len(),
                });
            }
            let field = |k: usize| fields[cols[k]].trim();
            let code = field(0).to_string();
            if !is_valid_code(&code) {
                return Err(CodelistError::InvalidCode { line, code });
            }
            if let Some(&first) = index.get(&code) {
                return Err(CodelistError::DuplicateCode {
                    line,
                    code,
                    first_line: lines[first],
                });
            }
            let label = field(1).to_string();
            if label.is_empty() {
                return Err(CodelistError::MissingLabel { line, code });
            }
            let parent = match field(2) {
                "" => None,
                p if is_valid_code(p) => Some(p.to_string()),
                p => {
                    return Err(CodelistError::InvalidCode {
                        line,
                        code: p.to_string(),
                    });
                }
            };
            let date = |k: usize| -> Result<Option<Date>, CodelistError> {
                let value = field(k);
                if value.is_empty() {
                    return Ok(None);
                }
                parse_iso_date(value)
                    .map(Some)
                    .ok_or_else(|| CodelistError::BadDate {
                        line,
                        code: code.clone(),
                        column: COLUMNS[k],
                        value: value.to_string(),
                    })
            };
            let valid_from = date(3)?;
            let valid_to = date(4)?;
            if let (Some(from), Some(to)) = (valid_from, valid_to)
                && to < from
            {
                return Err(CodelistError::ValidityOrder {
                    line,
                    code,
                    valid_from: from,
                    valid_to: to,
                });
            }
            index.insert(code.clone(), codes.len());
            lines.push(line);
            codes.push(Code {
                code,
                label,
                parent,
                valid_from,
                valid_to,
            });
        }

        let mut parents = Vec::with_capacity(codes.len());
        for (i, c) in codes.iter().enumerate() {
            parents.push(match &c.parent {
                None => None,
                Some(p) => Some(*index.get(p).ok_or_else(|| CodelistError::UnknownParent {
                    line: lines[i],
                    code: c.code.clone(),
                    parent: p.clone(),
                })?),
            });
        }
        if let Some(cycle) = find_cycle(&parents) {
            return Err(CodelistError::Cycle {
                line: lines[cycle[0]],
                codes: cycle.iter().map(|&i| codes[i].code.clone()).collect(),
            });
        }
        if parents.iter().any(Option::is_some) {
            let mut roots = (0..codes.len()).filter(|&i| parents[i].is_none());
            if let (Some(first), Some(second)) = (roots.next(), roots.next()) {
                return Err(CodelistError::SeveralRoots {
                    line: lines[second],
                    code: codes[second].code.clone(),
                    first_root: codes[first].code.clone(),
                    first_line: lines[first],
                });
            }
        }
        let mut children = vec![Vec::new(); codes.len()];
        for (i, p) in parents.iter().enumerate() {
            if let Some(p) = p {
                children[*p].push(i);
            }
        }
        Ok(Codelist {
            id: id.to_string(),
            label: label.to_string(),
            codes,
            index,
            parents,
            children,
        })
    }

    /// The codelist's identifier (`CL_COURT`…).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Its label in French.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Every code, in file order.
    pub fn codes(&self) -> &[Code] {
        &self.codes
    }

    /// Number of codes, every level included.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// Whether the list has no code at all.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// Whether `code` is in the list (at any level, whatever its validity).
    pub fn contains(&self, code: &str) -> bool {
        self.index.contains_key(code)
    }

    /// The code's entry.
    pub fn get(&self, code: &str) -> Option<&Code> {
        self.index.get(code).map(|&i| &self.codes[i])
    }

    /// Whether `code` exists and `date` is within its validity period (bounds included).
    pub fn is_valid_at(&self, code: &str, date: Date) -> bool {
        self.get(code).is_some_and(|c| {
            c.valid_from.is_none_or(|from| from <= date) && c.valid_to.is_none_or(|to| date <= to)
        })
    }

    /// The parent of `code`; `None` for a root or an unknown code.
    pub fn parent(&self, code: &str) -> Option<&str> {
        let i = *self.index.get(code)?;
        self.parents[i].map(|p| self.codes[p].code.as_str())
    }

    /// The children of `code`, in file order (empty for a leaf or an unknown code).
    pub fn children(&self, code: &str) -> Vec<&str> {
        self.index
            .get(code)
            .map(|&i| {
                self.children[i]
                    .iter()
                    .map(|&c| self.codes[c].code.as_str())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `code` itself, then its parent, and so on up to the root; empty for an unknown code.
    pub fn ancestors(&self, code: &str) -> Vec<&str> {
        let mut out = Vec::new();
        let mut at = self.index.get(code).copied();
        while let Some(i) = at {
            out.push(self.codes[i].code.as_str());
            at = self.parents[i];
        }
        out
    }

    /// Distance from `code` to its root (0 for a root); `None` for an unknown code.
    pub fn depth(&self, code: &str) -> Option<usize> {
        self.ancestors(code).len().checked_sub(1)
    }

    /// Whether `code` exists and has no child.
    pub fn is_leaf(&self, code: &str) -> bool {
        self.index
            .get(code)
            .is_some_and(|&i| self.children[i].is_empty())
    }

    /// The codes without children, in file order: the level data is recorded at.
    pub fn leaves(&self) -> Vec<&str> {
        (0..self.codes.len())
            .filter(|&i| self.children[i].is_empty())
            .map(|i| self.codes[i].code.as_str())
            .collect()
    }

    /// The single root of the list, or `None` when a flat list has several codes (or none).
    pub fn root(&self) -> Option<&str> {
        let mut roots = (0..self.codes.len()).filter(|&i| self.parents[i].is_none());
        match (roots.next(), roots.next()) {
            (Some(r), None) => Some(self.codes[r].code.as_str()),
            _ => None,
        }
    }

    /// Every `(code, ancestor-or-self, distance)` triple: codes in file order, each followed by
    /// itself (distance 0), its parent (1), … up to the root.
    ///
    /// Joining leaf-level data on `code` and grouping by `ancestor` gives every level of the
    /// hierarchy, totals included, in one aggregation.
    pub fn closure(&self) -> Vec<(String, String, usize)> {
        let mut out = Vec::new();
        for c in &self.codes {
            for (distance, a) in self.ancestors(&c.code).into_iter().enumerate() {
                out.push((c.code.clone(), a.to_string(), distance));
            }
        }
        out
    }
}

/// Returns the indices of a cycle, starting at its first index in file order.
fn find_cycle(parents: &[Option<usize>]) -> Option<Vec<usize>> {
    // 0 = unvisited, 1 = on the current path, 2 = known to reach a root.
    let mut state = vec![0u8; parents.len()];
    for start in 0..parents.len() {
        let mut path = Vec::new();
        let mut at = Some(start);
        while let Some(i) = at {
            match state[i] {
                2 => break,
                1 => {
                    let from = path.iter().position(|&p| p == i).unwrap_or(0);
                    let mut cycle = path[from..].to_vec();
                    let first = (0..cycle.len()).min_by_key(|&k| cycle[k]).unwrap_or(0);
                    cycle.rotate_left(first);
                    return Some(cycle);
                }
                _ => {
                    state[i] = 1;
                    path.push(i);
                    at = parents[i];
                }
            }
        }
        for i in path {
            state[i] = 2;
        }
    }
    None
}

fn parse_iso_date(value: &str) -> Option<Date> {
    // `YYYY-MM-DD` only: jiff also accepts forms a codelist author did not mean to write.
    let b = value.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    fn digits(s: &str) -> Option<&str> {
        s.bytes().all(|c| c.is_ascii_digit()).then_some(s)
    }
    let year: i16 = digits(&value[0..4])?.parse().ok()?;
    let month: i8 = digits(&value[5..7])?.parse().ok()?;
    let day: i8 = digits(&value[8..10])?.parse().ok()?;
    Date::new(year, month, day).ok()
}

/// Splits CSV text into records with the 1-based line each starts on.
fn parse_records(text: &str) -> Result<Vec<(usize, Vec<String>)>, CodelistError> {
    let mut records = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while chars.peek().is_some() {
        let start = line;
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut after_quote = false;
        loop {
            let Some(c) = chars.next() else {
                if quoted {
                    return Err(CodelistError::UnclosedQuote { line: start });
                }
                break;
            };
            if quoted {
                match c {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    '"' => {
                        quoted = false;
                        after_quote = true;
                    }
                    c => {
                        if c == '\n' {
                            line += 1;
                        }
                        field.push(c);
                    }
                }
                continue;
            }
            match c {
                ',' => {
                    fields.push(std::mem::take(&mut field));
                    after_quote = false;
                }
                '\n' => {
                    line += 1;
                    break;
                }
                '\r' if chars.peek() == Some(&'\n') => {}
                '"' if field.is_empty() && !after_quote => quoted = true,
                '"' => {
                    return Err(CodelistError::StrayQuote {
                        line,
                        field: fields.len() + 1,
                    });
                }
                _ if after_quote => {
                    return Err(CodelistError::StrayQuote {
                        line,
                        field: fields.len() + 1,
                    });
                }
                c => field.push(c),
            }
        }
        fields.push(field);
        let blank = fields.len() == 1 && fields[0].trim().is_empty();
        if !blank {
            records.push((start, fields));
        }
    }
    Ok(records)
}

/// The leaf code of `CL_AGE_BAND` for an age in whole years; `None` under 13 (the age of
/// penal responsibility used by the publications) or for a negative age.
pub fn age_band(age: i64) -> Option<&'static str> {
    Some(match age {
        13..=15 => "Y13T15",
        16..=17 => "Y16T17",
        18..=20 => "Y18T20",
        21..=24 => "Y21T24",
        25..=29 => "Y25T29",
        30..=39 => "Y30T39",
        40..=49 => "Y40T49",
        50..=59 => "Y50T59",
        60.. => "Y_GE60",
        _ => return None,
    })
}

/// The codelists shipped with Justat: `(id, label, CSV text)`.
const SHIPPED: &[(&str, &str, &str)] = &[
    (
        "CL_COURT",
        "Juridictions (tribunaux judiciaires et cours d'appel)",
        include_str!("../codelists/CL_COURT.csv"),
    ),
    (
        "CL_OFFENCE",
        "Infractions (NATINF) et groupes d'infractions",
        include_str!("../codelists/CL_OFFENCE.csv"),
    ),
    (
        "CL_LEGAL_CLASS",
        "Nature de l'infraction",
        include_str!("../codelists/CL_LEGAL_CLASS.csv"),
    ),
    (
        "CL_ORIENTATION",
        "Orientation des auteurs par le parquet",
        include_str!("../codelists/CL_ORIENTATION.csv"),
    ),
    (
        "CL_SENTENCE",
        "Peine ou mesure principale",
        include_str!("../codelists/CL_SENTENCE.csv"),
    ),
    ("CL_SEX", "Sexe", include_str!("../codelists/CL_SEX.csv")),
    (
        "CL_NATIONALITY",
        "Nationalité",
        include_str!("../codelists/CL_NATIONALITY.csv"),
    ),
    (
        "CL_AGE_BAND",
        "Tranche d'âge",
        include_str!("../codelists/CL_AGE_BAND.csv"),
    ),
    (
        "CL_DETENTION_STATUS",
        "Catégorie pénale des personnes écrouées",
        include_str!("../codelists/CL_DETENTION_STATUS.csv"),
    ),
    (
        "CL_ESTABLISHMENT_TYPE",
        "Type d'établissement pénitentiaire",
        include_str!("../codelists/CL_ESTABLISHMENT_TYPE.csv"),
    ),
    (
        "CL_ESTABLISHMENT",
        "Établissements pénitentiaires",
        include_str!("../codelists/CL_ESTABLISHMENT.csv"),
    ),
];

/// Every codelist shipped with Justat, in a fixed order.
///
/// # Panics
///
/// Never in a released build: the shipped files are checked by this module's tests, so a parse
/// error here is a bug caught before release.
pub fn shipped() -> Vec<Codelist> {
    SHIPPED
        .iter()
        .map(|(id, label, text)| {
            Codelist::parse_csv(id, label, text)
                .unwrap_or_else(|e| panic!("shipped codelist {id} is invalid: {e}"))
        })
        .collect()
}

/// The shipped codelist with this id.
pub fn shipped_codelist(id: &str) -> Option<Codelist> {
    let (id, label, text) = SHIPPED.iter().find(|(i, _, _)| *i == id)?;
    Some(
        Codelist::parse_csv(id, label, text)
            .unwrap_or_else(|e| panic!("shipped codelist {id} is invalid: {e}")),
    )
}

/// The ids of the shipped codelists, without parsing them.
pub fn shipped_ids() -> impl Iterator<Item = &'static str> {
    SHIPPED.iter().map(|(id, _, _)| *id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    const HEADER: &str = "code,label,parent,valid_from,valid_to\n";

    fn parse(body: &str) -> Result<Codelist, CodelistError> {
        Codelist::parse_csv("CL_TEST", "Test", &format!("{HEADER}{body}"))
    }

    fn sample() -> Codelist {
        parse(
            "_T,Total,,,\n\
             A,Groupe A,_T,,\n\
             A1,\"Feuille A1, avec virgule\",A,,\n\
             A2,Feuille A2,A,2020-01-01,2022-12-31\n\
             B,Groupe B,_T,,\n\
             B1,Feuille B1,B,,\n",
        )
        .unwrap()
    }

    #[test]
    fn navigation_follows_the_hierarchy_in_file_order() {
        let cl = sample();
        assert_eq!(cl.len(), 6);
        assert_eq!(cl.root(), Some("_T"));
        assert_eq!(cl.parent("A1"), Some("A"));
        assert_eq!(cl.parent("_T"), None);
        assert_eq!(cl.children("A"), vec!["A1", "A2"]);
        assert_eq!(cl.children("_T"), vec!["A", "B"]);
        assert_eq!(cl.ancestors("A2"), vec!["A2", "A", "_T"]);
        assert!(cl.ancestors("Z").is_empty());
        assert_eq!(cl.depth("A2"), Some(2));
        assert_eq!(cl.depth("_T"), Some(0));
        assert_eq!(cl.depth("Z"), None);
        assert_eq!(cl.leaves(), vec!["A1", "A2", "B1"]);
        assert!(cl.is_leaf("B1") && !cl.is_leaf("B") && !cl.is_leaf("Z"));
        assert_eq!(cl.get("A1").unwrap().label, "Feuille A1, avec virgule");
        assert!(cl.contains("B") && !cl.contains("b"));
    }

    #[test]
    fn validity_bounds_are_inclusive_and_open_when_empty() {
        let cl = sample();
        assert!(!cl.is_valid_at("A2", date(2019, 12, 31)));
        assert!(cl.is_valid_at("A2", date(2020, 1, 1)));
        assert!(cl.is_valid_at("A2", date(2022, 12, 31)));
        assert!(!cl.is_valid_at("A2", date(2023, 1, 1)));
        assert!(cl.is_valid_at("A1", date(1900, 1, 1)));
        assert!(!cl.is_valid_at("Z", date(2020, 1, 1)));
    }

    #[test]
    fn closure_lists_every_ancestor_or_self_with_its_distance() {
        let cl = sample();
        let closure = cl.closure();
        let a2: Vec<_> = closure.iter().filter(|(c, _, _)| c == "A2").collect();
        assert_eq!(
            a2,
            vec![
                &("A2".into(), "A2".into(), 0),
                &("A2".into(), "A".into(), 1),
                &("A2".into(), "_T".into(), 2)
            ]
        );
        // 1 + 2 + 3 + 3 + 2 + 3 pairs.
        assert_eq!(closure.len(), 14);
        assert_eq!(closure[0], ("_T".into(), "_T".into(), 0));
        assert_eq!(closure, cl.closure(), "deterministic");
    }

    #[test]
    fn a_flat_list_may_have_many_roots() {
        let cl = parse("X,Un,,,\nY,Deux,,,\n").unwrap();
        assert_eq!(cl.root(), None);
        assert_eq!(cl.leaves(), vec!["X", "Y"]);
        assert_eq!(cl.depth("Y"), Some(0));
    }

    #[test]
    fn a_hierarchy_has_exactly_one_root() {
        let err = parse("_T,Total,,,\nA,Un,_T,,\nB,Deux,,,\n").unwrap_err();
        assert_eq!(
            err,
            CodelistError::SeveralRoots {
                line: 4,
                code: "B".into(),
                first_root: "_T".into(),
                first_line: 2
            }
        );
    }

    #[test]
    fn header_columns_may_come_in_any_order_but_all_are_required() {
        let cl = Codelist::parse_csv(
            "X",
            "X",
            "label,code,valid_to,valid_from,parent\nUn,A,,,\r\n",
        )
        .unwrap();
        assert_eq!(cl.get("A").unwrap().label, "Un");
        assert_eq!(
            Codelist::parse_csv("X", "X", "code,label,parent,valid_from\n").unwrap_err(),
            CodelistError::MissingColumn { column: "valid_to" }
        );
        assert_eq!(
            Codelist::parse_csv("X", "X", "code,label,parent,valid_from,valid_to,note\n")
                .unwrap_err(),
            CodelistError::UnexpectedColumn {
                column: "note".into()
            }
        );
        assert_eq!(
            Codelist::parse_csv("X", "X", "code,code,parent,valid_from,valid_to\n").unwrap_err(),
            CodelistError::UnexpectedColumn {
                column: "code".into()
            }
        );
        assert_eq!(
            Codelist::parse_csv("X", "X", "").unwrap_err(),
            CodelistError::Empty
        );
    }

    #[test]
    fn a_record_has_as_many_fields_as_the_header() {
        assert_eq!(
            parse("_T,Total,,\n").unwrap_err(),
            CodelistError::FieldCount {
                line: 2,
                expected: 5,
                found: 4
            }
        );
    }

    #[test]
    fn codes_use_the_sdmx_charset_and_at_most_50_characters() {
        assert!(is_valid_code("_T") && is_valid_code("TJ_1_119") && is_valid_code("a@$-9"));
        assert!(!is_valid_code("") && !is_valid_code("é") && !is_valid_code("A B"));
        assert!(is_valid_code(&"A".repeat(50)) && !is_valid_code(&"A".repeat(51)));
        assert_eq!(
            parse("_T,Total,,,\nA.1,Un,_T,,\n").unwrap_err(),
            CodelistError::InvalidCode {
                line: 3,
                code: "A.1".into()
            }
        );
    }

    #[test]
    fn a_code_is_defined_once() {
        assert_eq!(
            parse("_T,Total,,,\nA,Un,_T,,\nA,Encore,_T,,\n").unwrap_err(),
            CodelistError::DuplicateCode {
                line: 4,
                code: "A".into(),
                first_line: 3
            }
        );
    }

    #[test]
    fn a_parent_must_be_in_the_list() {
        assert_eq!(
            parse("_T,Total,,,\nA,Un,Z,,\n").unwrap_err(),
            CodelistError::UnknownParent {
                line: 3,
                code: "A".into(),
                parent: "Z".into()
            }
        );
    }

    #[test]
    fn a_cycle_is_refused_and_named() {
        let err = parse("_T,Total,,,\nA,Un,C,,\nB,Deux,A,,\nC,Trois,B,,\n").unwrap_err();
        assert_eq!(
            err,
            CodelistError::Cycle {
                line: 3,
                codes: vec!["A".into(), "C".into(), "B".into()]
            }
        );
        assert!(err.to_string().contains("A → C → B → A"), "{err}");
        let own = parse("A,Un,A,,\n").unwrap_err();
        assert_eq!(
            own,
            CodelistError::Cycle {
                line: 2,
                codes: vec!["A".into()]
            }
        );
    }

    #[test]
    fn dates_are_iso_and_ordered() {
        assert_eq!(
            parse("A,Un,,2020-13-01,\n").unwrap_err(),
            CodelistError::BadDate {
                line: 2,
                code: "A".into(),
                column: "valid_from",
                value: "2020-13-01".into()
            }
        );
        assert!(matches!(
            parse("A,Un,,,01/01/2020\n").unwrap_err(),
            CodelistError::BadDate {
                column: "valid_to",
                ..
            }
        ));
        assert_eq!(
            parse("A,Un,,2021-01-01,2020-12-31\n").unwrap_err(),
            CodelistError::ValidityOrder {
                line: 2,
                code: "A".into(),
                valid_from: date(2021, 1, 1),
                valid_to: date(2020, 12, 31)
            }
        );
    }

    #[test]
    fn quotes_follow_rfc_4180_and_errors_name_the_line() {
        let cl = parse("A,\"Dit \"\"bis\"\"\nsur deux lignes\",,,\nB,Deux,,,\n").unwrap();
        assert_eq!(cl.get("A").unwrap().label, "Dit \"bis\"\nsur deux lignes");
        assert_eq!(
            parse("_T,Total,,,\nA,Un,_T,,\nB,Deux,_X,,\n").unwrap_err(),
            CodelistError::UnknownParent {
                line: 4,
                code: "B".into(),
                parent: "_X".into()
            }
        );
        assert_eq!(
            parse("A,\"Un,,,\n").unwrap_err(),
            CodelistError::UnclosedQuote { line: 2 }
        );
        assert_eq!(
            parse("A,Un \"x\",,,\n").unwrap_err(),
            CodelistError::StrayQuote { line: 2, field: 2 }
        );
    }

    #[test]
    fn a_label_is_required() {
        assert_eq!(
            parse("A,,,,\n").unwrap_err(),
            CodelistError::MissingLabel {
                line: 2,
                code: "A".into()
            }
        );
    }

    #[test]
    fn age_bands_cover_13_and_over() {
        assert_eq!(age_band(12), None);
        assert_eq!(age_band(-1), None);
        assert_eq!(age_band(13), Some("Y13T15"));
        assert_eq!(age_band(17), Some("Y16T17"));
        assert_eq!(age_band(18), Some("Y18T20"));
        assert_eq!(age_band(59), Some("Y50T59"));
        assert_eq!(age_band(60), Some("Y_GE60"));
        let bands = shipped_codelist("CL_AGE_BAND").unwrap();
        for age in 13..=110 {
            let band = age_band(age).unwrap();
            assert!(bands.is_leaf(band), "{band}");
            let group = if age < 18 { "MIN" } else { "MAJ" };
            assert_eq!(bands.parent(band), Some(group));
        }
    }

    #[test]
    fn every_shipped_codelist_parses_with_one_root_called_t() {
        let all = shipped();
        assert_eq!(all.len(), SHIPPED.len());
        for cl in &all {
            assert_eq!(cl.root(), Some("_T"), "{}", cl.id());
            assert!(cl.leaves().len() >= 2, "{}", cl.id());
            assert_eq!(shipped_codelist(cl.id()).unwrap().len(), cl.len());
        }
        assert!(shipped_codelist("CL_NOPE").is_none());
        assert_eq!(shipped_ids().count(), all.len());
    }

    #[test]
    fn cl_court_has_164_tribunaux_under_their_cour_d_appel() {
        let cl = shipped_codelist("CL_COURT").unwrap();
        let tj: Vec<_> = cl.leaves();
        assert_eq!(tj.len(), 164);
        assert!(
            tj.iter()
                .all(|c| c.starts_with("TJ_") && cl.depth(c) == Some(2))
        );
        assert_eq!(cl.parent("TJ_1_119"), Some("CA_1_14"));
        assert_eq!(
            cl.get("TJ_1_119").unwrap().label,
            "Tribunal judiciaire d'Agen"
        );
        assert_eq!(cl.get("CA_1_14").unwrap().label, "Cour d'appel d'Agen");
        assert_eq!(cl.get("_T").unwrap().label, "France");
        assert_eq!(cl.children("_T").len(), 34);
    }

    #[test]
    fn cl_offence_has_the_seven_publication_groups_each_with_several_leaves() {
        let cl = shipped_codelist("CL_OFFENCE").unwrap();
        let groups = cl.children("_T");
        assert_eq!(
            groups,
            vec![
                "G_BIENS",
                "G_PERSONNE",
                "G_CIRCULATION",
                "G_AUTORITE",
                "G_STUPEFIANTS",
                "G_ECOFI",
                "G_ENVIRONNEMENT"
            ]
        );
        for g in groups {
            assert!(cl.children(g).len() >= 5, "{g}");
        }
        assert!(
            cl.leaves()
                .iter()
                .all(|c| c.bytes().all(|b| b.is_ascii_digit()))
        );
        assert_eq!(cl.parent("180"), Some("G_STUPEFIANTS"));
    }

    #[test]
    fn cl_orientation_separates_poursuivable_from_non_poursuivable() {
        let cl = shipped_codelist("CL_ORIENTATION").unwrap();
        assert_eq!(cl.children("_T"), vec!["NPOURS", "POURSUIVABLE"]);
        assert_eq!(
            cl.children("POURSUIVABLE"),
            vec!["CSS", "ALT", "COMPO", "POURS"]
        );
        assert_eq!(
            cl.ancestors("POURS_COMPIM"),
            vec!["POURS_COMPIM", "POURS", "POURSUIVABLE", "_T"]
        );
        assert!(cl.is_leaf("COMPO"));
    }

    #[test]
    fn cl_sentence_has_the_leaves_the_cjn_rules_name() {
        let cl = shipped_codelist("CL_SENTENCE").unwrap();
        for code in [
            "PRISON_FERME",
            "PRISON_SURSIS_PARTIEL",
            "SURSIS_SIMPLE",
            "SURSIS_PROBATOIRE",
            "AMENDE_FERME",
            "AMENDE_SURSIS",
            "JOURS_AMENDE",
            "TIG",
            "STAGE",
            "SUSPENSION_PERMIS",
            "AUTRE_SUBSTITUTION",
            "MESURE_EDUCATIVE",
            "SANCTION_EDUCATIVE",
            "DISPENSE_PEINE",
        ] {
            assert!(cl.is_leaf(code), "{code}");
            assert_eq!(cl.depth(code), Some(2), "{code}");
        }
    }

    #[test]
    fn cl_establishment_rolls_up_to_the_courts_of_appeal() {
        let courts = shipped_codelist("CL_COURT").unwrap();
        let cl = shipped_codelist("CL_ESTABLISHMENT").unwrap();
        let establishments = cl.leaves();
        assert_eq!(establishments.len(), 189);
        for e in establishments {
            assert!(e.starts_with("E_") && e.len() == 5, "{e}");
            let ca = cl.parent(e).unwrap();
            assert!(ca.starts_with("CA_"), "{e} → {ca}");
            assert_eq!(cl.parent(ca), Some("_T"));
        }
        // Every court of appeal with tribunaux judiciaires has a prison; Nouméa and Papeete
        // (first-instance courts of another kind) are only in this list.
        for ca in courts.children("_T") {
            assert!(!cl.children(ca).is_empty(), "{ca}");
            assert_eq!(cl.get(ca).unwrap().label, courts.get(ca).unwrap().label);
        }
    }
}
