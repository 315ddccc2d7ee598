//! Publishing again the secondary cells a finished pattern does not need. A greedy pattern
//! suppresses cells for the first primaries that the perturbations of later ones make
//! redundant: each such cell, the most valuable first, is released when every requirement its
//! perturbations proved is proved without it, by the perturbations found so far or by new ones
//! among the cells still suppressed. Where the reach allows swaps, a new perturbation may also
//! suppress other cells, as long as together they are worth less than the cell released (each
//! cell's value plus the reach's cost per cell: two cells of 5 are not worth less than one of 10).
//! The requirements include the single contributors' attacks a release would open: a primary
//! still proved against outsiders by other perturbations, all of which move the same
//! singleton's cell, is proved again against that singleton, or the cell stays suppressed.
//!
//! In four dimensions no pass runs (`Reach::releases`): one takes too long there. What each
//! setting gained when measured: `bench/sdc/README.md`.

use super::{Change, Context, Pattern, Proofs, Reach, SuppressionError, moves_enough, shifts};
use crate::hypercube::MAX_PRODUCTS;
use crate::primary::Status;
use crate::table::Table;
use std::collections::HashMap;

/// What a perturbation must prove: a primary moved in one direction (0 up, 1 down), with the
/// cell a single contributor knows left alone if any.
type Requirement = (usize, usize, Option<usize>);

/// Whether `change` proves `req`.
fn proves(table: &Table, change: &Change, (q, dir, known): Requirement) -> bool {
    moves_enough(table, change, q)[dir] && known.is_none_or(|k| change.iter().all(|&(c, _)| c != k))
}

/// The perturbations found so far, whether each still holds (a cell it moves may have been
/// released), and the perturbations moving each cell.
struct Ledger {
    /// Each perturbation, sorted by cell.
    changes: Vec<Change>,
    /// The primaries each perturbation moves (sorted), with the directions it moves each far
    /// enough ([`moves_enough`]): asked for every primary of every perturbation a released
    /// cell is in.
    enough: Vec<Vec<(usize, [bool; 2])>>,
    holds: Vec<bool>,
    moving: HashMap<usize, Vec<usize>>,
}

impl Ledger {
    fn new(table: &Table, changes: Vec<Change>) -> Ledger {
        let mut ledger = Ledger {
            changes: Vec::with_capacity(changes.len()),
            enough: Vec::with_capacity(changes.len()),
            holds: Vec::with_capacity(changes.len()),
            moving: HashMap::new(),
        };
        for change in changes {
            ledger.add(table, change);
        }
        ledger
    }

    fn add(&mut self, table: &Table, mut change: Change) {
        change.sort_unstable_by_key(|&(c, _)| c);
        for &(c, _) in &change {
            self.moving.entry(c).or_default().push(self.changes.len());
        }
        self.enough.push(
            change
                .iter()
                .filter(|&&(q, _)| table.cells[q].status.is_primary())
                .map(|&(q, _)| (q, moves_enough(table, &change, q)))
                .collect(),
        );
        self.changes.push(change);
        self.holds.push(true);
    }

    /// Whether perturbation `i` moves cell `c`.
    fn moves(&self, i: usize, c: usize) -> bool {
        self.changes[i]
            .binary_search_by_key(&c, |&(d, _)| d)
            .is_ok()
    }

    /// Whether perturbation `i` proves `req` ([`proves`]).
    fn proves(&self, i: usize, (q, dir, known): Requirement) -> bool {
        let enough = &self.enough[i];
        enough
            .binary_search_by_key(&q, |&(c, _)| c)
            .is_ok_and(|k| enough[k].1[dir])
            && known.is_none_or(|k| !self.moves(i, k))
    }

    /// The perturbations still holding that move `c`.
    fn through(&self, c: usize) -> impl Iterator<Item = usize> + '_ {
        self.moving
            .get(&c)
            .into_iter()
            .flatten()
            .copied()
            .filter(|&i| self.holds[i])
    }

    /// Whether a perturbation still holding proves `req` without moving `dropped`.
    fn proves_without(&self, req: Requirement, dropped: usize) -> bool {
        self.through(req.0)
            .any(|i| !self.moves(i, dropped) && self.proves(i, req))
    }

    /// The requirements only the perturbations through `dropped` prove: each primary they
    /// move, in each direction, against outsiders and against each single contributor that
    /// could otherwise learn it: those it was protected from (`against`), and those whose cell
    /// every other perturbation proving it moves (the audit would find them).
    fn needed(
        &self,
        table: &Table,
        dropped: usize,
        against: &HashMap<usize, Vec<usize>>,
    ) -> Vec<Requirement> {
        let mut primaries: Vec<usize> = self
            .through(dropped)
            .flat_map(|i| self.enough[i].iter().map(|&(q, _)| q))
            .collect();
        primaries.sort_unstable();
        primaries.dedup();
        let mut needed: Vec<Requirement> = Vec::new();
        for q in primaries {
            let (lost, kept): (Vec<usize>, Vec<usize>) =
                self.through(q).partition(|&i| self.moves(i, dropped));
            for dir in 0..2 {
                let proving = |among: &[usize], known: Option<usize>| {
                    among.iter().any(|&i| self.proves(i, (q, dir, known)))
                };
                if !proving(&lost, None) {
                    continue;
                }
                let kept_dir: Vec<usize> = kept
                    .iter()
                    .copied()
                    .filter(|&i| self.proves(i, (q, dir, None)))
                    .collect();
                let Some((&first, rest)) = kept_dir.split_first() else {
                    needed.push((q, dir, None));
                    continue;
                };
                let mut singles: Vec<usize> = self.changes[first]
                    .iter()
                    .map(|&(s, _)| s)
                    .filter(|&s| {
                        rest.iter().all(|&i| self.moves(i, s)) && crate::audit::attacks(table, s, q)
                    })
                    .collect();
                singles.extend(against.get(&q).into_iter().flatten().copied());
                singles.sort_unstable();
                singles.dedup();
                for s in singles {
                    if proving(&lost, Some(s)) && !proving(&kept_dir, Some(s)) {
                        needed.push((q, dir, Some(s)));
                    }
                }
            }
        }
        needed
    }

    /// The cells of the perturbations still holding that move any of `cells`, except those
    /// through `dropped`, sorted.
    fn cells_near(&self, cells: impl Iterator<Item = usize>, dropped: usize) -> Vec<usize> {
        let mut near: Vec<usize> = cells
            .flat_map(|c| self.through(c))
            .filter(|&i| !self.moves(i, dropped))
            .flat_map(|i| self.changes[i].iter().map(|&(c, _)| c))
            .collect();
        near.sort_unstable();
        near.dedup();
        near
    }
}

/// The attacks a new perturbation proving `(q, dir)` against outsiders opens: each single
/// contributor whose cell it moves learns from the others, with that cell fixed.
fn attacks(table: &Table, change: &Change, q: usize, dir: usize) -> Vec<Requirement> {
    change
        .iter()
        .map(|&(s, _)| s)
        .filter(|&s| crate::audit::attacks(table, s, q))
        .map(|s| (q, dir, Some(s)))
        .collect()
}

/// Publishes again the secondary cells the rest of the pattern makes useless (see the
/// module's documentation); cells suppressed before this protection (`before`) stay
/// suppressed. The audit's rounds must check the pattern again afterwards: a perturbation
/// found here answers the attacks it opens, but the audit may find others. Returns how many
/// cells were released; `proofs` keeps only the perturbations still possible.
pub(super) fn release(
    table: &mut Table,
    ctx: &Context,
    suppressed: &mut [bool],
    proofs: &mut Proofs,
    before: &[bool],
) -> Result<usize, SuppressionError> {
    let mut ledger = Ledger::new(table, std::mem::take(&mut proofs.changes));
    let mut candidates: Vec<usize> = (0..table.cells.len())
        .filter(|&c| table.cells[c].status == Status::Secondary && !before[c])
        .collect();
    candidates.sort_by(|&a, &b| {
        let value = |c: usize| table.cells[c].value;
        value(b).total_cmp(&value(a)).then(a.cmp(&b))
    });
    let mut released = 0;
    for c in candidates {
        let needed = ledger.needed(table, c, &proofs.against);
        if try_release(table, ctx, suppressed, &mut ledger, c, needed)? {
            released += 1;
        }
    }
    let against = std::mem::take(&mut proofs.against);
    *proofs = Proofs {
        against,
        ..Proofs::default()
    };
    for (change, holds) in ledger.changes.into_iter().zip(ledger.holds) {
        if holds {
            proofs.record(table, change);
        }
    }
    Ok(released)
}

/// Releases `c` if every requirement in `needed` (and every attack a new perturbation opens)
/// is proved without it, by cells still suppressed or, with swaps, by cells worth less than it
/// all together; otherwise leaves the pattern as it was. Perturbations found that still hold
/// either way are kept in the ledger: they are alternatives for the cells tried next.
fn try_release(
    table: &mut Table,
    ctx: &Context,
    suppressed: &mut [bool],
    ledger: &mut Ledger,
    c: usize,
    mut needed: Vec<Requirement>,
) -> Result<bool, SuppressionError> {
    let reach = Reach::of(table);
    let worth = reach.worth(table.cells[c].value);
    suppressed[c] = false;
    let mut found: Vec<Change> = Vec::new();
    let mut added: Vec<usize> = Vec::new();
    let mut cost = 0.0;
    let mut next = 0;
    let mut complete = true;
    while let Some(&req) = needed.get(next) {
        next += 1;
        let (q, dir, known) = req;
        // A perturbation just found for another requirement often proves this one too.
        let reused = found.iter().position(|f| proves(table, f, req));
        let change = match reused {
            Some(f) => found[f].clone(),
            None => {
                let pattern = Pattern {
                    table,
                    ctx,
                    suppressed,
                    known,
                    target: q,
                    reach,
                };
                let near = ledger.cells_near([Some(q), known].into_iter().flatten(), c);
                let Some(change) = reprove(&pattern, shifts(table, q)[dir], &near, &found)?
                    .filter(|change| proves(table, change, req))
                else {
                    complete = false;
                    break;
                };
                change
            }
        };
        if known.is_none() {
            for attack in attacks(table, &change, q, dir) {
                let answered = ledger.proves_without(attack, c)
                    || found.iter().any(|f| proves(table, f, attack));
                if !answered && !needed.contains(&attack) {
                    needed.push(attack);
                }
            }
        }
        if reused.is_some() {
            continue;
        }
        for &(d, _) in &change {
            if !suppressed[d] {
                suppressed[d] = true;
                cost += reach.worth(table.cells[d].value);
                added.push(d);
            }
        }
        found.push(change);
        if cost >= worth {
            complete = false;
            break;
        }
    }
    if complete {
        table.cells[c].status = Status::Publishable;
        for &d in &added {
            table.cells[d].status = Status::Secondary;
        }
        let lost: Vec<usize> = ledger.through(c).collect();
        for i in lost {
            ledger.holds[i] = false;
        }
    } else {
        // `c` itself may be among the cells added (a swap's product through it): restored last.
        for &d in &added {
            suppressed[d] = false;
        }
        suppressed[c] = true;
        found.retain(|change| change.iter().all(|(d, _)| !added.contains(d)));
    }
    for change in found {
        ledger.add(table, change);
    }
    Ok(complete)
}

/// A perturbation moving the pattern's target by `shift`: a product among the suppressed cells,
/// then a programme over the cells of the perturbations `near` it and those just `found`, then
/// one grown through suppressed cells; with swaps, the cheapest product over every cell and a
/// programme around it.
fn reprove(
    pattern: &Pattern,
    shift: f64,
    near: &[usize],
    found: &[Change],
) -> Result<Option<Change>, SuppressionError> {
    if let Some(change) = pattern.product(shift, true, MAX_PRODUCTS) {
        return Ok(Some(change));
    }
    let mut hint: Vec<usize> = near
        .iter()
        .copied()
        .chain(found.iter().flatten().map(|&(d, _)| d))
        .collect();
    hint.sort_unstable();
    hint.dedup();
    if hint.len() > 1
        && let Some(change) = pattern.perturbation(&hint, shift)?
    {
        return Ok(Some(change));
    }
    let reach = pattern.reach;
    if let Some(change) =
        pattern.among_suppressed(shift, reach.release_steps, reach.release_cells)?
    {
        return Ok(Some(change));
    }
    if !reach.swap {
        return Ok(None);
    }
    match pattern.product(shift, false, MAX_PRODUCTS) {
        Some(product) => Ok(Some(pattern.around(product, shift)?)),
        None => Ok(None),
    }
}
