use super::*;
use std::collections::BTreeMap;

fn catalog() -> Catalog {
    let mut c = Catalog::default();
    c.add(
        "cjpm_delays",
        [
            "saisines",
            "audiences_culpabilite",
            "culpabilite_3_mois",
            "culpabilite_jours",
        ]
        .map(String::from)
        .to_vec(),
        vec!["court".to_string()],
    );
    c.add(
        "protection_devices",
        vec!["tgd_actifs".to_string()],
        vec!["court".to_string()],
    );
    c
}

const GOOD: &str = r#"id = "share"
version = 1
label = "Audiences dans les 3 mois"
definition = "Part des audiences…"
cube = "cjpm_delays"
dimension = "court"
count = "audiences_culpabilite"
formula = "100 * culpabilite_3_mois / audiences_culpabilite"
unit = "%"
decimals = 1
nature = "pilotage"
administrations = ["DPJJ", "DACG", "DPJJ"]
areas = ["tribunal", "France"]
periods = ["année", "mois"]
time_aggregation = "somme"

[target]
value = 80
direction = "au moins"
label = "CJPM"
"#;

fn load(text: &str) -> Result<Indicator, LoadError> {
    parse(text, "indicators/share.toml", &catalog())
}

#[test]
fn a_good_file_loads_sorted_and_deduplicated() {
    let i = load(GOOD).unwrap();
    assert_eq!(
        i.administrations,
        [Administration::Dacg, Administration::Dpjj]
    );
    assert_eq!(i.areas, [AreaLevel::France, AreaLevel::Court]);
    assert_eq!(i.periods, [Granularity::Month, Granularity::Year]);
    assert!(i.is_for(Administration::Dpjj) && !i.is_for(Administration::Sadjav));
    let t = i.target.unwrap();
    assert!(t.is_met(80.0) && !t.is_met(79.9));
}

#[test]
fn an_unknown_measure_is_refused_at_its_file_and_line() {
    let e =
        load(&GOOD.replace("100 * culpabilite_3_mois", "100 * culpabilite_4_mois")).unwrap_err();
    assert_eq!((e.file.as_str(), e.line), ("indicators/share.toml", 8));
    assert!(
        e.message.contains("mesure « culpabilite_4_mois » inconnue"),
        "{e}"
    );
    assert!(
        e.to_string()
            .starts_with("indicators/share.toml:8: formule : mesure")
    );
    let e = load(&GOOD.replace("count = \"audiences_culpabilite\"", "count = \"affaires\""))
        .unwrap_err();
    assert_eq!(e.line, 7, "{e}");
}

#[test]
fn a_bad_formula_is_refused_at_its_file_and_line() {
    let e = load(&GOOD.replace("/ audiences_culpabilite\"", "/ \"")).unwrap_err();
    assert_eq!(e.line, 8, "{e}");
    assert!(e.message.contains("formule : une mesure, un nombre"), "{e}");
    let multi = GOOD.replace(
        "formula = \"100 * culpabilite_3_mois / audiences_culpabilite\"",
        "formula = \"\"\"\n100 * culpabilite_3_mois\n  / audiences_culpabilite )\"\"\"",
    );
    let e = load(&multi).unwrap_err();
    assert_eq!(e.line, 10, "the line of the stray parenthesis: {e}");
}

#[test]
fn an_unknown_cube_dimension_key_or_value_is_refused_at_its_line() {
    let e = load(&GOOD.replace("cube = \"cjpm_delays\"", "cube = \"cjpm\"")).unwrap_err();
    assert_eq!(e.line, 5);
    assert!(e.message.contains("cube « cjpm » inconnu"), "{e}");
    let e = load(&GOOD.replace("dimension = \"court\"", "dimension = \"region\"")).unwrap_err();
    assert_eq!(e.line, 6);
    let e = load(&GOOD.replace("nature = \"pilotage\"", "nature = \"officielle\"")).unwrap_err();
    assert_eq!(e.line, 11, "{e}");
    let e = load(&GOOD.replace("decimals = 1", "decimals = 1\ncolour = \"bleu\"")).unwrap_err();
    assert_eq!(e.line, 11, "an unknown key: {e}");
    let e = load(&GOOD.replace("\"DACG\", ", "\"DGSI\", ")).unwrap_err();
    assert_eq!(e.line, 12, "{e}");
    let e = load(&GOOD.replace("areas = [\"tribunal\", \"France\"]", "areas = []")).unwrap_err();
    assert_eq!(e.line, 13, "{e}");
    let e = load(&GOOD.replace("id = \"share\"", "id = \"other\"")).unwrap_err();
    assert!(e.message.contains("nom du fichier"), "{e}");
}

#[test]
fn an_official_series_names_its_publication_and_a_steering_one_does_not() {
    let official = GOOD.replace("nature = \"pilotage\"", "nature = \"statistique publique\"");
    assert!(
        load(&official)
            .unwrap_err()
            .message
            .contains("nomme la publication")
    );
    let with = official.replace(
        "unit = \"%\"",
        "unit = \"%\"\npublication = \"chiffres-cles\"",
    );
    assert_eq!(load(&with).unwrap().publications, ["chiffres-cles"]);
    // One edition after another releases the series.
    let editions = official.replace(
        "unit = \"%\"",
        "unit = \"%\"\npublication = [\"chiffres-cles-2025\", \"chiffres-cles-2026\"]",
    );
    assert_eq!(
        load(&editions).unwrap().publications,
        ["chiffres-cles-2025", "chiffres-cles-2026"]
    );
    let bad = official.replace("unit = \"%\"", "unit = \"%\"\npublication = \"../x\"");
    assert!(load(&bad).is_err());
    let bad_in_list = official.replace(
        "unit = \"%\"",
        "unit = \"%\"\npublication = [\"chiffres-cles-2025\", \"../x\"]",
    );
    let e = load(&bad_in_list).unwrap_err();
    assert!(e.message.contains("« ../x »"), "{}", e.message);
    let none = official.replace("unit = \"%\"", "unit = \"%\"\npublication = []");
    assert!(
        load(&none)
            .unwrap_err()
            .message
            .contains("au moins une publication")
    );
    let steering = GOOD.replace(
        "unit = \"%\"",
        "unit = \"%\"\npublication = \"chiffres-cles\"",
    );
    assert!(load(&steering).unwrap_err().message.contains("pilotage"));
}

fn cell(area: &str, month: &str, values: &[(&str, f64)]) -> MonthCell {
    MonthCell {
        area: area.into(),
        month: month.into(),
        values: values
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect::<BTreeMap<_, _>>(),
    }
}

#[test]
fn flows_add_up_by_quarter_and_year_before_the_formula() {
    let i = load(GOOD).unwrap();
    let cells = [
        cell(
            "_T",
            "2024-01",
            &[("culpabilite_3_mois", 8.0), ("audiences_culpabilite", 10.0)],
        ),
        cell(
            "_T",
            "2024-02",
            &[("culpabilite_3_mois", 2.0), ("audiences_culpabilite", 10.0)],
        ),
        cell(
            "_T",
            "2024-04",
            &[("culpabilite_3_mois", 0.0), ("audiences_culpabilite", 0.0)],
        ),
        cell(
            "TJ_X",
            "2024-01",
            &[("culpabilite_3_mois", 1.0), ("audiences_culpabilite", 1.0)],
        ),
    ];
    let q = series(&i, &cells, "_T", Granularity::Quarter);
    assert_eq!(q.len(), 2);
    assert_eq!(
        (q[0].period.as_str(), q[0].value, q[0].count, q[0].months),
        ("2024-T1", Some(50.0), 20.0, 2)
    );
    assert_eq!(
        (q[1].period.as_str(), q[1].value),
        ("2024-T2", None),
        "no hearing: no value"
    );
    let y = series(&i, &cells, "_T", Granularity::Year);
    assert_eq!(y[0].value, Some(50.0));
    let m = series(&i, &cells, "TJ_X", Granularity::Month);
    assert_eq!(m.len(), 1);
}

#[test]
fn stocks_take_the_period_s_last_month() {
    let text = r#"id = "tgd"
version = 1
label = "TGD actifs"
definition = "…"
cube = "protection_devices"
dimension = "court"
count = "tgd_actifs"
formula = "tgd_actifs"
unit = "téléphones"
decimals = 0
nature = "pilotage"
administrations = ["SADJAV"]
areas = ["France"]
periods = ["trimestre"]
time_aggregation = "fin de période"
"#;
    let i = parse(text, "indicators/tgd.toml", &catalog()).unwrap();
    let cells = [
        cell("_T", "2024-03", &[("tgd_actifs", 30.0)]),
        cell("_T", "2024-01", &[("tgd_actifs", 10.0)]),
        cell("_T", "2024-02", &[("tgd_actifs", 20.0)]),
    ];
    assert_eq!(
        series(&i, &cells, "_T", Granularity::Quarter)[0].value,
        Some(30.0)
    );
    assert_eq!(trend(20.0, 30.0), Trend::Up(10.0));
    assert_eq!(trend(30.0, 30.0), Trend::Stable);
}

#[test]
fn periods_of_a_month_are_checked() {
    assert_eq!(
        Granularity::Quarter.period_of("2024-12").as_deref(),
        Some("2024-T4")
    );
    assert_eq!(
        Granularity::Quarter.period_of("2024-10").as_deref(),
        Some("2024-T4")
    );
    assert_eq!(
        Granularity::Quarter.period_of("2024-09").as_deref(),
        Some("2024-T3")
    );
    assert_eq!(
        Granularity::Year.period_of("2024-01").as_deref(),
        Some("2024")
    );
    for bad in ["2024", "2024-13", "2024-00", "24-01", "abcd-01"] {
        assert_eq!(Granularity::Month.period_of(bad), None, "{bad}");
    }
}

#[test]
fn every_shipped_indicator_loads_against_the_shipped_chains() {
    let all = shipped(&Catalog::shipped_chains()).unwrap();
    assert_eq!(all.len(), SHIPPED.len());
    for a in [
        Administration::Dpjj,
        Administration::Dacg,
        Administration::Sadjav,
    ] {
        assert!(all.iter().any(|i| i.is_for(a)), "{a} has a dashboard");
    }
    assert!(all.iter().any(|i| i.nature == Nature::StatistiquePublique));
    let readme = include_str!("../../../indicators/README.md");
    for (file, _) in SHIPPED {
        let name = file.trim_start_matches("indicators/");
        assert!(readme.contains(name), "indicators/README.md lists {name}");
    }
}
