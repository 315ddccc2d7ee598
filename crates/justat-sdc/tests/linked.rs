//! Linked tables: several tables published from one cube and period are protected as one
//! pattern over their union, and a later publication reuses that pattern.

use justat_sdc::audit::audit;
use justat_sdc::secondary::protect;
use justat_sdc::table::TableShape;
use justat_sdc::{Hierarchy, PrimaryRules, Status, Table, pattern};

fn dims() -> Vec<(String, Hierarchy)> {
    let mut court = String::from("code,parent\n_T,\n");
    for ca in 1..=2 {
        court.push_str(&format!("CA{ca},_T\n"));
        for tj in 1..=3 {
            court.push_str(&format!("TJ{ca}{tj},CA{ca}\n"));
        }
    }
    vec![
        (
            "court".into(),
            Hierarchy::from_csv("court", &court).unwrap(),
        ),
        (
            "grp".into(),
            Hierarchy::flat("grp", &["G1".into(), "G2".into(), "G3".into()]).unwrap(),
        ),
        (
            "sex".into(),
            Hierarchy::flat("sex", &["F".into(), "M".into()]).unwrap(),
        ),
    ]
}

/// A deterministic cube with many small cells.
fn cube(seed: u64) -> Table {
    let mut x = seed;
    let mut recs = Vec::new();
    for _ in 0..160 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let tj = format!("TJ{}{}", 1 + (x >> 33) % 2, 1 + (x >> 40) % 3);
        let g = format!("G{}", 1 + ((x >> 45) % 7).min(2));
        let s = if (x >> 50).is_multiple_of(3) {
            "F"
        } else {
            "M"
        };
        recs.push((vec![tj, g, s.to_string()], 1.0));
    }
    Table::from_microdata(dims(), recs, false, &PrimaryRules::default()).unwrap()
}

fn shape(fixed: &[(&str, &str)]) -> TableShape {
    TableShape {
        fixed: fixed
            .iter()
            .map(|(d, c)| (d.to_string(), c.to_string()))
            .collect(),
        ..TableShape::default()
    }
}

/// Court × offence group for both sexes, and offence group × sex in one court.
fn linked() -> Vec<TableShape> {
    vec![shape(&[("sex", "_T")]), shape(&[("court", "TJ11")])]
}

fn clean(t: &Table) -> bool {
    let r = audit(t, true).unwrap();
    r.violations.is_empty()
}

#[test]
fn linked_tables_are_protected_as_one_pattern_over_their_union() {
    for seed in 1..=4 {
        let mut t = cube(seed);
        t.restrict_to(&linked()).unwrap();
        let shown = t
            .cells
            .iter()
            .filter(|c| c.status != Status::NotPublished)
            .count();
        // 9 courts × 4 groups, plus 4 groups × 3 sexes in TJ11 less their 4 shared cells.
        assert_eq!(shown, 36 + 12 - 4);
        protect(&mut t).unwrap();
        assert!(clean(&t), "seed {seed}");
        // The pattern lists the union only, and its audit from the file agrees.
        let mut out = Vec::new();
        pattern::write(&t, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 1 + shown);
        let back = pattern::read(dims(), &text).unwrap();
        assert!(
            clean(&back),
            "seed {seed}: the pattern file audits clean too"
        );
    }
}

/// Protects each table alone, then publishes what either shows: what an attacker holding both
/// tables knows.
fn protected_separately(seed: u64) -> Table {
    let mut union = cube(seed);
    union.restrict_to(&linked()).unwrap();
    let mut published = vec![false; union.cells.len()];
    for s in linked() {
        let mut t = cube(seed);
        t.restrict_to(std::slice::from_ref(&s)).unwrap();
        protect(&mut t).unwrap();
        for (i, c) in t.cells.iter().enumerate() {
            if c.status == Status::Publishable {
                published[i] = true;
            }
            if c.status == Status::Secondary && union.cells[i].status == Status::Publishable {
                union.cells[i].status = Status::Secondary;
            }
        }
    }
    for (i, c) in union.cells.iter_mut().enumerate() {
        if published[i] && c.status == Status::Secondary {
            c.status = Status::Publishable;
        }
    }
    union
}

#[test]
fn tables_protected_one_by_one_can_be_differenced_and_the_audit_sees_it() {
    // The threat linked protection removes: on some cubes, a cell one table suppresses is
    // shown by the other. Each table is safe alone; together they are not.
    let leaking = (1..=12)
        .filter(|&seed| !clean(&protected_separately(seed)))
        .count();
    assert!(leaking > 0, "no cube showed the differencing threat");
    for seed in 1..=12 {
        let mut t = cube(seed);
        t.restrict_to(&linked()).unwrap();
        protect(&mut t).unwrap();
        assert!(clean(&t), "seed {seed}: the joint pattern is safe");
    }
}

#[test]
fn a_later_publication_reuses_the_earlier_pattern() {
    let mut first = cube(3);
    first.restrict_to(&linked()[..1]).unwrap();
    protect(&mut first).unwrap();
    let earlier = first.pattern_cells();
    // A second publication adds the other table: the first's cells keep their status.
    let mut second = cube(3);
    second.restrict_to(&linked()).unwrap();
    second.reuse(&earlier).unwrap();
    protect(&mut second).unwrap();
    assert!(clean(&second));
    for (i, c) in first.cells.iter().enumerate() {
        if c.status != Status::NotPublished {
            assert_eq!(
                c.status.is_suppressed(),
                second.cells[i].status.is_suppressed(),
                "cell ({}) changed status",
                first.label(i)
            );
        }
    }
}

#[test]
fn a_cell_published_earlier_that_is_unsafe_now_is_refused() {
    let mut t = cube(3);
    let p = t
        .cells
        .iter()
        .position(|c| c.status.is_primary())
        .expect("the cube has small cells");
    let label = t.label(p);
    let mut earlier = t.pattern_cells();
    earlier[p].1 = Status::Publishable;
    let e = t.reuse(&earlier).unwrap_err().to_string();
    assert!(e.contains(&format!("cell ({label})")), "{e}");
    assert!(e.contains("earlier publication"), "{e}");
}

#[test]
fn a_table_shape_with_an_unknown_code_is_refused() {
    let mut t = cube(1);
    let e = t
        .restrict_to(&[shape(&[("court", "TJ99")])])
        .unwrap_err()
        .to_string();
    assert_eq!(e, "code `TJ99` of dimension court is not in its hierarchy");
}

#[test]
fn a_table_of_some_levels_only_publishes_them_and_their_relations() {
    // Courts of appeal and France by offence group, both sexes: the courts are not shown, so
    // no relation of a court of appeal to its courts is known, only France to its courts of
    // appeal.
    for seed in 1..=4 {
        let mut t = cube(seed);
        let ca_level = TableShape {
            fixed: vec![("sex".into(), "_T".into())],
            shown: vec![(
                "court".into(),
                vec![
                    "_T".into(),
                    "CA1".into(),
                    "CA2".into(),
                    "NOT_A_COURT".into(),
                ],
            )],
        };
        t.restrict_to(&[ca_level]).unwrap();
        let shown: Vec<String> = (0..t.cells.len())
            .filter(|&i| t.cells[i].status != Status::NotPublished)
            .map(|i| t.label(i))
            .collect();
        assert_eq!(shown.len(), 3 * 4, "{shown:?}");
        assert!(shown.iter().all(|l| !l.starts_with("TJ")), "{shown:?}");
        assert!(
            t.relations()
                .iter()
                .all(|r| r.dim != 0 || t.label(r.total).starts_with("_T"))
        );
        protect(&mut t).unwrap();
        assert!(clean(&t), "seed {seed}");
    }
}
