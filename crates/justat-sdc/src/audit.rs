//! The audit, independent of the method that chose the suppressions: whether an attacker who
//! knows every published cell and every additivity relation of the table (all hierarchy levels
//! at once, cells non-negative) can narrow a primary cell inside its protection interval, by
//! linear programming. A primary cell is exactly disclosed when its interval has no width, and
//! under-protected when the interval does not reach its protection levels.

use crate::hypercube::{Cubes, Search};
use crate::lp::{Equations, Movable, cheapest_change, range, relaxed_reach};
use crate::pattern::Certificate;
use crate::table::Table;
use std::collections::{BTreeSet, HashMap};

/// Tolerance on values (they are counts or amounts to the cent).
const EPS: f64 = 1e-6;

/// A primary cell the pattern fails to protect.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// The cell.
    pub cell: usize,
    /// Its codes.
    pub label: String,
    /// Its value.
    pub value: f64,
    /// The attacker's interval.
    pub min: f64,
    /// The attacker's interval.
    pub max: f64,
    /// Exactly disclosed (no width), or only narrower than required.
    pub exact: bool,
    /// Found only when one singleton contributor's own cell is known.
    pub singleton: bool,
    /// That singleton's cell.
    pub by: Option<usize>,
}

/// The audit of a pattern.
#[derive(Debug, Clone, Default)]
pub struct AuditReport {
    /// The primary cells exactly disclosed.
    pub exact_disclosures: usize,
    /// The primary cells narrowed inside their protection interval (but not exactly).
    pub interval_violations: usize,
    /// Details of each failure.
    pub violations: Vec<Violation>,
}

/// The audit could not be completed: a pattern is never declared safe on a solver failure.
#[derive(Debug, thiserror::Error)]
#[error("the audit's linear program for cell ({cell}) failed: {message}")]
pub struct AuditError {
    /// The cell being audited.
    pub cell: String,
    /// The solver's message.
    pub message: String,
}

/// The suppressed cells linked by relations, and the relations restricted to them.
struct Component {
    cells: Vec<usize>,
    /// (coefficients on the component's cells, right-hand side).
    equations: Vec<(Vec<(usize, f64)>, f64)>,
}

fn components(table: &Table) -> Vec<Component> {
    let suppressed: Vec<bool> = table
        .cells
        .iter()
        .map(|c| c.status.is_suppressed())
        .collect();
    // Each relation, written as total − Σ parts = 0, with published cells moved to the right.
    let mut equations: Vec<(Vec<(usize, f64)>, f64)> = Vec::new();
    for r in table.relations() {
        let mut terms = Vec::new();
        let mut rhs = 0.0;
        for (cell, coef) in
            std::iter::once((r.total, 1.0)).chain(r.parts.iter().map(|&p| (p, -1.0)))
        {
            if suppressed[cell] {
                terms.push((cell, coef));
            } else {
                rhs -= coef * table.cells[cell].value;
            }
        }
        if !terms.is_empty() {
            equations.push((terms, rhs));
        }
    }
    // Union-find over the cells of each equation.
    let mut parent: HashMap<usize, usize> = HashMap::new();
    fn find(parent: &mut HashMap<usize, usize>, x: usize) -> usize {
        let p = *parent.entry(x).or_insert(x);
        if p == x {
            return x;
        }
        let root = find(parent, p);
        parent.insert(x, root);
        root
    }
    for (i, s) in suppressed.iter().enumerate() {
        if *s {
            parent.insert(i, i);
        }
    }
    for (terms, _) in &equations {
        let first = find(&mut parent, terms[0].0);
        for &(c, _) in &terms[1..] {
            let root = find(&mut parent, c);
            if root != first {
                parent.insert(root, first);
            }
        }
    }
    let mut groups: std::collections::BTreeMap<usize, Component> =
        std::collections::BTreeMap::new();
    for i in (0..suppressed.len()).filter(|&i| suppressed[i]) {
        let root = find(&mut parent, i);
        groups
            .entry(root)
            .or_insert_with(|| Component {
                cells: Vec::new(),
                equations: Vec::new(),
            })
            .cells
            .push(i);
    }
    for eq in equations {
        let root = find(&mut parent, eq.0[0].0);
        groups
            .get_mut(&root)
            .expect("every equation's cells are suppressed")
            .equations
            .push(eq);
    }
    groups.into_values().collect()
}

/// Minimises and maximises `target` in a component, with some cells fixed to known values.
fn bounds(
    table: &Table,
    comp: &Component,
    target: usize,
    known: &[(usize, f64)],
) -> Result<(f64, f64), AuditError> {
    let mut cells = comp.cells.clone();
    cells.sort_unstable();
    let mut equations = comp.equations.clone();
    for &(c, v) in known {
        if cells.binary_search(&c).is_ok() {
            equations.push((vec![(c, 1.0)], v));
        }
    }
    range(&cells, &equations, target).map_err(|message| AuditError {
        cell: table.label(target),
        message,
    })
}

fn judge(table: &Table, cell: usize, min: f64, max: f64, by: Option<usize>) -> Option<Violation> {
    let c = &table.cells[cell];
    let exact = max - min <= EPS;
    let narrow = min > c.value - c.lower + EPS || max < c.value + c.upper - EPS;
    (exact || narrow).then(|| Violation {
        cell,
        label: table.label(cell),
        value: c.value,
        min,
        max,
        exact,
        singleton: by.is_some(),
        by,
    })
}

/// Whether every code of `inner` is `outer`'s code or one of its descendants.
fn nested(table: &Table, inner: usize, outer: usize) -> bool {
    table.dims.iter().enumerate().all(|(d, (_, h))| {
        let o = table.cells[outer].codes[d] as usize;
        h.ancestors(table.cells[inner].codes[d] as usize)
            .contains(&o)
    })
}

/// The cell both cells contain (per dimension, the deeper of two nested codes), if any.
fn meet(table: &Table, a: usize, b: usize) -> Option<usize> {
    let mut codes = Vec::with_capacity(table.dims.len());
    for (d, (_, h)) in table.dims.iter().enumerate() {
        let (x, y) = (table.cells[a].codes[d], table.cells[b].codes[d]);
        if h.ancestors(x as usize).contains(&(y as usize)) {
            codes.push(x);
        } else if h.ancestors(y as usize).contains(&(x as usize)) {
            codes.push(y);
        } else {
            return None;
        }
    }
    Some(table.position(&codes))
}

/// Whether the single contributor of `singleton` learning `cell` learns something of others:
/// not when `cell` holds only that contributor — it is inside the singleton's cell, or its one
/// contributor is in both cells (e.g. the singleton's offence at the group level, one sex).
pub fn reveals_others(table: &Table, singleton: usize, cell: usize) -> bool {
    let same = nested(table, cell, singleton)
        || (table.cells[cell].count <= 1
            && meet(table, singleton, cell).is_some_and(|m| table.cells[m].count >= 1));
    !same
}

/// Whether the single contributor of `singleton`, knowing its own cell, is an attacker of the
/// primary `cell`: the cell is a singleton's and learning `cell` tells them of others.
pub(crate) fn attacks(table: &Table, singleton: usize, cell: usize) -> bool {
    let s = &table.cells[singleton];
    singleton != cell
        && s.status.is_primary()
        && s.count == 1
        && reveals_others(table, singleton, cell)
}

/// A change of the suppressed cells that keeps every published cell and every relation, keeps
/// cells non-negative, leaves `fixed` alone and moves `target` by `shift`: proof that an attacker
/// cannot exclude the value moved to. Searched in growing neighbourhoods of the target (small
/// programs on large tables); `None` when even the whole component has none, or none is found
/// in neighbourhoods of up to `limit` cells.
fn witness(
    table: &Table,
    eqs: &Equations,
    target: usize,
    shift: f64,
    fixed: Option<usize>,
    limit: usize,
) -> Result<Option<Vec<(usize, f64)>>, AuditError> {
    let mut hood = vec![target];
    loop {
        let next = eqs.grow(&hood);
        let grew = next.len() > hood.len();
        hood = next;
        if hood.len() > limit {
            return Ok(None);
        }
        match witness_in(table, eqs, &hood, target, shift, fixed)? {
            Some(change) => return Ok(Some(change)),
            None if grew => {
                // With the equations that leave the neighbourhood dropped, if the target
                // still cannot move that far, no larger neighbourhood will let it: stop here
                // rather than grow to the whole component (a failing pattern's is often vast).
                if hood.len() >= RELAXED_FROM
                    && !reachable(table, eqs, &hood, fixed, target, shift)?
                {
                    return Ok(None);
                }
            }
            None => return Ok(None),
        }
    }
}

/// The smallest witness among the cells of `hood` (sorted), around singletons' cells where it
/// can; `None` if there is none there.
fn witness_in(
    table: &Table,
    eqs: &Equations,
    hood: &[usize],
    target: usize,
    shift: f64,
    fixed: Option<usize>,
) -> Result<Option<Vec<(usize, f64)>>, AuditError> {
    let movable: Vec<Movable> = hood
        .iter()
        .filter(|&&c| Some(c) != fixed)
        .map(|&c| Movable {
            cell: c,
            cost: singleton_weight(table, c),
            floor: table.cells[c].value.max(0.0),
        })
        .collect();
    let found = cheapest_change(eqs, &movable, target, shift).map_err(|message| AuditError {
        cell: table.label(target),
        message,
    })?;
    Ok(found.map(|change| change.into_iter().filter(|(_, d)| d.abs() > EPS).collect()))
}

/// A failing primary's interval is measured exactly in neighbourhoods up to this size; past it,
/// the outer bound that shows the failure is reported (an exact disclosure may then be counted
/// as an interval violation: the count of failures is the same).
const EXACT_UP_TO: usize = 2000;

/// Neighbourhoods smaller than this are grown without the relaxed test: cheap either way.
const RELAXED_FROM: usize = 64;

/// Whether `target` can move by `shift` under the region's own equations only (see
/// [`relaxed_reach`]): `false` proves that it cannot in the whole table.
fn reachable(
    table: &Table,
    eqs: &Equations,
    region: &[usize],
    fixed: Option<usize>,
    target: usize,
    shift: f64,
) -> Result<bool, AuditError> {
    let reach = relaxed_reach(
        eqs,
        region,
        fixed,
        |c| table.cells[c].value,
        target,
        shift > 0.0,
    )
    .map_err(|message| AuditError {
        cell: table.label(target),
        message,
    })?;
    Ok(match reach {
        None => true,
        Some(r) if shift > 0.0 => r >= shift - EPS,
        Some(r) => r <= shift + EPS,
    })
}

/// The attacker's interval for a failing primary, measured in neighbourhoods grown until it
/// shows the failure: each is an outer bound of the exact interval (equations leaving the
/// neighbourhood are dropped), so a failure it shows is real, and the whole component, where
/// it ends otherwise, gives the exact interval.
fn failing_interval(
    table: &Table,
    eqs: &Equations,
    cell: usize,
    known: Option<usize>,
) -> Result<(f64, f64), AuditError> {
    let value = table.cells[cell].value;
    let floor = |c: usize| table.cells[c].value;
    let err = |message| AuditError {
        cell: table.label(cell),
        message,
    };
    let mut hood = vec![cell];
    loop {
        let next = eqs.grow(&hood);
        let grew = next.len() > hood.len();
        hood = next;
        let lo = relaxed_reach(eqs, &hood, known, floor, cell, false).map_err(err)?;
        let hi = relaxed_reach(eqs, &hood, known, floor, cell, true).map_err(err)?;
        let min = lo.map_or(0.0, |d| (value + d).max(0.0));
        let max = hi.map_or(f64::INFINITY, |d| value + d);
        // A pinned cell is exactly disclosed whatever lies beyond; a wider interval that
        // already fails may still narrow further out, so it is measured on, up to a size past
        // which the programmes cost more than knowing the exact width is worth.
        let pinned = max - min <= EPS;
        let fails = judge(table, cell, min, max, known).is_some();
        if !grew || pinned || (fails && hood.len() >= EXACT_UP_TO) {
            return Ok((min, max));
        }
    }
}

/// A witness: first as a product of changes per dimension among the suppressed cells (no
/// solver), checked against every equation before it is believed; else by linear programming.
fn find_witness(
    table: &Table,
    eqs: &Equations,
    cubes: &Cubes,
    target: usize,
    shift: f64,
    fixed: Option<usize>,
    limit: usize,
) -> Result<Option<Vec<(usize, f64)>>, AuditError> {
    let usable = |c: usize| table.cells[c].status.is_suppressed() && Some(c) != fixed;
    let cost = |c: usize| singleton_weight(table, c);
    let search = Search {
        usable: &usable,
        cost: &cost,
    };
    if let Some(change) = cubes.find(table, target, shift, &search)
        && proves(table, eqs, &change, target, shift, fixed)
    {
        return Ok(Some(change));
    }
    witness(table, eqs, target, shift, fixed, limit)
}

/// Whether `change` is a witness: it moves `target` by `shift` and [`holds`].
fn proves(
    table: &Table,
    eqs: &Equations,
    change: &[(usize, f64)],
    target: usize,
    shift: f64,
    fixed: Option<usize>,
) -> bool {
    let moved = change
        .iter()
        .any(|&(c, d)| c == target && (d - shift).abs() <= EPS);
    moved && holds(table, eqs, change, fixed)
}

/// Whether `change` is possible for the attacker: it moves only suppressed cells other than
/// `fixed`, keeps them non-negative and keeps every equation.
fn holds(table: &Table, eqs: &Equations, change: &[(usize, f64)], fixed: Option<usize>) -> bool {
    let delta: HashMap<usize, f64> = change.iter().copied().collect();
    let cells_ok = delta.len() == change.len()
        && change.iter().all(|&(c, d)| {
            table.cells[c].status.is_suppressed()
                && Some(c) != fixed
                && table.cells[c].value + d >= -EPS
        });
    // Each equation's sum over the changed cells (the others do not move), read from the
    // cells' side.
    let mut sums: HashMap<u32, f64> = HashMap::new();
    for &(c, d) in change {
        for &(e, k) in &eqs.by_cell[c] {
            *sums.entry(e).or_default() += k * d;
        }
    }
    let balanced = sums.values().all(|s| s.abs() <= EPS);
    cells_ok && balanced
}

/// What changing a cell costs a witness: a singleton's cell is avoided where it can be (the
/// fewer singletons a witness changes, the fewer attacks must be searched again).
fn singleton_weight(table: &Table, c: usize) -> f64 {
    let cell = &table.cells[c];
    if cell.count == 1 && cell.status.is_primary() {
        10.0
    } else {
        1.0
    }
}

/// The attacker's exact interval for `cell` by linear programming over its whole component,
/// with the `known` cell (a singleton contributor's own) fixed at its value.
pub fn interval(
    table: &Table,
    cell: usize,
    known: Option<usize>,
) -> Result<(f64, f64), AuditError> {
    let comp = components(table)
        .into_iter()
        .find(|c| c.cells.contains(&cell))
        .ok_or_else(|| AuditError {
            cell: table.label(cell),
            message: "the cell is not suppressed".into(),
        })?;
    let known: Vec<(usize, f64)> = known
        .map(|k| (k, table.cells[k].value))
        .into_iter()
        .collect();
    bounds(table, &comp, cell, &known)
}

/// The primary cells the pattern fails to protect, each with the singleton whose attack breaks
/// it (if any), in cell order; without their exact intervals (see [`audit`]).
///
/// A primary passes when, in both directions, a change of the suppressed cells reaching its
/// protection level exists (its witness); an attacker then cannot narrow it further. A singleton
/// attack can only break a witness that changes the singleton's cell: those are searched again
/// with that cell fixed.
///
/// `certificates` are changes claimed to be witnesses (the perturbations the method found): each
/// counts only once checked against every relation ([`holds`]), so a wrong one costs nothing but
/// the check, and the audit stays independent of the method. Searching witnesses in a large
/// four-dimensional pattern costs programmes over tens of thousands of cells; checking one
/// costs a pass over its cells.
///
/// With a `limit`, witnesses are searched in neighbourhoods of up to that many cells only, and
/// a primary with none there is reported failing: still sound (a pattern with no failure is
/// safe), for callers that protect such a primary again rather than wait for programmes over a
/// vast component.
pub fn failures(
    table: &Table,
    singletons: bool,
    certificates: &[Certificate],
    limit: Option<usize>,
) -> Result<Vec<(usize, Option<usize>)>, AuditError> {
    failures_of(table, singletons, certificates, limit, None)
}

/// [`failures`] among the given primaries only (all of them with `None`). Suppressing more
/// cells only widens what an attacker must allow, so a primary that passed stays protected
/// while the pattern grows: after protecting the failures of one round, a caller that only
/// added suppressions need check no others.
pub fn failures_of(
    table: &Table,
    singletons: bool,
    certificates: &[Certificate],
    limit: Option<usize>,
    among: Option<&[usize]>,
) -> Result<Vec<(usize, Option<usize>)>, AuditError> {
    Ok(failures_and_witnesses(table, singletons, certificates, limit, among)?.0)
}

/// The failing primaries, each with the singleton whose attack breaks it (if any), and the
/// witnesses found or checked.
pub(crate) type Found = (Vec<(usize, Option<usize>)>, Vec<Certificate>);

/// [`failures_of`], also returning the witnesses found or checked: what proves the primaries
/// that passed, as the method's perturbations prove its own pattern (a caller finishing a
/// pattern made elsewhere needs them to know what each suppression proves).
pub(crate) fn failures_and_witnesses(
    table: &Table,
    singletons: bool,
    certificates: &[Certificate],
    limit: Option<usize>,
    among: Option<&[usize]>,
) -> Result<Found, AuditError> {
    failures_in(
        table,
        &suppressed_equations(table),
        singletons,
        certificates,
        limit.unwrap_or(usize::MAX),
        among,
    )
}

/// The relations restricted to the suppressed cells: published cells are constants.
fn suppressed_equations(table: &Table) -> Equations {
    Equations::new(table, |c| table.cells[c].status.is_suppressed())
}

/// The witnesses found so far. One often proves several primaries safe: every primary it
/// moves far enough, in the direction it moves it, and in the other one too when the opposite
/// change keeps every cell non-negative. (A change and its opposite are feasible together with
/// no change, so any smaller one in between is too.)
#[derive(Default)]
struct Witnesses {
    /// Each witness: the change of the suppressed cells.
    list: Vec<Vec<(usize, f64)>>,
    /// The witnesses proving each primary in each direction (0 up, 1 down), in the order found.
    proving: HashMap<(usize, usize), Vec<usize>>,
}

impl Witnesses {
    /// Records a witness and the primaries it proves; returns its index.
    fn add(
        &mut self,
        table: &Table,
        change: Vec<(usize, f64)>,
        need: &dyn Fn(usize, usize) -> f64,
    ) -> usize {
        let w = self.list.len();
        let reversible = change
            .iter()
            .all(|&(c, d)| d <= table.cells[c].value.max(0.0) + EPS);
        for &(q, d) in &change {
            if !table.cells[q].status.is_primary() {
                continue;
            }
            for (moved, ok) in [(d, true), (-d, reversible)] {
                let dir = if moved > 0.0 { 0 } else { 1 };
                if ok && moved.abs() + EPS >= need(q, dir) {
                    self.proving.entry((q, dir)).or_default().push(w);
                }
            }
        }
        self.list.push(change);
        w
    }

    /// The first witness proving `p` in direction `dir`, if any.
    fn first(&self, p: usize, dir: usize) -> Option<usize> {
        self.proving
            .get(&(p, dir))
            .and_then(|ws| ws.first().copied())
    }

    /// The cells of the witnesses proving any of `primaries`, sorted.
    fn cells_moving(&self, primaries: &[usize]) -> Vec<usize> {
        let mut cells: Vec<usize> = primaries
            .iter()
            .flat_map(|&q| [(q, 0), (q, 1)])
            .filter_map(|key| self.proving.get(&key))
            .flatten()
            .flat_map(|&w| self.list[w].iter().map(|&(c, _)| c))
            .collect();
        cells.sort_unstable();
        cells.dedup();
        cells
    }

    /// Whether a witness found so far proves `p` in direction `dir` without changing `s`.
    fn covers(&self, p: usize, dir: usize, s: usize) -> bool {
        self.proving.get(&(p, dir)).is_some_and(|ws| {
            ws.iter()
                .any(|&w| self.list[w].iter().all(|&(c, _)| c != s))
        })
    }
}

/// [`failures`], over the table's equations already built.
fn failures_in(
    table: &Table,
    eqs: &Equations,
    singletons: bool,
    certificates: &[Certificate],
    limit: usize,
    among: Option<&[usize]>,
) -> Result<Found, AuditError> {
    let cubes = Cubes::new(table);
    let mut failures: Vec<(usize, Option<usize>)> = Vec::new();
    // What each primary needs, up (0) and down (1): any movement at all for a cell asked no
    // interval (none is an exact disclosure).
    let need = |c: usize, dir: usize| {
        let cell = &table.cells[c];
        let tiny = 1e-3 * cell.value.abs().max(1.0);
        if dir == 0 {
            cell.upper.max(tiny)
        } else {
            cell.lower.max(tiny)
        }
    };
    let primaries: Vec<usize> = match among {
        Some(cells) => {
            let mut cells = cells.to_vec();
            cells.sort_unstable();
            cells.dedup();
            cells
        }
        None => (0..table.cells.len()).collect(),
    };
    let primaries: Vec<usize> = primaries
        .into_iter()
        .filter(|&c| table.cells[c].status.is_primary())
        .collect();
    // Only the certificates moving a primary checked can prove it: the others are not
    // checked at all.
    let checked = |change: &&Certificate| {
        among.is_none()
            || change
                .iter()
                .any(|&(c, _)| primaries.binary_search(&c).is_ok())
    };
    let mut witnesses = Witnesses::default();
    for change in certificates
        .iter()
        .filter(checked)
        .filter(|c| holds(table, eqs, c, None))
    {
        witnesses.add(table, change.clone(), &need);
    }
    let mut failed: BTreeSet<usize> = BTreeSet::new();
    for &p in &primaries {
        for dir in 0..2 {
            if witnesses.first(p, dir).is_some() {
                continue;
            }
            let sign = if dir == 0 { 1.0 } else { -1.0 };
            let needed = need(p, dir);
            // A unit change first: on a count table it proves the small cells it crosses too.
            let unit = if dir == 0 {
                needed.max(1.0)
            } else {
                needed.max(table.cells[p].value.min(1.0))
            };
            let mut found = find_witness(table, eqs, &cubes, p, sign * unit, None, limit)?;
            if found.is_none() && unit > needed {
                found = find_witness(table, eqs, &cubes, p, sign * needed, None, limit)?;
            }
            let Some(change) = found else {
                failed.insert(p);
                break;
            };
            // The witness moves `p` by the shift asked, at least what it needs: it proves `p`.
            witnesses.add(table, change, &need);
        }
    }
    failures.extend(failed.iter().map(|&p| (p, None)));
    // A singleton contributor knows its own cell: a witness that changes it proves nothing to
    // them. Another witness found so far may leave it alone; else one is searched with that
    // cell fixed.
    for &p in primaries.iter().filter(|p| !failed.contains(p)) {
        // Only the singletons whose cell the first witnesses of `p` change can break them.
        let attackers: BTreeSet<usize> = (0..2)
            .filter_map(|dir| witnesses.first(p, dir))
            .flat_map(|w| witnesses.list[w].iter().map(|&(c, _)| c))
            .filter(|&c| singletons && attacks(table, c, p))
            .collect();
        'attackers: for s in attackers {
            for dir in 0..2 {
                if witnesses.covers(p, dir, s) {
                    continue;
                }
                let sign = if dir == 0 { 1.0 } else { -1.0 };
                let shift = sign * need(p, dir);
                // A combination of the witnesses of `p` and of the singleton's cell often
                // moves one without the other: one small programme over their cells first.
                let mut found = None;
                let cells = witnesses.cells_moving(&[p, s]);
                if cells.len() > 1 {
                    found = witness_in(table, eqs, &cells, p, shift, Some(s))?;
                }
                if found.is_none() {
                    found = find_witness(table, eqs, &cubes, p, shift, Some(s), limit)?;
                }
                let Some(change) = found else {
                    failures.push((p, Some(s)));
                    break 'attackers;
                };
                witnesses.add(table, change, &need);
            }
        }
    }
    failures.sort();
    Ok((failures, witnesses.list))
}

/// Audits the table's suppression pattern. With `singletons`, each primary cell with a single
/// contributor is also assumed known to that contributor, who attacks the other primaries.
/// Each failure found by [`failures`] is measured by linear programming in neighbourhoods grown
/// until they show it (see [`failing_interval`]).
pub fn audit(table: &Table, singletons: bool) -> Result<AuditReport, AuditError> {
    audit_with(table, singletons, &[])
}

/// [`audit`], given certificates (see [`failures`]): each witness among them is checked, not
/// searched, so the protection's certificates make the audit of a large pattern quick; a wrong
/// one is only ignored.
pub fn audit_with(
    table: &Table,
    singletons: bool,
    certificates: &[Certificate],
) -> Result<AuditReport, AuditError> {
    let eqs = suppressed_equations(table);
    let (found, _) = failures_in(table, &eqs, singletons, certificates, usize::MAX, None)?;
    let mut report = AuditReport::default();
    if found.is_empty() {
        return Ok(report);
    }
    for (cell, by) in found {
        let (min, max) = failing_interval(table, &eqs, cell, by)?;
        report.violations.push(
            judge(table, cell, min, max, by).unwrap_or_else(|| Violation {
                // The exact programme disagrees with the local search: a failure all the same (a
                // pattern is never declared safe on a doubt).
                cell,
                label: table.label(cell),
                value: table.cells[cell].value,
                min,
                max,
                exact: max - min <= EPS,
                singleton: by.is_some(),
                by,
            }),
        );
    }
    report.exact_disclosures = report.violations.iter().filter(|v| v.exact).count();
    report.interval_violations = report.violations.len() - report.exact_disclosures;
    Ok(report)
}

/// A table whose suppression pattern the audit finds nothing in (every primary cell, singleton
/// attacks included). Only [`certify`] makes one, and it cannot be changed afterwards: whoever
/// reads its cells reads the pattern as it was audited.
#[derive(Debug, Clone)]
pub struct Audited {
    table: Table,
}

impl Audited {
    /// The audited table.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// The proof that this table passed its audit, for the types that demand one.
    pub fn proof(&self) -> Clean {
        Clean { _sealed: () }
    }
}

/// Proof that a clean audit ran: its field is private, so [`Audited::proof`] is the only way to
/// get one, and [`certify`] the only way to get an [`Audited`]. A type whose constructor asks
/// for a `Clean` (a publication's `DataTable`) cannot be made without an audited pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clean {
    _sealed: (),
}

/// Why [`certify`] refused a table.
#[derive(Debug, thiserror::Error)]
pub enum CertifyError {
    /// The audit could not be completed.
    #[error(transparent)]
    Failed(#[from] AuditError),
    /// The audit found primary cells the pattern does not protect.
    #[error(
        "the protection audit finds {exact_disclosures} exact disclosures and {interval_violations} interval violations"
    )]
    Violations {
        /// The primary cells exactly disclosed.
        exact_disclosures: usize,
        /// The primary cells narrowed inside their protection interval.
        interval_violations: usize,
    },
}

/// Audits a protected table (singleton attacks included, `certificates` checked before they
/// count, see [`audit_with`]) and returns it as [`Audited`] when the audit finds nothing.
pub fn certify(table: Table, certificates: &[Certificate]) -> Result<Audited, CertifyError> {
    let report = audit_with(&table, true, certificates)?;
    if !report.violations.is_empty() {
        return Err(CertifyError::Violations {
            exact_disclosures: report.exact_disclosures,
            interval_violations: report.interval_violations,
        });
    }
    Ok(Audited { table })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hierarchy::Hierarchy;
    use crate::primary::Status;

    /// A rows × columns table with margins, from its inner values and suppressed inner cells.
    fn grid(values: &[&[u64]], suppressed: &[(usize, usize)], primary: &[(usize, usize)]) -> Table {
        let rows: Vec<String> = (1..=values.len()).map(|i| format!("R{i}")).collect();
        let cols: Vec<String> = (1..=values[0].len()).map(|i| format!("C{i}")).collect();
        let dims = vec![
            ("r".to_string(), Hierarchy::flat("r", &rows).unwrap()),
            ("c".to_string(), Hierarchy::flat("c", &cols).unwrap()),
        ];
        let mut cells = Vec::new();
        for (i, row) in values.iter().enumerate() {
            for (j, &v) in row.iter().enumerate() {
                let status = if primary.contains(&(i, j)) {
                    Status::PrimaryFrequency
                } else if suppressed.contains(&(i, j)) {
                    Status::Secondary
                } else {
                    Status::Publishable
                };
                cells.push((vec![i as u32 + 1, j as u32 + 1], v, v as f64, status));
            }
            let total: u64 = row.iter().sum();
            cells.push((
                vec![i as u32 + 1, 0],
                total,
                total as f64,
                Status::Publishable,
            ));
        }
        for j in 0..values[0].len() {
            let total: u64 = values.iter().map(|r| r[j]).sum();
            cells.push((
                vec![0, j as u32 + 1],
                total,
                total as f64,
                Status::Publishable,
            ));
        }
        let grand: u64 = values.iter().flat_map(|r| r.iter()).sum();
        cells.push((vec![0, 0], grand, grand as f64, Status::Publishable));
        let mut t = Table::from_cells(dims, cells, false);
        for c in &mut t.cells {
            if c.status.is_primary() {
                c.lower = 0.1 * c.value;
                c.upper = 0.1 * c.value;
            }
        }
        t.check_additive().unwrap();
        t
    }

    #[test]
    fn a_lone_suppression_in_a_row_is_exactly_disclosed() {
        let t = grid(&[&[3, 10], &[12, 9]], &[], &[(0, 0)]);
        let r = audit(&t, false).unwrap();
        assert_eq!(r.exact_disclosures, 1);
    }

    #[test]
    fn a_rectangle_of_non_zero_cells_protects_its_primary() {
        let t = grid(&[&[3, 10], &[12, 9]], &[(0, 1), (1, 0), (1, 1)], &[(0, 0)]);
        let r = audit(&t, false).unwrap();
        assert_eq!(
            (r.exact_disclosures, r.interval_violations),
            (0, 0),
            "{:?}",
            r.violations
        );
        let p = (0..t.cells.len())
            .find(|&c| t.cells[c].status.is_primary())
            .unwrap();
        assert_eq!(
            interval(&t, p, None).unwrap(),
            (0.0, 13.0),
            "down to 0, up until C2 of R1 (10) or R2 of C1 (12) is exhausted"
        );
    }

    #[test]
    fn failures_among_some_primaries_checks_those_only() {
        let at = |t: &Table, r: usize, c: usize| t.position(&[r as u32, c as u32]);
        // R1C1 is protected by a rectangle, R3C3 is alone in its row and column.
        let t = grid(
            &[&[3, 10, 6], &[12, 9, 7], &[5, 8, 2]],
            &[(0, 1), (1, 0), (1, 1)],
            &[(0, 0), (2, 2)],
        );
        let (safe, exposed) = (at(&t, 1, 1), at(&t, 3, 3));
        assert_eq!(failures(&t, false, &[], None).unwrap(), [(exposed, None)]);
        let among = |cells: &[usize]| failures_of(&t, false, &[], None, Some(cells)).unwrap();
        assert!(among(&[safe]).is_empty());
        assert_eq!(among(&[exposed, safe, exposed]), [(exposed, None)]);
        assert!(
            among(&[at(&t, 2, 2)]).is_empty(),
            "a published cell is no primary"
        );
        assert!(among(&[]).is_empty());
    }

    #[test]
    fn a_certificate_counts_only_once_it_holds() {
        let at = |t: &Table, r: usize, c: usize| t.position(&[r as u32, c as u32]);
        // Exposed: the primary alone in its row. A change moving it and its row total
        // (published) does not hold, nor does one moving it by itself.
        let exposed = grid(&[&[3, 10], &[12, 9]], &[], &[(0, 0)]);
        let p = at(&exposed, 1, 1);
        let bogus = [vec![(p, 1.0), (at(&exposed, 1, 0), 1.0)], vec![(p, 1.0)]];
        assert_eq!(
            failures(&exposed, false, &bogus, None).unwrap(),
            [(p, None)]
        );
        // Protected by a cycle of six cells, which no product of changes per dimension finds:
        // its changes given as certificates spare the programme (no neighbourhood allowed);
        // without them, the primary is reported failing within that limit, safe without it.
        let cycle = [(0, 0), (0, 1), (1, 1), (1, 2), (2, 2), (2, 0)];
        let safe = grid(
            &[&[3, 10, 4], &[12, 9, 5], &[6, 7, 8]],
            &cycle[1..],
            &[(0, 0)],
        );
        let p = at(&safe, 1, 1);
        let turn = |d: f64| {
            let mut change: Vec<(usize, f64)> = cycle
                .iter()
                .zip([d, -d, d, -d, d, -d])
                .map(|(&(r, c), d)| (at(&safe, r + 1, c + 1), d))
                .collect();
            change.sort_by_key(|&(c, _)| c);
            change
        };
        let certificates = [turn(1.0), turn(-1.0)];
        assert!(
            failures(&safe, false, &certificates, Some(0))
                .unwrap()
                .is_empty()
        );
        assert_eq!(failures(&safe, false, &[], Some(0)).unwrap(), [(p, None)]);
        assert!(failures(&safe, false, &[], None).unwrap().is_empty());
        // A certificate that would empty a cell does not hold: 3 cannot go down by 4.
        assert!(!holds(
            &safe,
            &suppressed_equations(&safe),
            &turn(-4.0),
            None
        ));
    }

    #[test]
    fn two_suppressions_per_row_and_column_can_still_disclose_a_cell_exactly() {
        // The trap: every row and column of the 4 × 4 inner table has two suppressed cells, yet
        // the two zeros of the only cycle through the primary (3) stop its shift both ways.
        let values: &[&[u64]] = &[&[3, 0, 5, 6], &[4, 0, 7, 8], &[5, 7, 9, 0], &[6, 8, 0, 10]];
        let suppressed = [(0, 1), (1, 0), (1, 1), (2, 2), (2, 3), (3, 2), (3, 3)];
        let t = grid(values, &suppressed, &[(0, 0)]);
        let r = audit(&t, false).unwrap();
        assert_eq!(r.exact_disclosures, 1, "{:?}", r.violations);
        assert_eq!(r.violations[0].label, "R1, C1");
    }

    #[test]
    fn a_singleton_learns_nothing_of_others_from_a_cell_holding_only_itself() {
        // R1 C1 holds one contributor; R1 (all columns) holds 11, C1 (all rows) 10, R1+C1 = 1.
        let t = grid(&[&[1, 10], &[9, 8]], &[], &[(0, 0)]);
        let cell = |codes: [u32; 2]| t.position(&codes);
        let s = cell([1, 1]);
        assert!(!reveals_others(&t, s, s));
        assert!(
            reveals_others(&t, s, cell([1, 2])),
            "another contributor's cell"
        );
        assert!(
            reveals_others(&t, s, cell([1, 0])),
            "its row holds others too"
        );
        // A one-contributor cell whose contributor is in the singleton's cell: the same person.
        let one = grid(&[&[1, 0], &[9, 8]], &[], &[(0, 0)]);
        let row = one.position(&[1, 0]);
        assert_eq!(one.cells[row].count, 1);
        assert!(!reveals_others(&one, one.position(&[1, 1]), row));
        assert!(!reveals_others(&one, row, one.position(&[1, 1])));
    }

    #[test]
    fn a_singleton_who_knows_its_own_cell_can_disclose_another() {
        // Two primaries in the same row: each is protected against outsiders, but the single
        // contributor of one cell knows it and deduces the other.
        let t = grid(
            &[&[1, 2, 10], &[9, 8, 11]],
            &[(1, 0), (1, 1)],
            &[(0, 0), (0, 1)],
        );
        let outsiders = audit(&t, false).unwrap();
        assert_eq!(outsiders.violations.len(), 0, "{:?}", outsiders.violations);
        let insiders = audit(&t, true).unwrap();
        assert!(
            insiders
                .violations
                .iter()
                .any(|v| v.singleton && v.exact && v.label == "R1, C2"),
            "{:?}",
            insiders.violations
        );
    }
}
