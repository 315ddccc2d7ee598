//! Perturbations found without a solver: products of one change per dimension (generalised
//! hypercubes). A relation of the table runs along one dimension at fixed codes of the others,
//! so when each dimension's change keeps that dimension's relations (two sibling codes with
//! opposite signs, or a chain from the grand total down to a leaf), their product keeps every
//! relation of the table. On count tables most primaries are protected by such a product,
//! found by enumerating a few candidates per dimension: far cheaper than a linear program,
//! which stays the fallback (see [`crate::secondary`] and [`crate::audit`]).

use crate::primary::Status;
use crate::table::Table;
use std::sync::OnceLock;

/// A change along one dimension: codes with a sign, the cell's own code first with `+1`.
type Axis = Vec<(u32, i8)>;

/// How many candidate changes per code are kept (a code with many descendants has many).
const MAX_AXES: usize = 4096;
/// How many products are tried per search, spread over the dimensions.
pub(crate) const MAX_PRODUCTS: usize = 512;

/// The candidate changes of the codes of every dimension, each built the first time a search
/// needs it and kept for the table: a table searches from few of its codes, and building them
/// all (a deep hierarchy's codes have thousands) cost more than the searches themselves.
pub(crate) struct Cubes {
    axes: Vec<Vec<OnceLock<Vec<Axis>>>>,
    strides: Vec<usize>,
}

/// The paths from `code` down to a leaf (the code first), at most `MAX_AXES`.
fn paths_down(h: &crate::Hierarchy, code: usize) -> Vec<Vec<u32>> {
    if h.is_leaf(code) {
        return vec![vec![code as u32]];
    }
    let mut out = Vec::new();
    for &child in h.children(code) {
        for path in paths_down(h, child) {
            if out.len() == MAX_AXES {
                return out;
            }
            let mut p = Vec::with_capacity(path.len() + 1);
            p.push(code as u32);
            p.extend(path);
            out.push(p);
        }
    }
    out
}

/// The changes along one dimension that move `code` by one and keep every relation of the
/// dimension: a chain through all its ancestors and down to a leaf (every code `+1`), or the
/// code and a sibling with opposite signs, each continued down to a leaf.
fn axes(h: &crate::Hierarchy, code: usize) -> Vec<Axis> {
    let mut out = Vec::new();
    let down = paths_down(h, code);
    let up: Vec<u32> = h.ancestors(code)[1..].iter().map(|&a| a as u32).collect();
    for path in &down {
        let mut axis: Axis = path.iter().map(|&c| (c, 1)).collect();
        axis.extend(up.iter().map(|&a| (a, 1)));
        out.push(axis);
    }
    // Siblings of the code, then of each ancestor (cousins): the code's line up to the
    // ancestor moves with it, the cousin's line down from its own ancestor against it, and the
    // common ancestor does not move.
    let ancestors = h.ancestors(code);
    for (k, pair) in ancestors.windows(2).enumerate() {
        let (below, parent) = (pair[0], pair[1]);
        for &sibling in h.children(parent).iter().filter(|&&s| s != below) {
            for other in paths_down(h, sibling) {
                for path in &down {
                    if out.len() == MAX_AXES {
                        return out;
                    }
                    let mut axis: Axis = path.iter().map(|&c| (c, 1)).collect();
                    axis.extend(ancestors[1..=k].iter().map(|&a| (a as u32, 1)));
                    axis.extend(other.iter().map(|&c| (c, -1)));
                    out.push(axis);
                }
            }
        }
    }
    out
}

/// Per dimension, the chain from the target's code down to the code of its largest leaf cell
/// (going down one dimension at a time into the largest part) and up through its ancestors.
fn chains_through(table: &Table, target: usize) -> Vec<Axis> {
    let mut leaf = table.cells[target].codes.clone();
    let strides = table.strides();
    let mut at = target;
    for (d, (_, h)) in table.dims.iter().enumerate() {
        while let Some(&largest) = h.children(leaf[d] as usize).iter().max_by(|&&a, &&b| {
            // The cell at `code` instead of the current one along dimension `d`.
            let size = |code: usize| {
                let cell = &table.cells[at - leaf[d] as usize * strides[d] + code * strides[d]];
                (cell.count, cell.value)
            };
            let (a_size, b_size) = (size(a), size(b));
            (a_size.0.cmp(&b_size.0))
                .then(a_size.1.total_cmp(&b_size.1))
                .then(b.cmp(&a))
        }) {
            at = at - leaf[d] as usize * strides[d] + largest * strides[d];
            leaf[d] = largest as u32;
        }
    }
    let own = &table.cells[target].codes;
    table
        .dims
        .iter()
        .enumerate()
        .map(|(d, (_, h))| {
            let below = h.ancestors(leaf[d] as usize);
            let at = below
                .iter()
                .position(|&c| c == own[d] as usize)
                .unwrap_or(0);
            let mut axis: Axis = below[..=at].iter().rev().map(|&c| (c as u32, 1)).collect();
            axis.extend(
                h.ancestors(own[d] as usize)[1..]
                    .iter()
                    .map(|&c| (c as u32, 1)),
            );
            axis
        })
        .collect()
}

/// What a search may use: whether a cell may change, and at what cost.
pub(crate) struct Search<'a> {
    /// Whether the cell may change (suppressed already, or may be).
    pub usable: &'a dyn Fn(usize) -> bool,
    /// The cost of changing the cell.
    pub cost: &'a dyn Fn(usize) -> f64,
}

impl Cubes {
    /// The candidate changes of the table's codes.
    pub(crate) fn new(table: &Table) -> Cubes {
        let axes = table
            .dims
            .iter()
            .map(|(_, h)| (0..h.len()).map(|_| OnceLock::new()).collect())
            .collect();
        Cubes {
            axes,
            strides: table.strides().to_vec(),
        }
    }

    /// The cheapest product moving `target` by `shift` whose cells are all usable and stay
    /// non-negative, among a few candidates per dimension; cells not published (in no
    /// relation) are left out of it. `None` when none of those candidates works.
    pub(crate) fn find(
        &self,
        table: &Table,
        target: usize,
        shift: f64,
        search: &Search,
    ) -> Option<Vec<(usize, f64)>> {
        self.find_among(table, target, shift, search, MAX_PRODUCTS)
    }

    /// [`Cubes::find`] trying up to `products` products ([`MAX_PRODUCTS`] usually).
    pub(crate) fn find_among(
        &self,
        table: &Table,
        target: usize,
        shift: f64,
        search: &Search,
        products: usize,
    ) -> Option<Vec<(usize, f64)>> {
        let dims = self.strides.len();
        let codes = &table.cells[target].codes;
        let m = shift.abs();
        let sign = shift.signum();
        // A cell can take the change `sign * s * m` if it stays non-negative.
        let fits = |c: usize, s: f64| {
            let cell = &table.cells[c];
            cell.status == Status::NotPublished
                || ((search.usable)(c) && (sign * s > 0.0 || cell.value + 1e-9 >= m))
        };
        if !fits(target, 1.0) {
            return None;
        }
        let chains = chains_through(table, target);
        // Per dimension, the candidates that work on the line through the target, cheapest
        // first by the cost of that line.
        let mut lines: Vec<Vec<(f64, &Axis)>> = Vec::with_capacity(dims);
        for (d, &own) in codes.iter().enumerate() {
            let own = own as usize;
            let mut ok: Vec<(f64, &Axis)> = Vec::new();
            let own_axes = self.axes[d][own].get_or_init(|| axes(&table.dims[d].1, own));
            for axis in own_axes.iter().chain([&chains[d]]) {
                let mut cost = 0.0;
                let mut works = true;
                for &(code, s) in &axis[1..] {
                    let c = target + code as usize * self.strides[d] - own * self.strides[d];
                    if !fits(c, f64::from(s)) {
                        works = false;
                        break;
                    }
                    if table.cells[c].status != Status::NotPublished {
                        cost += (search.cost)(c);
                    }
                }
                if works {
                    ok.push((cost, axis));
                }
            }
            if ok.is_empty() {
                return None;
            }
            ok.sort_by(|a, b| a.0.total_cmp(&b.0));
            lines.push(ok);
        }
        // As many per dimension as the budget allows, evenly, and the chain through the
        // target's largest leaf besides: every cell of a product of those chains contains that
        // leaf, so none is empty and one product at least is found. Without it, in four
        // dimensions the few changes kept often all cross an empty cell, and the search fell
        // back on programmes over tens of thousands of cells.
        let per = ((products as f64).powf(1.0 / dims as f64).floor() as usize).max(1);
        for (line, chain) in lines.iter_mut().zip(&chains) {
            let at = line.iter().position(|&(_, axis)| std::ptr::eq(axis, chain));
            let kept = at.filter(|&i| i >= per).map(|i| line[i]);
            line.truncate(per);
            line.extend(kept);
        }
        let mut best: Option<(f64, Vec<usize>)> = None;
        let mut pick = vec![0usize; dims];
        'products: loop {
            if let Some(cost) =
                self.product_cost(table, target, &lines, &pick, &fits, search, &best)
                && best.as_ref().is_none_or(|(b, _)| cost < *b)
            {
                best = Some((cost, pick.clone()));
            }
            for d in (0..dims).rev() {
                pick[d] += 1;
                if pick[d] < lines[d].len() {
                    continue 'products;
                }
                pick[d] = 0;
            }
            break;
        }
        let (_, pick) = best?;
        let mut change: Vec<(usize, f64)> = self
            .corners(target, codes, &lines, &pick)
            .into_iter()
            .filter(|&(c, _)| table.cells[c].status != Status::NotPublished)
            .map(|(c, s)| (c, shift * f64::from(s)))
            .collect();
        change.sort_by_key(|&(c, _)| c);
        Some(change)
    }

    /// The cells of a product and their signs.
    fn corners(
        &self,
        target: usize,
        codes: &[u32],
        lines: &[Vec<(f64, &Axis)>],
        pick: &[usize],
    ) -> Vec<(usize, i8)> {
        let mut out = vec![(target, 1i8)];
        for (d, line) in lines.iter().enumerate() {
            let own = codes[d] as usize * self.strides[d];
            let axis = line[pick[d]].1;
            let mut next = Vec::with_capacity(out.len() * axis.len());
            for &(cell, s) in &out {
                for &(code, t) in axis.iter() {
                    next.push((cell - own + code as usize * self.strides[d], s * t));
                }
            }
            out = next;
        }
        out
    }

    /// The cost of a product, or `None` when a cell of it cannot take its change or it costs
    /// more than the best so far.
    #[allow(clippy::too_many_arguments)]
    fn product_cost(
        &self,
        table: &Table,
        target: usize,
        lines: &[Vec<(f64, &Axis)>],
        pick: &[usize],
        fits: &dyn Fn(usize, f64) -> bool,
        search: &Search,
        best: &Option<(f64, Vec<usize>)>,
    ) -> Option<f64> {
        let codes = &table.cells[target].codes;
        let mut cost = 0.0;
        for (c, s) in self.corners(target, codes, lines, pick) {
            if !fits(c, f64::from(s)) {
                return None;
            }
            if table.cells[c].status != Status::NotPublished {
                cost += (search.cost)(c);
            }
            if best.as_ref().is_some_and(|(b, _)| cost >= *b) {
                return None;
            }
        }
        Some(cost)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hierarchy::Hierarchy;
    use crate::primary::PrimaryRules;

    fn table(records: &[(&str, &str, usize)]) -> Table {
        let court = Hierarchy::from_csv(
            "court",
            "code,parent\n_T,\nCA1,_T\nCA2,_T\nTJ1,CA1\nTJ2,CA1\nTJ3,CA2\nTJ4,CA2\n",
        )
        .unwrap();
        let sex = Hierarchy::flat("sex", &["F".into(), "M".into()]).unwrap();
        let mut rows = Vec::new();
        for &(c, s, n) in records {
            for _ in 0..n {
                rows.push((vec![c.to_string(), s.to_string()], 1.0));
            }
        }
        Table::from_microdata(
            vec![("court".into(), court), ("sex".into(), sex)],
            rows,
            false,
            &PrimaryRules::default(),
        )
        .unwrap()
    }

    /// The cell TJ1 × F.
    fn tj1_f(t: &Table) -> usize {
        t.position(&[
            t.dims[0].1.index("TJ1").unwrap() as u32,
            t.dims[1].1.index("F").unwrap() as u32,
        ])
    }

    /// The cheapest product moving `target`, over every cell but the empty ones, at their value.
    fn find_non_empty(
        t: &Table,
        cubes: &Cubes,
        target: usize,
        shift: f64,
    ) -> Option<Vec<(usize, f64)>> {
        let usable = |c: usize| t.cells[c].status != Status::Empty;
        let cost = |c: usize| 1.0 + t.cells[c].value;
        let search = Search {
            usable: &usable,
            cost: &cost,
        };
        cubes.find(t, target, shift, &search)
    }

    /// Every relation of the table holds after the change.
    fn keeps_relations(t: &Table, change: &[(usize, f64)]) -> bool {
        let delta = |c: usize| {
            change
                .iter()
                .find(|&&(x, _)| x == c)
                .map_or(0.0, |&(_, d)| d)
        };
        t.relations()
            .iter()
            .all(|r| (delta(r.total) - r.parts.iter().map(|&p| delta(p)).sum::<f64>()).abs() < 1e-9)
    }

    #[test]
    fn every_candidate_change_keeps_the_dimensions_relations() {
        let h = Hierarchy::from_csv(
            "off",
            "code,parent\n_T,\nG1,_T\nG2,_T\nC1,G1\nC2,G1\nC3,G2\nO1,C1\nO2,C1\nO3,C2\nO4,C3\n",
        )
        .unwrap();
        for code in 0..h.len() {
            let candidates = axes(&h, code);
            assert!(!candidates.is_empty(), "{}", h.code(code));
            for axis in candidates {
                assert_eq!(axis[0], (code as u32, 1));
                let u = |c: usize| {
                    axis.iter()
                        .filter(|&&(x, _)| x as usize == c)
                        .map(|&(_, s)| f64::from(s))
                        .sum::<f64>()
                };
                for parent in (0..h.len()).filter(|&p| !h.is_leaf(p)) {
                    let parts: f64 = h.children(parent).iter().map(|&c| u(c)).sum();
                    assert_eq!(u(parent), parts, "{:?} at {}", axis, h.code(parent));
                }
            }
        }
    }

    #[test]
    fn the_cheapest_rectangle_protects_a_small_cell() {
        // TJ1/F = 1 is primary; its rectangle with TJ2 (same cour d'appel) is cheaper than one
        // through the cour d'appel's totals.
        let t = table(&[
            ("TJ1", "F", 1),
            ("TJ1", "M", 9),
            ("TJ2", "F", 6),
            ("TJ2", "M", 8),
            ("TJ3", "F", 30),
            ("TJ3", "M", 40),
            ("TJ4", "F", 30),
            ("TJ4", "M", 40),
        ]);
        let cubes = Cubes::new(&t);
        let target = tj1_f(&t);
        let change = find_non_empty(&t, &cubes, target, 1.0).unwrap();
        assert!(keeps_relations(&t, &change));
        let labels: Vec<String> = change.iter().map(|&(c, _)| t.label(c)).collect();
        assert_eq!(labels, ["TJ1, F", "TJ1, M", "TJ2, F", "TJ2, M"]);
        // Moving it down by one empties it: the cells rising are free, TJ1/M must hold 1.
        let down = find_non_empty(&t, &cubes, target, -1.0).unwrap();
        assert!(keeps_relations(&t, &down));
    }

    #[test]
    fn the_chains_through_the_largest_leaf_cross_no_empty_cell() {
        // A sparse court × offence × sex table: for every non-empty cell, the product of its
        // chains keeps every relation and all its cells are non-empty, so a product is found.
        let court = Hierarchy::from_csv(
            "court",
            "code,parent\n_T,\nCA1,_T\nCA2,_T\nTJ1,CA1\nTJ2,CA1\nTJ3,CA2\nTJ4,CA2\n",
        )
        .unwrap();
        let off = Hierarchy::from_csv(
            "off",
            "code,parent\n_T,\nG1,_T\nG2,_T\nO1,G1\nO2,G1\nO3,G2\nO4,G2\nO5,G2\n",
        )
        .unwrap();
        let sex = Hierarchy::flat("sex", &["F".into(), "M".into()]).unwrap();
        let (courts, offences) = (["TJ1", "TJ2", "TJ3", "TJ4"], ["O1", "O2", "O3", "O4", "O5"]);
        let mut seed = 7u64;
        let mut rows = Vec::new();
        for _ in 0..25 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let r = (seed >> 33) as usize;
            let codes = [
                courts[r % 4],
                offences[(r / 4) % 5],
                ["F", "M"][(r / 20) % 2],
            ];
            rows.push((codes.iter().map(|c| c.to_string()).collect(), 1.0));
        }
        let dims = vec![
            ("court".into(), court),
            ("off".into(), off),
            ("sex".into(), sex),
        ];
        let t = Table::from_microdata(dims, rows, false, &PrimaryRules::default()).unwrap();
        let cubes = Cubes::new(&t);
        let mut empty_leaves = 0;
        for target in 0..t.cells.len() {
            if t.cells[target].count == 0 {
                empty_leaves += 1;
                continue;
            }
            let chains = chains_through(&t, target);
            let codes = &t.cells[target].codes;
            let lines: Vec<Vec<(f64, &Axis)>> = chains.iter().map(|a| vec![(0.0, a)]).collect();
            for (c, _) in cubes.corners(target, codes, &lines, &[0, 0, 0]) {
                assert!(
                    t.cells[c].count > 0,
                    "{} from {}",
                    t.label(c),
                    t.label(target)
                );
            }
            let change = find_non_empty(&t, &cubes, target, -1.0).unwrap();
            assert!(keeps_relations(&t, &change), "{}", t.label(target));
        }
        assert!(
            empty_leaves > 10,
            "the table is sparse: {empty_leaves} empty cells"
        );
    }

    #[test]
    fn a_cousin_carries_the_change_when_the_siblings_are_empty() {
        // TJ2 is empty: TJ1's line goes up to its cour d'appel, then down through the other
        // one to TJ3, cheaper than a chain through the national total (CA1 costs more than
        // TJ3), which stays published.
        let t = table(&[
            ("TJ1", "F", 1),
            ("TJ1", "M", 20),
            ("TJ3", "F", 2),
            ("TJ3", "M", 3),
            ("TJ4", "F", 30),
            ("TJ4", "M", 40),
        ]);
        let cubes = Cubes::new(&t);
        let change = find_non_empty(&t, &cubes, tj1_f(&t), 1.0).unwrap();
        assert!(keeps_relations(&t, &change));
        let mut labels: Vec<String> = change.iter().map(|&(c, _)| t.label(c)).collect();
        labels.sort();
        assert_eq!(
            labels,
            [
                "CA1, F", "CA1, M", "CA2, F", "CA2, M", "TJ1, F", "TJ1, M", "TJ3, F", "TJ3, M"
            ]
        );
    }

    #[test]
    fn no_change_crosses_a_cell_that_cannot_move() {
        // TJ2/M is empty (published as such): no rectangle with TJ2, so the search goes
        // through the cour d'appel totals or fails.
        let t = table(&[
            ("TJ1", "F", 1),
            ("TJ1", "M", 9),
            ("TJ2", "F", 6),
            ("TJ3", "F", 30),
            ("TJ3", "M", 40),
            ("TJ4", "F", 30),
            ("TJ4", "M", 40),
        ]);
        let cubes = Cubes::new(&t);
        let target = tj1_f(&t);
        let change = find_non_empty(&t, &cubes, target, 1.0).unwrap();
        assert!(keeps_relations(&t, &change));
        assert!(
            change
                .iter()
                .all(|&(c, _)| t.cells[c].status != Status::Empty)
        );
        // Only suppressed cells: there are none besides the target.
        let suppressed = |c: usize| t.cells[c].status.is_suppressed();
        let cost = |c: usize| 1.0 + t.cells[c].value;
        let none = Search {
            usable: &suppressed,
            cost: &cost,
        };
        assert!(cubes.find(&t, target, 1.0, &none).is_none());
    }
}
