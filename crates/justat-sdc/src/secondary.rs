//! Secondary suppression: for each primary cell and each direction, the cheapest perturbation
//! of the table that keeps every additivity relation, keeps cells non-negative and moves the
//! primary by its protection level; the cells it touches are suppressed. Because suppressions
//! only add freedom, the perturbation found for one primary stays feasible in the final
//! pattern, so every primary keeps its required interval (the audit checks it independently).
//!
//! The perturbation is searched in a neighbourhood of the primary (the cells reachable
//! through a few relations), grown until the linear program is feasible, which keeps each
//! program small on large tables. Primaries are processed in a fixed order (largest
//! protection need first, then table order), so the pattern is deterministic.

use crate::primary::Status;
use crate::table::Table;
use good_lp::{
    Expression, ProblemVariables, Solution, SolverModel, Variable, constraint, microlp, variable,
};
use std::collections::{BTreeSet, HashMap};

/// Why no safe pattern could be found: the build stops rather than publish an unprotected table.
#[derive(Debug, thiserror::Error)]
pub enum SuppressionError {
    /// No perturbation protects this cell (e.g. the only cell of its table).
    #[error(
        "cell ({cell}) cannot be protected: no set of cells to suppress gives it a ±{need} interval{against}"
    )]
    Unprotectable {
        /// The cell.
        cell: String,
        /// The interval needed.
        need: f64,
        /// Against whom, when it is the single contributor of another cell.
        against: String,
    },
    /// The solver failed.
    #[error("the solver failed while protecting cell ({cell}): {message}")]
    Solver {
        /// The cell.
        cell: String,
        /// Its message.
        message: String,
    },
}

/// Below this, a perturbation is numerical noise.
const EPS: f64 = 1e-7;

/// Cells linked by relations, for growing neighbourhoods.
struct Links {
    relations: Vec<crate::table::Relation>,
    by_cell: HashMap<usize, Vec<usize>>,
}

impl Links {
    fn new(table: &Table) -> Links {
        let relations = table.relations();
        let mut by_cell: HashMap<usize, Vec<usize>> = HashMap::new();
        for (r, rel) in relations.iter().enumerate() {
            for c in std::iter::once(rel.total).chain(rel.parts.iter().copied()) {
                by_cell.entry(c).or_default().push(r);
            }
        }
        Links { relations, by_cell }
    }

    fn grow(&self, cells: &BTreeSet<usize>) -> BTreeSet<usize> {
        let mut out = cells.clone();
        for c in cells {
            for &r in self.by_cell.get(c).into_iter().flatten() {
                let rel = &self.relations[r];
                out.insert(rel.total);
                out.extend(rel.parts.iter().copied());
            }
        }
        out
    }
}

/// A perturbation: the change of each cell it moves, by cell.
type Change = Vec<(usize, f64)>;

/// The perturbation moving `target` by `shift` (positive or negative) at least cost inside
/// `hood`; `None` if there is none there.
fn perturbation(
    table: &Table,
    links: &Links,
    suppressed: &[bool],
    hood: &BTreeSet<usize>,
    target: usize,
    shift: f64,
    known: Option<usize>,
) -> Result<Option<Change>, SuppressionError> {
    let mut vars = ProblemVariables::new();
    let mut up: HashMap<usize, Variable> = HashMap::new();
    let mut down: HashMap<usize, Variable> = HashMap::new();
    for &c in hood {
        let cell = &table.cells[c];
        if ((cell.status == Status::Empty || cell.locked) && c != target) || Some(c) == known {
            // Empty cells are published as empty, cells an earlier publication showed stay
            // shown, and a singleton knows its own cell: none can absorb a perturbation.
            continue;
        }
        up.insert(c, vars.add(variable().min(0.0)));
        down.insert(
            c,
            vars.add(variable().min(0.0).max(table.cells[c].value.max(0.0))),
        );
    }
    // Suppressing a cell costs its value (plus one, so that empty-valued cells are not free);
    // cells already suppressed are free to use.
    // Among suppressed cells, a small cost still: the shortest change, around the cells of
    // single contributors where it can (each one it crosses is an attack to protect against).
    let cost = |c: usize| {
        let cell = &table.cells[c];
        if !suppressed[c] {
            1.0 + cell.value.abs()
        } else if cell.count == 1 && cell.status.is_primary() {
            0.1
        } else {
            0.01
        }
    };
    let objective: Expression = hood
        .iter()
        .filter(|c| up.contains_key(c))
        .map(|&c| cost(c) * (up[&c] + down[&c]))
        .sum();
    let mut model = vars.minimise(objective).using(microlp);
    let mut relations: BTreeSet<usize> = BTreeSet::new();
    for c in hood {
        relations.extend(links.by_cell.get(c).into_iter().flatten().copied());
    }
    for r in relations {
        let rel = &links.relations[r];
        let term = |c: usize| -> Expression {
            if up.contains_key(&c) {
                up[&c] - down[&c]
            } else {
                Expression::from(0.0)
            }
        };
        let lhs: Expression =
            term(rel.total) - rel.parts.iter().map(|&p| term(p)).sum::<Expression>();
        model = model.with(constraint!(lhs == 0.0));
    }
    let t = target;
    model = model.with(constraint!(up[&t] - down[&t] == shift));
    match model.solve() {
        Ok(sol) => {
            let mut change: Change = up
                .keys()
                .map(|&c| (c, sol.value(up[&c]) - sol.value(down[&c])))
                .filter(|&(c, d)| d.abs() > EPS || c == target)
                .collect();
            change.sort_by_key(|&(c, _)| c);
            Ok(Some(change))
        }
        Err(good_lp::ResolutionError::Infeasible) => Ok(None),
        Err(e) => Err(SuppressionError::Solver {
            cell: table.label(target),
            message: e.to_string(),
        }),
    }
}

/// A perturbation of `p` among the cells already suppressed alone, searched in neighbourhoods
/// grown through suppressed cells only; `None` if there is none near.
fn protected_by_suppressed(
    table: &Table,
    links: &Links,
    suppressed: &[bool],
    p: usize,
    shift: f64,
    known: Option<usize>,
) -> Result<Option<Change>, SuppressionError> {
    let mut hood: BTreeSet<usize> = BTreeSet::from([p]);
    // A few steps only: on a large table the suppressed cells can form one vast component.
    for _ in 0..4 {
        let next: BTreeSet<usize> = links
            .grow(&hood)
            .into_iter()
            .filter(|&c| suppressed[c] || c == p)
            .collect();
        let grew = next.len() > hood.len();
        hood = next;
        if let Some(cells) = perturbation(table, links, suppressed, &hood, p, shift, known)? {
            return Ok(Some(cells));
        }
        if !grew {
            return Ok(None);
        }
    }
    Ok(None)
}

/// The shifts a primary's protection asks, up and down: at least one unit even when the
/// interval asked is smaller (an interval of no width is an exact disclosure).
fn shifts(table: &Table, p: usize) -> [f64; 2] {
    let cell = &table.cells[p];
    [cell.upper.max(1.0), -cell.lower.max(1.0).min(cell.value)]
}

/// Adds to the pattern the cells of a perturbation protecting `p` in each direction asked
/// (up, down), with the singleton cell `known` fixed if any; returns how many were added and
/// the perturbations.
fn protect_cell(
    table: &mut Table,
    links: &Links,
    suppressed: &mut [bool],
    p: usize,
    known: Option<usize>,
    directions: [bool; 2],
) -> Result<(usize, Vec<Change>), SuppressionError> {
    let mut added = 0;
    let mut changes = Vec::new();
    for (shift, asked) in shifts(table, p).into_iter().zip(directions) {
        if shift == 0.0 || !asked {
            continue;
        }
        // Often the cells already suppressed protect it: a search among them alone is small.
        if let Some(change) = protected_by_suppressed(table, links, suppressed, p, shift, known)? {
            changes.push(change);
            continue;
        }
        let mut hood: BTreeSet<usize> = BTreeSet::from([p]);
        let mut found: Option<(f64, Change)> = None;
        for _ in 0..8 {
            let next = links.grow(&hood);
            let grew = next.len() > hood.len();
            hood = next;
            if let Some(change) = perturbation(table, links, suppressed, &hood, p, shift, known)? {
                let cost: f64 = change
                    .iter()
                    .filter(|&&(c, _)| !suppressed[c])
                    .map(|&(c, _)| 1.0 + table.cells[c].value.abs())
                    .sum();
                // The first neighbourhood where a perturbation exists is rarely where the
                // cheapest one is (a national total is near, the partner court one step
                // further): look one step further before choosing.
                if let Some((best, _)) = &found {
                    if cost < *best {
                        found = Some((cost, change));
                    }
                    break;
                }
                found = Some((cost, change));
            }
            if !grew {
                break;
            }
        }
        let Some((_, change)) = found else {
            return Err(SuppressionError::Unprotectable {
                cell: table.label(p),
                need: shift.abs(),
                against: known.map_or_else(String::new, |k| {
                    format!(
                        " against the single contributor of cell ({})",
                        table.label(k)
                    )
                }),
            });
        };
        for &(c, _) in &change {
            if !suppressed[c] {
                suppressed[c] = true;
                table.cells[c].status = Status::Secondary;
                added += 1;
            }
        }
        changes.push(change);
    }
    Ok((added, changes))
}

/// The perturbations found so far and the primaries (and directions) each protects: a
/// perturbation stays possible as cells are added to the pattern, so a primary it moves far
/// enough needs no search of its own.
#[derive(Default)]
struct Proofs {
    changes: Vec<Change>,
    by: HashMap<(usize, usize), usize>,
}

impl Proofs {
    fn record(&mut self, table: &Table, change: Change) {
        let at = self.changes.len();
        // The opposite change is possible too when it keeps every cell non-negative.
        let reversible = change
            .iter()
            .all(|&(c, d)| d <= table.cells[c].value.max(0.0) + EPS);
        for &(q, d) in &change {
            if !table.cells[q].status.is_primary() {
                continue;
            }
            let need = shifts(table, q);
            for (moved, possible) in [(d, true), (-d, reversible)] {
                let dir = usize::from(moved < 0.0);
                if possible && moved.abs() + EPS >= need[dir].abs() {
                    self.by.entry((q, dir)).or_insert(at);
                }
            }
        }
        self.changes.push(change);
    }

    /// The cells the perturbations protecting `p` move.
    fn support(&self, p: usize) -> BTreeSet<usize> {
        (0..2)
            .filter_map(|dir| self.by.get(&(p, dir)))
            .flat_map(|&i| self.changes[i].iter().map(|&(c, _)| c))
            .collect()
    }
}

/// Chooses the secondary suppressions of `table` (whose primaries are set) in place; returns
/// how many cells were added. Each primary is protected against outsiders, then against the
/// single contributor of another primary cell, who knows that cell; the audit
/// ([`crate::audit::failures`], singleton attacks included) decides when nothing is left to
/// repair, so a pattern returned has passed it.
pub fn protect(table: &mut Table) -> Result<usize, SuppressionError> {
    let links = Links::new(table);
    let mut suppressed: Vec<bool> = table
        .cells
        .iter()
        .map(|c| c.status.is_suppressed())
        .collect();
    let mut primaries: Vec<usize> = (0..table.cells.len())
        .filter(|&c| table.cells[c].status.is_primary())
        .collect();
    primaries.sort_by(|&a, &b| {
        let need = |c: usize| table.cells[c].upper.max(table.cells[c].lower);
        need(b).total_cmp(&need(a)).then(a.cmp(&b))
    });
    let mut added = 0;
    let mut proofs = Proofs::default();
    for p in primaries {
        let directions = [
            !proofs.by.contains_key(&(p, 0)),
            !proofs.by.contains_key(&(p, 1)),
        ];
        if directions.contains(&true) {
            let (n, changes) = protect_cell(table, &links, &mut suppressed, p, None, directions)?;
            added += n;
            for change in changes {
                proofs.record(table, change);
            }
        }
        // The single contributor of a cell the perturbation changes knows that cell: protect
        // against them now rather than after an audit.
        for s in proofs.support(p) {
            let cell = &table.cells[s];
            if s != p
                && cell.count == 1
                && cell.status.is_primary()
                && crate::audit::reveals_others(table, s, p)
            {
                let (n, changes) =
                    protect_cell(table, &links, &mut suppressed, p, Some(s), [true, true])?;
                added += n;
                for change in changes {
                    proofs.record(table, change);
                }
            }
        }
    }
    for _ in 0..20 {
        let failures =
            crate::audit::failures(table, true).map_err(|e| SuppressionError::Solver {
                cell: e.cell,
                message: e.message,
            })?;
        if failures.is_empty() {
            return Ok(added);
        }
        for (cell, by) in failures {
            added += protect_cell(table, &links, &mut suppressed, cell, by, [true, true])?.0;
        }
    }
    Err(SuppressionError::Solver {
        cell: String::new(),
        message: "no safe pattern after 20 rounds of repair".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::audit;
    use crate::hierarchy::Hierarchy;
    use crate::primary::PrimaryRules;

    fn court_table(records: &[(&str, &str)]) -> Table {
        let court = Hierarchy::from_csv(
            "court",
            "code,parent\nFR,\nCA1,FR\nTJ1,CA1\nTJ2,CA1\nTJ3,CA1\nCA2,FR\nTJ4,CA2\nTJ5,CA2\n",
        )
        .unwrap();
        let sex = Hierarchy::flat("sex", &["F".into(), "M".into()]).unwrap();
        let recs = records
            .iter()
            .map(|(c, s)| (vec![c.to_string(), s.to_string()], 1.0))
            .collect::<Vec<_>>();
        Table::from_microdata(
            vec![("court".into(), court), ("sex".into(), sex)],
            recs,
            false,
            &PrimaryRules::default(),
        )
        .unwrap()
    }

    fn many(code: &'static str, sex: &'static str, n: usize) -> Vec<(&'static str, &'static str)> {
        vec![(code, sex); n]
    }

    #[test]
    fn the_protected_table_passes_the_audit() {
        let mut recs = Vec::new();
        for (c, f, m) in [
            ("TJ1", 2, 30),
            ("TJ2", 20, 25),
            ("TJ3", 12, 1),
            ("TJ4", 40, 38),
            ("TJ5", 3, 9),
        ] {
            recs.extend(many(c, "F", f));
            recs.extend(many(c, "M", m));
        }
        let mut t = court_table(&recs);
        let primaries = t.cells.iter().filter(|c| c.status.is_primary()).count();
        assert_eq!(primaries, 3, "TJ1 F (2), TJ3 M (1), TJ5 F (3)");
        let added = protect(&mut t).unwrap();
        assert!(added >= 3, "each primary needs partners: {added}");
        let report = audit(&t, false).unwrap();
        assert_eq!(
            (report.exact_disclosures, report.interval_violations),
            (0, 0),
            "{:?}",
            report.violations
        );
    }

    #[test]
    fn the_same_table_gives_the_same_pattern() {
        let mut recs = many("TJ1", "F", 1);
        recs.extend(many("TJ2", "F", 9));
        recs.extend(many("TJ2", "M", 7));
        recs.extend(many("TJ1", "M", 8));
        recs.extend(many("TJ4", "M", 2));
        recs.extend(many("TJ5", "M", 12));
        recs.extend(many("TJ5", "F", 6));
        let pattern = |mut t: Table| {
            protect(&mut t).unwrap();
            t.cells.iter().map(|c| c.status).collect::<Vec<_>>()
        };
        assert_eq!(pattern(court_table(&recs)), pattern(court_table(&recs)));
    }
}

#[cfg(test)]
mod larger {
    use super::*;
    use crate::audit::audit;
    use crate::hierarchy::Hierarchy;
    use crate::primary::PrimaryRules;

    #[test]
    fn a_three_dimensional_table_with_a_hierarchy_passes_the_audit() {
        let mut court = String::from("code,parent\nFR,\n");
        for ca in 1..=3 {
            court.push_str(&format!("CA{ca},FR\n"));
            for tj in 1..=3 {
                court.push_str(&format!("TJ{ca}{tj},CA{ca}\n"));
            }
        }
        let court = Hierarchy::from_csv("court", &court).unwrap();
        let grp = Hierarchy::flat("grp", &["G1".into(), "G2".into(), "G3".into()]).unwrap();
        let sex = Hierarchy::flat("sex", &["F".into(), "M".into()]).unwrap();
        // Deterministic pseudo-random microdata with many small cells.
        let mut x: u64 = 7;
        let mut recs = Vec::new();
        for _ in 0..400 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let tj = format!("TJ{}{}", 1 + (x >> 33) % 3, 1 + (x >> 40) % 3);
            let g = format!("G{}", 1 + (x >> 45) % 3);
            let s = if (x >> 50).is_multiple_of(2) {
                "F"
            } else {
                "M"
            };
            recs.push((vec![tj, g, s.to_string()], 1.0));
        }
        let dims = vec![
            ("court".into(), court),
            ("grp".into(), grp),
            ("sex".into(), sex),
        ];
        let mut t = Table::from_microdata(dims, recs, false, &PrimaryRules::default()).unwrap();
        protect(&mut t).unwrap();
        let outsiders = audit(&t, false).unwrap();
        assert_eq!(outsiders.violations.len(), 0, "{:?}", outsiders.violations);
        let insiders = audit(&t, true).unwrap();
        assert_eq!(insiders.violations.len(), 0, "{:?}", insiders.violations);
    }
}
