//! The statisticians' back office of surveys over HTTP — campaigns, follow-up with its rates'
//! charts and tables, the non-respondents' export, a unit's page, corrections and the
//! campaign's actions — and the same actions from the command line.

use crate::harness::{Server, Session};
use crate::survey_portal::{bav_campaign, surveys_dir};
use jiff::Timestamp;
use justat_model::survey::{CampaignState, ResponseStatus};
use justat_model::{Role, ThrottlePolicy};
use justat_store::{CodeOutcome, PageSave, Store};
use justat_survey::Answer;
use justat_web::WebConfig;
use std::collections::BTreeMap;

fn config() -> WebConfig {
    WebConfig {
        surveys_dir: surveys_dir(),
        ..WebConfig::default()
    }
}

/// Saves `answers` on page `page` as the unit's respondent, and submits them if asked.
async fn answer(store: &Store, code: &str, page: &str, answers: &[(&str, Answer)], submit: bool) {
    let CodeOutcome::Granted(who) = store
        .respondent_by_code(
            code,
            "192.0.2.9",
            &ThrottlePolicy::per_ip(),
            Timestamp::now(),
        )
        .await
        .unwrap()
    else {
        panic!("code refused")
    };
    let save = PageSave {
        session: "essai".into(),
        page: page.into(),
        seconds_spent: 30,
        answers: answers
            .iter()
            .map(|(p, a)| (p.to_string(), serde_json::to_value(a).unwrap()))
            .collect::<BTreeMap<_, _>>(),
        kept_warnings: Vec::new(),
    };
    store
        .save_answers(&who, &save, Timestamp::now())
        .await
        .unwrap();
    if submit {
        store.submit_answers(&who, Timestamp::now()).await.unwrap();
    }
}

/// The fixture: AV-1 and AV-3 submitted (AV-1 with a count), AV-2 answering.
async fn answered(store: &Store) -> (i64, BTreeMap<String, String>) {
    let (id, codes) = bav_campaign(store).await;
    let active = [
        ("bav_actif", Answer::YesNo(true)),
        ("etp", Answer::Decimal(1.5)),
        ("demi_journees", Answer::Integer(6)),
    ];
    answer(store, &codes["AV-1"], "fonctionnement", &active, false).await;
    answer(
        store,
        &codes["AV-1"],
        "victimes",
        &[("victimes.G_BIENS.F", Answer::Integer(1200))],
        true,
    )
    .await;
    answer(store, &codes["AV-2"], "fonctionnement", &active, false).await;
    answer(
        store,
        &codes["AV-3"],
        "fonctionnement",
        &[
            ("bav_actif", Answer::YesNo(false)),
            ("motif_inactivite", Answer::Choice("LOCAUX".into())),
        ],
        true,
    )
    .await;
    (id, codes)
}

fn unit(id: i64, code: &str) -> String {
    format!("/admin/enquetes/{id}/unite?code={code}")
}

async fn post(
    s: &Server,
    who: &Session,
    path: &str,
    form: &[(&str, &str)],
) -> crate::harness::Reply {
    let mut all = vec![("csrf", who.csrf.as_str())];
    all.extend_from_slice(form);
    s.post(path, Some(&who.cookie), &all).await
}

#[tokio::test]
async fn only_statisticians_heads_and_admins_see_the_follow_up_and_only_the_first_two_act() {
    let s = Server::start_with(config()).await;
    let (id, _) = answered(&s.store).await;
    let pages = [
        "/admin/enquetes".to_string(),
        format!("/admin/enquetes/{id}"),
        format!("/admin/enquetes/{id}/non-repondants.csv"),
        unit(id, "AV-1"),
    ];
    let actions: [(String, Vec<(&str, &str)>); 5] = [
        (format!("/admin/enquetes/{id}/clore"), vec![]),
        (format!("/admin/enquetes/{id}/imputer"), vec![]),
        (format!("/admin/enquetes/{id}/valider"), vec![]),
        (
            format!("/admin/enquetes/{id}/unite/statut"),
            vec![("code", "AV-1"), ("statut", "validated"), ("motif", "relu")],
        ),
        (
            format!("/admin/enquetes/{id}/unite/corriger"),
            vec![
                ("code", "AV-1"),
                ("chemin", "victimes.G_BIENS.F"),
                ("valeur", "12"),
                ("motif", "erreur"),
            ],
        ),
    ];
    for (name, role) in [
        ("asp", Role::Asp),
        ("destinataire", Role::EmbargoRecipient),
        ("pilotage", Role::Administration),
        ("root", Role::Admin),
    ] {
        let who = s.login_as(name, role).await;
        let reads = role == Role::Admin;
        for p in &pages {
            let r = s.get(p, Some(&who.cookie)).await;
            assert_eq!(r.status, if reads { 200 } else { 404 }, "{name} {p}");
        }
        let home = s.get("/admin", Some(&who.cookie)).await;
        assert_eq!(home.body.contains("/admin/enquetes"), reads, "{name}");
        for (p, form) in &actions {
            assert_eq!(post(&s, &who, p, form).await.status, 404, "{name} {p}");
        }
    }
    // Nothing moved.
    let c = s.store.campaign(id).await.unwrap();
    assert_eq!(c.state, CampaignState::Open);
    assert!(s.store.answer_edits(id, "AV-1").await.unwrap().is_empty());
    let chef = s.login_as("chef", Role::HeadOfService).await;
    assert_eq!(s.get(&pages[1], Some(&chef.cookie)).await.status, 200);
    let anonymous = s.get(&pages[1], None).await;
    assert_eq!(anonymous.status, 303);
    s.stop().await;
}

#[tokio::test]
async fn the_follow_up_shows_rates_as_charts_with_tables_that_match_the_statuses() {
    let s = Server::start_with(config()).await;
    let (id, _) = answered(&s.store).await;
    let stat = s.login_as("sophie", Role::Statistician).await;
    let list = s.get("/admin/enquetes", Some(&stat.cookie)).await;
    assert_eq!(list.status, 200);
    assert!(
        list.body
            .contains("Activité des bureaux d’aide aux victimes")
    );
    assert!(list.body.contains("66,7\u{a0}%") || list.body.contains("66,7 %"));

    let page = s
        .get(&format!("/admin/enquetes/{id}"), Some(&stat.cookie))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    for figure in ["taux-type", "taux-cour-appel", "taux-semaine"] {
        assert!(
            page.body
                .contains(&format!("aria-labelledby=\"{figure}-titre"))
        );
    }
    assert_eq!(page.body.matches("<svg").count(), 3);
    assert!(page.body.matches("<caption>").count() >= 5);
    // Two of the three associations submitted: the kind's line says so.
    let kind_table = &page.body[page.body.find("<caption>Taux de réponse par type").unwrap()..];
    let line = &kind_table[kind_table
        .find("<th scope=\"row\">association</th>")
        .unwrap()..];
    let line = &line[..line.find("</tr>").unwrap()];
    assert!(
        line.contains(">3<") && line.contains(">2<") && line.contains("66,7 %"),
        "{line}"
    );
    assert!(page.body.contains("2026X004JU"), "the legal standing");
    assert!(page.body.contains("Loi n° 51-711") || page.body.contains("loi n° 51-711"));
    // The filter by status.
    let in_progress = s
        .get(
            &format!("/admin/enquetes/{id}?statut=in_progress"),
            Some(&stat.cookie),
        )
        .await;
    assert!(in_progress.body.contains("Association Deux"));
    assert!(!in_progress.body.contains(">Association Un<"));
    assert!(in_progress.body.contains("1 unités au statut « en cours »"));

    // The export lists exactly the units without a submission, with their contacts.
    let csv = s
        .get(
            &format!("/admin/enquetes/{id}/non-repondants.csv"),
            Some(&stat.cookie),
        )
        .await;
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-type").starts_with("text/csv"));
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines.len(), 2, "{}", csv.body);
    assert!(lines[1].starts_with("AV-2,Association Deux,") && lines[1].contains("paul@deux.fr"));
    let log = s.store.audit_page(None, 5).await.unwrap();
    assert!(
        log.iter()
            .any(|e| e.action == "survey.non_respondents.export" && e.actor.contains("sophie"))
    );
    s.stop().await;
}

#[tokio::test]
async fn an_edit_keeps_the_collected_value_and_invalid_actions_change_nothing() {
    edits_and_actions(Server::start_with(config()).await).await;
}

/// The same on PostgreSQL, in a database of its own, when `JUSTAT_TEST_POSTGRES_URL` is set.
#[tokio::test]
async fn an_edit_keeps_the_collected_value_and_invalid_actions_change_nothing_on_postgresql() {
    use sqlx::Executor;
    let Ok(admin_url) = std::env::var("JUSTAT_TEST_POSTGRES_URL") else {
        eprintln!("JUSTAT_TEST_POSTGRES_URL is not set: PostgreSQL variant not run");
        return;
    };
    sqlx::any::install_default_drivers();
    let name = format!("justat_survey_back_{}", std::process::id());
    let admin = sqlx::AnyPool::connect(&admin_url).await.unwrap();
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .await
        .unwrap();
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .unwrap();
    let (base, _) = admin_url.rsplit_once('/').unwrap();
    let url = format!("{base}/{name}");
    edits_and_actions(Server::start_on(tempfile::tempdir().unwrap(), url, config()).await).await;
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE {name} WITH (FORCE)"
        )))
        .await
        .unwrap();
    admin.close().await;
}

async fn edits_and_actions(s: Server) {
    let (id, codes) = answered(&s.store).await;
    let stat = s.login_as("sophie", Role::Statistician).await;
    let page = s.get(&unit(id, "AV-1"), Some(&stat.cookie)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Historique des statuts"));
    assert!(page.body.contains("le répondant, sur le portail"));
    let edit = format!("/admin/enquetes/{id}/unite/corriger");
    let form = |motif: &'static str, valeur: &'static str| {
        vec![
            ("code", "AV-1"),
            ("chemin", "victimes.G_BIENS.F"),
            ("valeur", valeur),
            ("motif", motif),
        ]
    };
    // No reason, or a value the question refuses: nothing recorded, said in French.
    let no_reason = post(&s, &stat, &edit, &form("  ", "120")).await;
    assert_eq!(no_reason.status, 409);
    assert!(no_reason.body.contains("Indiquez le motif"));
    let bad = post(&s, &stat, &edit, &form("erreur", "cent")).await;
    assert_eq!(bad.status, 409);
    assert!(bad.body.contains("ne convient pas"));
    assert!(s.store.answer_edits(id, "AV-1").await.unwrap().is_empty());

    let done = post(
        &s,
        &stat,
        &edit,
        &form("un zéro de trop, vu avec le greffe", "120"),
    )
    .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let edits = s.store.answer_edits(id, "AV-1").await.unwrap();
    assert_eq!(edits.len(), 1);
    assert_eq!(
        edits[0].collected,
        Some(serde_json::to_value(Answer::Integer(1200)).unwrap())
    );
    assert_eq!(
        edits[0].edited,
        serde_json::to_value(Answer::Integer(120)).unwrap()
    );
    assert_eq!(edits[0].edited_by, "sophie");
    assert_eq!(edits[0].reason, "un zéro de trop, vu avec le greffe");
    let page = s.get(&done.location(), Some(&stat.cookie)).await;
    assert!(page.body.contains("1\u{a0}200") && page.body.contains(">120<"));
    assert!(page.body.contains("un zéro de trop, vu avec le greffe"));
    let log = s.store.audit_page(None, 3).await.unwrap();
    assert!(
        log.iter()
            .any(|e| e.action == "survey.answer.edit" && e.actor.contains("sophie"))
    );

    // An answering unit is not edited, and cannot be validated.
    let early = post(
        &s,
        &stat,
        &edit,
        &[
            ("code", "AV-2"),
            ("chemin", "etp"),
            ("valeur", "2"),
            ("motif", "x"),
        ],
    )
    .await;
    assert_eq!(early.status, 409);
    assert!(
        early
            .body
            .contains("Seule une réponse envoyée peut être corrigée")
    );
    let status = format!("/admin/enquetes/{id}/unite/statut");
    let refused = post(
        &s,
        &stat,
        &status,
        &[("code", "AV-2"), ("statut", "validated"), ("motif", "relu")],
    )
    .await;
    assert_eq!(refused.status, 409);
    assert!(
        refused
            .body
            .contains("ne peut pas passer au statut « validé »")
    );
    // Validating an open campaign is refused, nothing changed.
    let entries = s.store.audit_len().await.unwrap();
    let validate = format!("/admin/enquetes/{id}/valider");
    let open = post(&s, &stat, &validate, &[]).await;
    assert_eq!(open.status, 409);
    assert!(
        open.body.contains("Impossible de valider la campagne"),
        "{}",
        open.body
    );
    assert_eq!(s.store.audit_len().await.unwrap(), entries);
    assert_eq!(
        s.store.campaign(id).await.unwrap().state,
        CampaignState::Open
    );

    // Reopening needs its reason, and is kept in the history.
    let reopen = post(
        &s,
        &stat,
        &status,
        &[
            ("code", "AV-3"),
            ("statut", "in_progress"),
            ("motif", "date à préciser"),
        ],
    )
    .await;
    assert_eq!(reopen.status, 303, "{}", reopen.body);
    let events = s.store.status_events(id, "AV-3").await.unwrap();
    assert_eq!(events.last().unwrap().status, ResponseStatus::InProgress);
    assert_eq!(events.last().unwrap().set_by, "sophie");

    // A respondent in the portal when the collection closes can no longer save.
    let portal = s.get("/enquetes", None).await;
    let login_csrf = portal.cookie("justat_login_csrf").unwrap();
    let entered = s
        .post(
            "/enquetes",
            Some(&format!("justat_login_csrf={login_csrf}")),
            &[("csrf", &portal.csrf()), ("code", &codes["AV-2"])],
        )
        .await;
    assert_eq!(entered.status, 303, "{}", entered.body);
    let cookie = format!(
        "justat_enquete={}",
        entered.cookie("justat_enquete").unwrap()
    );
    let form_page = s.get("/enquetes/page/1", Some(&cookie)).await;
    let portal_csrf = form_page.csrf();
    let closed = post(&s, &stat, &format!("/admin/enquetes/{id}/clore"), &[]).await;
    assert_eq!(closed.status, 303, "{}", closed.body);
    assert_eq!(
        s.store.campaign(id).await.unwrap().state,
        CampaignState::Closed
    );
    let late = s
        .post(
            "/enquetes/page/1",
            Some(&cookie),
            &[
                ("csrf", portal_csrf.as_str()),
                ("bav_actif", "non"),
                ("motif_inactivite", "VACANCE"),
                ("action", "enregistrer"),
            ],
        )
        .await;
    assert_ne!(late.status, 303, "{}", late.body);
    let kept = s.store.unit_answers(id, "AV-2").await.unwrap();
    assert!(!kept.iter().any(|a| a.path == "motif_inactivite"));

    // Imputation, then validation; a validated campaign's answers no longer change.
    let imputed = post(&s, &stat, &format!("/admin/enquetes/{id}/imputer"), &[]).await;
    assert_eq!(imputed.status, 303, "{}", imputed.body);
    for code in ["AV-2", "AV-3"] {
        let answers = s.store.unit_answers(id, code).await.unwrap();
        let cell = answers
            .iter()
            .find(|a| a.path == "victimes.G_BIENS.F")
            .unwrap();
        assert_eq!(cell.imputation_method.as_deref(), Some("stratum_median"));
        assert_eq!(
            cell.imputed,
            Some(serde_json::to_value(Answer::Integer(120)).unwrap())
        );
    }
    let unit_page = s.get(&unit(id, "AV-2"), Some(&stat.cookie)).await;
    assert!(unit_page.body.contains("imputée : médiane de la strate"));
    let valid = post(&s, &stat, &validate, &[]).await;
    assert_eq!(valid.status, 303);
    let after = post(&s, &stat, &edit, &form("encore", "121")).await;
    assert_eq!(after.status, 409);
    assert!(after.body.contains("La campagne est validée"));
    assert_eq!(s.store.answer_edits(id, "AV-1").await.unwrap().len(), 1);
    let again = post(&s, &stat, &validate, &[]).await;
    assert_eq!(again.status, 409);
    s.stop().await;
}

fn justat_cli(data: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(crate::harness::justat_binary())
        .args(args)
        .env("JUSTAT_DATA_DIR", data)
        .env("JUSTAT_SURVEYS_DIR", surveys_dir())
        .env_remove("JUSTAT_DATABASE_URL")
        .env_remove("JUSTAT_MIGRATE_DATABASE_URL")
        .env_remove("JUSTAT_CONFIG")
        .env("JUSTAT_LOG", "warn")
        .env("USER", "marc")
        .current_dir(data)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_command_line_follows_and_acts_on_a_campaign() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_and_migrate(&justat_store::sqlite_url(dir.path()))
        .await
        .unwrap();
    let (id, _) = answered(&store).await;
    store.close().await;
    let id = id.to_string();
    let data = dir.path();

    let (ok, out, err) = justat_cli(data, &["survey", "list"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("bav-2025") && out.contains("open") && out.contains("66.7 %"),
        "{out}"
    );
    let (ok, out, err) = justat_cli(data, &["survey", "status", &id]);
    assert!(ok, "{err}");
    assert!(out.contains("2 of 3 units in scope responded"), "{out}");
    assert!(out.contains("BY UNIT KIND") && out.contains("association"));
    let file = data.join("relances.csv");
    let (ok, _, err) = justat_cli(
        data,
        &[
            "survey",
            "non-respondents",
            &id,
            "--output",
            file.to_str().unwrap(),
        ],
    );
    assert!(ok, "{err}");
    let csv = std::fs::read_to_string(&file).unwrap();
    assert_eq!(csv.lines().count(), 2);
    assert!(csv.lines().nth(1).unwrap().starts_with("AV-2,"));

    // Refused in French, nothing changed.
    let (ok, _, err) = justat_cli(data, &["survey", "validate", &id]);
    assert!(!ok);
    assert!(err.contains("Impossible de valider la campagne"), "{err}");
    let (ok, _, err) = justat_cli(data, &["survey", "impute", &id]);
    assert!(!ok && err.contains("Impossible d"), "{err}");

    let (ok, out, err) = justat_cli(
        data,
        &[
            "survey",
            "reopen",
            &id,
            "AV-3",
            "--reason",
            "date à préciser",
        ],
    );
    assert!(ok, "{err}");
    assert!(out.contains("in_progress"));
    // A lost letter: a new code is printed, and it opens the unit's saved answers.
    let (ok, out, err) = justat_cli(data, &["survey", "reissue-code", &id, "AV-3"]);
    assert!(ok, "{err}");
    let new_code = out.lines().last().unwrap_or_default().trim().to_string();
    assert_eq!(new_code.len(), 24, "{out}");
    let (ok, _, err) = justat_cli(data, &["survey", "reissue-code", &id, "AV-404"]);
    assert!(!ok && !err.is_empty(), "an unknown unit is refused");
    let (ok, _, err) = justat_cli(data, &["survey", "close", &id]);
    assert!(ok, "{err}");
    let (ok, out, err) = justat_cli(data, &["survey", "impute", &id]);
    assert!(ok, "{err}");
    assert!(out.contains("for 2 unit(s)"), "{out}");
    let (ok, out, err) = justat_cli(data, &["survey", "validate", &id]);
    assert!(ok, "{err}");
    assert!(out.contains("validated"));
    let (ok, out, _) = justat_cli(data, &["survey", "list", "--json"]);
    assert!(ok && out.contains("\"state\": \"validated\""), "{out}");

    let store = Store::open(&justat_store::sqlite_url(dir.path()))
        .await
        .unwrap();
    let events = store
        .status_events(id.parse().unwrap(), "AV-3")
        .await
        .unwrap();
    assert_eq!(events.last().unwrap().reason, "date à préciser");
    assert_eq!(events.last().unwrap().set_by, "cli:marc");
    let granted = store
        .respondent_by_code(
            &new_code,
            "192.0.2.10",
            &ThrottlePolicy::per_ip(),
            Timestamp::now(),
        )
        .await
        .unwrap();
    assert!(
        matches!(&granted, CodeOutcome::Granted(who) if who.unit_code() == "AV-3"),
        "the reissued code opens its unit"
    );
    store.close().await;
}
