//! Surveys: the register and its CSV import, campaigns, access codes, answers, statuses,
//! edits, imputation, reminders, follow-up and the erasure of contacts.

use crate::harness::{TestDb, now};
use jiff::{SignedDuration, Timestamp};
use justat_model::ThrottlePolicy;
use justat_model::survey::{CampaignState, ResponseStatus, SampleMethod, UnitKind};
use justat_store::surveys::{Respondent, SampledUnit};
use justat_store::{
    Actor, CodeOutcome, CodeRefusal, LegalStanding, NewCampaign, PageSave, ReminderClaim,
    StoreError,
};
use serde_json::json;
use sqlx::Executor;
use std::collections::BTreeMap;

const HEADER: &str = "type,code,nom,cour_appel,adresse,contact_nom,contact_fonction,contact_courriel,contact_adresse\n";

fn stat() -> Actor {
    Actor::user("sophie")
}

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn new_campaign(survey: &str) -> NewCampaign {
    NewCampaign {
        survey_id: survey.into(),
        period: "2025".into(),
        title: "Enquête auprès des bureaux d'aide aux victimes".into(),
        questionnaire_version: "1".into(),
        questionnaire_sha256: justat_model::Sha256Hex::of(b"questionnaire"),
        legal: LegalStanding {
            cnis_avis_date: Some("2025-03-12".parse().unwrap()),
            cnis_avis_reference: Some("n° 2025-45".into()),
            label: Some("conformité".into()),
            visa_number: Some("2026X004JU".into()),
            visa_year: Some(2026),
            mandatory: true,
        },
        opens_at: at("2026-12-01T08:00:00Z"),
        closes_at: at("2027-01-31T23:00:00Z"),
        reminder_days: vec![14, 28],
    }
}

/// Three associations with contacts, a campaign sampling them, open, with their codes.
async fn open_campaign(db: &TestDb) -> (i64, BTreeMap<String, String>) {
    let csv = format!(
        "{HEADER}association,AV-1,Association Un,,1 rue A,Marie Un,Directrice,marie@un.fr,\n\
         association,AV-2,Association Deux,,2 rue B,Paul Deux,Juriste,paul@deux.fr,\n\
         association,AV-3,Association Trois,,,,,,\n"
    );
    db.store
        .import_units_csv("unites.csv", csv.as_bytes(), &stat(), now())
        .await
        .unwrap();
    let c = db
        .store
        .create_campaign(&new_campaign("BAV"), &stat(), now())
        .await
        .unwrap();
    assert_eq!(
        db.store
            .sample_all_of_kind(c.id, UnitKind::Association, &stat(), now())
            .await
            .unwrap(),
        3
    );
    let codes = db
        .store
        .issue_access_codes(c.id, &stat(), now())
        .await
        .unwrap()
        .into_iter()
        .map(|i| (i.unit_code, i.code.as_str().to_string()))
        .collect();
    db.store
        .set_campaign_state(c.id, CampaignState::Open, &stat(), now())
        .await
        .unwrap();
    (c.id, codes)
}

async fn respondent(db: &TestDb, code: &str, when: Timestamp) -> Respondent {
    match db
        .store
        .respondent_by_code(code, "192.0.2.1", &ThrottlePolicy::per_ip(), when)
        .await
        .unwrap()
    {
        CodeOutcome::Granted(r) => r,
        other => panic!("{other:?}"),
    }
}

fn page(page: &str, answers: serde_json::Value, kept: &[&str]) -> PageSave {
    PageSave {
        session: "s1".into(),
        page: page.into(),
        seconds_spent: 42,
        answers: serde_json::from_value(answers).unwrap(),
        kept_warnings: kept.iter().map(|s| s.to_string()).collect(),
    }
}

const DURING: &str = "2026-12-05T10:00:00Z";

async fn a_code_reads_only_its_own_unit(db: &TestDb) {
    let (campaign, codes) = open_campaign(db).await;
    assert_eq!(codes.len(), 3);
    let one = respondent(db, &codes["AV-1"], at(DURING)).await;
    let two = respondent(db, &codes["AV-2"].to_lowercase(), at(DURING)).await;
    assert_eq!((one.unit_code(), two.unit_code()), ("AV-1", "AV-2"));
    assert_eq!(one.campaign_id(), campaign);
    db.store
        .save_answers(&one, &page("p1", json!({"q1": 12}), &[]), at(DURING))
        .await
        .unwrap();
    db.store
        .save_answers(
            &two,
            &page("p1", json!({"q1": 99, "q2": "x"}), &[]),
            at(DURING),
        )
        .await
        .unwrap();
    let mine = db.store.respondent_answers(&one).await.unwrap();
    assert_eq!(mine, BTreeMap::from([("q1".to_string(), json!(12))]));
    let theirs = db.store.respondent_answers(&two).await.unwrap();
    assert_eq!(theirs.len(), 2);
    // Only digests are stored: no column holds a code as printed.
    let raw = db.raw().await;
    let stored: Vec<(String,)> = sqlx::query_as("SELECT code_sha256 FROM survey_sample")
        .fetch_all(&raw)
        .await
        .unwrap();
    raw.close().await;
    for (digest,) in &stored {
        assert_eq!(digest.len(), 64);
        assert!(codes.values().all(|c| !c.contains(digest.as_str())));
    }
    // A wrong code is refused, and guessing is slowed down per address.
    let mut refusals = vec![];
    for _ in 0..11 {
        refusals.push(
            db.store
                .respondent_by_code(
                    "AAAA-BBBB-CCCC-DDDD-EEEE",
                    "198.51.100.7",
                    &ThrottlePolicy::per_ip(),
                    at(DURING),
                )
                .await
                .unwrap(),
        );
    }
    assert!(
        refusals[..10]
            .iter()
            .all(|r| *r == CodeOutcome::Refused(CodeRefusal::Unknown))
    );
    assert!(
        matches!(
            refusals[10],
            CodeOutcome::Refused(CodeRefusal::WaitUntil(_))
        ),
        "{:?}",
        refusals[10]
    );
    // Even the right code waits while the address is slowed down.
    let slowed = db
        .store
        .respondent_by_code(
            &codes["AV-1"],
            "198.51.100.7",
            &ThrottlePolicy::per_ip(),
            at(DURING),
        )
        .await
        .unwrap();
    assert!(matches!(
        slowed,
        CodeOutcome::Refused(CodeRefusal::WaitUntil(_))
    ));
    // A reissued code replaces the old one.
    let new = db
        .store
        .reissue_access_code(campaign, "AV-1", &stat(), now())
        .await
        .unwrap();
    let old = db
        .store
        .respondent_by_code(
            &codes["AV-1"],
            "192.0.2.9",
            &ThrottlePolicy::per_ip(),
            at(DURING),
        )
        .await
        .unwrap();
    assert_eq!(old, CodeOutcome::Refused(CodeRefusal::Unknown));
    assert_eq!(
        respondent(db, new.code.as_str(), at(DURING))
            .await
            .unit_code(),
        "AV-1"
    );
}

async fn a_closed_campaign_refuses_answers(db: &TestDb) {
    let (campaign, codes) = open_campaign(db).await;
    let one = respondent(db, &codes["AV-1"], at(DURING)).await;
    // Before the opening instant.
    let early = db
        .store
        .save_answers(
            &one,
            &page("p1", json!({"q1": 1}), &[]),
            at("2026-11-30T08:00:00Z"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(early, StoreError::CampaignNotOpen { .. }),
        "{early}"
    );
    // After the closing instant, even while the state is still open.
    let late = db
        .store
        .save_answers(
            &one,
            &page("p1", json!({"q1": 1}), &[]),
            at("2027-02-01T08:00:00Z"),
        )
        .await
        .unwrap_err();
    assert!(matches!(late, StoreError::CampaignClosed { .. }), "{late}");
    db.store
        .save_answers(&one, &page("p1", json!({"q1": 1}), &[]), at(DURING))
        .await
        .unwrap();
    db.store
        .set_campaign_state(campaign, CampaignState::Closed, &stat(), at(DURING))
        .await
        .unwrap();
    for result in [
        db.store
            .save_answers(&one, &page("p1", json!({"q1": 2}), &[]), at(DURING))
            .await
            .map(|_| ()),
        db.store.submit_answers(&one, at(DURING)).await.map(|_| ()),
    ] {
        let err = result.unwrap_err();
        assert!(matches!(err, StoreError::CampaignClosed { .. }), "{err}");
        assert!(err.to_string().contains("BAV 2025 is closed"), "{err}");
    }
    assert_eq!(
        db.store.respondent_answers(&one).await.unwrap()["q1"],
        json!(1)
    );
}

async fn answers_are_saved_many_times_submitted_then_read_only_until_reopened(db: &TestDb) {
    let (campaign, codes) = open_campaign(db).await;
    let one = respondent(db, &codes["AV-1"], at(DURING)).await;
    let first = db
        .store
        .save_answers(
            &one,
            &page(
                "p1",
                json!({"q1": 5, "victimes.G_BIENS.F": 3}),
                &["q1-CI-0"],
            ),
            at(DURING),
        )
        .await
        .unwrap();
    assert_eq!(first.status, ResponseStatus::InProgress);
    assert_eq!(first.changed_paths, ["q1", "victimes.G_BIENS.F"]);
    let second = db
        .store
        .save_answers(
            &one,
            &page("p1", json!({"q1": 6, "victimes.G_BIENS.F": 3}), &[]),
            at("2026-12-05T10:05:00Z"),
        )
        .await
        .unwrap();
    assert_eq!(second.changed_paths, ["q1"]);
    assert_eq!(
        db.store.respondent_answers(&one).await.unwrap()["q1"],
        json!(6)
    );
    // The second save took the warning back.
    assert!(
        db.store
            .respondent_kept_warnings(&one)
            .await
            .unwrap()
            .is_empty()
    );
    db.store
        .save_answers(
            &one,
            &page("p2", json!({"services[2].effectif": 4}), &["p2-W"]),
            at(DURING),
        )
        .await
        .unwrap();
    assert_eq!(
        db.store.respondent_kept_warnings(&one).await.unwrap(),
        [("p2".to_string(), "p2-W".to_string())]
    );
    let bad = db
        .store
        .save_answers(&one, &page("p1", json!({"3q": 1}), &[]), at(DURING))
        .await
        .unwrap_err();
    assert!(
        bad.to_string().contains("`3q` is not a question path"),
        "{bad}"
    );
    let paradata = db.store.paradata(campaign, "AV-1").await.unwrap();
    assert_eq!(paradata.len(), 3);
    assert_eq!(paradata[0].kept_warnings, ["q1-CI-0"]);
    assert_eq!(paradata[1].changed_paths, ["q1"]);
    assert_eq!(paradata[1].seconds, 42);

    db.store.submit_answers(&one, at(DURING)).await.unwrap();
    let locked = db
        .store
        .save_answers(&one, &page("p1", json!({"q1": 7}), &[]), at(DURING))
        .await
        .unwrap_err();
    assert!(
        matches!(
            locked,
            StoreError::ResponseLocked {
                status: ResponseStatus::Submitted,
                ..
            }
        ),
        "{locked}"
    );
    assert!(db.store.submit_answers(&one, at(DURING)).await.is_err());
    let refused = db
        .store
        .reopen_response(campaign, "AV-1", " ", &stat(), at(DURING))
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("reason"), "{refused}");
    db.store
        .reopen_response(
            campaign,
            "AV-1",
            "erreur signalée par téléphone",
            &stat(),
            at(DURING),
        )
        .await
        .unwrap();
    db.store
        .save_answers(&one, &page("p1", json!({"q1": 7}), &[]), at(DURING))
        .await
        .unwrap();
    let events = db.store.status_events(campaign, "AV-1").await.unwrap();
    let path: Vec<(ResponseStatus, &str)> = events
        .iter()
        .map(|e| (e.status, e.set_by.as_str()))
        .collect();
    assert_eq!(
        path,
        [
            (ResponseStatus::InProgress, "respondent"),
            (ResponseStatus::Submitted, "respondent"),
            (ResponseStatus::InProgress, "sophie"),
        ]
    );
    assert_eq!(events[2].reason, "erreur signalée par téléphone");
    let audit = db.store.audit_page(None, 200).await.unwrap();
    assert!(audit.iter().any(
        |e| e.action == "survey.status" && e.object == format!("campaign/{campaign}/unit/AV-1")
    ));
    // A respondent cannot validate, and the events are append-only.
    let raw = db.raw_as_store().await;
    let err = raw
        .execute("UPDATE survey_status_events SET reason = 'x'")
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("append-only") || err.to_string().contains("permission denied"),
        "{err}"
    );
    raw.close().await;
}

async fn edits_keep_the_collected_value(db: &TestDb) {
    let (campaign, codes) = open_campaign(db).await;
    let one = respondent(db, &codes["AV-1"], at(DURING)).await;
    db.store
        .save_answers(&one, &page("p1", json!({"q1": 5000}), &[]), at(DURING))
        .await
        .unwrap();
    let early = db
        .store
        .edit_answer(
            campaign,
            "AV-1",
            "q1",
            &json!(500),
            "saisie",
            &stat(),
            at(DURING),
        )
        .await
        .unwrap_err();
    assert!(
        early.to_string().contains("only a submitted response"),
        "{early}"
    );
    db.store.submit_answers(&one, at(DURING)).await.unwrap();
    let edited = db
        .store
        .edit_answer(
            campaign,
            "AV-1",
            "q1",
            &json!(500),
            "un zéro de trop, confirmé par le greffe",
            &stat(),
            at(DURING),
        )
        .await
        .unwrap();
    assert_eq!(edited.collected, Some(json!(5000)));
    assert_eq!(edited.edited, Some(json!(500)));
    assert_eq!(edited.value(), Some(&json!(500)));
    db.store
        .edit_answer(
            campaign,
            "AV-1",
            "q1",
            &json!(501),
            "seconde relecture",
            &stat(),
            at(DURING),
        )
        .await
        .unwrap();
    let edits = db.store.answer_edits(campaign, "AV-1").await.unwrap();
    assert_eq!(edits.len(), 2);
    assert_eq!(edits[1].collected, Some(json!(5000)));
    assert_eq!(edits[1].previous, Some(json!(500)));
    assert_eq!(edits[1].edited, json!(501));
    assert_eq!(edits[1].edited_by, "sophie");
    assert_eq!(edits[0].reason, "un zéro de trop, confirmé par le greffe");
    // The respondent still sees what they gave.
    assert_eq!(
        db.store.respondent_answers(&one).await.unwrap()["q1"],
        json!(5000)
    );
    // Imputation: a non-respondent of a closed campaign, flagged with its method.
    let refused = db
        .store
        .record_imputed(
            campaign,
            "AV-2",
            &BTreeMap::from([("q1".to_string(), json!(40))]),
            "stratum_median",
            &stat(),
            at(DURING),
        )
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("once it is closed"),
        "{refused}"
    );
    db.store
        .set_campaign_state(campaign, CampaignState::Closed, &stat(), at(DURING))
        .await
        .unwrap();
    db.store
        .record_imputed(
            campaign,
            "AV-2",
            &BTreeMap::from([("q1".to_string(), json!(40))]),
            "stratum_median",
            &stat(),
            at(DURING),
        )
        .await
        .unwrap();
    let imputed = db.store.unit_answers(campaign, "AV-2").await.unwrap();
    assert_eq!(imputed[0].imputed, Some(json!(40)));
    assert_eq!(imputed[0].collected, None);
    assert_eq!(
        imputed[0].imputation_method.as_deref(),
        Some("stratum_median")
    );
    assert!(
        db.store
            .record_imputed(
                campaign,
                "AV-1",
                &BTreeMap::from([("q1".to_string(), json!(1))]),
                "stratum_median",
                &stat(),
                at(DURING),
            )
            .await
            .is_err(),
        "a response is never imputed over"
    );
    // Validation, then nothing changes.
    db.store
        .set_response_status(
            campaign,
            "AV-1",
            ResponseStatus::Validated,
            "contrôlé",
            &stat(),
            at(DURING),
        )
        .await
        .unwrap();
    db.store
        .set_campaign_state(campaign, CampaignState::Validated, &stat(), at(DURING))
        .await
        .unwrap();
    assert!(
        db.store
            .edit_answer(
                campaign,
                "AV-1",
                "q1",
                &json!(2),
                "tard",
                &stat(),
                at(DURING)
            )
            .await
            .is_err()
    );
}

async fn a_reminder_is_recorded_once_and_only_for_non_respondents(db: &TestDb) {
    let (campaign, codes) = open_campaign(db).await;
    let day15 = at("2026-12-16T09:00:00Z");
    let day30 = at("2026-12-31T09:00:00Z");
    assert!(
        db.store
            .due_reminders(campaign, at(DURING))
            .await
            .unwrap()
            .is_empty()
    );
    let two = respondent(db, &codes["AV-2"], at(DURING)).await;
    db.store
        .save_answers(&two, &page("p1", json!({"q1": 1}), &[]), at(DURING))
        .await
        .unwrap();
    db.store.submit_answers(&two, at(DURING)).await.unwrap();
    let due: Vec<(String, u32)> = db
        .store
        .due_reminders(campaign, day15)
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.unit_code, d.number))
        .collect();
    assert_eq!(due, [("AV-1".into(), 1), ("AV-3".into(), 1)]);
    let claim = |unit: &'static str, n: u32, t: Timestamp| {
        let store = db.store.clone();
        async move {
            store
                .claim_reminder(campaign, unit, n, "email", &Actor::system(), t)
                .await
                .unwrap()
        }
    };
    assert_eq!(claim("AV-1", 1, day15).await, ReminderClaim::Claimed);
    assert_eq!(claim("AV-1", 1, day15).await, ReminderClaim::AlreadySent);
    assert_eq!(
        claim("AV-2", 1, day15).await,
        ReminderClaim::NotAwaited(ResponseStatus::Submitted)
    );
    // Concurrent decisions for the same reminder: exactly one is claimed.
    let (a, b) = tokio::join!(claim("AV-3", 1, day15), claim("AV-3", 1, day15));
    let mut both = [a, b];
    both.sort_by_key(|c| format!("{c:?}"));
    assert_eq!(both, [ReminderClaim::AlreadySent, ReminderClaim::Claimed]);
    assert!(
        db.store
            .due_reminders(campaign, day15)
            .await
            .unwrap()
            .is_empty()
    );
    let due: Vec<(String, u32)> = db
        .store
        .due_reminders(campaign, day30)
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.unit_code, d.number))
        .collect();
    assert_eq!(due, [("AV-1".into(), 2), ("AV-3".into(), 2)]);
    let progress = db.store.unit_progress(campaign).await.unwrap();
    assert_eq!(
        progress.iter().map(|p| p.reminders).collect::<Vec<_>>(),
        [1, 0, 1]
    );
    let raw = db.raw().await;
    let n: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM survey_reminders")
        .fetch_one(&raw)
        .await
        .unwrap();
    raw.close().await;
    assert_eq!(n.0, 2);
    // Follow-up: rates and non-respondents with their contacts.
    let rates = db.store.response_rates(campaign, day15).await.unwrap();
    assert_eq!((rates.total.in_scope, rates.total.responded), (3, 1));
    assert_eq!(rates.by_week.len(), 3);
    db.store
        .set_response_status(
            campaign,
            "AV-3",
            ResponseStatus::OutOfScope,
            "dissoute",
            &stat(),
            day15,
        )
        .await
        .unwrap();
    let non: Vec<(String, Vec<String>)> = db
        .store
        .non_respondents(campaign)
        .await
        .unwrap()
        .into_iter()
        .map(|n| {
            (
                n.unit.unit_code,
                n.contacts.into_iter().map(|c| c.email).collect(),
            )
        })
        .collect();
    assert_eq!(non, [("AV-1".into(), vec!["marie@un.fr".to_string()])]);
    let rates = db.store.response_rates(campaign, day15).await.unwrap();
    assert_eq!((rates.total.in_scope, rates.total.responded), (2, 1));
}

async fn an_import_with_a_bad_line_imports_nothing_and_names_every_bad_line(db: &TestDb) {
    db.store
        .load_reference_courts(&stat(), now())
        .await
        .unwrap();
    assert_eq!(
        db.store
            .survey_units(Some(UnitKind::CourAppel))
            .await
            .unwrap()
            .len(),
        36
    );
    assert_eq!(
        db.store
            .survey_units(Some(UnitKind::TribunalJudiciaire))
            .await
            .unwrap()
            .len(),
        164
    );
    let again = db
        .store
        .load_reference_courts(&stat(), now())
        .await
        .unwrap();
    assert_eq!((again.created, again.unchanged), (0, 200));
    let before = db.store.survey_units(None).await.unwrap().len();
    let audit_before = db.store.audit_len().await.unwrap();
    let csv = format!(
        "{HEADER}mediateur,M-1,Médiation Sud,1/14,,Jean Sud,Médiateur,jean@sud.fr,\n\
         mediateur,M-2,Médiation Nord,9/99,,,,,\n\
         association,A-1,Bonne,,,,,,\n\
         inconnu,X,Y,,,,,,\n\
         association,A-1,Doublon,,,,,,\n"
    );
    let err = db
        .store
        .import_units_csv("unites.csv", csv.as_bytes(), &stat(), now())
        .await
        .unwrap_err();
    let StoreError::UnitCsv(errors) = &err else {
        panic!("{err}");
    };
    assert_eq!(
        errors.errors.iter().map(|e| e.line).collect::<Vec<_>>(),
        [3, 5, 6]
    );
    let text = err.to_string();
    assert!(text.contains("unites.csv:3: cour_appel « 9/99 »"), "{text}");
    assert!(
        text.contains("unites.csv:5: type « inconnu » inconnu"),
        "{text}"
    );
    assert!(
        text.contains("unites.csv:6: le code « A-1 » figure déjà ligne 4"),
        "{text}"
    );
    assert_eq!(db.store.survey_units(None).await.unwrap().len(), before);
    assert!(db.store.survey_unit("M-1").await.is_err());
    assert_eq!(db.store.audit_len().await.unwrap(), audit_before);

    // The same file corrected imports, against a reference court of appeal; a second import
    // records what changed, never a contact's values.
    let good =
        format!("{HEADER}mediateur,M-1,Médiation Sud,1/14,,Jean Sud,Médiateur,jean@sud.fr,\n");
    let s = db
        .store
        .import_units_csv("unites.csv", good.as_bytes(), &stat(), now())
        .await
        .unwrap();
    assert_eq!((s.created, s.contacts_added), (1, 1));
    let changed = format!(
        "{HEADER}mediateur,M-1,Médiation Sud-Ouest,1/14,3 place C,Jean Sud,Médiateur principal,jean@sud.fr,\n"
    );
    let s = db
        .store
        .import_units_csv(
            "unites-2.csv",
            changed.as_bytes(),
            &Actor::user("paul"),
            now(),
        )
        .await
        .unwrap();
    assert_eq!((s.updated, s.contacts_updated), (1, 1));
    let history = db.store.unit_history("M-1").await.unwrap();
    let lines: Vec<(&str, Vec<String>, &str, &str)> = history
        .iter()
        .map(|h| {
            (
                h.change.as_str(),
                h.fields.clone(),
                h.source.as_str(),
                h.changed_by.as_str(),
            )
        })
        .collect();
    assert_eq!(lines[2].0, "updated");
    assert_eq!(lines[2].1, ["nom", "adresse"]);
    assert_eq!((lines[2].2, lines[2].3), ("unites-2.csv", "paul"));
    assert_eq!(lines[3].0, "contact_updated");
    assert_eq!(lines[3].1, ["contact_fonction"]);
    assert_eq!(
        db.store.survey_unit("M-1").await.unwrap().name,
        "Médiation Sud-Ouest"
    );
}

async fn erasure_after_retention_blanks_and_logs(db: &TestDb) {
    let (campaign, _) = open_campaign(db).await;
    // A unit never sampled: its contact is kept from its entry.
    let other =
        format!("{HEADER}conciliateur,C-1,Conciliateur X,,,Anne X,,anne@x.fr,\"4 rue D\"\n");
    db.store
        .import_units_csv("c.csv", other.as_bytes(), &stat(), now())
        .await
        .unwrap();
    let closes = db.store.campaign(campaign).await.unwrap().closes_at;
    let retention = SignedDuration::from_hours(24 * 365 * 2);
    // Two years after the import, but not after the campaign's close: only C-1 goes.
    let t1 = now() + retention;
    assert!(t1 < closes + retention);
    assert_eq!(
        db.store
            .erase_expired_contacts(retention, t1)
            .await
            .unwrap(),
        1
    );
    let c = &db.store.unit_contacts("C-1").await.unwrap()[0];
    assert_eq!(
        (c.name.as_str(), c.email.as_str(), c.address.as_str()),
        ("", "", "")
    );
    assert_eq!(c.erased_at, Some(t1));
    assert_eq!(
        db.store.unit_contacts("AV-1").await.unwrap()[0].name,
        "Marie Un"
    );
    // After the retention following the campaign's close, the sampled units' contacts go.
    let t2 = closes + retention;
    assert_eq!(
        db.store
            .erase_expired_contacts(retention, t2)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        db.store
            .erase_expired_contacts(retention, t2)
            .await
            .unwrap(),
        0
    );
    for unit in ["AV-1", "AV-2"] {
        let c = &db.store.unit_contacts(unit).await.unwrap()[0];
        assert!(
            c.name.is_empty() && c.email.is_empty() && c.erased_at.is_some(),
            "{c:?}"
        );
        assert_eq!(
            db.store
                .unit_history(unit)
                .await
                .unwrap()
                .last()
                .unwrap()
                .change,
            "contact_erased"
        );
    }
    let audit = db.store.audit_page(None, 100).await.unwrap();
    let erasures: Vec<_> = audit
        .iter()
        .filter(|e| e.action == "survey.contacts.erase")
        .collect();
    assert_eq!(erasures.len(), 2);
    assert!(erasures.iter().all(|e| e.actor == "system"));
    // Nothing of a contact's data remains in the audit log or the histories.
    let raw = db.raw().await;
    let logged: Vec<(String,)> = sqlx::query_as(
        "SELECT details FROM audit_log UNION ALL SELECT fields FROM survey_unit_changes",
    )
    .fetch_all(&raw)
    .await
    .unwrap();
    raw.close().await;
    for (text,) in &logged {
        for personal in ["Marie", "marie@un.fr", "anne@x.fr", "4 rue D"] {
            assert!(!text.contains(personal), "{text}");
        }
    }
    assert_eq!(
        db.store.verify_audit().await.unwrap(),
        Ok(db.store.audit_len().await.unwrap() as usize)
    );
    assert!(
        db.store
            .erase_expired_contacts(SignedDuration::from_hours(-1), t2)
            .await
            .is_err()
    );
}

async fn campaigns_move_through_their_states_with_their_sample(db: &TestDb) {
    db.store
        .load_reference_courts(&stat(), now())
        .await
        .unwrap();
    let c = db
        .store
        .create_campaign(&new_campaign("BAV"), &stat(), now())
        .await
        .unwrap();
    assert_eq!(c.state, CampaignState::Draft);
    assert_eq!(c.legal.visa_number.as_deref(), Some("2026X004JU"));
    assert_eq!(c.reminder_days, [14, 28]);
    let dup = db
        .store
        .create_campaign(&new_campaign("BAV"), &stat(), now())
        .await
        .unwrap_err();
    assert!(matches!(dup, StoreError::Conflict { .. }), "{dup}");
    let mut backwards = new_campaign("X");
    backwards.closes_at = backwards.opens_at;
    assert!(
        db.store
            .create_campaign(&backwards, &stat(), now())
            .await
            .is_err()
    );
    let no_sample = db
        .store
        .set_campaign_state(c.id, CampaignState::Open, &stat(), now())
        .await
        .unwrap_err();
    assert!(no_sample.to_string().contains("no sample"), "{no_sample}");
    let sample = [
        SampledUnit {
            unit_code: "1/119".into(),
            stratum: "petit".into(),
        },
        SampledUnit {
            unit_code: "1/93".into(),
            stratum: "petit".into(),
        },
    ];
    db.store
        .set_campaign_sample(
            c.id,
            &SampleMethod::Stratified { seed: 20251 },
            &sample,
            &stat(),
            now(),
        )
        .await
        .unwrap();
    let c = db.store.campaign(c.id).await.unwrap();
    assert_eq!(
        c.sample_method,
        Some(SampleMethod::Stratified { seed: 20251 })
    );
    let unknown = [SampledUnit {
        unit_code: "nope".into(),
        stratum: "s".into(),
    }];
    assert!(
        db.store
            .set_campaign_sample(
                c.id,
                &SampleMethod::Stratified { seed: 1 },
                &unknown,
                &stat(),
                now()
            )
            .await
            .is_err()
    );
    db.store
        .set_campaign_state(c.id, CampaignState::Open, &stat(), now())
        .await
        .unwrap();
    let progress = db.store.unit_progress(c.id).await.unwrap();
    assert_eq!(progress.len(), 2, "a refused new sample left the old one");
    assert_eq!(progress[0].court_of_appeal.as_deref(), Some("1/14"));
    assert!(
        db.store
            .set_campaign_sample(
                c.id,
                &SampleMethod::Stratified { seed: 2 },
                &sample,
                &stat(),
                now()
            )
            .await
            .is_err(),
        "an open campaign's sample is fixed"
    );
    assert!(
        db.store
            .set_campaign_state(c.id, CampaignState::Validated, &stat(), now())
            .await
            .is_err()
    );
    db.store
        .set_campaign_state(c.id, CampaignState::Closed, &stat(), now())
        .await
        .unwrap();
    db.store
        .set_campaign_state(c.id, CampaignState::Validated, &stat(), now())
        .await
        .unwrap();
    assert!(
        db.store
            .set_campaign_state(c.id, CampaignState::Open, &stat(), now())
            .await
            .is_err()
    );
    assert_eq!(db.store.campaigns().await.unwrap().len(), 1);
}

async fn the_survey_histories_are_append_only_even_for_the_owner(db: &TestDb) {
    let (campaign, codes) = open_campaign(db).await;
    let one = respondent(db, &codes["AV-1"], at(DURING)).await;
    db.store
        .save_answers(&one, &page("p1", json!({"q1": 1}), &[]), at(DURING))
        .await
        .unwrap();
    db.store.submit_answers(&one, at(DURING)).await.unwrap();
    db.store
        .edit_answer(
            campaign,
            "AV-1",
            "q1",
            &json!(2),
            "relu",
            &stat(),
            at(DURING),
        )
        .await
        .unwrap();
    db.store
        .claim_reminder(campaign, "AV-2", 1, "letter", &Actor::system(), at(DURING))
        .await
        .unwrap();
    assert!(
        db.store
            .missing_append_only_guards()
            .await
            .unwrap()
            .is_empty()
    );
    let owner = db.raw().await;
    for table in [
        "survey_unit_changes",
        "survey_status_events",
        "survey_saves",
        "survey_edits",
        "survey_reminders",
    ] {
        let n: (i64,) =
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(&owner)
                .await
                .unwrap();
        assert!(n.0 > 0, "{table} has a line to attack");
        for attack in [
            format!("UPDATE {table} SET campaign_id = campaign_id"),
            format!("DELETE FROM {table}"),
        ] {
            let attack = attack.replace(
                "UPDATE survey_unit_changes SET campaign_id = campaign_id",
                "UPDATE survey_unit_changes SET unit_id = unit_id",
            );
            let err = owner
                .execute(sqlx::AssertSqlSafe(attack.clone()))
                .await
                .map(|_| ())
                .unwrap_err();
            assert!(err.to_string().contains("append-only"), "{attack}: {err}");
        }
    }
    owner.close().await;
}

both_backends!(
    the_survey_histories_are_append_only_even_for_the_owner,
    a_code_reads_only_its_own_unit,
    a_closed_campaign_refuses_answers,
    answers_are_saved_many_times_submitted_then_read_only_until_reopened,
    edits_keep_the_collected_value,
    a_reminder_is_recorded_once_and_only_for_non_respondents,
    an_import_with_a_bad_line_imports_nothing_and_names_every_bad_line,
    erasure_after_retention_blanks_and_logs,
    campaigns_move_through_their_states_with_their_sample,
    a_portal_session_carries_its_unit_until_it_ends,
);

async fn a_portal_session_carries_its_unit_until_it_ends(db: &TestDb) {
    let (_, codes) = open_campaign(db).await;
    let policy = justat_model::SessionPolicy::default();
    let t0 = at(DURING);
    let mins = |m: i64| t0 + SignedDuration::from_mins(m);
    let one = respondent(db, &codes["AV-1"], t0).await;
    let two = respondent(db, &codes["AV-2"], t0).await;
    let s1 = db.store.create_survey_session(&one, t0).await.unwrap();
    let s2 = db.store.create_survey_session(&two, t0).await.unwrap();
    assert_ne!(s1.token, s2.token);
    let back = db
        .store
        .respondent_by_session(&s1.token, &policy, mins(10))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.respondent, one);
    assert_eq!(back.csrf, s1.csrf);
    let other = db
        .store
        .respondent_by_session(&s2.token, &policy, mins(10))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(other.respondent.unit_code(), "AV-2");
    // Only the token's digest is stored.
    let raw = db.raw().await;
    let stored: Vec<(String,)> = sqlx::query_as("SELECT token_hash FROM survey_sessions")
        .fetch_all(&raw)
        .await
        .unwrap();
    assert_eq!(stored.len(), 2);
    assert!(stored.iter().all(|(h,)| h != &s1.token && h != &s2.token));
    assert!(
        db.store
            .respondent_by_session("not-a-token", &policy, mins(10))
            .await
            .unwrap()
            .is_none()
    );
    // Logout: the token is dead, the other session lives on.
    db.store
        .end_survey_session(&s1.token, &one, mins(11))
        .await
        .unwrap();
    assert!(
        db.store
            .respondent_by_session(&s1.token, &policy, mins(12))
            .await
            .unwrap()
            .is_none()
    );
    // Idle past the policy's limit: gone, and stays gone.
    assert!(
        db.store
            .respondent_by_session(
                &s2.token,
                &policy,
                mins(10) + policy.idle + SignedDuration::from_mins(1)
            )
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        db.store
            .respondent_by_session(&s2.token, &policy, mins(12))
            .await
            .unwrap()
            .is_none()
    );
    let s3 = db
        .store
        .create_survey_session(&one, mins(20))
        .await
        .unwrap();
    assert_eq!(
        db.store
            .purge_survey_sessions(&policy, mins(20) + policy.absolute)
            .await
            .unwrap(),
        1
    );
    assert!(
        db.store
            .respondent_by_session(&s3.token, &policy, mins(21))
            .await
            .unwrap()
            .is_none()
    );
}

both_backends!(
    the_follow_up_names_last_events_paradata_and_exactly_the_non_respondents,
    imputation_fills_only_non_response_once_closed_in_one_transaction,
    a_refused_transition_changes_nothing,
);

async fn the_follow_up_names_last_events_paradata_and_exactly_the_non_respondents(db: &TestDb) {
    let (campaign, codes) = open_campaign(db).await;
    let one = respondent(db, &codes["AV-1"], at(DURING)).await;
    let two = respondent(db, &codes["AV-2"], at(DURING)).await;
    db.store
        .save_answers(
            &one,
            &page("p1", json!({"q1": 3, "q2": 4}), &["c1"]),
            at(DURING),
        )
        .await
        .unwrap();
    let mut again = page("p2", json!({"q3": 1}), &[]);
    again.session = "s2".into();
    again.seconds_spent = 10;
    db.store
        .save_answers(&one, &again, at(DURING))
        .await
        .unwrap();
    db.store.submit_answers(&one, at(DURING)).await.unwrap();
    db.store
        .save_answers(&two, &page("p1", json!({"q1": 1}), &[]), at(DURING))
        .await
        .unwrap();

    let last = db.store.last_status_events(campaign).await.unwrap();
    assert_eq!(last.len(), 2, "AV-3 never moved");
    assert_eq!(last["AV-1"].status, ResponseStatus::Submitted);
    assert_eq!(last["AV-2"].status, ResponseStatus::InProgress);

    let p = db.store.paradata_summary(campaign).await.unwrap();
    assert_eq!((p.units, p.sessions, p.saves), (2, 3, 3));
    assert_eq!((p.changes, p.kept_warnings), (4, 1));
    assert_eq!(p.pages[0].page, "p1");
    assert_eq!((p.pages[0].saves, p.pages[0].seconds), (2, 84));
    assert_eq!((p.pages[1].saves, p.pages[1].median_seconds), (1, 10));

    // Exactly the units without a submission, with their contacts (none for AV-3).
    let csv = db.store.non_respondents_export(campaign).await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], justat_store::surveys::NON_RESPONDENTS_CSV_HEADER);
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[1].starts_with("AV-2,Association Deux,association,,in_progress,"));
    assert!(
        lines[1].ends_with(",Paul Deux,Juriste,paul@deux.fr,"),
        "{}",
        lines[1]
    );
    assert!(lines[2].starts_with("AV-3,Association Trois,association,,not_started,"));
    assert!(lines[2].ends_with(",0,,,,"), "{}", lines[2]);
    assert!(csv.contains("\r\n"));

    // A unit settled as out of scope is neither chased nor counted.
    db.store
        .set_response_status(
            campaign,
            "AV-3",
            ResponseStatus::OutOfScope,
            "fermée",
            &stat(),
            at(DURING),
        )
        .await
        .unwrap();
    let csv = db.store.non_respondents_export(campaign).await.unwrap();
    assert_eq!(csv.lines().count(), 2);
    let rates = db.store.response_rates(campaign, at(DURING)).await.unwrap();
    assert_eq!((rates.total.in_scope, rates.total.responded), (2, 1));
    assert_eq!(rates.by_kind[0].group, "association");
}

async fn imputation_fills_only_non_response_once_closed_in_one_transaction(db: &TestDb) {
    let (campaign, codes) = open_campaign(db).await;
    let one = respondent(db, &codes["AV-1"], at(DURING)).await;
    db.store
        .save_answers(&one, &page("p1", json!({"t.A.F": 10}), &[]), at(DURING))
        .await
        .unwrap();
    db.store.submit_answers(&one, at(DURING)).await.unwrap();
    let fill = |units: &[justat_model::survey::UnitValues]| {
        Ok::<_, String>(
            units
                .iter()
                .filter(|u| !u.status.has_responded())
                .map(|u| {
                    let values = BTreeMap::from([(
                        "t.A.F".to_string(),
                        (json!(7), "stratum_median".to_string()),
                    )]);
                    (u.unit_code.clone(), values)
                })
                .collect(),
        )
    };
    let open = db
        .store
        .impute_non_response(campaign, fill, &stat(), at(DURING))
        .await
        .unwrap_err();
    assert!(open.to_string().contains("once it is closed"), "{open}");
    db.store
        .set_campaign_state(campaign, CampaignState::Closed, &stat(), at(DURING))
        .await
        .unwrap();
    let seen = std::sync::Mutex::new(Vec::new());
    let (units, values) = db
        .store
        .impute_non_response(
            campaign,
            |units| {
                seen.lock().unwrap().extend(
                    units
                        .iter()
                        .map(|u| (u.unit_code.clone(), u.status, u.current.len())),
                );
                fill(units)
            },
            &stat(),
            at(DURING),
        )
        .await
        .unwrap();
    assert_eq!((units, values), (2, 2));
    assert_eq!(
        seen.into_inner().unwrap(),
        [
            ("AV-1".to_string(), ResponseStatus::Submitted, 1),
            ("AV-2".to_string(), ResponseStatus::NotStarted, 0),
            ("AV-3".to_string(), ResponseStatus::NotStarted, 0),
        ]
    );
    let av2 = db.store.unit_answers(campaign, "AV-2").await.unwrap();
    assert_eq!(av2[0].imputed, Some(json!(7)));
    assert_eq!(av2[0].imputation_method.as_deref(), Some("stratum_median"));
    assert_eq!(av2[0].collected, None);

    // A rule that imputes a respondent is refused, and the earlier imputation stays.
    let wrong = db
        .store
        .impute_non_response(
            campaign,
            |_| {
                Ok::<_, String>(BTreeMap::from([(
                    "AV-1".to_string(),
                    BTreeMap::from([("t.A.F".to_string(), (json!(1), "x".to_string()))]),
                )]))
            },
            &stat(),
            at(DURING),
        )
        .await
        .unwrap_err();
    assert!(wrong.to_string().contains("only a non-response"), "{wrong}");
    let failing = db
        .store
        .impute_non_response(
            campaign,
            |_| Err::<justat_model::survey::ImputedValues, _>("règle en échec"),
            &stat(),
            at(DURING),
        )
        .await
        .unwrap_err();
    assert!(failing.to_string().contains("règle en échec"));
    let av2 = db.store.unit_answers(campaign, "AV-2").await.unwrap();
    assert_eq!(av2[0].imputed, Some(json!(7)));
    assert!(
        db.store.unit_answers(campaign, "AV-1").await.unwrap()[0]
            .imputed
            .is_none()
    );
}

async fn a_refused_transition_changes_nothing(db: &TestDb) {
    let (campaign, codes) = open_campaign(db).await;
    let one = respondent(db, &codes["AV-1"], at(DURING)).await;
    db.store
        .save_answers(&one, &page("p1", json!({"q1": 2}), &[]), at(DURING))
        .await
        .unwrap();
    let entries = db.store.audit_len().await.unwrap();
    let early = db
        .store
        .set_campaign_state(campaign, CampaignState::Validated, &stat(), at(DURING))
        .await
        .unwrap_err();
    assert!(matches!(early, StoreError::Refused(_)), "{early}");
    let not_submitted = db
        .store
        .set_response_status(
            campaign,
            "AV-1",
            ResponseStatus::Validated,
            "relu",
            &stat(),
            at(DURING),
        )
        .await
        .unwrap_err();
    assert!(matches!(not_submitted, StoreError::ResponseStatus(_)));
    assert_eq!(db.store.audit_len().await.unwrap(), entries);
    assert_eq!(
        db.store.campaign(campaign).await.unwrap().state,
        CampaignState::Open
    );
    let last = db.store.last_status_events(campaign).await.unwrap();
    assert_eq!(last["AV-1"].status, ResponseStatus::InProgress);
}
