use crate::harness::{TestDb, add_user, now};
use jiff::SignedDuration;
use justat_model::Role;
use justat_model::calendar::{CalendarChange, CalendarPolicy, Schedule};
use justat_model::embargo::{ListStatus, RecipientCategory};
use justat_model::publication::Collection;
use justat_store::{Actor, NewRecipient, NewRelease, StoreError};

both_backends!(
    a_list_is_proposed_approved_and_reopened_by_a_change,
    recipients_and_lists_are_checked_and_nothing_changes_on_refusal,
    a_list_is_approved_only_as_its_approver_read_it,
);

const C: Collection = Collection::Infostat;
const SLUG: &str = "detention-2025";

async fn announced(db: &TestDb) {
    db.store
        .announce_release(
            &NewRelease {
                collection: C,
                slug: SLUG.into(),
                title: "Détention".into(),
                schedule: Schedule::At(now() + SignedDuration::from_hours(24 * 40)),
                justification: None,
            },
            &CalendarPolicy::default(),
            Role::HeadOfService,
            &Actor::user("marc"),
            now(),
        )
        .await
        .unwrap();
}

fn recipient(username: &str) -> NewRecipient {
    NewRecipient {
        username: username.into(),
        function: "Conseillère statistique".into(),
        organisation: "Cabinet du garde des Sceaux".into(),
        email: "claire.dubois@justice.gouv.fr".into(),
        justification: "Préparer la réponse du ministère".into(),
        category: RecipientCategory::Information,
    }
}

async fn add(db: &TestDb, who: &str, role: Role) -> Result<ListStatus, StoreError> {
    db.store
        .add_recipient(
            C,
            SLUG,
            &recipient(who),
            24,
            role,
            &Actor::user("sophie"),
            now(),
        )
        .await
        .map(|l| l.status)
}

/// The revision of the list as it stands.
async fn revision(db: &TestDb) -> String {
    db.store
        .embargo_list(C, SLUG)
        .await
        .unwrap()
        .expect("a list")
        .revision()
}

async fn a_list_is_proposed_approved_and_reopened_by_a_change(db: &TestDb) {
    add_user(&db.store, "claire", Role::EmbargoRecipient).await;
    add_user(&db.store, "paul", Role::EmbargoRecipient).await;
    announced(db).await;
    assert_eq!(
        add(db, "claire", Role::Statistician).await.unwrap(),
        ListStatus::Proposed
    );
    let chef = Actor::user("marc");
    let refused = db
        .store
        .approve_embargo_list(
            C,
            SLUG,
            &revision(db).await,
            Role::Statistician,
            &chef,
            now(),
        )
        .await;
    assert!(refused.is_err(), "a statistician does not approve");
    let list = db
        .store
        .approve_embargo_list(
            C,
            SLUG,
            &revision(db).await,
            Role::HeadOfService,
            &chef,
            now(),
        )
        .await
        .unwrap();
    assert_eq!(
        (list.status, list.approved_by.as_deref()),
        (ListStatus::Approved, Some("marc"))
    );
    assert_eq!(
        list.recipients[0].organisation,
        "Cabinet du garde des Sceaux"
    );
    // A recipient added after approval reopens the list.
    assert_eq!(
        add(db, "paul", Role::Statistician).await.unwrap(),
        ListStatus::Proposed
    );
    assert_eq!(
        db.store.releases_listing("paul").await.unwrap(),
        [(C, SLUG.to_string())]
    );
    // Terms are accepted once, at their first instant.
    let first = db
        .store
        .accept_embargo_terms("claire", now())
        .await
        .unwrap();
    let again = db
        .store
        .accept_embargo_terms("claire", now() + SignedDuration::from_hours(1))
        .await
        .unwrap();
    assert_eq!(first, again);
    // The ASP export: generated, then sent.
    assert!(
        db.store
            .record_asp_export(C, SLUG, true, &chef, now())
            .await
            .is_err(),
        "sent before generated"
    );
    db.store
        .record_asp_export(C, SLUG, false, &chef, now())
        .await
        .unwrap();
    db.store
        .record_asp_export(C, SLUG, true, &chef, now())
        .await
        .unwrap();
    let list = db.store.embargo_list(C, SLUG).await.unwrap().unwrap();
    assert!(list.exported_at.is_some() && list.sent_at.is_some());
    let actions: Vec<String> = db
        .store
        .audit_page(None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .filter(|a| a.starts_with("embargo."))
        .collect();
    assert_eq!(
        actions,
        [
            "embargo.asp_sent",
            "embargo.asp_export",
            "embargo.terms_accepted",
            "embargo.propose",
            "embargo.approve",
            "embargo.propose"
        ]
    );
}

async fn recipients_and_lists_are_checked_and_nothing_changes_on_refusal(db: &TestDb) {
    add_user(&db.store, "claire", Role::EmbargoRecipient).await;
    add_user(&db.store, "sophie", Role::Statistician).await;
    // No release in the calendar: nothing to list.
    assert!(add(db, "claire", Role::Statistician).await.is_err());
    announced(db).await;
    assert!(
        add(db, "sophie", Role::Statistician).await.is_err(),
        "not an embargo recipient account"
    );
    assert!(
        add(db, "claire", Role::Asp).await.is_err(),
        "the ASP does not propose"
    );
    let bad = NewRecipient {
        email: "claire".into(),
        ..recipient("claire")
    };
    assert!(
        db.store
            .add_recipient(
                C,
                SLUG,
                &bad,
                24,
                Role::Statistician,
                &Actor::user("s"),
                now()
            )
            .await
            .is_err()
    );
    assert!(
        db.store
            .add_recipient(
                C,
                SLUG,
                &recipient("claire"),
                48,
                Role::Statistician,
                &Actor::user("s"),
                now()
            )
            .await
            .is_err(),
        "never more than 24 hours"
    );
    assert!(
        db.store.embargo_list(C, SLUG).await.unwrap().is_none(),
        "nothing saved"
    );
    add(db, "claire", Role::Statistician).await.unwrap();
    assert!(
        add(db, "claire", Role::Statistician).await.is_err(),
        "listed once"
    );
    // A cancelled release's list is closed.
    db.store
        .change_release(
            C,
            SLUG,
            &CalendarChange::Cancel {
                notice: "Suspendue".into(),
            },
            Role::HeadOfService,
            &Actor::user("marc"),
            now(),
        )
        .await
        .unwrap();
    assert!(
        db.store
            .approve_embargo_list(
                C,
                SLUG,
                &revision(db).await,
                Role::HeadOfService,
                &Actor::user("marc"),
                now()
            )
            .await
            .is_err()
    );
}

async fn a_list_is_approved_only_as_its_approver_read_it(db: &TestDb) {
    for who in ["claire", "paul", "lea"] {
        add_user(&db.store, who, Role::EmbargoRecipient).await;
    }
    announced(db).await;
    add(db, "claire", Role::Statistician).await.unwrap();
    let chef = Actor::user("marc");
    let seen = revision(db).await;
    assert_eq!(seen.len(), 16, "{seen}");
    // Paul is added while the head of service reads the list with Claire alone.
    add(db, "paul", Role::Statistician).await.unwrap();
    let now_revision = revision(db).await;
    assert_ne!(seen, now_revision, "a recipient added is another revision");
    let audited = db.store.audit_page(None, 1000).await.unwrap().len();
    let stale = db
        .store
        .approve_embargo_list(C, SLUG, &seen, Role::HeadOfService, &chef, now())
        .await;
    match stale {
        Err(StoreError::Stale {
            seen: s, current, ..
        }) => assert_eq!((s, current), (seen.clone(), now_revision.clone())),
        other => panic!("a stale approval is refused: {other:?}"),
    }
    let list = db.store.embargo_list(C, SLUG).await.unwrap().unwrap();
    assert_eq!(
        (list.status, list.approved_by),
        (ListStatus::Proposed, None)
    );
    assert_eq!(
        db.store.audit_page(None, 1000).await.unwrap().len(),
        audited,
        "nothing recorded"
    );
    // A made-up revision is refused alike.
    assert!(matches!(
        db.store
            .approve_embargo_list(
                C,
                SLUG,
                "0000000000000000",
                Role::HeadOfService,
                &chef,
                now()
            )
            .await,
        Err(StoreError::Stale { .. })
    ));
    // The list as it stands, read again: approved, and the audit names its revision.
    let list = db
        .store
        .approve_embargo_list(C, SLUG, &now_revision, Role::HeadOfService, &chef, now())
        .await
        .unwrap();
    assert_eq!(list.status, ListStatus::Approved);
    assert_eq!(list.recipients.len(), 2);
    assert_eq!(
        list.revision(),
        now_revision,
        "approval is not a change of the list"
    );
    let entry = db.store.audit_page(None, 1).await.unwrap().remove(0);
    assert_eq!(entry.action, "embargo.approve");
    assert!(
        entry.details.to_string().contains(&now_revision),
        "{entry:?}"
    );

    // A recipient added while the approval is under way: either the approval comes first
    // (and the addition reopens the list) or it is refused; never Léa approved unseen.
    add_user(&db.store, "marie", Role::EmbargoRecipient).await;
    add(db, "marie", Role::Statistician).await.unwrap();
    let seen = revision(db).await;
    let store = db.store.clone();
    let adding = tokio::spawn(async move {
        store
            .add_recipient(
                C,
                SLUG,
                &recipient("lea"),
                24,
                Role::Statistician,
                &Actor::user("sophie"),
                now(),
            )
            .await
    });
    let approving = db
        .store
        .approve_embargo_list(C, SLUG, &seen, Role::HeadOfService, &chef, now())
        .await;
    adding.await.unwrap().unwrap();
    let list = db.store.embargo_list(C, SLUG).await.unwrap().unwrap();
    assert_eq!(list.recipients.len(), 4);
    assert_eq!(
        list.status,
        ListStatus::Proposed,
        "Léa is not approved: {approving:?}"
    );
}

mod incidents {
    use super::*;
    use justat_model::incident::IncidentKind;

    both_backends!(an_incident_blocks_the_next_release_of_its_collection_until_reviewed,);

    async fn an_incident_blocks_the_next_release_of_its_collection_until_reviewed(db: &TestDb) {
        let i = db
            .store
            .report_incident(
                C,
                "autre",
                IncidentKind::Leak,
                "Chiffres cités la veille",
                &Actor::user("sophie"),
                now(),
            )
            .await
            .unwrap();
        assert!(i.review.is_none());
        assert!(
            db.store
                .report_incident(
                    C,
                    "autre",
                    IncidentKind::Leak,
                    " ",
                    &Actor::user("sophie"),
                    now()
                )
                .await
                .is_err()
        );
        // A version of another publication of the same collection cannot be released.
        crate::harness::approved(db, C, SLUG).await;
        let a = Actor::user("marc");
        use justat_model::publication::Action;
        let at = Some(now() + SignedDuration::from_hours(1));
        let blocked = db
            .store
            .publication_action(
                C,
                SLUG,
                1,
                Action::Release,
                Role::HeadOfService,
                &a,
                at,
                now(),
            )
            .await;
        assert!(
            matches!(blocked, Err(StoreError::Refused(ref m)) if m.contains("reviewed")),
            "{blocked:?}"
        );
        assert!(
            db.store
                .review_incident(i.id, "x", Role::Statistician, &a, now())
                .await
                .is_err()
        );
        let reviewed = db
            .store
            .review_incident(i.id, "Règles rappelées", Role::HeadOfService, &a, now())
            .await
            .unwrap();
        assert_eq!(reviewed.reviewed_by.as_deref(), Some("marc"));
        assert!(
            db.store
                .review_incident(i.id, "encore", Role::HeadOfService, &a, now())
                .await
                .is_err(),
            "once"
        );
        db.store
            .publication_action(
                C,
                SLUG,
                1,
                Action::Release,
                Role::HeadOfService,
                &a,
                at,
                now(),
            )
            .await
            .unwrap();
        assert_eq!(db.store.incidents().await.unwrap().len(), 1);
    }
}
