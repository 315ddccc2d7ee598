//! The work programme: operations and the Cnis's opinions added and edited with every value
//! before kept in the append-only history, the links checked, the year's view in the Cnis's
//! layout, the PDF's record.

use crate::harness::{TestDb, now};
use jiff::SignedDuration;
use justat_model::Sha256Hex;
use justat_model::programme::{
    Link, Novelty, Operation, OperationKind, OperationStatus, Opinion, OpinionKind, Section,
};
use justat_store::{Actor, StoreError};
use sqlx::Executor;

fn chef() -> Actor {
    Actor::user("chef")
}

fn operation(year: i16, title: &str, kind: OperationKind, link: Link) -> Operation {
    Operation {
        year,
        kind,
        novelty: Novelty::New,
        title: title.into(),
        description: String::new(),
        status: OperationStatus::Planned,
        status_reason: None,
        link,
    }
}

async fn an_edit_keeps_the_value_before_and_who_made_it(db: &TestDb) {
    let s = &db.store;
    assert!(s.programme(2026).await.unwrap().is_empty());
    assert_eq!(s.programme(2026).await.unwrap().revision, 0);
    let cjpm = operation(
        2026,
        "Suivi du CJPM",
        OperationKind::Exploitation,
        Link::Chain {
            chain: "cjpm_delays".into(),
        },
    );
    let id = s
        .add_programme_operation(&cjpm, &chef(), now())
        .await
        .unwrap();
    let study = operation(
        2026,
        "Parcours des mineurs",
        OperationKind::Study,
        Link::None,
    );
    let study_id = s
        .add_programme_operation(&study, &chef(), now())
        .await
        .unwrap();
    let later = now() + SignedDuration::from_hours(1);
    let postponed = Operation {
        status: OperationStatus::Postponed,
        status_reason: Some("données non consolidées".into()),
        ..cjpm.clone()
    };
    s.update_programme_operation(id, &postponed, &Actor::user("adjoint"), later)
        .await
        .unwrap();
    // Saving the same value again writes nothing.
    s.update_programme_operation(id, &postponed, &chef(), later)
        .await
        .unwrap();
    s.set_programme_synthesis(2026, "Première synthèse.", &chef(), now())
        .await
        .unwrap();
    s.set_programme_synthesis(2026, "Seconde synthèse.", &chef(), later)
        .await
        .unwrap();

    let p = s.programme(2026).await.unwrap();
    assert_eq!(p.synthesis, "Seconde synthèse.");
    assert_eq!(p.operations.len(), 2);
    assert_eq!(p.operations[0].operation, postponed);
    assert_eq!(p.operations[0].updated_by, "adjoint");
    let history = s.programme_history(2026).await.unwrap();
    assert_eq!(history.len(), 5, "{history:#?}");
    assert_eq!(p.revision, history[0].id);
    let edit = history
        .iter()
        .find(|h| h.object == "operation" && h.change == "update")
        .unwrap();
    assert_eq!(edit.object_id, Some(id));
    assert_eq!(edit.changed_by, "adjoint");
    assert_eq!(edit.changed_at, later);
    let before: Operation = serde_json::from_str(edit.before.as_deref().unwrap()).unwrap();
    assert_eq!(before, cjpm);
    let after: Operation = serde_json::from_str(&edit.after).unwrap();
    assert_eq!(after, postponed);
    let synthesis = history.iter().find(|h| h.object == "synthesis").unwrap();
    assert_eq!(synthesis.before.as_deref(), Some("\"Première synthèse.\""));

    // An opinion answered by operations of this year; its response edited later.
    let mut opinion = Opinion {
        year: 2026,
        kind: OpinionKind::MediumTerm,
        reference: "Moyen terme 2024-2028, avis n° 5".into(),
        issued_on: "2024-01-30".parse().unwrap(),
        summary: "Suivre la réforme de la justice pénale des mineurs".into(),
        response: None,
        operations: vec![id, study_id],
    };
    let o = s.add_cnis_opinion(&opinion, &chef(), now()).await.unwrap();
    opinion.response = Some("Suivi mensuel et étude des parcours".into());
    s.update_cnis_opinion(o, &opinion, &chef(), later)
        .await
        .unwrap();
    assert_eq!(s.cnis_opinion(o).await.unwrap().opinion, opinion);
    let (view, revision) = s.programme_view(2026).await.unwrap();
    assert_eq!(revision, s.programme(2026).await.unwrap().revision);
    let permanent = view
        .sections
        .iter()
        .find(|x| x.section == Section::NewAdministrativeFiles)
        .unwrap();
    assert_eq!(permanent.operations[0].status, "Reportée");
    assert_eq!(
        view.opinions[0].answered_by,
        [
            (id, "Suivi du CJPM".to_string()),
            (study_id, "Parcours des mineurs".to_string())
        ]
    );
    assert_eq!(s.programme_years().await.unwrap(), [2026]);

    // Every edit is in the audit log.
    let audit = s.audit_page(None, 100).await.unwrap();
    for action in [
        "programme.operation.add",
        "programme.operation.update",
        "programme.opinion.add",
        "programme.opinion.update",
        "programme.synthesis",
    ] {
        assert!(audit.iter().any(|e| e.action == action), "{action}");
    }
    assert_eq!(s.verify_audit().await.unwrap().map(|_| ()), Ok(()));

    // The history cannot be rewritten.
    let raw = db.raw_as_store().await;
    for attack in [
        "UPDATE programme_changes SET before = NULL",
        "DELETE FROM programme_changes",
    ] {
        let err = raw.execute(attack).await.unwrap_err().to_string();
        assert!(
            err.contains("append-only") || err.contains("permission denied"),
            "{attack}: {err}"
        );
    }
    raw.close().await;
    assert!(s.missing_append_only_guards().await.unwrap().is_empty());
}

async fn links_to_what_does_not_exist_are_refused_and_nothing_is_written(db: &TestDb) {
    let s = &db.store;
    let survey = operation(
        2026,
        "Enquête BAV",
        OperationKind::Survey,
        Link::Campaign { campaign: 99 },
    );
    let err = s
        .add_programme_operation(&survey, &chef(), now())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Refused(m) if m.contains("campagne d’enquête n° 99")),
        "{err}"
    );
    let opinion = Opinion {
        year: 2026,
        kind: OpinionKind::Visa,
        reference: "2026X004JU".into(),
        issued_on: "2025-11-25".parse().unwrap(),
        summary: "Visa".into(),
        response: None,
        operations: vec![42],
    };
    let err = s
        .add_cnis_opinion(&opinion, &chef(), now())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Refused(m) if m.contains("opération n° 42")),
        "{err}"
    );
    assert!(matches!(
        s.update_programme_operation(7, &survey, &chef(), now())
            .await,
        Err(StoreError::Refused(_) | StoreError::NotFound { .. })
    ));
    assert!(s.programme_history(2026).await.unwrap().is_empty());
    assert!(s.programme_years().await.unwrap().is_empty());
}

async fn the_latest_pdf_of_a_year_is_the_one_of_its_latest_revision(db: &TestDb) {
    let s = &db.store;
    assert_eq!(s.programme_pdf(2026).await.unwrap(), None);
    let a = Sha256Hex::of(b"first");
    let b = Sha256Hex::of(b"second");
    s.record_programme_pdf(2026, 1, &a, now()).await.unwrap();
    s.record_programme_pdf(2026, 3, &b, now()).await.unwrap();
    // Recording the same revision again (two jobs after two quick edits) keeps the first.
    s.record_programme_pdf(2026, 3, &a, now()).await.unwrap();
    let pdf = s.programme_pdf(2026).await.unwrap().unwrap();
    assert_eq!((pdf.revision, pdf.sha256), (3, b));
    assert_eq!(s.programme_pdf(2027).await.unwrap(), None);
}

both_backends!(
    an_edit_keeps_the_value_before_and_who_made_it,
    links_to_what_does_not_exist_are_refused_and_nothing_is_written,
    the_latest_pdf_of_a_year_is_the_one_of_its_latest_revision,
);
