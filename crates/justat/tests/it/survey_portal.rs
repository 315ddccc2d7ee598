//! The respondent portal over HTTP: access codes, the portal session, pages with their
//! filters and controls, save and resume, submission, and the acknowledgement of receipt.

use crate::harness::{Reply, Server};
use jiff::{SignedDuration, Timestamp};
use justat_model::survey::{CampaignState, UnitKind};
use justat_store::{Actor, LegalStanding, NewCampaign, Store};
use justat_web::WebConfig;
use std::collections::BTreeMap;

/// The repository's questionnaires.
pub fn surveys_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../surveys")
}

/// The fixture: three associations sampled in an open campaign of the `bav-2025`
/// questionnaire (its file's digest recorded), with their access codes by unit code.
pub async fn bav_campaign(store: &Store) -> (i64, BTreeMap<String, String>) {
    let actor = Actor::user("sophie");
    let now = Timestamp::now();
    let csv = "type,code,nom,cour_appel,adresse,contact_nom,contact_fonction,contact_courriel,contact_adresse\n\
               association,AV-1,Association Un,,1 rue A,Marie Un,Directrice,marie@un.fr,\n\
               association,AV-2,Association Deux,,2 rue B,Paul Deux,Juriste,paul@deux.fr,\n\
               association,AV-3,Association Trois,,,,,,\n";
    store
        .import_units_csv("unites.csv", csv.as_bytes(), &actor, now)
        .await
        .unwrap();
    let file = std::fs::read(surveys_dir().join("bav-2025.toml")).unwrap();
    let c = store
        .create_campaign(
            &NewCampaign {
                survey_id: "bav-2025".into(),
                period: "2025".into(),
                title: "Activité des bureaux d’aide aux victimes".into(),
                questionnaire_version: "1".into(),
                questionnaire_sha256: justat_model::Sha256Hex::of(&file),
                legal: LegalStanding {
                    cnis_avis_date: Some("2025-03-12".parse().unwrap()),
                    cnis_avis_reference: Some("n° 2025-45".into()),
                    label: Some("conformité".into()),
                    visa_number: Some("2026X004JU".into()),
                    visa_year: Some(2026),
                    mandatory: true,
                },
                opens_at: now - SignedDuration::from_hours(24),
                closes_at: now + SignedDuration::from_hours(24 * 30),
                reminder_days: vec![14],
            },
            &actor,
            now,
        )
        .await
        .unwrap();
    store
        .sample_all_of_kind(c.id, UnitKind::Association, &actor, now)
        .await
        .unwrap();
    let codes = store
        .issue_access_codes(c.id, &actor, now)
        .await
        .unwrap()
        .into_iter()
        .map(|i| (i.unit_code, i.code.as_str().to_string()))
        .collect();
    store
        .set_campaign_state(c.id, CampaignState::Open, &actor, now)
        .await
        .unwrap();
    (c.id, codes)
}

fn config() -> WebConfig {
    WebConfig {
        surveys_dir: surveys_dir(),
        ..WebConfig::default()
    }
}

/// A respondent's browser: the portal cookie and its CSRF token.
struct Respondent {
    cookie: String,
    csrf: String,
}

async fn try_code(s: &Server, code: &str) -> Reply {
    let form = s.get("/enquetes", None).await;
    assert_eq!(form.status, 200, "{}", form.body);
    let login_csrf = form.cookie("justat_login_csrf").unwrap();
    s.post(
        "/enquetes",
        Some(&format!("justat_login_csrf={login_csrf}")),
        &[("csrf", &form.csrf()), ("code", code)],
    )
    .await
}

async fn enter(s: &Server, code: &str) -> Respondent {
    let r = try_code(s, code).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location(), "/enquetes/questionnaire");
    let set = r
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("justat_enquete="))
        .unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    let cookie = format!("justat_enquete={}", r.cookie("justat_enquete").unwrap());
    let home = s.get("/enquetes/questionnaire", Some(&cookie)).await;
    assert_eq!(home.status, 200, "{}", home.body);
    Respondent {
        csrf: home.csrf(),
        cookie,
    }
}

impl Respondent {
    async fn post(&self, s: &Server, path: &str, form: &[(&str, &str)]) -> Reply {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(form);
        s.post(path, Some(&self.cookie), &all).await
    }

    async fn get(&self, s: &Server, path: &str) -> Reply {
        s.get(path, Some(&self.cookie)).await
    }
}

const PAGE1_SHOWN_ACTIVE: &str = "bav_actif date_convention etp demi_journees";

#[tokio::test]
async fn a_code_opens_only_its_unit_with_the_legal_notice_first() {
    let s = Server::start_with(config()).await;
    let (_, codes) = bav_campaign(&s.store).await;
    let wrong = try_code(&s, "AAAA-BBBB-CCCC-DDDD-EE").await;
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert!(wrong.body.contains("n’est pas reconnu"));
    assert!(wrong.cookie("justat_enquete").is_none());

    let one = enter(&s, &codes["AV-1"]).await;
    let home = one.get(&s, "/enquetes/questionnaire").await;
    assert!(home.body.contains("Association Un"));
    assert!(!home.body.contains("Association Deux"));
    assert!(home.body.contains("Mentions légales"));
    assert!(
        home.body.contains("2026X004JU"),
        "the visa is in the notice"
    );
    let saved = one
        .post(
            &s,
            "/enquetes/page/1",
            &[
                ("bav_actif", "non"),
                ("motif_inactivite", "LOCAUX"),
                ("action", "enregistrer"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    // The second unit sees its own, blank, questionnaire; its cookie is no key to the first.
    let two = enter(&s, &codes["AV-2"].to_lowercase()).await;
    let page = two.get(&s, "/enquetes/page/1").await;
    assert!(page.body.contains("Association Deux"));
    assert!(!page.body.contains("value=\"LOCAUX\" checked"));
    let page = one.get(&s, "/enquetes/page/1").await;
    assert!(
        page.body.contains("value=\"LOCAUX\" checked"),
        "{}",
        page.body
    );
    // A POST without the session's CSRF token is refused.
    let forged = s
        .post(
            "/enquetes/page/1",
            Some(&two.cookie),
            &[("csrf", &one.csrf), ("bav_actif", "oui")],
        )
        .await;
    assert_eq!(forged.status, 403);
    assert_eq!(
        s.get("/enquetes/questionnaire", None).await.location(),
        "/enquetes"
    );
}

#[tokio::test]
async fn a_closed_campaign_refuses_the_code() {
    let s = Server::start_with(config()).await;
    let (campaign, codes) = bav_campaign(&s.store).await;
    s.store
        .set_campaign_state(
            campaign,
            CampaignState::Closed,
            &Actor::user("sophie"),
            Timestamp::now(),
        )
        .await
        .unwrap();
    let r = try_code(&s, &codes["AV-1"]).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("est close"), "{}", r.body);
    assert!(r.cookie("justat_enquete").is_none());
}

#[tokio::test]
async fn a_changed_questionnaire_file_is_refused_with_a_clear_page() {
    let dir = tempfile::tempdir().unwrap();
    let edited = std::fs::read_to_string(surveys_dir().join("bav-2025.toml"))
        .unwrap()
        .replace("quinzaine de minutes", "vingtaine de minutes");
    std::fs::write(dir.path().join("bav-2025.toml"), edited).unwrap();
    let s = Server::start_with(WebConfig {
        surveys_dir: dir.path().to_path_buf(),
        ..WebConfig::default()
    })
    .await;
    let (_, codes) = bav_campaign(&s.store).await;
    let r = try_code(&s, &codes["AV-1"]).await;
    let cookie = format!("justat_enquete={}", r.cookie("justat_enquete").unwrap());
    let home = s.get("/enquetes/questionnaire", Some(&cookie)).await;
    assert_eq!(home.status, 503);
    assert!(home.body.contains("empreinte SHA-256"), "{}", home.body);
}

#[tokio::test]
async fn a_blocking_control_stops_the_page_and_a_warning_kept_is_remembered() {
    let s = Server::start_with(config()).await;
    let (_, codes) = bav_campaign(&s.store).await;
    let r = enter(&s, &codes["AV-1"]).await;
    // Yes reveals the page's other questions: the page is shown again with them.
    let first = r
        .post(
            &s,
            "/enquetes/page/1",
            &[
                ("bav_actif", "oui"),
                ("shown", "bav_actif motif_inactivite"),
                ("action", "suivant"),
            ],
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert!(first.body.contains("name=\"etp\""));
    assert!(!first.body.contains("name=\"motif_inactivite\""));
    // Required answers missing, and a warning: the page stops with every message.
    let blocked = r
        .post(
            &s,
            "/enquetes/page/1",
            &[
                ("bav_actif", "oui"),
                ("etp", "0,2"),
                ("demi_journees", "9"),
                ("shown", PAGE1_SHOWN_ACTIVE),
                ("action", "suivant"),
            ],
        )
        .await;
    assert_eq!(blocked.status, 422, "{}", blocked.body);
    assert!(blocked.body.contains("vérifiez ces deux réponses"));
    assert!(blocked.body.contains("Corriger ma réponse"));
    // « Poursuivre »: the page lets them on, and the choice is kept.
    let on = r
        .post(
            &s,
            "/enquetes/page/1",
            &[
                ("bav_actif", "oui"),
                ("etp", "0,2"),
                ("demi_journees", "9"),
                ("c_ouverture_effectif!continue", "1"),
                ("shown", PAGE1_SHOWN_ACTIVE),
                ("action", "suivant"),
            ],
        )
        .await;
    assert_eq!(on.status, 303, "{}", on.body);
    assert_eq!(on.location(), "/enquetes/page/2");
    let back = r.get(&s, "/enquetes/page/1").await;
    assert!(
        back.body
            .contains("name=\"c_ouverture_effectif!continue\" value=\"1\" checked"),
        "{}",
        back.body
    );
    // A blocking control: more minors than victims.
    let mut cells: Vec<(String, String)> = Vec::new();
    for row in [
        "G_PERSONNE",
        "G_BIENS",
        "G_CIRCULATION",
        "G_AUTORITE",
        "G_STUPEFIANTS",
        "G_ECOFI",
        "G_ENVIRONNEMENT",
    ] {
        for col in ["F", "M"] {
            cells.push((format!("victimes.{row}.{col}"), "1".into()));
        }
    }
    let mut form: Vec<(&str, &str)> = cells
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    form.extend([
        ("victimes_mineures", "50"),
        ("shown", "victimes victimes_mineures"),
        ("action", "suivant"),
    ]);
    let stopped = r.post(&s, "/enquetes/page/2", &form).await;
    assert_eq!(stopped.status, 422, "{}", stopped.body);
    assert!(
        stopped
            .body
            .contains("ne peut pas dépasser le nombre total")
    );
    assert!(stopped.body.contains("<caption>Nombre de victimes reçues"));
    assert!(
        stopped
            .body
            .contains("<th scope=\"row\">Atteintes aux biens</th>")
    );
    // A value that does not read is shown again, with its message, and nothing is saved.
    let bad = r
        .post(
            &s,
            "/enquetes/page/2",
            &[("victimes_mineures", "beaucoup"), ("action", "enregistrer")],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("value=\"beaucoup\""));
    let kept = r.get(&s, "/enquetes/page/2").await;
    assert!(
        kept.body
            .contains("name=\"victimes_mineures\" value=\"50\""),
        "{}",
        kept.body
    );
}

#[tokio::test]
async fn answers_saved_survive_leaving_and_coming_back() {
    let s = Server::start_with(config()).await;
    let (_, codes) = bav_campaign(&s.store).await;
    let r = enter(&s, &codes["AV-3"]).await;
    let saved = r
        .post(
            &s,
            "/enquetes/page/1",
            &[
                ("bav_actif", "non"),
                ("motif_inactivite", "VACANCE"),
                ("action", "enregistrer"),
            ],
        )
        .await;
    assert_eq!(saved.location(), "/enquetes/page/1?enregistre=1");
    let left = r.post(&s, "/enquetes/quitter", &[]).await;
    assert_eq!(left.status, 303);
    assert!(
        left.set_cookies()
            .iter()
            .any(|c| c.starts_with("justat_enquete=;") && c.contains("Max-Age=0"))
    );
    // The old cookie opens nothing any more.
    let stale = r.get(&s, "/enquetes/page/1").await;
    assert_eq!(stale.status, 303);
    assert!(stale.location().starts_with("/enquetes"));
    let again = enter(&s, &codes["AV-3"]).await;
    let page = again.get(&s, "/enquetes/page/1").await;
    assert!(
        page.body.contains("value=\"VACANCE\" checked"),
        "{}",
        page.body
    );
    assert!(page.body.contains("value=\"non\" checked"));
}

#[tokio::test]
async fn submitted_answers_are_read_only_and_the_acknowledgement_is_downloaded() {
    let dir = tempfile::tempdir().unwrap();
    let surveys = surveys_dir();
    let s = Server::serve_process_with(
        dir.path(),
        &[("JUSTAT_SURVEYS_DIR", surveys.to_str().unwrap())],
    )
    .await;
    let (_, codes) = bav_campaign(&s.store).await;
    let r = enter(&s, &codes["AV-2"]).await;
    let p1 = r
        .post(
            &s,
            "/enquetes/page/1",
            &[
                ("bav_actif", "non"),
                ("motif_inactivite", "LOCAUX"),
                ("shown", "bav_actif motif_inactivite"),
                ("action", "suivant"),
            ],
        )
        .await;
    assert_eq!(p1.location(), "/enquetes/page/2", "{}", p1.body);
    let review = r.get(&s, "/enquetes/recapitulatif").await;
    assert!(
        review.body.contains("Locaux indisponibles"),
        "{}",
        review.body
    );
    assert!(review.body.contains("Envoyer mes réponses"));
    let sent = r.post(&s, "/enquetes/envoi", &[]).await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    assert_eq!(sent.location(), "/enquetes/accuse-de-reception");
    // Read-only from now on.
    let late = r
        .post(
            &s,
            "/enquetes/page/1",
            &[("bav_actif", "oui"), ("action", "enregistrer")],
        )
        .await;
    assert_eq!(late.status, 409, "{}", late.body);
    assert!(late.body.contains("ne peuvent plus être modifiées"));
    let page = r.get(&s, "/enquetes/page/1").await;
    assert!(page.body.contains(" disabled>"), "the form is disabled");
    // The job runner typesets the acknowledgement; the page waits for it, then serves it.
    let mut pdf = None;
    for _ in 0..120 {
        let got = s
            .client
            .get(format!("{}/enquetes/accuse-de-reception", s.base))
            .header("cookie", &r.cookie)
            .send()
            .await
            .unwrap();
        if got.status() == 200 {
            assert_eq!(got.headers()["content-type"], "application/pdf");
            pdf = Some(got.bytes().await.unwrap());
            break;
        }
        assert_eq!(got.status(), 202, "{}", got.text().await.unwrap());
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    let pdf = pdf.expect("the acknowledgement is made within a minute");
    assert!(pdf.starts_with(b"%PDF"));
    let file = dir.path().join("accuse.pdf");
    std::fs::write(&file, &pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg(&file)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is installed");
    let text = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(text.contains("Association Deux (AV-2)"), "{text}");
    assert!(text.contains("Locaux indisponibles"), "{text}");
}

#[tokio::test]
async fn a_lost_code_is_replaced_by_a_new_one_that_finds_the_answers_saved() {
    let s = Server::start_with(WebConfig {
        survey_contact: "enquetes@justice.example".into(),
        ..config()
    })
    .await;
    // The code page says how to get a new code, and where to write.
    let form = s.get("/enquetes", None).await;
    assert!(form.body.contains("Code perdu ou oublié"), "{}", form.body);
    assert!(
        form.body
            .contains("à l’adresse <strong>enquetes@justice.example</strong>"),
        "{}",
        form.body
    );
    let without = Server::start_with(config()).await;
    let form = without.get("/enquetes", None).await;
    assert!(
        form.body
            .contains("à l’adresse indiquée sur votre courrier d’invitation"),
        "{}",
        form.body
    );

    let (campaign, codes) = bav_campaign(&s.store).await;
    let one = enter(&s, &codes["AV-1"]).await;
    let saved = one
        .post(
            &s,
            "/enquetes/page/1",
            &[("bav_actif", "non"), ("action", "enregistrer")],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    // The statistician reissues it: the old code stops working, the new one finds the answers.
    let new = s
        .store
        .reissue_access_code(campaign, "AV-1", &Actor::user("sophie"), Timestamp::now())
        .await
        .unwrap();
    assert_eq!(try_code(&s, &codes["AV-1"]).await.status, 401);
    let again = enter(&s, new.code.as_str()).await;
    let page = again.get(&s, "/enquetes/page/1").await;
    assert!(page.body.contains("value=\"non\" checked"), "{}", page.body);
}
