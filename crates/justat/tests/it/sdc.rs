//! `justat sdc protect|audit`: the command-line contract, and its refusals of bad input.

use crate::harness::{justat_in, output_text as text};
use std::process::Output;

fn justat(dir: &std::path::Path, args: &[&str]) -> Output {
    justat_in(dir, args, None)
}

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("court.csv"),
        "code,parent\nFR,\nCA1,FR\nTJ1,CA1\nTJ2,CA1\nTJ3,CA1\nCA2,FR\nTJ4,CA2\nTJ5,CA2\n",
    )
    .unwrap();
    let mut micro = String::from("court,sex,fine\n");
    // TJ3 and TJ5 are small courts: some of their cells fall under the threshold of 5.
    for (court, f, m) in [
        ("TJ1", 18, 50),
        ("TJ2", 39, 55),
        ("TJ3", 2, 1),
        ("TJ4", 22, 51),
        ("TJ5", 3, 18),
    ] {
        for (sex, n) in [("F", f), ("M", m)] {
            for k in 0..n {
                micro.push_str(&format!("{court},{sex},{}\n", 100 + 37 * k % 900));
            }
        }
    }
    std::fs::write(dir.path().join("micro.csv"), micro).unwrap();
    dir
}

/// `justat sdc protect` on the fixture's microdata, by court and sex.
const PROTECT: [&str; 8] = [
    "sdc",
    "protect",
    "--microdata",
    "micro.csv",
    "--dims",
    "court,sex",
    "--hierarchy",
    "court=court.csv",
];

#[test]
fn protect_writes_a_pattern_that_the_audit_accepts() {
    let dir = fixture();
    let p = dir.path();
    let out = justat(p, &[&PROTECT[..], &["--out", "pattern.csv"]].concat());
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("audit: 0 exact disclosures, 0 interval violations"));
    let pattern = std::fs::read_to_string(p.join("pattern.csv")).unwrap();
    assert!(pattern.starts_with("court,sex,count,status\n"), "{pattern}");
    assert_eq!(
        pattern.lines().count(),
        1 + 8 * 3,
        "every cell of the table, totals included"
    );
    assert!(pattern.contains(",A\n"), "{pattern}");
    let audit = justat(
        p,
        &[
            "sdc",
            "audit",
            "--pattern",
            "pattern.csv",
            "--dims",
            "court,sex",
            "--hierarchy",
            "court=court.csv",
        ],
    );
    assert!(audit.status.success(), "{}", text(&audit));
    assert!(
        text(&audit).contains("exact disclosures: 0")
            && text(&audit).contains("interval violations: 0")
    );

    // Publishing a primary's partner makes the audit fail and exit non-zero.
    let opened = pattern.replacen(",D\n", ",V\n", 1);
    std::fs::write(p.join("opened.csv"), opened).unwrap();
    let bad = justat(
        p,
        &[
            "sdc",
            "audit",
            "--pattern",
            "opened.csv",
            "--dims",
            "court,sex",
            "--hierarchy",
            "court=court.csv",
        ],
    );
    assert_eq!(bad.status.code(), Some(4), "{}", text(&bad));
    assert!(!text(&bad).contains("exact disclosures: 0\ninterval violations: 0"));

    // Starting from that unsafe pattern, the protection adds what the audit asks and publishes
    // again what the rest makes useless, as it finishes its own: the primaries stay, and the
    // result passes the same audit.
    let run = |start: &str, out: &str| {
        justat(
            p,
            &[&PROTECT[..], &["--start-from", start, "--out", out]].concat(),
        )
    };
    let repaired = run("opened.csv", "repaired.csv");
    assert!(repaired.status.success(), "{}", text(&repaired));
    for line in [
        "starting from opened.csv:",
        "of the starting pattern's released; audit: 0 exact disclosures, 0 interval violations",
        "secondary suppression and audit in ",
    ] {
        assert!(
            text(&repaired).contains(line),
            "{line}: {}",
            text(&repaired)
        );
    }
    let opened = std::fs::read_to_string(p.join("opened.csv")).unwrap();
    let repaired = std::fs::read_to_string(p.join("repaired.csv")).unwrap();
    for (before, after) in opened.lines().zip(repaired.lines()) {
        assert_eq!(
            before.ends_with(",A"),
            after.ends_with(",A"),
            "{before} / {after}"
        );
    }
    let checked = justat(
        p,
        &[
            "sdc",
            "audit",
            "--pattern",
            "repaired.csv",
            "--dims",
            "court,sex",
            "--hierarchy",
            "court=court.csv",
        ],
    );
    assert!(checked.status.success(), "{}", text(&checked));

    // A pattern of other data is refused, naming the cell, and nothing is written.
    // (One more woman in TJ1, its totals following: an additive table, but another one.)
    let other: String = pattern
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            if ["FR", "CA1", "TJ1"].contains(&f[0]) && ["F", "_T"].contains(&f[1]) {
                let n: u64 = f[2].parse().unwrap();
                format!("{},{},{},{}\n", f[0], f[1], n + 1, f[3])
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    std::fs::write(p.join("other.csv"), other).unwrap();
    let other = run("other.csv", "never.csv");
    assert!(!other.status.success());
    assert!(
        text(&other).contains(
            "does not fit the table at cell (FR, _T): count 259 here, 260 in the pattern"
        ),
        "{}",
        text(&other)
    );
    assert!(!p.join("never.csv").exists());
}

#[test]
fn the_audit_checks_the_protections_certificates() {
    let dir = fixture();
    let p = dir.path();
    let args = ["--out", "pattern.csv", "--certificates-out", "certs.csv"];
    let out = justat(p, &[&PROTECT[..], &args].concat());
    assert!(out.status.success(), "{}", text(&out));
    let certs = std::fs::read_to_string(p.join("certs.csv")).unwrap();
    assert!(certs.starts_with("witness,court,sex,change\n"), "{certs}");
    let audit = |pattern: &str, certs: &str| {
        let args = [
            "sdc",
            "audit",
            "--pattern",
            pattern,
            "--dims",
            "court,sex",
            "--hierarchy",
            "court=court.csv",
            "--certificates",
            certs,
        ];
        justat(p, &args)
    };
    let ok = audit("pattern.csv", "certs.csv");
    assert!(ok.status.success(), "{}", text(&ok));
    assert!(text(&ok).contains("exact disclosures: 0"), "{}", text(&ok));
    // Certificates do not make a pattern safe: with a partner published, those crossing it no
    // longer hold, and the audit finds the disclosure.
    let pattern = std::fs::read_to_string(p.join("pattern.csv")).unwrap();
    std::fs::write(p.join("opened.csv"), pattern.replacen(",D\n", ",V\n", 1)).unwrap();
    let bad = audit("opened.csv", "certs.csv");
    assert_eq!(bad.status.code(), Some(4), "{}", text(&bad));
    // A certificate of another table is refused, naming the code.
    std::fs::write(p.join("other.csv"), "witness,court,sex,change\n0,TJ9,F,1\n").unwrap();
    let other = audit("pattern.csv", "other.csv");
    assert!(!other.status.success());
    assert!(text(&other).contains("`TJ9`"), "{}", text(&other));
}

#[test]
fn magnitude_tables_take_dominance_rules() {
    let dir = fixture();
    let out = justat(
        dir.path(),
        &[
            "sdc",
            "protect",
            "--microdata",
            "micro.csv",
            "--dims",
            "court",
            "--hierarchy",
            "court=court.csv",
            "--response",
            "fine",
            "--freq",
            "3",
            "--dominance",
            "1,85",
            "--p",
            "10",
            "--out",
            "p.csv",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        std::fs::read_to_string(dir.path().join("p.csv"))
            .unwrap()
            .starts_with("court,count,value,status\n")
    );
}

#[test]
fn bad_input_is_refused_with_the_code_or_cell_named() {
    let dir = fixture();
    let p = dir.path();
    std::fs::write(p.join("cycle.csv"), "code,parent\nFR,\nA,B\nB,A\n").unwrap();
    let cycle = justat(
        p,
        &[
            "sdc",
            "protect",
            "--microdata",
            "micro.csv",
            "--dims",
            "court",
            "--hierarchy",
            "court=cycle.csv",
            "--out",
            "x.csv",
        ],
    );
    assert!(!cycle.status.success());
    assert!(text(&cycle).contains("form a cycle"), "{}", text(&cycle));

    std::fs::write(p.join("short.csv"), "code,parent\nFR,\nTJ1,FR\n").unwrap();
    let missing = justat(
        p,
        &[
            "sdc",
            "protect",
            "--microdata",
            "micro.csv",
            "--dims",
            "court",
            "--hierarchy",
            "court=short.csv",
            "--out",
            "x.csv",
        ],
    );
    assert!(
        text(&missing).contains("code `TJ2` of dimension court is not in its hierarchy"),
        "{}",
        text(&missing)
    );

    let counts = justat(
        p,
        &[
            "sdc",
            "protect",
            "--microdata",
            "micro.csv",
            "--dims",
            "court",
            "--dominance",
            "1,85",
            "--out",
            "x.csv",
        ],
    );
    assert!(
        text(&counts).contains("needs a response variable"),
        "{}",
        text(&counts)
    );

    std::fs::write(p.join("nonadd.csv"), "court,count,status\nFR,10,V\nCA1,6,V\nTJ1,1,A\nTJ2,2,V\nTJ3,2,V\nCA2,4,V\nTJ4,2,V\nTJ5,2,V\n").unwrap();
    let nonadd = justat(
        p,
        &[
            "sdc",
            "audit",
            "--pattern",
            "nonadd.csv",
            "--dims",
            "court",
            "--hierarchy",
            "court=court.csv",
        ],
    );
    assert!(
        text(&nonadd).contains("cell (CA1) is not the sum of its parts along court: count 6 ≠ 5"),
        "{}",
        text(&nonadd)
    );

    std::fs::write(p.join("neg.csv"), "court,count,status\nFR,3,V\nCA1,3,V\nTJ1,-1,A\nTJ2,2,V\nTJ3,2,V\nCA2,0,Z\nTJ4,0,Z\nTJ5,0,Z\n").unwrap();
    let neg = justat(
        p,
        &[
            "sdc",
            "audit",
            "--pattern",
            "neg.csv",
            "--dims",
            "court",
            "--hierarchy",
            "court=court.csv",
        ],
    );
    assert!(
        text(&neg).contains("cell (TJ1): negative count -1"),
        "{}",
        text(&neg)
    );
}

#[test]
fn linked_tables_of_a_cube_are_protected_together_and_later_ones_reuse_the_pattern() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    for args in [
        &[
            "generate", "cjn", "--years", "2024", "--scale", "0.01", "--seed", "3", "--out", "ext",
        ][..],
        &["delivery", "add", "cjn", "ext/cjn_2024.csv"],
        &["chain", "run", "cjn_convictions", "--delivery", "1"],
    ] {
        let o = justat(p, args);
        assert!(o.status.success(), "{args:?}: {}", text(&o));
    }
    let list = text(&justat(p, &["cube", "list"]));
    let cube = list
        .lines()
        .find(|l| l.contains("cjn_convictions"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_string();
    let protect = |tables: &[&str], out: &str| {
        let mut args = vec![
            "sdc",
            "protect",
            "--cube",
            &cube,
            "--period",
            "2024",
            "--measure",
            "condamnations",
            "--dims",
            "offence_group,main_sentence,sex,age_band",
            "--out",
            out,
        ];
        for t in tables {
            args.extend(["--table", t]);
        }
        justat(p, &args)
    };
    // Offence group × sentence; then, in a later publication, offence group × sex too.
    let first = protect(&["age_band=_T,sex=_T"], "first.csv");
    assert!(first.status.success(), "{}", text(&first));
    assert!(
        text(&first).contains("recorded as pattern #1"),
        "{}",
        text(&first)
    );
    let second = protect(
        &["age_band=_T,sex=_T", "age_band=_T,main_sentence=_T"],
        "second.csv",
    );
    assert!(second.status.success(), "{}", text(&second));
    assert!(
        text(&second).contains("starting from pattern #1"),
        "{}",
        text(&second)
    );
    // Every cell of the first pattern keeps its status in the second, which adds the cells
    // of the second table only.
    let read = |f: &str| -> std::collections::HashMap<String, String> {
        std::fs::read_to_string(p.join(f))
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| {
                let (codes, status) = l.rsplit_once(',').unwrap();
                (
                    codes.rsplit_once(',').unwrap().0.to_string(),
                    status.to_string(),
                )
            })
            .collect()
    };
    let (a, b) = (read("first.csv"), read("second.csv"));
    assert!(b.len() > a.len());
    for (cell, status) in &a {
        assert_eq!(Some(status), b.get(cell), "cell {cell}");
    }
    assert!(b.keys().all(|k| k.ends_with(",_T")), "no age band shown");
    // A later publication of one table only still carries every cell published before, with
    // its status: an earlier table's suppressions are never forgotten.
    let subset = protect(&["age_band=_T,main_sentence=_T"], "subset.csv");
    assert!(subset.status.success(), "{}", text(&subset));
    let c = read("subset.csv");
    for (cell, status) in &b {
        assert_eq!(Some(status), c.get(cell), "cell {cell}");
    }
    // Offence group × sentence × sex, three dimensions with group and detail levels: a cell
    // of one contributor at the group level and their cell at the detail level are the same
    // person (once refused as unprotectable).
    let third = protect(&["age_band=_T"], "third.csv");
    assert!(third.status.success(), "{}", text(&third));
    assert!(
        text(&third).contains("recorded as pattern #4"),
        "{}",
        text(&third)
    );
    // A table naming a dimension the cube does not have is refused.
    let bad = protect(&["court=_T"], "bad.csv");
    assert!(!bad.status.success());
    assert!(
        text(&bad).contains("`court` is not one of --dims"),
        "{}",
        text(&bad)
    );
}
