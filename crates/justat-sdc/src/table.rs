//! A table with every hierarchy level and total of each dimension, its cells, and the
//! additivity relations an attacker knows.

use crate::hierarchy::Hierarchy;
use crate::primary::{PrimaryRules, Status};
use std::collections::HashMap;

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// One code position per dimension.
    pub codes: Vec<u32>,
    /// Contributors.
    pub count: u64,
    /// Total of the response variable (the count itself for a count table).
    pub value: f64,
    /// The largest contributions, descending (as many as the rules need).
    pub top: Vec<f64>,
    /// Its status.
    pub status: Status,
    /// Required distance of the attacker's lower bound below the value.
    pub lower: f64,
    /// Required distance of the attacker's upper bound above the value.
    pub upper: f64,
    /// Published by an earlier publication of the same cube and period: it stays published
    /// (suppressing it now would protect nothing and open differences with what is public).
    pub locked: bool,
}

/// Why a table cannot be built or checked; each variant names the cell or code.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TableError {
    /// A record's code is not in its dimension's hierarchy.
    #[error("record {record}: code `{code}` of dimension {dim} is not in its hierarchy")]
    UnknownCode {
        /// 1-based record (line of the file minus the header).
        record: usize,
        /// The dimension.
        dim: String,
        /// The code.
        code: String,
    },
    /// A record is classified at an aggregate level.
    #[error(
        "record {record}: code `{code}` of dimension {dim} is a total; microdata carry the most detailed codes"
    )]
    NotLeaf {
        /// 1-based record.
        record: usize,
        /// The dimension.
        dim: String,
        /// The code.
        code: String,
    },
    /// A negative count.
    #[error("cell ({cell}): negative count {count}")]
    NegativeCount {
        /// The cell's codes.
        cell: String,
        /// The count.
        count: i64,
    },
    /// A total does not equal the sum of its parts.
    #[error("cell ({cell}) is not the sum of its parts along {dim}: {what} {total} ≠ {sum}")]
    NotAdditive {
        /// The total cell's codes.
        cell: String,
        /// The dimension summed over.
        dim: String,
        /// `count` or `value`.
        what: &'static str,
        /// The total's value.
        total: f64,
        /// The parts' sum.
        sum: f64,
    },
    /// A cell that an earlier publication of the same cube and period showed is now unsafe.
    #[error(
        "cell ({cell}) was published by an earlier publication of this cube and period and is now unsafe: publish a correction rather than a new pattern"
    )]
    PublishedPrimary {
        /// The cell's codes.
        cell: String,
    },
    /// A code of an earlier pattern or of a table's definition is not in the dimension.
    #[error("code `{code}` of dimension {dim} is not in its hierarchy")]
    UnknownPatternCode {
        /// The dimension.
        dim: String,
        /// The code.
        code: String,
    },
    /// A dominance or p % rule on a count table.
    #[error(
        "a dominance or p % rule needs a response variable (--response): a count table has no contributions to compare"
    )]
    DominanceOnCounts,
}

/// One additivity relation: `total` = Σ `parts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    /// The total cell.
    pub total: usize,
    /// Its parts.
    pub parts: Vec<usize>,
    /// The dimension summed over.
    pub dim: usize,
}

/// One of the linked tables published from a cube: the dimensions it holds at one code
/// (`(dimension, code)`), those it shows at some codes only (e.g. the courts of appeal and
/// France, not the courts); the others are shown at every level.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TableShape {
    /// The dimensions held at one code.
    pub fixed: Vec<(String, String)>,
    /// The dimensions shown at these codes only (codes the table does not hold are ignored).
    pub shown: Vec<(String, Vec<String>)>,
}

/// A multi-dimensional table with all hierarchy levels: the full product of the dimensions'
/// codes (cells without contributors are `Empty`).
#[derive(Debug, Clone)]
pub struct Table {
    /// The dimensions, in order.
    pub dims: Vec<(String, Hierarchy)>,
    /// The cells, in the product order of the dimensions' codes.
    pub cells: Vec<Cell>,
    /// Whether the cells carry a response variable (else `value` = `count`).
    pub has_response: bool,
    strides: Vec<usize>,
}

impl Table {
    fn empty(dims: Vec<(String, Hierarchy)>, has_response: bool) -> Table {
        let mut strides = vec![1; dims.len()];
        for d in (0..dims.len().saturating_sub(1)).rev() {
            strides[d] = strides[d + 1] * dims[d + 1].1.len();
        }
        let total: usize = dims.iter().map(|(_, h)| h.len()).product();
        let mut cells = Vec::with_capacity(total);
        for i in 0..total {
            let codes = (0..dims.len())
                .map(|d| ((i / strides[d]) % dims[d].1.len()) as u32)
                .collect();
            cells.push(Cell {
                codes,
                count: 0,
                value: 0.0,
                top: Vec::new(),
                status: Status::Empty,
                lower: 0.0,
                upper: 0.0,
                locked: false,
            });
        }
        Table {
            dims,
            cells,
            has_response,
            strides,
        }
    }

    /// How far apart in `cells` two codes next to each other are, per dimension.
    pub(crate) fn strides(&self) -> &[usize] {
        &self.strides
    }

    /// The position of the cell with these code positions.
    pub fn position(&self, codes: &[u32]) -> usize {
        codes
            .iter()
            .zip(&self.strides)
            .map(|(&c, &s)| c as usize * s)
            .sum()
    }

    /// The cell's codes as text, `A, B, C`.
    pub fn label(&self, cell: usize) -> String {
        self.cells[cell]
            .codes
            .iter()
            .zip(&self.dims)
            .map(|(&c, (_, h))| h.code(c as usize).to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Tabulates microdata: each record has one leaf code per dimension and a value (1 for a
    /// count table); every record counts in each ancestor of its codes.
    pub fn from_microdata(
        dims: Vec<(String, Hierarchy)>,
        records: impl IntoIterator<Item = (Vec<String>, f64)>,
        has_response: bool,
        rules: &PrimaryRules,
    ) -> Result<Table, TableError> {
        if !has_response && (rules.dominance.is_some() || rules.p.is_some()) {
            return Err(TableError::DominanceOnCounts);
        }
        let top_n = rules.top_needed();
        let mut table = Table::empty(dims, has_response);
        let mut chains: Vec<HashMap<String, Vec<usize>>> = vec![HashMap::new(); table.dims.len()];
        for (r, (codes, value)) in records.into_iter().enumerate() {
            let mut per_dim: Vec<Vec<usize>> = Vec::with_capacity(codes.len());
            for (d, code) in codes.iter().enumerate() {
                let (name, h) = &table.dims[d];
                let chain = match chains[d].get(code) {
                    Some(c) => c.clone(),
                    None => {
                        let i = h.index(code).ok_or_else(|| TableError::UnknownCode {
                            record: r + 1,
                            dim: name.clone(),
                            code: code.clone(),
                        })?;
                        if !h.is_leaf(i) {
                            return Err(TableError::NotLeaf {
                                record: r + 1,
                                dim: name.clone(),
                                code: code.clone(),
                            });
                        }
                        let c = h.ancestors(i);
                        chains[d].insert(code.clone(), c.clone());
                        c
                    }
                };
                per_dim.push(chain);
            }
            // Every combination of ancestors, one per dimension.
            let mut idx = vec![0usize; per_dim.len()];
            loop {
                let pos: usize = idx
                    .iter()
                    .enumerate()
                    .map(|(d, &k)| per_dim[d][k] * table.strides[d])
                    .sum();
                let cell = &mut table.cells[pos];
                cell.count += 1;
                cell.value += value;
                if top_n > 0 {
                    let at = cell.top.partition_point(|&t| t >= value);
                    if at < top_n {
                        cell.top.insert(at, value);
                        cell.top.truncate(top_n);
                    }
                }
                let mut d = per_dim.len();
                loop {
                    if d == 0 {
                        break;
                    }
                    d -= 1;
                    idx[d] += 1;
                    if idx[d] < per_dim[d].len() {
                        break;
                    }
                    idx[d] = 0;
                }
                if idx.iter().all(|&k| k == 0) {
                    break;
                }
            }
        }
        table.apply_rules(rules);
        Ok(table)
    }

    /// Sets every cell's status and protection levels from the rules.
    pub fn apply_rules(&mut self, rules: &PrimaryRules) {
        for c in &mut self.cells {
            let v = rules.judge(c.count, c.value, &c.top);
            c.status = v.status;
            c.lower = v.lower;
            c.upper = v.upper;
        }
    }

    /// Every additivity relation the attacker knows: for each dimension, each of its non-leaf
    /// codes and each combination of the other dimensions' codes, the total equals the sum of
    /// the children — when all those cells are published (in one of the linked tables).
    pub fn relations(&self) -> Vec<Relation> {
        let mut out = Vec::new();
        for (i, cell) in self.cells.iter().enumerate() {
            if cell.status == Status::NotPublished {
                continue;
            }
            for (d, (_, h)) in self.dims.iter().enumerate() {
                let code = cell.codes[d] as usize;
                if h.is_leaf(code) {
                    continue;
                }
                let base = i - code * self.strides[d];
                let parts: Vec<usize> = h
                    .children(code)
                    .iter()
                    .map(|&c| base + c * self.strides[d])
                    .collect();
                if parts
                    .iter()
                    .any(|&p| self.cells[p].status == Status::NotPublished)
                {
                    continue;
                }
                out.push(Relation {
                    total: i,
                    parts,
                    dim: d,
                });
            }
        }
        out
    }

    /// Keeps only the cells of the linked tables published from this table (a cube): each
    /// table shows some dimensions at every level and holds the others at one code (`_T` for a
    /// dimension it does not show, or a filter). Their union is protected as one table, with
    /// the relations of all of them, so that no difference between two tables reveals a cell.
    pub fn restrict_to(&mut self, tables: &[TableShape]) -> Result<(), TableError> {
        // Per table and dimension: the code positions shown, or `None` for every code.
        let shapes: Vec<Vec<Option<Vec<u32>>>> = tables
            .iter()
            .map(|t| {
                self.dims
                    .iter()
                    .map(|(name, h)| {
                        if let Some((_, code)) = t.fixed.iter().find(|(d, _)| d == name) {
                            let i =
                                h.index(code)
                                    .ok_or_else(|| TableError::UnknownPatternCode {
                                        dim: name.clone(),
                                        code: code.clone(),
                                    })?;
                            return Ok(Some(vec![i as u32]));
                        }
                        Ok(t.shown.iter().find(|(d, _)| d == name).map(|(_, codes)| {
                            codes
                                .iter()
                                .filter_map(|c| h.index(c))
                                .map(|i| i as u32)
                                .collect()
                        }))
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<_, _>>()?;
        for cell in &mut self.cells {
            let shown = shapes.iter().any(|shape| {
                shape
                    .iter()
                    .zip(&cell.codes)
                    .all(|(codes, code)| codes.as_ref().is_none_or(|c| c.contains(code)))
            });
            if !shown {
                cell.status = Status::NotPublished;
            }
        }
        Ok(())
    }

    /// Carries over the pattern of an earlier publication of the same cube and period: what
    /// it suppressed stays suppressed, what it published stays published (locked). Its cells
    /// outside the tables published now are published still: they join the union protected
    /// (with their relations), so the new pattern covers every table ever published. A cell it
    /// published that is unsafe now is refused.
    pub fn reuse(&mut self, earlier: &[(Vec<String>, Status)]) -> Result<(), TableError> {
        for (codes, status) in earlier {
            let mut pos = Vec::with_capacity(codes.len());
            for ((name, h), code) in self.dims.iter().zip(codes) {
                pos.push(
                    h.index(code)
                        .ok_or_else(|| TableError::UnknownPatternCode {
                            dim: name.clone(),
                            code: code.clone(),
                        })? as u32,
                );
            }
            let at = self.position(&pos);
            let label = self.label(at);
            let cell = &mut self.cells[at];
            if cell.status == Status::NotPublished {
                // Restricting forgot the cell's own status; the earlier pattern has it.
                cell.status = *status;
                cell.locked = !status.is_suppressed();
                continue;
            }
            if status.is_suppressed() {
                if cell.status == Status::Publishable {
                    cell.status = Status::Secondary;
                }
            } else if *status != Status::NotPublished {
                if cell.status.is_primary() {
                    return Err(TableError::PublishedPrimary { cell: label });
                }
                cell.locked = true;
            }
        }
        Ok(())
    }

    /// The cells of the pattern, with their codes as text (cells not published left out):
    /// what a later publication of the same cube and period reuses.
    pub fn pattern_cells(&self) -> Vec<(Vec<String>, Status)> {
        self.cells
            .iter()
            .filter(|c| c.status != Status::NotPublished)
            .map(|c| {
                let codes = c
                    .codes
                    .iter()
                    .zip(&self.dims)
                    .map(|(&k, (_, h))| h.code(k as usize).to_string())
                    .collect();
                (codes, c.status)
            })
            .collect()
    }

    /// Checks that every total equals the sum of its parts (for tables read from a file).
    pub fn check_additive(&self) -> Result<(), TableError> {
        for r in self.relations() {
            let total = &self.cells[r.total];
            let error = |what, total: f64, sum: f64| TableError::NotAdditive {
                cell: self.label(r.total),
                dim: self.dims[r.dim].0.clone(),
                what,
                total,
                sum,
            };
            let count: u64 = r.parts.iter().map(|&p| self.cells[p].count).sum();
            if count != total.count {
                return Err(error("count", total.count as f64, count as f64));
            }
            let value: f64 = r.parts.iter().map(|&p| self.cells[p].value).sum();
            if (value - total.value).abs() > 1e-6 * total.value.abs().max(1.0) {
                return Err(error("value", total.value, value));
            }
        }
        Ok(())
    }

    /// A table from aggregated cells (a cube): counts per cell at every level; only the
    /// frequency rule applies (a cube keeps no individual contributions).
    pub fn from_aggregates(
        dims: Vec<(String, Hierarchy)>,
        cells: impl IntoIterator<Item = (Vec<String>, u64)>,
        rules: &PrimaryRules,
    ) -> Result<Table, TableError> {
        if rules.dominance.is_some() || rules.p.is_some() {
            return Err(TableError::DominanceOnCounts);
        }
        let mut table = Table::empty(dims, false);
        for (r, (codes, count)) in cells.into_iter().enumerate() {
            let mut pos = Vec::with_capacity(codes.len());
            for (d, code) in codes.iter().enumerate() {
                let (name, h) = &table.dims[d];
                pos.push(h.index(code).ok_or_else(|| TableError::UnknownCode {
                    record: r + 1,
                    dim: name.clone(),
                    code: code.clone(),
                })? as u32);
            }
            let at = table.position(&pos);
            table.cells[at].count = count;
            table.cells[at].value = count as f64;
        }
        table.check_additive()?;
        table.apply_rules(rules);
        Ok(table)
    }

    /// A table read from cells (a pattern file): dims, then (codes, count, value, status);
    /// cells not given are not published.
    pub fn from_cells(
        dims: Vec<(String, Hierarchy)>,
        cells: Vec<(Vec<u32>, u64, f64, Status)>,
        has_response: bool,
    ) -> Table {
        let mut table = Table::empty(dims, has_response);
        // A cell the file leaves out is in none of its tables (a union of linked tables).
        for c in &mut table.cells {
            c.status = Status::NotPublished;
        }
        for (codes, count, value, status) in cells {
            let pos = table.position(&codes);
            let c = &mut table.cells[pos];
            c.count = count;
            c.value = value;
            c.status = status;
        }
        table
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dims() -> Vec<(String, Hierarchy)> {
        vec![
            (
                "court".into(),
                Hierarchy::from_csv("court", "code,parent\nFR,\nCA1,FR\nTJ1,CA1\nTJ2,CA1\n")
                    .unwrap(),
            ),
            (
                "sex".into(),
                Hierarchy::flat("sex", &["F".into(), "M".into()]).unwrap(),
            ),
        ]
    }

    fn records(list: &[(&str, &str, f64)]) -> Vec<(Vec<String>, f64)> {
        list.iter()
            .map(|(a, b, v)| (vec![a.to_string(), b.to_string()], *v))
            .collect()
    }

    #[test]
    fn every_level_and_total_is_tabulated() {
        let t = Table::from_microdata(
            dims(),
            records(&[("TJ1", "F", 1.0), ("TJ1", "M", 1.0), ("TJ2", "M", 1.0)]),
            false,
            &PrimaryRules::default(),
        )
        .unwrap();
        assert_eq!(t.cells.len(), 4 * 3);
        let h = &t.dims[0].1;
        let fr = h.index("FR").unwrap() as u32;
        let total = t.position(&[fr, t.dims[1].1.root() as u32]);
        assert_eq!(t.cells[total].count, 3);
        assert!(t.check_additive().is_ok());
        // FR = CA1 (one child) and CA1 = TJ1 + TJ2, for each sex and the total; sex totals too.
        assert_eq!(t.relations().len(), 2 * 3 + 4);
    }

    #[test]
    fn unknown_codes_totals_in_microdata_and_non_additive_tables_are_refused() {
        let e = Table::from_microdata(
            dims(),
            records(&[("TJ9", "F", 1.0)]),
            false,
            &PrimaryRules::default(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "record 1: code `TJ9` of dimension court is not in its hierarchy"
        );
        let e = Table::from_microdata(
            dims(),
            records(&[("CA1", "F", 1.0)]),
            false,
            &PrimaryRules::default(),
        )
        .unwrap_err();
        assert!(matches!(e, TableError::NotLeaf { .. }));
        let e = Table::from_microdata(
            dims(),
            Vec::new(),
            false,
            &PrimaryRules {
                dominance: Some((1, 85.0)),
                ..PrimaryRules::default()
            },
        )
        .unwrap_err();
        assert_eq!(e, TableError::DominanceOnCounts);
        let mut t = Table::from_microdata(
            dims(),
            records(&[("TJ1", "F", 1.0), ("TJ2", "F", 1.0)]),
            false,
            &PrimaryRules::default(),
        )
        .unwrap();
        let h = &t.dims[0].1;
        let tj1 = t.position(&[h.index("TJ1").unwrap() as u32, 1]);
        t.cells[tj1].count += 1;
        let e = t.check_additive().unwrap_err().to_string();
        assert!(
            e.contains("cell (CA1, F) is not the sum of its parts along court: count 2 ≠ 3"),
            "{e}"
        );
    }

    #[test]
    fn dominance_uses_the_largest_contributions() {
        let rules = PrimaryRules {
            freq: 3,
            dominance: Some((1, 85.0)),
            ..PrimaryRules::default()
        };
        let t = Table::from_microdata(
            dims(),
            records(&[
                ("TJ1", "F", 900.0),
                ("TJ1", "F", 50.0),
                ("TJ1", "F", 50.0),
                ("TJ2", "F", 10.0),
            ]),
            true,
            &rules,
        )
        .unwrap();
        let h = &t.dims[0].1;
        let tj1f = &t.cells[t.position(&[h.index("TJ1").unwrap() as u32, 1])];
        assert_eq!(
            tj1f.top,
            vec![900.0],
            "the (1,k) rule keeps the largest contribution only"
        );
        assert_eq!(tj1f.status, Status::PrimaryDominance);
        let tj2f = &t.cells[t.position(&[h.index("TJ2").unwrap() as u32, 1])];
        assert_eq!(tj2f.status, Status::PrimaryFrequency);
    }
}
