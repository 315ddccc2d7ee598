use crate::harness::{TestDb, now};
use jiff::SignedDuration;
use justat_model::publication::{Action, Collection, VersionState};
use justat_model::{LifecycleError, Role};
use justat_store::{Actor, NewVersion, StoreError, StoredFile};

both_backends!(
    a_version_goes_from_draft_to_released_and_only_then_is_public,
    a_draft_is_rebuilt_in_place_and_a_frozen_version_is_not,
    a_correction_is_a_new_version_and_the_old_one_stays_readable,
    roles_and_states_are_enforced_and_nothing_changes_on_refusal,
);

const C: Collection = Collection::InfosRapides;

fn version(title: &str, erratum: Option<&str>) -> NewVersion {
    NewVersion {
        collection: C,
        slug: "condamnations-2024".into(),
        number: "1".into(),
        title: title.into(),
        summary: "Résumé.".into(),
        theme: "Condamnations".into(),
        period: "2024".into(),
        authors: vec!["Sophie Bernard".into()],
        keywords: vec!["condamnations".into()],
        erratum: erratum.map(String::from),
        html: "<p>Texte</p>".into(),
        sources: serde_json::json!({"publication.md": "+++"}),
        figures: serde_json::json!([]),
        provenance: justat_model::Provenance::default(),
        files: vec![StoredFile {
            name: "t.csv".into(),
            media_type: "text/csv".into(),
            sha256: "ab".repeat(32).parse().unwrap(),
            size: 12,
        }],
        content_hash: "cd".repeat(32).parse().unwrap(),
    }
}

async fn act(
    db: &TestDb,
    v: i64,
    action: Action,
    role: Role,
    at: Option<jiff::Timestamp>,
) -> Result<VersionState, StoreError> {
    db.store
        .publication_action(
            C,
            "condamnations-2024",
            v,
            action,
            role,
            &Actor::user("x"),
            at,
            now(),
        )
        .await
        .map(|v| v.state)
}

async fn release(db: &TestDb, v: i64, at: jiff::Timestamp) {
    act(db, v, Action::Submit, Role::Statistician, None)
        .await
        .unwrap();
    act(db, v, Action::Approve, Role::HeadOfService, None)
        .await
        .unwrap();
    act(db, v, Action::Release, Role::HeadOfService, Some(at))
        .await
        .unwrap();
}

async fn actions(db: &TestDb) -> Vec<String> {
    let mut page = db.store.audit_page(None, 1000).await.unwrap();
    page.reverse();
    page.into_iter().map(|e| e.action).collect()
}

async fn a_version_goes_from_draft_to_released_and_only_then_is_public(db: &TestDb) {
    let actor = Actor::user("sophie");
    let v = db
        .store
        .save_build(&version("Titre", None), &actor, now())
        .await
        .unwrap();
    assert_eq!((v.version, v.state), (1, VersionState::Draft));
    let at = now() + SignedDuration::from_hours(2);
    for (action, role) in [
        (Action::Submit, Role::Statistician),
        (Action::Approve, Role::HeadOfService),
    ] {
        act(db, 1, action, role, None).await.unwrap();
        assert!(
            db.store
                .public_version(C, "condamnations-2024", at)
                .await
                .unwrap()
                .is_none()
        );
    }
    assert_eq!(
        act(db, 1, Action::Release, Role::HeadOfService, Some(at))
            .await
            .unwrap(),
        VersionState::Released
    );
    // Not a second before its instant; from it on.
    let before = at - SignedDuration::from_secs(1);
    assert!(
        db.store
            .public_version(C, "condamnations-2024", before)
            .await
            .unwrap()
            .is_none()
    );
    assert!(db.store.public_versions(before).await.unwrap().is_empty());
    let public = db
        .store
        .public_version(C, "condamnations-2024", at)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(public.title, "Titre");
    assert_eq!(public.files[0].name, "t.csv");
    assert_eq!(db.store.public_versions(at).await.unwrap().len(), 1);
    let approved = db
        .store
        .publication_version(C, "condamnations-2024", Some(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(approved.approved_by.as_deref(), Some("x"));
    let log = actions(db).await;
    assert_eq!(
        log.iter()
            .filter(|a| *a == "publication.transition")
            .count(),
        3,
        "{log:?}"
    );
    assert!(log.contains(&"publication.build".to_string()));
}

async fn a_draft_is_rebuilt_in_place_and_a_frozen_version_is_not(db: &TestDb) {
    let actor = Actor::user("sophie");
    db.store
        .save_build(&version("Premier", None), &actor, now())
        .await
        .unwrap();
    let again = db
        .store
        .save_build(&version("Second", None), &actor, now())
        .await
        .unwrap();
    assert_eq!((again.version, again.title.as_str()), (1, "Second"));
    act(db, 1, Action::Submit, Role::Statistician, None)
        .await
        .unwrap();
    let e = db
        .store
        .save_build(&version("Troisième", None), &actor, now())
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Refused(_)), "{e}");
    act(db, 1, Action::Reject, Role::HeadOfService, None)
        .await
        .unwrap();
    act(db, 1, Action::Submit, Role::Statistician, None)
        .await
        .unwrap();
    act(db, 1, Action::Approve, Role::HeadOfService, None)
        .await
        .unwrap();
    let e = db
        .store
        .save_build(&version("Quatrième", None), &actor, now())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("frozen"), "{e}");
    let v = db
        .store
        .publication_version(C, "condamnations-2024", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (v.title.as_str(), v.state),
        ("Second", VersionState::Approved)
    );
}

async fn a_correction_is_a_new_version_and_the_old_one_stays_readable(db: &TestDb) {
    let actor = Actor::user("sophie");
    db.store
        .save_build(&version("Version 1", None), &actor, now())
        .await
        .unwrap();
    let t1 = now() - SignedDuration::from_hours(48);
    release(db, 1, t1).await;
    // A new build of a released publication is a correction: it needs its erratum.
    let e = db
        .store
        .save_build(&version("Version 2", None), &actor, now())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("erratum"), "{e}");
    let v2 = db
        .store
        .save_build(
            &version("Version 2", Some("Un chiffre corrigé.")),
            &actor,
            now(),
        )
        .await
        .unwrap();
    assert_eq!((v2.version, v2.state), (2, VersionState::Draft));
    // Until the correction is released, the public reads version 1.
    let p = db
        .store
        .public_version(C, "condamnations-2024", now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.version, 1);
    release(db, 2, now() - SignedDuration::from_hours(1)).await;
    let p = db
        .store
        .public_version(C, "condamnations-2024", now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (p.version, p.erratum.as_deref()),
        (2, Some("Un chiffre corrigé."))
    );
    let old = db
        .store
        .publication_version(C, "condamnations-2024", Some(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (old.state, old.title.as_str()),
        (VersionState::Corrected, "Version 1")
    );
    assert!(old.is_public(now()), "the corrected version stays readable");
    let history = db
        .store
        .public_history(C, "condamnations-2024", now())
        .await
        .unwrap();
    assert_eq!(
        history.iter().map(|h| h.version).collect::<Vec<_>>(),
        [2, 1]
    );
    assert_eq!(
        db.store.public_versions(now()).await.unwrap().len(),
        1,
        "one line per publication"
    );
    assert!(
        actions(db)
            .await
            .contains(&"publication.supersede".to_string())
    );
}

async fn roles_and_states_are_enforced_and_nothing_changes_on_refusal(db: &TestDb) {
    db.store
        .save_build(&version("Titre", None), &Actor::user("s"), now())
        .await
        .unwrap();
    let e = act(db, 1, Action::Approve, Role::HeadOfService, None)
        .await
        .unwrap_err();
    assert!(
        matches!(e, StoreError::Lifecycle(LifecycleError::NotFrom { .. })),
        "{e}"
    );
    act(db, 1, Action::Submit, Role::Statistician, None)
        .await
        .unwrap();
    for role in [
        Role::Statistician,
        Role::Admin,
        Role::EmbargoRecipient,
        Role::Asp,
    ] {
        let e = act(db, 1, Action::Approve, role, None).await.unwrap_err();
        assert!(
            matches!(e, StoreError::Lifecycle(LifecycleError::Forbidden { .. })),
            "{role:?}: {e}"
        );
    }
    act(db, 1, Action::Approve, Role::HeadOfService, None)
        .await
        .unwrap();
    let e = act(db, 1, Action::Release, Role::HeadOfService, None)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("release instant"), "{e}");
    let v = db
        .store
        .publication_version(C, "condamnations-2024", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((v.state, v.released_at), (VersionState::Approved, None));
    let e = db
        .store
        .publication_action(
            C,
            "absente",
            1,
            Action::Submit,
            Role::Statistician,
            &Actor::user("s"),
            None,
            now(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::NotFound { .. }), "{e}");
}
