//! The questionnaires of `surveys/` load, answer and review as a respondent would use them,
//! and bad files are refused at the line an editor shows.

use justat_survey::{Answer, Answers, ControlState, Questionnaire, Severity, load, toml_file};
use std::path::PathBuf;

fn surveys() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../surveys")
}

fn bav() -> Questionnaire {
    load(&surveys().join("bav-2025.toml")).unwrap_or_else(|e| panic!("{e}"))
}

fn form(fields: &[(&str, &str)]) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Posts a page's form and stores what parsed, as the portal does.
fn post(
    q: &Questionnaire,
    answers: &mut Answers,
    page: usize,
    fields: &[(&str, &str)],
) -> Vec<String> {
    let parsed = Answers::from_form(&q.sequences[page], &form(fields));
    answers.replace_page(&q.sequences[page], parsed.answers);
    parsed
        .errors
        .into_iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect()
}

fn state(q: &Questionnaire, answers: &Answers, page: usize, path: &str) -> ControlState {
    let view = q.page_view(page, answers).unwrap();
    view.outcomes
        .iter()
        .find(|o| o.path == path)
        .unwrap_or_else(|| panic!("no control {path} in {:#?}", view.outcomes))
        .state
}

#[test]
fn the_bav_questionnaire_filters_blocks_warns_and_reviews() {
    let q = bav();
    assert_eq!(
        (q.id.as_str(), q.version, q.sequences.len()),
        ("bav-2025", 1, 3)
    );
    let mut a = Answers::new();

    // Page 1, nothing answered: the required yes/no blocks; the filtered questions are hidden
    // because their filter reads a blank.
    let v = q.page_view(0, &a).unwrap();
    assert!(!v.may_continue);
    assert_eq!(v.visible, ["bav_actif"]);
    assert_eq!(state(&q, &a, 0, "bav_actif!required"), ControlState::Failed);

    // « Non »: only the reason is asked.
    assert!(post(&q, &mut a, 0, &[("bav_actif", "non")]).is_empty());
    let v = q.page_view(0, &a).unwrap();
    assert_eq!(v.visible, ["bav_actif", "motif_inactivite"]);
    assert!(v.hidden.contains(&"etp".to_string()));

    // « Oui »: the reason is hidden, the activity questions shown.
    let errors = post(
        &q,
        &mut a,
        0,
        &[
            ("bav_actif", "oui"),
            ("etp", "0,4"),
            ("demi_journees", "11"),
            ("date_convention!missing", "dk"),
        ],
    );
    assert_eq!(errors, ["demi_journees: valeur attendue entre 0 et 10"]);
    assert_eq!(a.get("etp"), Some(&Answer::Decimal(0.4)));
    assert_eq!(a.get("date_convention"), Some(&Answer::DontKnow));
    let v = q.page_view(0, &a).unwrap();
    assert!(v.hidden.contains(&"motif_inactivite".to_string()));
    assert_eq!(
        state(&q, &a, 0, "demi_journees!required"),
        ControlState::Failed
    );

    // 8 half-days with 0.4 FTE: the warning stops the page until « Poursuivre » is recorded.
    post(
        &q,
        &mut a,
        0,
        &[
            ("bav_actif", "oui"),
            ("etp", "0,4"),
            ("demi_journees", "8"),
            ("date_convention!missing", "dk"),
        ],
    );
    assert_eq!(
        state(&q, &a, 0, "c_ouverture_effectif"),
        ControlState::Failed
    );
    assert!(!q.page_view(0, &a).unwrap().may_continue);
    post(
        &q,
        &mut a,
        0,
        &[
            ("bav_actif", "oui"),
            ("etp", "0,4"),
            ("demi_journees", "8"),
            ("date_convention!missing", "dk"),
            ("c_ouverture_effectif!continue", "1"),
        ],
    );
    assert_eq!(a.get("c_ouverture_effectif"), Some(&Answer::WarningKept));
    assert_eq!(state(&q, &a, 0, "c_ouverture_effectif"), ControlState::Kept);
    assert!(q.page_view(0, &a).unwrap().may_continue);

    // Page 2: the count table, then more minors than victims blocks, and every control of the
    // page is reported, not only the first.
    let mut fields = vec![("victimes_mineures", "500")];
    let cells: Vec<String> = [
        "G_PERSONNE",
        "G_BIENS",
        "G_CIRCULATION",
        "G_AUTORITE",
        "G_STUPEFIANTS",
        "G_ECOFI",
        "G_ENVIRONNEMENT",
    ]
    .iter()
    .flat_map(|r| ["F", "M"].map(|c| format!("victimes.{r}.{c}")))
    .collect();
    for c in &cells {
        fields.push((c.as_str(), "10"));
    }
    assert!(post(&q, &mut a, 1, &fields).is_empty());
    let v = q.page_view(1, &a).unwrap();
    assert_eq!(state(&q, &a, 1, "c_mineures"), ControlState::Failed);
    assert_eq!(state(&q, &a, 1, "c_victimes_volume"), ControlState::Passed);
    assert_eq!(
        v.outcomes
            .iter()
            .filter(|o| o.severity == Severity::Error && o.blocks())
            .count(),
        1
    );
    assert!(!v.may_continue);
    fields[0] = ("victimes_mineures", "140");
    post(&q, &mut a, 1, &fields);
    assert!(q.page_view(1, &a).unwrap().may_continue);
    // « Ne sait pas » for the minors: the control cannot be evaluated and does not fire.
    fields[0] = ("victimes_mineures!missing", "dk");
    post(&q, &mut a, 1, &fields);
    assert_eq!(state(&q, &a, 1, "c_mineures"), ControlState::NotApplicable);

    // Page 3: a loop of two places, one with no permanence (a warning per item).
    let errors = post(
        &q,
        &mut a,
        2,
        &[
            ("services", "INFO"),
            ("services", "PSY"),
            ("lieux!items", "2"),
            ("lieux[1].lieu", "Tribunal de Lille"),
            ("lieux[1].demi_journees_mois", "8"),
            ("lieux[2].lieu", "Mairie de Roubaix"),
            ("lieux[2].demi_journees_mois", "0"),
        ],
    );
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        a.get("services"),
        Some(&Answer::Choices(vec!["INFO".into(), "PSY".into()]))
    );
    assert_eq!(
        state(&q, &a, 2, "lieux[1].c_lieu_actif"),
        ControlState::Passed
    );
    assert_eq!(
        state(&q, &a, 2, "lieux[2].c_lieu_actif"),
        ControlState::Failed
    );
    assert_eq!(
        q.page_view(2, &a).unwrap().visible,
        [
            "services",
            "lieux",
            "lieux[1].lieu",
            "lieux[1].demi_journees_mois",
            "lieux[2].lieu",
            "lieux[2].demi_journees_mois",
            "commentaire"
        ]
    );

    // The review: page 3's warning blocks the submission; the comment is missing (optional).
    let r = q.review(&a);
    assert!(!r.may_submit);
    assert!(r.pages[0].blocking.is_empty() && r.pages[0].kept.len() == 1);
    assert_eq!(r.pages[1].answered.len(), 15);
    assert_eq!(r.pages[2].missing, ["commentaire"]);
    assert_eq!(
        r.pages[2].answered,
        [
            "services",
            "lieux[1].lieu",
            "lieux[1].demi_journees_mois",
            "lieux[2].lieu",
            "lieux[2].demi_journees_mois"
        ]
    );
    assert_eq!(
        r.pages[2]
            .blocking
            .iter()
            .map(|o| o.path.as_str())
            .collect::<Vec<_>>(),
        ["lieux[2].c_lieu_actif"]
    );
    post(
        &q,
        &mut a,
        2,
        &[
            ("lieux!items", "1"),
            ("lieux[1].lieu", "Tribunal de Lille"),
            ("lieux[1].demi_journees_mois", "8"),
        ],
    );
    assert!(q.review(&a).may_submit);

    // Saying « non » afterwards hides everything else; cleaning removes the hidden answers.
    post(
        &q,
        &mut a,
        0,
        &[("bav_actif", "non"), ("motif_inactivite", "LOCAUX")],
    );
    let removed = q.clean(&mut a);
    assert!(
        removed.contains(&"victimes.G_BIENS.F".to_string())
            && removed.contains(&"lieux[1].lieu".to_string())
    );
    assert_eq!(
        a.iter().map(|(p, _)| p).collect::<Vec<_>>(),
        ["bav_actif", "motif_inactivite"]
    );
}

#[test]
fn form_values_that_do_not_parse_are_reported_per_field_and_others_kept() {
    let q = bav();
    let p = Answers::from_form(
        &q.sequences[0],
        &form(&[
            ("bav_actif", "peut-être"),
            ("etp", "1,25"),
            ("demi_journees", "3"),
            ("date_convention", "31/02/2020"),
            ("etp!missing", "refused"),
            ("unrelated", "x"),
        ]),
    );
    let fields: Vec<(&str, &str)> = p
        .errors
        .iter()
        .map(|e| (e.field.as_str(), e.message.as_str()))
        .collect();
    assert_eq!(
        fields,
        [
            ("bav_actif", "répondre oui ou non"),
            ("date_convention", "cette date n'existe pas"),
            (
                "etp!missing",
                "cette réponse n'est pas proposée pour cette question"
            ),
        ]
    );
    assert_eq!(p.errors[0].raw, "peut-être");
    assert_eq!(p.answers.get("demi_journees"), Some(&Answer::Integer(3)));
    assert_eq!(p.answers.len(), 1);
    let p = Answers::from_form(&q.sequences[0], &form(&[("etp", "1,25")]));
    assert_eq!(p.errors[0].message, "au plus 1 chiffre(s) après la virgule");
    let p = Answers::from_form(
        &q.sequences[1],
        &form(&[
            ("victimes.G_BIENS.F", "-1"),
            ("victimes.G_BIENS.M", "1 200"),
        ]),
    );
    assert_eq!(p.errors[0].message, "un effectif ne peut pas être négatif");
    assert_eq!(
        p.answers.get("victimes.G_BIENS.M"),
        Some(&Answer::Integer(1200))
    );
    let p = Answers::from_form(
        &q.sequences[2],
        &form(&[("lieux!items", "11"), ("services", "NOPE")]),
    );
    assert_eq!(
        p.errors
            .iter()
            .map(|e| e.field.as_str())
            .collect::<Vec<_>>(),
        ["services", "lieux!items"]
    );
}

#[test]
fn saving_a_page_replaces_only_that_page() {
    let q = bav();
    let mut a = Answers::new();
    post(&q, &mut a, 0, &[("bav_actif", "oui"), ("etp", "2")]);
    post(&q, &mut a, 1, &[("victimes.G_BIENS.F", "4")]);
    post(&q, &mut a, 0, &[("bav_actif", "oui")]);
    assert_eq!(
        a.get("etp"),
        None,
        "a field emptied on its page is blank again"
    );
    assert_eq!(a.get("victimes.G_BIENS.F"), Some(&Answer::Integer(4)));
}

fn error_of(text: &str) -> String {
    toml_file::parse("q.toml", text).unwrap_err().to_string()
}

const HEAD: &str =
    "id = \"t\"\nversion = 1\ntitle = \"T\"\n[[sequence]]\nid = \"p\"\ntitle = \"P\"\n";

#[test]
fn bad_files_are_refused_at_the_line_of_the_offending_key_or_expression() {
    let q = |body: &str| format!("{HEAD}{body}");
    // Line 7 is the first line after HEAD.
    let e = error_of(&q(
        "[[sequence.question]]\nid = \"a\"\nkind = \"integer\"\nlabel = \"A\"\nshow_if = \"b > 1\"\n",
    ));
    assert_eq!(e, "q.toml:11: question inconnue « b » (dans « b > 1 »)");
    let e = error_of(&q(
        "[[sequence.question]]\nid = \"a\"\nkind = \"yes_no\"\nlabel = \"A\"\n[[sequence.question]]\nid = \"b\"\nkind = \"integer\"\nlabel = \"B\"\nshow_if = \"a + 1 > 2\"\n",
    ));
    assert_eq!(
        e,
        "q.toml:15: calcul sur un booléen : un nombre est attendu (dans « a + 1 > 2 »)"
    );
    let e = error_of(&q(
        "[[sequence.question]]\nid = \"a\"\nkind = \"integer\"\nlabel = \"A\"\nshow_if = \"a + 1\"\n",
    ));
    assert_eq!(
        e,
        "q.toml:11: show_if doit être une condition (booléen), c'est un nombre : « a + 1 »"
    );
    let e = error_of(&q(
        "[[sequence.question]]\nid = \"a\"\nkind = \"integer\"\nlabel = \"A\"\nminimum = 3\n",
    ));
    assert!(e.starts_with("q.toml:11: unknown field `minimum`"), "{e}");
    let e = error_of(&q(
        "[[sequence.question]]\nid = \"a\"\nkind = \"number\"\nlabel = \"A\"\n",
    ));
    assert!(
        e.starts_with("q.toml:9: type de question « number » inconnu"),
        "{e}"
    );
    let e = error_of(&q(
        "[[sequence.question]]\nid = \"a\"\nkind = \"yes_no\"\nlabel = \"A\"\n[[sequence.question]]\nid = \"a\"\nkind = \"yes_no\"\nlabel = \"B\"\n",
    ));
    assert_eq!(e, "q.toml:12: identifiant « a » déjà utilisé ligne 8");
    // A multi-line expression: the line of the error inside it.
    let e = error_of(&q(
        "[[sequence.question]]\nid = \"a\"\nkind = \"integer\"\nlabel = \"A\"\n[[sequence.question.control]]\nid = \"c\"\nseverity = \"error\"\nmessage = \"M\"\nmust = \"\"\"\na > 0\nand a < \n\"\"\"\n",
    ));
    assert!(e.starts_with("q.toml:17: valeur attendue"), "{e}");
    let e = error_of(&q(
        "[[sequence.question]]\nid = \"a\"\nkind = \"integer\"\nlabel = \"A\"\n[[sequence.question.control]]\nid = \"c\"\nseverity = \"fatal\"\nmessage = \"M\"\nmust = \"a > 0\"\n",
    ));
    assert!(e.starts_with("q.toml:13: severity = « fatal »"), "{e}");
    let e = error_of(&q(
        "[[sequence.question]]\nid = \"t\"\nkind = \"count_table\"\nlabel = \"T\"\nrows = [{code=\"A\", label=\"a\"}]\ncolumns = [{code=\"X\", label=\"x\"}]\nshow_if = \"t.A.Y > 0\"\n",
    ));
    assert!(
        e.starts_with("q.toml:13: « t.A.Y » : cellule inconnue du tableau « t »"),
        "{e}"
    );
    let e = error_of(&q(
        "[[sequence.question]]\nid = \"a\"\nkind = \"integer\"\nlabel = \"A\"\nmin = 5\nmax = 1\n",
    ));
    assert_eq!(e, "q.toml:8: min (5) supérieur à max (1)");
    let e = error_of(&q(
        "[[sequence.question]]\nid = \"a\"\nkind = \"yes_no\"\nlabel = \"A\"\nunit = \"€\"\n",
    ));
    assert_eq!(
        e,
        "q.toml:8: « unit » ne s'applique pas à une question de type « yes_no »"
    );
    let e = error_of("id = \"t\"\nversion = 1\ntitle = \"T\"\n");
    assert_eq!(
        e,
        "q.toml:1: le questionnaire n'a aucune page ([[sequence]])"
    );
    let e = error_of("id = \"t\"\nversion = 1\ntitle = \"T\n");
    assert!(e.starts_with("q.toml:3:"), "{e}");
}

#[test]
fn every_problem_of_a_file_is_reported_at_once() {
    let text = format!(
        "{HEAD}[[sequence.question]]\nid = \"a\"\nkind = \"integer\"\nlabel = \"A\"\nshow_if = \"x > 1\"\n[[sequence.question]]\nid = \"b\"\nkind = \"integer\"\nlabel = \"B\"\nshow_if = \"y > 1\"\n"
    );
    let e = toml_file::parse("q.toml", &text).unwrap_err();
    assert_eq!(e.0.iter().map(|d| d.line).collect::<Vec<_>>(), [11, 16]);
}

#[test]
fn loops_and_tables_resolve_their_references() {
    let text = format!(
        "{HEAD}[[sequence.question]]\nid = \"t\"\nkind = \"count_table\"\nlabel = \"T\"\ntotals = \"entered\"\nrows = [{{code=\"A\", label=\"a\"}}, {{code=\"B\", label=\"b\"}}]\ncolumns = [{{code=\"X\", label=\"x\"}}]\n\
[[sequence.question]]\nid = \"s\"\nkind = \"loop\"\nlabel = \"S\"\nmin_items = 1\nmax_items = 3\n\
[[sequence.question.question]]\nid = \"n\"\nkind = \"integer\"\nlabel = \"N\"\nshow_if = \"t._T._T > 0\"\n\
[[sequence.question.question.control]]\nid = \"c\"\nseverity = \"error\"\nmessage = \"M\"\nmust = \"n <= t.A.X\"\n\
[[sequence.question]]\nid = \"total\"\nkind = \"integer\"\nlabel = \"Tot\"\n\
[[sequence.question.control]]\nid = \"c2\"\nseverity = \"error\"\nmessage = \"M2\"\nmust = \"total = sum(s.n) and count(s) >= 1\"\n"
    );
    let q = toml_file::parse("q.toml", &text).unwrap_or_else(|e| panic!("{e}"));
    let mut a = Answers::new();
    for (p, v) in [
        ("t.A.X", 3),
        ("t.B.X", 4),
        ("t.A._T", 3),
        ("t.B._T", 5),
        ("t._T.X", 7),
        ("t._T._T", 8),
        ("s[1].n", 2),
        ("s[2].n", 4),
        ("total", 6),
    ] {
        a.set(p, Answer::Integer(v));
    }
    a.set("s", Answer::Items(2));
    let v = q.page_view(0, &a).unwrap();
    let failed: Vec<&str> = v
        .outcomes
        .iter()
        .filter(|o| o.blocks())
        .map(|o| o.path.as_str())
        .collect();
    // Row B's entered total (5) is not 4; the grand total 8 is the sum of the row totals; item
    // 2's n (4) exceeds t.A.X (3).
    assert_eq!(failed, ["t!total.B", "s[2].c"]);
    let msg = &v
        .outcomes
        .iter()
        .find(|o| o.path == "t!total.B")
        .unwrap()
        .message;
    assert_eq!(
        msg,
        "Le total de la ligne « b » n'est pas la somme de ses cases : 5 saisi, 4 d'après le détail."
    );
    a.set("s", Answer::Items(0));
    let v = q.page_view(0, &a).unwrap();
    assert!(v.outcomes.iter().any(|o| o.path == "s!items" && o.blocks()));
    assert!(
        v.outcomes.iter().any(|o| o.path == "c2" && o.blocks()),
        "count(s) = 0 fails c2"
    );
}

#[test]
fn a_missing_file_or_an_unknown_extension_is_refused_clearly() {
    let e = load(&surveys().join("nope.toml")).unwrap_err().to_string();
    assert!(e.contains("nope.toml:1: lecture impossible"), "{e}");
    let e = load(&surveys().join("README.md")).unwrap_err().to_string();
    assert!(e.contains("extension attendue"), "{e}");
}

#[test]
fn every_example_of_the_surveys_readme_loads() {
    let readme = std::fs::read_to_string(surveys().join("README.md")).unwrap();
    let mut count = 0;
    for block in readme.split("```toml\n").skip(1) {
        let text = block.split("```").next().unwrap();
        if text.starts_with("id =") {
            toml_file::parse("README.md", text).unwrap_or_else(|e| panic!("{e}\n{text}"));
            count += 1;
        }
    }
    assert!(count >= 7, "only {count} complete examples");
}

#[test]
fn count_table_codes_are_checked_against_their_codelist_and_cells_come_out_coded() {
    let table = |rows: &str| {
        format!(
            "{HEAD}[[sequence.question]]\nid = \"t\"\nkind = \"count_table\"\nlabel = \"T\"\nrow_codelist = \"CL_OFFENCE\"\ncolumn_codelist = \"CL_SEX\"\nrows = [{rows}]\ncolumns = [{{code=\"F\", label=\"f\"}}, {{code=\"M\", label=\"m\"}}]\n"
        )
    };
    let e = error_of(&table(
        "{code=\"G_BIENS\", label=\"b\"}, {code=\"G_VOL\", label=\"v\"}",
    ));
    assert_eq!(
        e,
        "q.toml:8: code « G_VOL » absent de la nomenclature CL_OFFENCE"
    );
    let e = error_of(&table("{code=\"G_BIENS\", label=\"b\"}").replace("CL_SEX", "CL_GENRE"));
    assert!(e.contains("nomenclature « CL_GENRE » inconnue"), "{e}");
    let q = bav();
    let mut a = Answers::new();
    a.set("victimes.G_BIENS.F", Answer::Integer(12));
    let cells = q.table_cells(&a);
    assert_eq!(cells.len(), 14);
    let biens_f = cells
        .iter()
        .find(|c| c.row == "G_BIENS" && c.column == "F")
        .unwrap();
    assert_eq!(
        (biens_f.table.as_str(), biens_f.value),
        ("victimes", Some(12))
    );
    assert!(cells.iter().filter(|c| c.value.is_none()).count() == 13);
}

#[test]
fn stored_answers_are_checked_again_as_a_statistician_reviews_them() {
    let q = bav();
    let mut a = Answers::new();
    a.set("bav_actif", Answer::YesNo(true));
    a.set("demi_journees", Answer::Integer(12));
    a.set("etp", Answer::Refused);
    let v = q.page_view(0, &a).unwrap();
    let failed: Vec<(&str, &str)> = v
        .outcomes
        .iter()
        .filter(|o| o.blocks())
        .map(|o| (o.path.as_str(), o.message.as_str()))
        .collect();
    assert_eq!(
        failed,
        [
            (
                "etp!bounds",
                "« Ne sait pas » ou « refus » n'est pas proposé pour cette question."
            ),
            ("demi_journees!bounds", "valeur attendue entre 0 et 10"),
        ]
    );
    // A « Poursuivre » posted for an error control is not recorded.
    let p = Answers::from_form(
        &q.sequences[1],
        &form(&[
            ("c_mineures!continue", "1"),
            ("c_victimes_volume!continue", "1"),
        ]),
    );
    assert_eq!(
        p.answers.iter().map(|(k, _)| k).collect::<Vec<_>>(),
        ["c_victimes_volume"]
    );
}
