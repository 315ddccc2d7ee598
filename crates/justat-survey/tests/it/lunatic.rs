//! A Lunatic questionnaire written in the project (`surveys/lunatic/`) is imported and
//! answered; what the importer does not support is refused by name.

use justat_survey::{Answer, Answers, ControlState, Kind, Severity, load, lunatic};
use std::path::PathBuf;

fn concil() -> justat_survey::Questionnaire {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../surveys/lunatic/conciliateurs-2025.json");
    load(&p).unwrap_or_else(|e| panic!("{e}"))
}

fn post(q: &justat_survey::Questionnaire, a: &mut Answers, page: usize, fields: &[(&str, &str)]) {
    let f: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let parsed = Answers::from_form(&q.sequences[page], &f);
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    a.replace_page(&q.sequences[page], parsed.answers);
}

fn outcome(q: &justat_survey::Questionnaire, a: &Answers, page: usize, path: &str) -> ControlState {
    q.page_view(page, a)
        .unwrap()
        .outcomes
        .iter()
        .find(|o| o.path == path)
        .unwrap()
        .state
}

#[test]
fn a_lunatic_questionnaire_imports_with_its_kinds() {
    let q = concil();
    assert_eq!(q.id, "CONCIL2025");
    assert_eq!(
        q.title,
        "Enquête sur l'activité des conciliateurs de justice en 2025"
    );
    assert_eq!(
        q.sequences
            .iter()
            .map(|s| s.title.as_str())
            .collect::<Vec<_>>(),
        ["Votre activité", "Vos conciliations", "Vos permanences"]
    );
    let kinds: Vec<(String, &str)> = q
        .questions()
        .map(|(_, x)| {
            (
                x.id.clone(),
                match &x.kind {
                    Kind::SingleChoice { .. } => "single",
                    Kind::Date { .. } => "date",
                    Kind::YesNo => "yes_no",
                    Kind::Integer { .. } => "integer",
                    Kind::Decimal { .. } => "decimal",
                    Kind::CountTable(_) => "table",
                    Kind::MultipleChoice { .. } => "multiple",
                    Kind::Loop(_) => "loop",
                    Kind::Text { .. } => "text",
                },
            )
        })
        .collect();
    let expected = [
        ("EXERCE", "single"),
        ("DATE_NOMIN", "date"),
        ("BENEVOLE", "yes_no"),
        ("NB_SAISINES", "integer"),
        ("ISSUES", "table"),
        ("LIEUX_TYPES", "multiple"),
        ("FREQUENCE", "single"),
        ("PERMS", "loop"),
        ("HEURES_SEMAINE", "decimal"),
    ];
    assert_eq!(kinds, expected.map(|(a, b)| (a.to_string(), b)));
    let saisines = q.question("NB_SAISINES").unwrap();
    assert!(saisines.allow_dont_know && saisines.allow_refusal);
    assert_eq!(saisines.controls[0].severity, Severity::Warning);
    assert_eq!(
        saisines.controls[0].message,
        "Plus de 500 saisines : vérifiez."
    );
    let Kind::CountTable(t) = &q.question("ISSUES").unwrap().kind else {
        panic!()
    };
    assert_eq!(
        t.rows.iter().map(|r| r.code.as_str()).collect::<Vec<_>>(),
        ["VOISIN", "CONSO"]
    );
    assert_eq!(
        t.columns
            .iter()
            .map(|r| r.code.as_str())
            .collect::<Vec<_>>(),
        ["ACCORD", "ECHEC"]
    );
    assert!(q.question("EXERCE").unwrap().required);
}

#[test]
fn a_lunatic_questionnaire_is_answered_with_its_filters_and_controls() {
    let q = concil();
    let mut a = Answers::new();
    post(&q, &mut a, 0, &[("EXERCE", "2")]);
    assert_eq!(q.page_view(0, &a).unwrap().visible, ["EXERCE"]);
    // The second page's filter (on its Sequence) hides all its questions.
    assert!(q.page_view(1, &a).unwrap().visible.is_empty());
    post(
        &q,
        &mut a,
        0,
        &[
            ("EXERCE", "1"),
            ("DATE_NOMIN", "2019-09-01"),
            ("BENEVOLE", "oui"),
        ],
    );
    assert_eq!(
        q.page_view(0, &a).unwrap().visible,
        ["EXERCE", "DATE_NOMIN", "BENEVOLE"]
    );

    // More ended conciliations than referrals: the ERROR control blocks; 600 referrals warn.
    post(
        &q,
        &mut a,
        1,
        &[
            ("NB_SAISINES", "10"),
            ("ISSUES.VOISIN.ACCORD", "8"),
            ("ISSUES.VOISIN.ECHEC", "3"),
        ],
    );
    assert_eq!(outcome(&q, &a, 1, "t1_CI_0"), ControlState::Failed);
    post(
        &q,
        &mut a,
        1,
        &[
            ("NB_SAISINES", "600"),
            ("ISSUES.VOISIN.ACCORD", "8"),
            ("ISSUES.VOISIN.ECHEC", "3"),
        ],
    );
    assert_eq!(outcome(&q, &a, 1, "t1_CI_0"), ControlState::Passed);
    assert_eq!(outcome(&q, &a, 1, "q4_CI_0"), ControlState::Failed);
    post(
        &q,
        &mut a,
        1,
        &[
            ("NB_SAISINES", "600"),
            ("ISSUES.VOISIN.ACCORD", "8"),
            ("q4_CI_0!continue", "1"),
        ],
    );
    assert!(q.page_view(1, &a).unwrap().may_continue);
    // « Ne sait pas » through the missingResponse.
    post(&q, &mut a, 1, &[("NB_SAISINES!missing", "dk")]);
    assert_eq!(a.get("NB_SAISINES"), Some(&Answer::DontKnow));

    // CheckboxGroup option variables and loop columns work in VTL expressions.
    post(&q, &mut a, 2, &[("LIEUX_TYPES", "LIEU_TRIBUNAL")]);
    assert!(
        !q.page_view(2, &a)
            .unwrap()
            .visible
            .contains(&"FREQUENCE".to_string())
    );
    post(
        &q,
        &mut a,
        2,
        &[
            ("LIEUX_TYPES", "LIEU_MAIRIE"),
            ("PERMS!items", "2"),
            ("PERMS[1].PERM_LIEU", "Lille"),
            ("PERMS[1].PERM_JOURS", "4"),
            ("PERMS[2].PERM_LIEU", "Douai"),
            ("PERMS[2].PERM_JOURS", "0"),
            ("HEURES_SEMAINE", "0"),
        ],
    );
    let v = q.page_view(2, &a).unwrap();
    assert!(v.visible.contains(&"FREQUENCE".to_string()));
    assert_eq!(outcome(&q, &a, 2, "PERMS[2].l2_CI_0"), ControlState::Failed);
    assert_eq!(outcome(&q, &a, 2, "PERMS[1].l2_CI_0"), ControlState::Passed);
    assert_eq!(
        outcome(&q, &a, 2, "q7_CI_0"),
        ControlState::Failed,
        "sum(PERM_JOURS) > 0 needs hours"
    );
    post(
        &q,
        &mut a,
        2,
        &[
            ("LIEUX_TYPES", "LIEU_MAIRIE"),
            ("FREQUENCE", "M"),
            ("PERMS!items", "1"),
            ("PERMS[1].PERM_LIEU", "Lille"),
            ("PERMS[1].PERM_JOURS", "4"),
            ("HEURES_SEMAINE", "6,5"),
        ],
    );
    assert!(q.review(&a).may_submit, "{:#?}", q.review(&a));
}

const HEAD: &str =
    r#"{"id":"X","components":[{"componentType":"Sequence","id":"s","label":{"value":"\"S\""}},"#;

#[test]
fn unsupported_kinds_and_vtl_operators_are_refused_by_name() {
    let e = lunatic::import(
        "x.json",
        &format!("{HEAD}\n{{\"componentType\":\"Roundabout\",\"id\":\"r\"}}]}}"),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        e,
        "x.json:2: type de composant « Roundabout » non pris en charge"
    );
    let e = lunatic::import(
        "x.json",
        &format!("{HEAD}\n{{\"componentType\":\"Input\",\"id\":\"i\",\"response\":{{\"name\":\"A\"}},\n\"conditionFilter\":{{\"value\":\"substr(A, 1, 1) = \\\"x\\\"\"}}}}]}}"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with("x.json:2: opérateur VTL « substr » non pris en charge"),
        "{e}"
    );
    let e = lunatic::import("x.json", &format!("{HEAD}{{\"componentType\":\"Input\",\"id\":\"i\",\"response\":{{\"name\":\"A\"}},\"conditionFilter\":{{\"value\":\"A || \\\"b\\\" = \\\"c\\\"\"}}}}]}}")).unwrap_err().to_string();
    assert!(e.contains("opérateur VTL « || » non pris en charge"), "{e}");
    let e = lunatic::import("x.json", &format!("{HEAD}{{\"componentType\":\"Input\",\"id\":\"i\",\"response\":{{\"name\":\"A\"}},\"conditionFilter\":{{\"value\":\"B = 1\"}}}}]}}")).unwrap_err().to_string();
    assert!(e.contains("question inconnue « B »"), "{e}");
    let e = lunatic::import("x.json", "{\"id\": 1,\n\"components\": [")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("x.json:2: JSON invalide"), "{e}");
    let e = lunatic::import("x.json", &format!("{HEAD}{{\"componentType\":\"Loop\",\"id\":\"L\",\"lines\":{{\"min\":{{\"value\":\"1\"}},\"max\":{{\"value\":\"count(X)\"}}}},\"components\":[]}}]}}")).unwrap_err().to_string();
    assert!(
        e.contains("taille calculée « count(X) » non prise en charge"),
        "{e}"
    );
}
