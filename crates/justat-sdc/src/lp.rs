//! The linear programmes of the crate, written straight to the solver (microlp): the
//! protection and the audit solve thousands of small ones, where building them costs as much
//! as solving them.

use microlp::{ComparisonOp, Error, LinearExpr, OptimizationDirection, Problem, Variable};

/// Additivity equations `Σ coefficient × cell = 0`, read both ways: by equation and by cell.
pub(crate) struct Equations {
    /// Each equation's terms (cell, coefficient).
    pub terms: Vec<Vec<(usize, f64)>>,
    /// For each cell of the table, the equations it is in and its coefficient there: a
    /// programme over a few cells is built from these alone, without reading the long
    /// equations of the totals whole.
    pub by_cell: Vec<Vec<(u32, f64)>>,
}

impl Equations {
    /// The table's relations (`total − Σ parts = 0`) restricted to the cells `keep` accepts (the
    /// others are constants and drop out of a change); equations left empty are dropped.
    pub(crate) fn new(table: &crate::Table, keep: impl Fn(usize) -> bool) -> Equations {
        let mut terms = Vec::new();
        let mut by_cell: Vec<Vec<(u32, f64)>> = vec![Vec::new(); table.cells.len()];
        for r in table.relations() {
            let eq: Vec<(usize, f64)> = std::iter::once((r.total, 1.0))
                .chain(r.parts.iter().map(|&p| (p, -1.0)))
                .filter(|&(c, _)| keep(c))
                .collect();
            if eq.is_empty() {
                continue;
            }
            for &(c, coefficient) in &eq {
                by_cell[c].push((terms.len() as u32, coefficient));
            }
            terms.push(eq);
        }
        Equations { terms, by_cell }
    }

    /// `cells` (sorted) and every cell sharing an equation with one of them, sorted.
    pub(crate) fn grow(&self, cells: &[usize]) -> Vec<usize> {
        let mut out = cells.to_vec();
        for &c in cells {
            for &(e, _) in &self.by_cell[c] {
                out.extend(self.terms[e as usize].iter().map(|&(c, _)| c));
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Which of `cells` each equation holds, for the equations some of them are in: entries
    /// (equation, position in `cells`, coefficient) sorted by equation, to be read with
    /// `chunk_by` one equation at a time. Read from the cells' side: a total's equation can
    /// hold hundreds of cells, few of them among `cells`.
    fn among(&self, cells: &[usize]) -> Vec<(u32, u32, f64)> {
        let mut incidence: Vec<(u32, u32, f64)> = cells
            .iter()
            .enumerate()
            .flat_map(|(i, &c)| self.by_cell[c].iter().map(move |&(e, k)| (e, i as u32, k)))
            .collect();
        incidence.sort_unstable_by_key(|&(e, i, _)| (e, i));
        incidence
    }
}

/// Entries of [`Equations::among`] of the same equation.
fn same_equation(a: &(u32, u32, f64), b: &(u32, u32, f64)) -> bool {
    a.0 == b.0
}

/// One cell a change may move: its cost per unit and how far it may go down (its value: cells
/// stay non-negative).
pub(crate) struct Movable {
    /// The cell.
    pub cell: usize,
    /// Cost per unit of change, either way.
    pub cost: f64,
    /// The largest decrease.
    pub floor: f64,
}

/// The least-cost change of the `movable` cells (sorted by cell, the others fixed) that keeps
/// every equation and moves `target` by `shift`; `Ok(None)` when there is none.
pub(crate) fn cheapest_change(
    eqs: &Equations,
    movable: &[Movable],
    target: usize,
    shift: f64,
) -> Result<Option<Vec<(usize, f64)>>, String> {
    let cells: Vec<usize> = movable.iter().map(|m| m.cell).collect();
    let incidence = eqs.among(&cells);
    let members: Vec<&[(u32, u32, f64)]> = incidence.chunk_by(same_equation).collect();
    // The equations in `members` order, to find a cell's among them.
    let ids: Vec<u32> = members.iter().map(|m| m[0].0).collect();
    // A cell alone among the movable ones in an equation cannot move; without it, others may
    // be left alone in theirs. Peeling them first often proves there is no change at all, and
    // leaves a smaller programme otherwise. A work list keeps it linear in the equations' size.
    let mut alive = vec![true; cells.len()];
    let mut count: Vec<usize> = members.iter().map(|m| m.len()).collect();
    let mut lone: Vec<usize> = (0..members.len()).filter(|&k| count[k] == 1).collect();
    while let Some(k) = lone.pop() {
        if count[k] != 1 {
            continue;
        }
        let Some(&(_, i, _)) = members[k].iter().find(|&&(_, i, _)| alive[i as usize]) else {
            continue;
        };
        alive[i as usize] = false;
        for &(e, _) in &eqs.by_cell[cells[i as usize]] {
            if let Ok(k2) = ids.binary_search(&e) {
                count[k2] -= 1;
                if count[k2] == 1 {
                    lone.push(k2);
                }
            }
        }
    }
    let Ok(t) = cells.binary_search(&target) else {
        return Ok(None);
    };
    if !alive[t] {
        return Ok(None);
    }
    let mut problem = Problem::new(OptimizationDirection::Minimize);
    // A change is up − down, both non-negative: the cost is paid on either side.
    let vars: Vec<Option<(Variable, Variable)>> = movable
        .iter()
        .zip(&alive)
        .map(|(m, &a)| {
            a.then(|| {
                (
                    problem.add_var(m.cost, (0.0, f64::INFINITY)),
                    problem.add_var(m.cost, (0.0, m.floor.max(0.0))),
                )
            })
        })
        .collect();
    for (k, m) in members.iter().enumerate() {
        if count[k] == 0 {
            continue;
        }
        let mut lhs = LinearExpr::empty();
        for &(_, i, coef) in *m {
            if let Some((up, down)) = vars[i as usize] {
                lhs.add(up, coef);
                lhs.add(down, -coef);
            }
        }
        problem.add_constraint(lhs, ComparisonOp::Eq, 0.0);
    }
    let Some((up_t, down_t)) = vars[t] else {
        return Ok(None);
    };
    problem.add_constraint([(up_t, 1.0), (down_t, -1.0)], ComparisonOp::Eq, shift);
    match solve(&problem) {
        Ok(solution) => {
            let change = cells
                .iter()
                .zip(&vars)
                .filter_map(|(&c, v)| {
                    v.map(|(up, down)| (c, solution.var_value(up) - solution.var_value(down)))
                })
                .filter(|&(c, d)| d.abs() > 1e-7 || c == target)
                .collect();
            Ok(Some(change))
        }
        Err(Error::Infeasible) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

/// How far `target` can move (up with `maximise`, else down: a negative number) by a change of
/// the `region`'s cells (sorted) other than `fixed`, each down by at most its `floor`, that keeps
/// every equation lying wholly inside the region; equations reaching outside are dropped, as if
/// the cells beyond could absorb anything. Dropping equations only widens what is possible, so
/// a target that cannot move far enough here cannot in the whole table either: the audit uses
/// it to prove a failure without a programme over the whole component. `None` when unbounded.
pub(crate) fn relaxed_reach(
    eqs: &Equations,
    region: &[usize],
    fixed: Option<usize>,
    floor: impl Fn(usize) -> f64,
    target: usize,
    maximise: bool,
) -> Result<Option<f64>, String> {
    let mut problem = Problem::new(if maximise {
        OptimizationDirection::Maximize
    } else {
        OptimizationDirection::Minimize
    });
    let vars: Vec<Option<(Variable, Variable)>> = region
        .iter()
        .map(|&c| {
            let objective = if c == target { 1.0 } else { 0.0 };
            (Some(c) != fixed).then(|| {
                (
                    problem.add_var(objective, (0.0, f64::INFINITY)),
                    problem.add_var(-objective, (0.0, floor(c).max(0.0))),
                )
            })
        })
        .collect();
    let Ok(t) = region.binary_search(&target) else {
        return Err("the target is not in the region".into());
    };
    let Some((up_t, down_t)) = vars[t] else {
        return Ok(Some(0.0));
    };
    for inside in eqs.among(region).chunk_by(same_equation) {
        if inside.len() < eqs.terms[inside[0].0 as usize].len() {
            continue;
        }
        let mut lhs = LinearExpr::empty();
        for &(_, i, coef) in inside {
            if let Some((up, down)) = vars[i as usize] {
                lhs.add(up, coef);
                lhs.add(down, -coef);
            }
        }
        problem.add_constraint(lhs, ComparisonOp::Eq, 0.0);
    }
    match solve(&problem) {
        Ok(solution) => Ok(Some(solution.var_value(up_t) - solution.var_value(down_t))),
        Err(Error::Unbounded) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

/// Solves a programme; no limit is set, so an interrupted solve is an internal error.
fn solve(problem: &Problem) -> Result<microlp::Solution, Error> {
    problem
        .solve()?
        .into_solution()
        .map_err(|_| Error::InternalError("the solver stopped without a solution".into()))
}

/// The least and greatest value of `target` over non-negative `cells` (sorted) satisfying
/// `equations` (terms, right-hand side); `f64::INFINITY` above when nothing bounds it.
pub(crate) fn range(
    cells: &[usize],
    equations: &[(Vec<(usize, f64)>, f64)],
    target: usize,
) -> Result<(f64, f64), String> {
    let solve = |direction: OptimizationDirection| -> Result<f64, String> {
        let mut problem = Problem::new(direction);
        let vars: Vec<Variable> = cells
            .iter()
            .map(|&c| problem.add_var(if c == target { 1.0 } else { 0.0 }, (0.0, f64::INFINITY)))
            .collect();
        let var = |c: usize| cells.binary_search(&c).map(|i| vars[i]);
        for (terms, rhs) in equations {
            let mut lhs = LinearExpr::empty();
            for &(c, k) in terms {
                let v = var(c).map_err(|_| format!("cell {c} is not in the programme"))?;
                lhs.add(v, k);
            }
            problem.add_constraint(lhs, ComparisonOp::Eq, *rhs);
        }
        let t = var(target).map_err(|_| "the target is not in the programme".to_string())?;
        match solve(&problem) {
            Ok(solution) => Ok(solution.var_value(t)),
            // Unbounded above: an attacker learns nothing of the upper side.
            Err(Error::Unbounded) if direction == OptimizationDirection::Maximize => {
                Ok(f64::INFINITY)
            }
            Err(e) => Err(e.to_string()),
        }
    };
    Ok((
        solve(OptimizationDirection::Minimize)?,
        solve(OptimizationDirection::Maximize)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// a = b + c, b = d + e over five cells 0..5.
    fn equations() -> Equations {
        let terms = vec![
            vec![(0, 1.0), (1, -1.0), (2, -1.0)],
            vec![(1, 1.0), (3, -1.0), (4, -1.0)],
        ];
        let mut by_cell = vec![Vec::new(); 5];
        for (e, t) in terms.iter().enumerate() {
            for &(c, k) in t {
                by_cell[c].push((e as u32, k));
            }
        }
        Equations { terms, by_cell }
    }

    #[test]
    fn the_cheapest_change_keeps_the_equations() {
        let eqs = equations();
        let movable: Vec<Movable> = [(0, 10.0), (1, 1.0), (2, 1.0), (3, 1.0), (4, 5.0)]
            .iter()
            .map(|&(cell, cost)| Movable {
                cell,
                cost,
                floor: 3.0,
            })
            .collect();
        // Moving d up by 2: e down (cost 5) or b up and c down (cost 1 + 1).
        let change = cheapest_change(&eqs, &movable, 3, 2.0).unwrap().unwrap();
        assert_eq!(change, vec![(1, 2.0), (2, -2.0), (3, 2.0)]);
        // c cannot go down by 4 (its value is 3) and e can only go down by 3: d up by 4 needs
        // both ways.
        let change = cheapest_change(&eqs, &movable, 3, 4.0).unwrap().unwrap();
        let delta = |c| change.iter().find(|x| x.0 == c).map_or(0.0, |x| x.1);
        assert!((delta(1) - delta(3) - delta(4)).abs() < 1e-9);
        assert!((delta(0) - delta(1) - delta(2)).abs() < 1e-9);
        assert!(delta(2) >= -3.0 - 1e-9 && delta(4) >= -3.0 - 1e-9);
    }

    #[test]
    fn a_cell_alone_in_its_equation_cannot_move() {
        let eqs = equations();
        // Only d and e movable: d + e = b fixed, so d moves only if e does.
        let movable = vec![Movable {
            cell: 3,
            cost: 1.0,
            floor: 5.0,
        }];
        assert!(cheapest_change(&eqs, &movable, 3, 1.0).unwrap().is_none());
        assert!(cheapest_change(&eqs, &movable, 4, 1.0).unwrap().is_none());
        // c and d movable: c is alone in a = b + c, and once it is peeled d is alone in
        // b = d + e. With b movable too, d moves with b and c.
        let some = |cells: &[usize]| -> Vec<Movable> {
            cells
                .iter()
                .map(|&cell| Movable {
                    cell,
                    cost: 1.0,
                    floor: 5.0,
                })
                .collect()
        };
        assert!(
            cheapest_change(&eqs, &some(&[2, 3]), 3, 1.0)
                .unwrap()
                .is_none()
        );
        let change = cheapest_change(&eqs, &some(&[1, 2, 3]), 3, 1.0)
            .unwrap()
            .unwrap();
        assert_eq!(change, vec![(1, 1.0), (2, -1.0), (3, 1.0)]);
    }

    #[test]
    fn equations_leaving_the_region_are_dropped() {
        let eqs = equations();
        // b, d, e, with b fixed: d + e stays constant, so d moves by at most e's floor up and
        // its own down; a = b + c reaches outside and is dropped.
        let reach = |maximise| relaxed_reach(&eqs, &[1, 3, 4], Some(1), |_| 3.0, 3, maximise);
        assert!((reach(true).unwrap().unwrap() - 3.0).abs() < 1e-9);
        assert!((reach(false).unwrap().unwrap() + 3.0).abs() < 1e-9);
        // Without b fixed nothing holds d: b = d + e is the only equation left, b absorbs it.
        let free = relaxed_reach(&eqs, &[1, 3, 4], None, |_| 3.0, 3, true).unwrap();
        assert_eq!(free, None);
    }

    #[test]
    fn the_range_of_a_cell_follows_from_the_equations() {
        // x0 + x1 = 7, x1 + x2 = 5: x0 ∈ [2, 7].
        let eqs = vec![
            (vec![(0, 1.0), (1, 1.0)], 7.0),
            (vec![(1, 1.0), (2, 1.0)], 5.0),
        ];
        let (lo, hi) = range(&[0, 1, 2], &eqs, 0).unwrap();
        assert!((lo - 2.0).abs() < 1e-9 && (hi - 7.0).abs() < 1e-9);
        // x0 − x1 = 1: no upper bound.
        let (lo, hi) = range(&[0, 1], &[(vec![(0, 1.0), (1, -1.0)], 1.0)], 0).unwrap();
        assert!((lo - 1.0).abs() < 1e-9 && hi.is_infinite());
    }
}
