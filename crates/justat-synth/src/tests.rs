use super::*;
use justat_model::codelist::{Codelist, shipped_codelist};
use justat_model::text_encoding::decode;
use std::collections::{HashMap, HashSet};

fn run(opts: &GenerateOptions) -> (tempfile::TempDir, Vec<GeneratedFile>) {
    let dir = tempfile::tempdir().unwrap();
    let files = generate(opts, dir.path(), &mut |_| {}).unwrap();
    (dir, files)
}

/// The decoded text of a generated file, split into lines of fields (no field is quoted in
/// these extracts).
fn table(source: SourceKind, file: &GeneratedFile) -> Vec<Vec<String>> {
    let bytes = std::fs::read(&file.path).unwrap();
    let text = decode(&bytes, source.encoding()).unwrap();
    let sep = char::from(source.separator());
    let body = text.strip_suffix("\r\n").unwrap();
    body.split("\r\n")
        .map(|l| l.split(sep).map(String::from).collect())
        .collect()
}

fn codelist(id: &str) -> Codelist {
    shipped_codelist(id).unwrap()
}

/// A scale giving each source a few thousand rows a year.
fn test_scale(source: SourceKind) -> f64 {
    match source {
        SourceKind::Penal | SourceKind::Cjn => 0.002,
        SourceKind::Prison => 0.2,
        SourceKind::Cjpm => 0.1,
        SourceKind::ProtectionOrders => 0.5,
        SourceKind::ProtectionDevices => 1.0,
    }
}

fn share(n: usize, d: usize) -> f64 {
    n as f64 / d as f64
}

fn assert_near(what: &str, got: f64, want: f64, tolerance: f64) {
    assert!(
        (got - want).abs() <= tolerance,
        "{what}: {got:.4}, expected {want} ± {tolerance}"
    );
}

#[test]
fn the_same_options_give_byte_identical_files() {
    for source in SourceKind::ALL {
        let scale = test_scale(source) / 4.0;
        let mut opts = GenerateOptions::new(source, 2022..=2023, scale, 7);
        opts.dirt = 0.02;
        let (_a, first) = run(&opts);
        let (_b, second) = run(&opts);
        assert_eq!(first.len(), 2);
        for (x, y) in first.iter().zip(&second) {
            assert!(x.rows > 0, "{source}");
            assert_eq!(
                std::fs::read(&x.path).unwrap(),
                std::fs::read(&y.path).unwrap(),
                "{source}"
            );
            assert_eq!((x.rows, x.dirty_rows), (y.rows, y.dirty_rows));
        }
        opts.seed = 8;
        let (_c, other) = run(&opts);
        assert_ne!(
            std::fs::read(&first[0].path).unwrap(),
            std::fs::read(&other[0].path).unwrap(),
            "{source}: another seed, other data"
        );
    }
}

#[test]
fn a_year_generated_alone_equals_the_same_year_in_a_range() {
    let (_a, range) = run(&GenerateOptions::new(
        SourceKind::Cjn,
        2019..=2021,
        0.001,
        3,
    ));
    let (_b, alone) = run(&GenerateOptions::new(
        SourceKind::Cjn,
        2020..=2020,
        0.001,
        3,
    ));
    assert_eq!(
        std::fs::read(&range[1].path).unwrap(),
        std::fs::read(&alone[0].path).unwrap()
    );
}

#[test]
fn gzip_output_is_deterministic_and_holds_the_plain_file() {
    use std::io::Read;
    let mut opts = GenerateOptions::new(SourceKind::Penal, 2022..=2022, 0.001, 1);
    let (_p, plain) = run(&opts);
    opts.gzip = true;
    let (_g, gz) = run(&opts);
    let (_h, gz2) = run(&opts);
    assert!(gz[0].path.to_string_lossy().ends_with("penal_2022.csv.gz"));
    let compressed = std::fs::read(&gz[0].path).unwrap();
    assert_eq!(compressed, std::fs::read(&gz2[0].path).unwrap());
    let mut inflated = Vec::new();
    flate2::read::GzDecoder::new(&compressed[..])
        .read_to_end(&mut inflated)
        .unwrap();
    assert_eq!(inflated, std::fs::read(&plain[0].path).unwrap());
}

#[test]
fn files_are_named_after_source_and_year_and_leave_no_part_file() {
    let (dir, files) = run(&GenerateOptions::new(
        SourceKind::Prison,
        2023..=2024,
        0.01,
        1,
    ));
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(names, ["prison_2023.csv", "prison_2024.csv"]);
    assert_eq!((files[0].year, files[1].year), (2023, 2024));
}

fn toml_columns(text: &str) -> (Vec<String>, String, String) {
    let t: toml::Table = text.parse().unwrap();
    let columns = t["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    (
        columns,
        t["encoding"].as_str().unwrap().to_string(),
        t["separator"].as_str().unwrap().to_string(),
    )
}

#[test]
fn headers_encodings_and_separators_follow_the_source_contracts() {
    for (source, contract) in [
        (
            SourceKind::Penal,
            include_str!("../../../sources/penal.toml"),
        ),
        (SourceKind::Cjn, include_str!("../../../sources/cjn.toml")),
        (
            SourceKind::Prison,
            include_str!("../../../sources/prison.toml"),
        ),
        (SourceKind::Cjpm, include_str!("../../../sources/cjpm.toml")),
        (
            SourceKind::ProtectionOrders,
            include_str!("../../../sources/protection_orders.toml"),
        ),
        (
            SourceKind::ProtectionDevices,
            include_str!("../../../sources/protection_devices.toml"),
        ),
    ] {
        let (columns, encoding, separator) = toml_columns(contract);
        assert_eq!(source.columns(), columns, "{source}");
        assert_eq!(
            encoding.parse::<Encoding>().unwrap(),
            source.encoding(),
            "{source}"
        );
        assert_eq!(separator.as_bytes(), [source.separator()], "{source}");
        let scale = test_scale(source) / 20.0;
        let (_d, files) = run(&GenerateOptions::new(source, 2022..=2022, scale, 1));
        let rows = table(source, &files[0]);
        assert_eq!(rows[0], columns, "{source}");
        assert_eq!(rows.len() as u64, files[0].rows + 1);
        assert!(
            rows.iter().all(|r| r.len() == columns.len()),
            "{source}: no ragged line when clean"
        );
    }
}

#[test]
fn cjn_court_labels_are_windows_1252_and_decode_back() {
    let (_d, files) = run(&GenerateOptions::new(SourceKind::Cjn, 2019..=2019, 0.01, 5));
    let bytes = std::fs::read(&files[0].path).unwrap();
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "accents are not UTF-8"
    );
    assert!(bytes.contains(&0xE9), "é is 0xE9 in Windows-1252");
    let courts = codelist("CL_COURT");
    for row in table(SourceKind::Cjn, &files[0]).iter().skip(1) {
        assert_eq!(courts.get(&row[1]).unwrap().label, row[2]);
    }
}

#[test]
fn penal_calibration_follows_the_national_orders_of_magnitude() {
    let (_d, files) = run(&GenerateOptions::new(
        SourceKind::Penal,
        2019..=2019,
        0.01,
        11,
    ));
    let rows = table(SourceKind::Penal, &files[0]);
    let data = &rows[1..];
    let n = data.len();
    // 3.09 M cases × 56.7 % with an author × 1.17 offenders ≈ 2.05 M offenders at scale 1,
    // each with 1.6 offences on average, one row per offence.
    let offenders: HashSet<(&str, &str)> = data.iter().map(|r| (&*r[0], &*r[1])).collect();
    assert_near("offenders", offenders.len() as f64, 20_500.0, 600.0);
    assert_near("rows", n as f64, 20_500.0 * 1.6, 1_200.0);
    let offences = codelist("CL_OFFENCE");
    let orientation = codelist("CL_ORIENTATION");
    let classes: HashMap<&str, &str> = include_str!("../data/offences.csv")
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0], f[1])
        })
        .collect();
    let mut groups: HashMap<&str, usize> = HashMap::new();
    let mut levels: HashMap<&str, usize> = HashMap::new();
    let mut courts: HashMap<&str, usize> = HashMap::new();
    let (mut legal, mut men, mut minors, mut physical) = (0, 0, 0, 0);
    for r in data {
        *groups.entry(offences.parent(&r[5]).unwrap()).or_default() += 1;
        let path = orientation.ancestors(&r[7]);
        assert!(path.len() >= 3, "{}", r[7]);
        *levels.entry(path[path.len() - 2]).or_default() += 1;
        if path.len() == 4 || r[7] == "COMPO" {
            *levels.entry(path[path.len() - 3]).or_default() += 1;
        }
        *courts.entry(&r[2]).or_default() += 1;
        assert_eq!(
            classes[r[5].as_str()],
            r[6],
            "legal class follows the offence"
        );
        let received = parse_french(&r[3]);
        let oriented = parse_french(&r[4]);
        assert!((0..=400).contains(&(oriented - received)), "{r:?}");
        assert_eq!(&r[3][6..], "2019");
        if r[11] == "1" {
            legal += 1;
            assert!(r[8].is_empty() && r[9].is_empty() && r[10] == "0");
        } else {
            physical += 1;
            let age: i64 = r[9].parse().unwrap();
            assert!((10..=110).contains(&age));
            assert_eq!(r[10] == "1", age < 18, "minor flag follows age");
            men += usize::from(r[8] == "M");
            minors += usize::from(r[10] == "1");
        }
    }
    for (group, want) in [
        ("G_BIENS", 0.416),
        ("G_PERSONNE", 0.255),
        ("G_CIRCULATION", 0.165),
        ("G_AUTORITE", 0.063),
        ("G_STUPEFIANTS", 0.050),
        ("G_ECOFI", 0.034),
        ("G_ENVIRONNEMENT", 0.017),
    ] {
        assert_near(group, share(groups[group], n), want, 0.012);
    }
    assert_near(
        "non poursuivables",
        share(levels["NPOURS"], n),
        penal::NON_POURSUIVABLE,
        0.015,
    );
    let poursuivables = levels["POURSUIVABLE"];
    assert_eq!(levels["NPOURS"] + poursuivables, n);
    for (level, want) in [
        ("CSS", 0.10),
        ("ALT", 0.36),
        ("COMPO", 0.05),
        ("POURS", 0.49),
    ] {
        assert_near(level, share(levels[level], poursuivables), want, 0.015);
    }
    assert_near("legal persons", share(legal, n), 0.03, 0.008);
    assert_near("men", share(men, physical), 0.85, 0.012);
    assert_near("minors", share(minors, physical), 0.12, 0.01);
    // Skewed court sizes: Paris is among the largest, and the largest courts dwarf the smallest.
    let mut sizes: Vec<usize> = courts.values().copied().collect();
    sizes.sort_unstable();
    let largest = sizes[sizes.len() - 1];
    assert!(
        courts["TJ_9_15273"] * 3 > largest * 2,
        "Paris is near the top"
    );
    assert!(
        courts["TJ_1_121"] * 10 < courts["TJ_1_210"],
        "Mende is far smaller than Bobigny"
    );
    assert!(largest > 15 * sizes[sizes.len() / 10]);
}

#[test]
fn penal_rows_are_offences_several_per_offender_in_a_case() {
    let (_d, files) = run(&GenerateOptions::new(
        SourceKind::Penal,
        2021..=2021,
        0.005,
        5,
    ));
    let rows = table(SourceKind::Penal, &files[0]);
    let mut units: HashMap<(&str, &str), Vec<&Vec<String>>> = HashMap::new();
    for r in &rows[1..] {
        units.entry((&r[0], &r[1])).or_default().push(r);
    }
    let n = rows.len() - 1;
    assert_near(
        "offences per offender",
        n as f64 / units.len() as f64,
        1.6,
        0.05,
    );
    let several = units.values().filter(|u| u.len() > 1).count();
    assert_near(
        "offenders with several offences",
        share(several, units.len()),
        0.37,
        0.02,
    );
    let offences = codelist("CL_OFFENCE");
    let mut mixed_groups = 0;
    for unit in units.values() {
        // What belongs to the offender and the case is the same on each of its offences.
        for r in unit {
            for c in [2, 3, 4, 7, 8, 9, 10, 11] {
                assert_eq!(r[c], unit[0][c], "column {c} of {:?}", unit[0]);
            }
        }
        let natinf: HashSet<&str> = unit.iter().map(|r| &*r[5]).collect();
        assert_eq!(natinf.len(), unit.len(), "distinct offences: {:?}", unit[0]);
        let groups: HashSet<&str> = unit
            .iter()
            .map(|r| offences.parent(&r[5]).unwrap())
            .collect();
        mixed_groups += usize::from(groups.len() > 1);
    }
    // The unit step's min(offence_group) has a choice to make for these offenders.
    assert!(mixed_groups * 5 > several, "{mixed_groups} of {several}");
}

fn parse_french(s: &str) -> i32 {
    let f: Vec<u32> = s.split('/').map(|x| x.parse().unwrap()).collect();
    crate::calendar::days_from_civil(f[2] as i32, f[1], f[0])
}

#[test]
fn cjn_calibration_follows_the_2019_sentences() {
    let (_d, files) = run(&GenerateOptions::new(SourceKind::Cjn, 2019..=2019, 0.04, 2));
    let rows = table(SourceKind::Cjn, &files[0]);
    let data = &rows[1..];
    let n = data.len();
    assert_near("rows", n as f64, 562_668.0 * 0.04, 1.0);
    let sentences = codelist("CL_SENTENCE");
    let mut groups: HashMap<&str, usize> = HashMap::new();
    let (mut firm, mut firm_months, mut fines, mut fine_total) = (0, 0.0, 0, 0.0);
    let (mut men, mut french, mut repeat) = (0, 0, 0);
    let (mut minors, mut minors_educ, mut adults_educ) = (0, 0, 0);
    for r in data {
        *groups.entry(sentences.parent(&r[6]).unwrap()).or_default() += 1;
        if r[6] == "PRISON_FERME" {
            firm += 1;
            firm_months += r[7].parse::<f64>().unwrap();
        }
        if r[6] == "AMENDE_FERME" {
            fines += 1;
            fine_total += r[8].parse::<f64>().unwrap();
        }
        men += usize::from(r[9] == "M");
        french += usize::from(r[11] == "FR");
        repeat += usize::from(r[12] == "1");
        let age: i64 = r[10].parse().unwrap();
        assert!((13..=110).contains(&age));
        let educ = sentences.parent(&r[6]) == Some("G_EDUCATIF");
        if age < 18 {
            minors += 1;
            minors_educ += usize::from(educ);
        } else {
            adults_educ += usize::from(educ);
        }
        let count: i64 = r[5].parse().unwrap();
        assert!(count >= 1);
    }
    assert_near(
        "prison ferme",
        share(groups["G_PRISON_FERME"], n),
        0.24,
        0.012,
    );
    assert_near(
        "sursis total",
        share(groups["G_PRISON_SURSIS"], n),
        0.27,
        0.012,
    );
    assert_near("amendes", share(groups["G_AMENDE"], n), 0.33, 0.012);
    assert_near(
        "mean firm prison months",
        firm_months / firm as f64,
        7.7,
        0.8,
    );
    assert_near("mean fine", fine_total / fines as f64, 506.0, 50.0);
    assert_near("men", share(men, n), 0.90, 0.01);
    assert_near("French", share(french, n), 0.84, 0.012);
    assert_near("repeat offenders", share(repeat, n), 0.12, 0.01);
    assert!(share(minors_educ, minors) > 0.3 && adults_educ == 0);
}

#[test]
fn cjn_2020_is_lower_for_covid() {
    let (_d, files) = run(&GenerateOptions::new(SourceKind::Cjn, 2019..=2020, 0.01, 2));
    assert_near(
        "2020 vs 2019",
        files[1].rows as f64 / files[0].rows as f64,
        0.83,
        0.01,
    );
}

#[test]
fn prison_calibration_follows_the_2024_stock() {
    let (_d, files) = run(&GenerateOptions::new(
        SourceKind::Prison,
        2024..=2024,
        1.0,
        4,
    ));
    let rows = table(SourceKind::Prison, &files[0]);
    let data = &rows[1..];
    let september: Vec<&Vec<String>> = data.iter().filter(|r| r[2] == "2024-09-01").collect();
    let sum = |f: &dyn Fn(&Vec<String>) -> bool| -> f64 {
        september
            .iter()
            .filter(|r| f(r))
            .map(|r| r[7].parse::<f64>().unwrap())
            .sum()
    };
    let detained = sum(&|r| r[5] == "1");
    assert_near("detained", detained, 79_000.0, 3_000.0);
    assert_near("non detained", sum(&|r| r[5] == "0"), 16_000.0, 1_500.0);
    assert_near(
        "women",
        sum(&|r| r[5] == "1" && r[3] == "F") / detained,
        0.037,
        0.005,
    );
    let minors = sum(&|r| r[5] == "1" && (r[4] == "Y13T15" || r[4] == "Y16T17"));
    assert_near("minors", minors / detained, 0.009, 0.003);
    let prevenus = sum(&|r| r[5] == "1" && r[6] == "PREVENU") / detained;
    assert!((0.25..=0.30).contains(&prevenus), "{prevenus}");
    // Places: constant within the year for each establishment, about 62,000 in all.
    let mut places: HashMap<&str, &str> = HashMap::new();
    for r in data {
        assert!(r[7].parse::<i64>().unwrap() > 0);
        assert_eq!(*places.entry(&r[0]).or_insert(&r[8]), r[8], "{}", r[0]);
    }
    let total: f64 = places.values().map(|p| p.parse::<f64>().unwrap()).sum();
    assert_near("places", total, 62_000.0, 1_000.0);
    assert_eq!(places.len(), 189);
    // Persons vary a little from month to month.
    let month_total = |m: &str| -> f64 {
        data.iter()
            .filter(|r| r[2] == m && r[5] == "1")
            .map(|r| r[7].parse::<f64>().unwrap())
            .sum()
    };
    let (jan, dec) = (month_total("2024-01-01"), month_total("2024-12-01"));
    assert!(jan != dec && (dec / jan - 1.0).abs() < 0.1, "{jan} {dec}");
    let keys: HashSet<&[String]> = data.iter().map(|r| &r[..7]).collect();
    assert_eq!(keys.len(), data.len(), "keys are unique when clean");
}

/// Lines with a field count other than the header's.
fn ragged(rows: &[Vec<String>]) -> usize {
    rows.iter().filter(|r| r.len() != rows[0].len()).count()
}

#[test]
fn dirt_produces_every_defect_kind_of_each_source_and_one_ragged_line() {
    for source in SourceKind::ALL {
        let mut opts = GenerateOptions::new(source, 2022..=2022, test_scale(source), 9);
        opts.dirt = 0.05;
        let (_d, files) = run(&opts);
        let file = &files[0];
        let counts: HashMap<Defect, u64> = file.defects.iter().copied().collect();
        for kind in source.defects() {
            assert!(
                counts.get(kind).copied().unwrap_or(0) > 0,
                "{source}: no {kind:?}"
            );
        }
        assert_eq!(counts[&Defect::Ragged], 1, "{source}");
        assert_eq!(file.dirty_rows, counts.values().sum::<u64>());
        assert_near(
            "dirty share",
            file.dirty_rows as f64 / file.rows as f64,
            0.05,
            0.02,
        );
        let rows = table(source, file);
        assert_eq!(ragged(&rows), 1, "{source}: exactly one ragged line");
        // A duplicate follows its original (other rows may coincide by chance once dirty).
        let repeated = rows.windows(2).filter(|w| w[0] == w[1]).count();
        assert_eq!(
            repeated as u64,
            counts[&Defect::Duplicate],
            "{source}: exact duplicates"
        );
    }
}

#[test]
fn penal_dirt_is_visible_to_the_rules() {
    let mut opts = GenerateOptions::new(SourceKind::Penal, 2019..=2019, 0.002, 9);
    opts.dirt = 0.05;
    let (_d, files) = run(&opts);
    let rows = table(SourceKind::Penal, &files[0]);
    let (court, offence, orientation) = (
        codelist("CL_COURT"),
        codelist("CL_OFFENCE"),
        codelist("CL_ORIENTATION"),
    );
    let (mut unknown, mut before, mut missing, mut bad_age) = (0, 0, 0, 0);
    for r in rows.iter().skip(1).filter(|r| r.len() == 12) {
        if [&r[0], &r[1], &r[2], &r[3], &r[4], &r[5], &r[6], &r[7]]
            .iter()
            .any(|v| v.is_empty())
        {
            missing += 1;
            continue;
        }
        if !court.is_leaf(&r[2])
            || !offence.is_leaf(&r[5])
            || !orientation.is_leaf(&r[7])
            || !["C", "D", "X"].contains(&r[6].as_str())
            || !["M", "F", ""].contains(&r[8].as_str())
        {
            unknown += 1;
        }
        if parse_french(&r[4]) < parse_french(&r[3]) {
            before += 1;
        }
        if r[11] == "0" && !(10..=110).contains(&r[9].parse::<i64>().unwrap()) {
            bad_age += 1;
        }
    }
    let counts: HashMap<Defect, u64> = files[0].defects.iter().copied().collect();
    assert_eq!(unknown, counts[&Defect::UnknownCode]);
    assert_eq!(before, counts[&Defect::DateOrder]);
    assert_eq!(bad_age, counts[&Defect::ImpossibleAge]);
    assert_eq!(missing, counts[&Defect::MissingValue]);
}

#[test]
fn prison_dirt_has_negative_persons_and_unknown_establishments() {
    let mut opts = GenerateOptions::new(SourceKind::Prison, 2024..=2024, 0.1, 3);
    opts.dirt = 0.03;
    let (_d, files) = run(&opts);
    let rows = table(SourceKind::Prison, &files[0]);
    let establishments = codelist("CL_ESTABLISHMENT");
    let data: Vec<&Vec<String>> = rows.iter().skip(1).filter(|r| r.len() == 9).collect();
    let negative = data
        .iter()
        .filter(|r| r[7].parse::<i64>().is_ok_and(|p| p < 0))
        .count();
    let unknown = data
        .iter()
        .filter(|r| !establishments.is_leaf(&r[0]))
        .count();
    let counts: HashMap<Defect, u64> = files[0].defects.iter().copied().collect();
    assert!(negative as u64 >= counts[&Defect::NegativePersons] && negative > 0);
    assert_eq!(unknown as u64, counts[&Defect::UnknownEstablishment]);
}

#[test]
fn dirt_leaves_the_clean_rows_unchanged() {
    let opts = GenerateOptions::new(SourceKind::Cjn, 2019..=2019, 0.002, 4);
    let (_c, clean) = run(&opts);
    let mut dirty_opts = opts.clone();
    dirty_opts.dirt = 0.1;
    let (_d, dirty) = run(&dirty_opts);
    let clean_rows: HashSet<Vec<String>> = table(SourceKind::Cjn, &clean[0]).into_iter().collect();
    let dirty_rows = table(SourceKind::Cjn, &dirty[0]);
    let kept = dirty_rows
        .iter()
        .filter(|r| clean_rows.contains(*r))
        .count();
    let distinct_dirty = dirty[0].dirty_rows
        - dirty[0]
            .defects
            .iter()
            .find(|d| d.0 == Defect::Duplicate)
            .map_or(0, |d| d.1);
    // Every row is the clean one, except those a defect changed (duplicates are clean copies).
    assert_eq!(kept as u64 + distinct_dirty, dirty[0].rows + 1);
}

#[test]
fn progress_reports_the_rows_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut seen = Vec::new();
    let files = generate(
        &GenerateOptions::new(SourceKind::Cjn, 2019..=2020, 0.3, 1),
        dir.path(),
        &mut |n| seen.push(n),
    )
    .unwrap();
    let total: u64 = files.iter().map(|f| f.rows).sum();
    assert_eq!(seen.last(), Some(&total));
    assert!(seen.windows(2).all(|w| w[0] <= w[1]) && seen.len() > 3);
}

#[test]
fn invalid_options_are_refused_with_their_value() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = GenerateOptions::new(SourceKind::Penal, 2019..=2019, 1.0, 1);
    let (start, end) = (2020, 2019);
    opts.years = start..=end;
    assert!(matches!(
        generate(&opts, dir.path(), &mut |_| {}),
        Err(SynthError::Years {
            start: 2020,
            end: 2019
        })
    ));
    opts.years = 2019..=2019;
    opts.scale = 0.0;
    assert!(matches!(
        generate(&opts, dir.path(), &mut |_| {}),
        Err(SynthError::Scale { .. })
    ));
    opts.scale = 1.0;
    opts.dirt = 1.5;
    assert!(matches!(
        generate(&opts, dir.path(), &mut |_| {}),
        Err(SynthError::Dirt { .. })
    ));
}

#[test]
fn source_names_parse_case_insensitively() {
    assert_eq!("penal".parse::<SourceKind>(), Ok(SourceKind::Penal));
    assert_eq!("CJN".parse::<SourceKind>(), Ok(SourceKind::Cjn));
    assert_eq!("prison".parse::<SourceKind>(), Ok(SourceKind::Prison));
    assert!("civil".parse::<SourceKind>().is_err());
    for d in Defect::ALL {
        assert!(!d.as_str().is_empty());
    }
}

/// Days since 1970-01-01 of an ISO date.
fn parse_iso(s: &str) -> i32 {
    let p: Vec<u32> = s.split('-').map(|x| x.parse().unwrap()).collect();
    crate::calendar::days_from_civil(p[0] as i32, p[1], p[2])
}

#[test]
fn cjpm_calibration_follows_the_reform_s_delays_and_measures() {
    let (_d, files) = run(&GenerateOptions::new(
        SourceKind::Cjpm,
        2020..=2023,
        1.0,
        11,
    ));
    assert_eq!(
        files[0].rows, 0,
        "no case under the CJPM before 30 September 2021"
    );
    let rows_2021 = table(SourceKind::Cjpm, &files[1]);
    assert!(rows_2021[1..].iter().all(|r| r[2].as_str() >= "2021-09-30"));
    assert_near("cases 2021", files[1].rows as f64, 9_135.0, 1.0);
    let rows = table(SourceKind::Cjpm, &files[3]);
    let cases = &rows[1..];
    assert_near("cases 2023", cases.len() as f64, 37_000.0, 1.0);
    let guilt: Vec<i32> = cases
        .iter()
        .filter(|r| !r[4].is_empty())
        .map(|r| parse_iso(&r[4]) - parse_iso(&r[2]))
        .collect();
    let within_3_months = guilt.iter().filter(|d| **d <= 91).count();
    assert_near(
        "guilt within 3 months",
        share(within_3_months, guilt.len()),
        0.80,
        0.06,
    );
    let mean = guilt.iter().map(|d| f64::from(*d)).sum::<f64>() / guilt.len() as f64;
    assert_near("mean days to guilt", mean, 70.0, 12.0);
    let single = cases.iter().filter(|r| r[3] == "1").count();
    assert_near("single hearings", share(single, cases.len()), 0.20, 0.01);
    let sentencing: Vec<i32> = cases
        .iter()
        .filter(|r| r[3] == "0" && !r[5].is_empty())
        .map(|r| parse_iso(&r[5]) - parse_iso(&r[4]))
        .collect();
    let mean = sentencing.iter().map(|d| f64::from(*d)).sum::<f64>() / sentencing.len() as f64;
    assert_near("months guilt → sentencing", mean / 30.44, 6.6, 0.6);
    let mejp = cases.iter().filter(|r| r[6] == "1").count();
    assert_near("MEJP", share(mejp, cases.len()), 0.30, 0.01);
    let remand = cases.iter().filter(|r| r[7] == "1").count();
    assert_near("remand", share(remand, cases.len()), 0.04, 0.005);
}

#[test]
fn protection_orders_follow_the_requests_outcomes_and_the_six_days() {
    let (_d, files) = run(&GenerateOptions::new(
        SourceKind::ProtectionOrders,
        2021..=2021,
        1.0,
        12,
    ));
    let rows = table(SourceKind::ProtectionOrders, &files[0]);
    let requests = &rows[1..];
    assert_near("requests 2021", requests.len() as f64, 5_901.0, 1.0);
    let decided: Vec<&Vec<String>> = requests.iter().filter(|r| !r[3].is_empty()).collect();
    let on_time = decided
        .iter()
        .filter(|r| parse_iso(&r[3]) - parse_iso(&r[2]) <= 6)
        .count();
    assert_near(
        "decided within 6 days",
        share(on_time, decided.len()),
        0.70,
        0.05,
    );
    let granted = decided.iter().filter(|r| r[4] == "ACCORDEE").count();
    assert_near("granted", share(granted, decided.len()), 0.60, 0.03);
    let women = requests.iter().filter(|r| r[5] == "F").count();
    assert_near("women applicants", share(women, requests.len()), 0.97, 0.01);
}

#[test]
fn protection_devices_follow_the_national_stocks() {
    let (_d, files) = run(&GenerateOptions::new(
        SourceKind::ProtectionDevices,
        2024..=2024,
        1.0,
        13,
    ));
    let rows = table(SourceKind::ProtectionDevices, &files[0]);
    let december = |device: &str| -> i64 {
        rows[1..]
            .iter()
            .filter(|r| r[1] == "2024-12-01" && r[2] == device)
            .map(|r| r[4].parse::<i64>().unwrap())
            .sum()
    };
    assert_near(
        "TGD active end 2024",
        december("TGD") as f64,
        3_000.0,
        120.0,
    );
    assert_near("BAR active end 2024", december("BAR") as f64, 1_000.0, 60.0);
    let assigned: i64 = rows[1..]
        .iter()
        .filter(|r| r[2] == "TGD")
        .map(|r| r[3].parse::<i64>().unwrap())
        .sum();
    assert_near("TGD assigned in 2024", assigned as f64, 1_650.0, 120.0);
}
