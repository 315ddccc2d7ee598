use crate::harness::{TestDb, now};
use jiff::SignedDuration;
use justat_model::Role;
use justat_model::calendar::{CalendarChange, CalendarPolicy, ReleaseStatus, Schedule};
use justat_model::publication::{Action, Collection, VersionState};
use justat_store::{Actor, NewRelease, StoreError};

both_backends!(
    a_release_is_announced_confirmed_moved_and_published_with_its_history,
    a_cancelled_release_takes_its_scheduled_version_back_and_says_why,
    refusals_change_nothing_and_the_history_cannot_be_edited,
    a_moved_release_carries_its_correction_and_the_version_it_corrects,
    a_cancelled_release_carries_its_correction_and_the_version_it_corrects,
    a_version_cannot_be_written_with_an_instant_of_its_own_beside_its_release,
);

const C: Collection = Collection::Infostat;
const SLUG: &str = "orientations-2025";

fn announced(schedule: Schedule) -> NewRelease {
    NewRelease {
        collection: C,
        slug: SLUG.into(),
        title: "Les orientations pénales en 2025".into(),
        schedule,
        justification: None,
    }
}

fn month(m: &str) -> Schedule {
    Schedule::Month(m.parse().unwrap())
}

async fn change(
    db: &TestDb,
    c: CalendarChange,
    role: Role,
    at: jiff::Timestamp,
) -> Result<ReleaseStatus, StoreError> {
    db.store
        .change_release(C, SLUG, &c, role, &Actor::user("marc"), at)
        .await
        .map(|r| r.status)
}

async fn a_release_is_announced_confirmed_moved_and_published_with_its_history(db: &TestDb) {
    let policy = CalendarPolicy::default();
    let r = db
        .store
        .announce_release(
            &announced(month("2027-06")),
            &policy,
            Role::Statistician,
            &Actor::user("sophie"),
            now(),
        )
        .await
        .unwrap();
    assert_eq!((r.status, r.sequence), (ReleaseStatus::Provisional, 0));
    assert_eq!(r.uid, "infostat/orientations-2025@justat");
    assert_eq!(r.when_fr(), "juin 2027 (date provisoire)");
    let twice = db
        .store
        .announce_release(
            &announced(month("2027-07")),
            &policy,
            Role::HeadOfService,
            &Actor::user("marc"),
            now(),
        )
        .await;
    assert!(matches!(twice, Err(StoreError::Refused(_))), "{twice:?}");

    let first: jiff::Timestamp = "2027-06-10T10:00:00Z".parse().unwrap();
    let moved: jiff::Timestamp = "2027-06-17T10:00:00Z".parse().unwrap();
    change(
        db,
        CalendarChange::Confirm { at: first },
        Role::HeadOfService,
        now(),
    )
    .await
    .unwrap();
    // A version approved before the date is scheduled on the calendar's instant.
    crate::harness::approved(db, C, SLUG).await;
    let v = db
        .store
        .publication_action(
            C,
            SLUG,
            1,
            Action::Release,
            Role::HeadOfService,
            &Actor::user("marc"),
            None,
            now(),
        )
        .await
        .unwrap();
    assert_eq!(v.released_at, Some(first));
    // Another instant than the calendar's is refused.
    let other = db
        .store
        .publication_action(
            C,
            SLUG,
            1,
            Action::Release,
            Role::HeadOfService,
            &Actor::user("marc"),
            Some(moved),
            now(),
        )
        .await;
    assert!(other.is_err());
    // Moving the date moves the scheduled version with it.
    change(
        db,
        CalendarChange::Reschedule {
            at: moved,
            reason: "Données tardives".into(),
        },
        Role::HeadOfService,
        now(),
    )
    .await
    .unwrap();
    let v = db
        .store
        .publication_version(C, SLUG, Some(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v.released_at, Some(moved));
    assert!(
        db.store
            .public_version(C, SLUG, first)
            .await
            .unwrap()
            .is_none(),
        "not at the old date"
    );
    // Due from its instant, not a second before; then published.
    assert!(
        db.store
            .due_releases(moved - SignedDuration::from_secs(1))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(db.store.due_releases(moved).await.unwrap().len(), 1);
    change(db, CalendarChange::Publish, Role::HeadOfService, moved)
        .await
        .unwrap();
    let r = db.store.release(C, SLUG).await.unwrap().unwrap();
    assert_eq!(
        (r.status, r.sequence, r.published_at),
        (ReleaseStatus::Published, 3, Some(moved))
    );
    let lines: Vec<(&str, &str, &str)> = r
        .history
        .iter()
        .map(|h| (h.previous.as_str(), h.new.as_str(), h.reason.as_str()))
        .collect();
    assert_eq!(
        lines,
        [
            ("", "juin 2027 (date provisoire)", "annonce"),
            (
                "juin 2027 (date provisoire)",
                "10 juin 2027 à 12 h 00",
                "date confirmée"
            ),
            (
                "10 juin 2027 à 12 h 00",
                "17 juin 2027 à 12 h 00",
                "Données tardives"
            ),
            (
                "17 juin 2027 à 12 h 00",
                "parue (17 juin 2027 à 12 h 00)",
                "parution"
            ),
        ]
    );
    let actions: Vec<String> = db
        .store
        .audit_page(None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .filter(|a| a.starts_with("calendar."))
        .collect();
    assert_eq!(
        actions,
        [
            "calendar.publish",
            "calendar.reschedule",
            "calendar.confirm",
            "calendar.announce"
        ]
    );
    assert_eq!(db.store.releases().await.unwrap().len(), 1);
}

async fn a_cancelled_release_takes_its_scheduled_version_back_and_says_why(db: &TestDb) {
    let at = now() + SignedDuration::from_hours(24 * 30);
    db.store
        .announce_release(
            &announced(Schedule::At(at)),
            &CalendarPolicy::default(),
            Role::HeadOfService,
            &Actor::user("marc"),
            now(),
        )
        .await
        .unwrap();
    crate::harness::approved(db, C, SLUG).await;
    db.store
        .publication_action(
            C,
            SLUG,
            1,
            Action::Release,
            Role::HeadOfService,
            &Actor::user("marc"),
            None,
            now(),
        )
        .await
        .unwrap();
    change(
        db,
        CalendarChange::Cancel {
            notice: "La série est suspendue.".into(),
        },
        Role::HeadOfService,
        now(),
    )
    .await
    .unwrap();
    let v = db
        .store
        .publication_version(C, SLUG, Some(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((v.state, v.released_at), (VersionState::Approved, None));
    assert!(
        db.store
            .public_version(C, SLUG, at)
            .await
            .unwrap()
            .is_none()
    );
    let r = db.store.release(C, SLUG).await.unwrap().unwrap();
    assert_eq!(r.notice.as_deref(), Some("La série est suspendue."));
    assert_eq!(r.history.last().unwrap().new, "annulée");
    // A cancelled release cannot be released any more.
    assert!(
        db.store
            .publication_action(
                C,
                SLUG,
                1,
                Action::Release,
                Role::HeadOfService,
                &Actor::user("marc"),
                Some(at),
                now()
            )
            .await
            .is_err()
    );
}

async fn refusals_change_nothing_and_the_history_cannot_be_edited(db: &TestDb) {
    let policy = CalendarPolicy::default();
    // An essential indicator a month ahead needs its justification.
    let soon = NewRelease {
        collection: Collection::InfosRapides,
        ..announced(month("2027-01"))
    };
    let e = db
        .store
        .announce_release(
            &soon,
            &policy,
            Role::HeadOfService,
            &Actor::user("marc"),
            now(),
        )
        .await;
    assert!(matches!(e, Err(StoreError::Calendar(_))), "{e:?}");
    assert!(db.store.releases().await.unwrap().is_empty());
    let justified = NewRelease {
        justification: Some("Première édition de la série".into()),
        ..soon
    };
    db.store
        .announce_release(
            &justified,
            &policy,
            Role::HeadOfService,
            &Actor::user("marc"),
            now(),
        )
        .await
        .unwrap();
    let before = db
        .store
        .release(Collection::InfosRapides, SLUG)
        .await
        .unwrap()
        .unwrap();
    // A statistician cannot confirm; nothing changes.
    let refused = db
        .store
        .change_release(
            Collection::InfosRapides,
            SLUG,
            &CalendarChange::Confirm {
                at: now() + SignedDuration::from_hours(48),
            },
            Role::Statistician,
            &Actor::user("sophie"),
            now(),
        )
        .await;
    assert!(matches!(refused, Err(StoreError::Calendar(_))));
    assert_eq!(
        db.store
            .release(Collection::InfosRapides, SLUG)
            .await
            .unwrap()
            .unwrap(),
        before
    );
    let raw = db.raw().await;
    assert!(
        sqlx::query("UPDATE release_changes SET reason = 'x'")
            .execute(&raw)
            .await
            .is_err()
    );
    assert!(
        sqlx::query("DELETE FROM release_changes")
            .execute(&raw)
            .await
            .is_err()
    );
    raw.close().await;
}

/// The scenario up to the correction: a confirmed release at `first`, its version 1
/// released on it, then version 2 (a correction with its erratum) submitted, approved and
/// released on it too, before the instant.
async fn corrected_before_its_instant(db: &TestDb, first: jiff::Timestamp) {
    let marc = Actor::user("marc");
    db.store
        .announce_release(
            &announced(Schedule::At(first)),
            &CalendarPolicy::default(),
            Role::HeadOfService,
            &marc,
            now(),
        )
        .await
        .unwrap();
    crate::harness::approved(db, C, SLUG).await;
    let act = |version, action, role| {
        db.store
            .publication_action(C, SLUG, version, action, role, &marc, None, now())
    };
    act(1, Action::Release, Role::HeadOfService).await.unwrap();
    let correction = justat_store::NewVersion {
        erratum: Some("Le tableau 2 est corrigé.".into()),
        ..crate::harness::built(C, SLUG)
    };
    let v2 = db
        .store
        .save_build(&correction, &marc, now())
        .await
        .unwrap();
    assert_eq!(v2.version, 2);
    act(2, Action::Submit, Role::Statistician).await.unwrap();
    act(2, Action::Approve, Role::HeadOfService).await.unwrap();
    act(2, Action::Release, Role::HeadOfService).await.unwrap();
    let v1 = db
        .store
        .publication_version(C, SLUG, Some(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v1.state, VersionState::Corrected);
}

/// Nothing of the publication is public at `at`, through any store function a public channel
/// uses.
async fn nothing_public_at(db: &TestDb, at: jiff::Timestamp) {
    assert!(
        db.store
            .public_version(C, SLUG, at)
            .await
            .unwrap()
            .is_none(),
        "public version at {at}"
    );
    assert!(
        db.store.public_versions(at).await.unwrap().is_empty(),
        "public list at {at}"
    );
    assert!(
        db.store
            .public_history(C, SLUG, at)
            .await
            .unwrap()
            .is_empty(),
        "history at {at}"
    );
    for n in [1, 2] {
        let v = db
            .store
            .publication_version(C, SLUG, Some(n))
            .await
            .unwrap()
            .unwrap();
        assert!(
            !v.is_public(at),
            "version {n} public at {at}: {:?}",
            v.released_at
        );
    }
}

async fn a_moved_release_carries_its_correction_and_the_version_it_corrects(db: &TestDb) {
    let first = now() + SignedDuration::from_hours(24 * 30);
    let later = first + SignedDuration::from_hours(24 * 3);
    corrected_before_its_instant(db, first).await;
    change(
        db,
        CalendarChange::Reschedule {
            at: later,
            reason: "Données tardives".into(),
        },
        Role::HeadOfService,
        now(),
    )
    .await
    .unwrap();
    // At the old instant, and up to a second before the new one, nothing is out.
    nothing_public_at(db, first).await;
    nothing_public_at(db, later - SignedDuration::from_secs(1)).await;
    for n in [1, 2] {
        let v = db
            .store
            .publication_version(C, SLUG, Some(n))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(v.released_at, Some(later), "version {n}");
    }
    // At the new instant, the correction is the publication; its corrected version is readable.
    let v = db
        .store
        .public_version(C, SLUG, later)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v.version, 2);
    let history: Vec<i64> = db
        .store
        .public_history(C, SLUG, later)
        .await
        .unwrap()
        .iter()
        .map(|v| v.version)
        .collect();
    assert_eq!(history, [2, 1]);
}

async fn a_cancelled_release_carries_its_correction_and_the_version_it_corrects(db: &TestDb) {
    let first = now() + SignedDuration::from_hours(24 * 30);
    corrected_before_its_instant(db, first).await;
    change(
        db,
        CalendarChange::Cancel {
            notice: "La série est suspendue.".into(),
        },
        Role::HeadOfService,
        now(),
    )
    .await
    .unwrap();
    nothing_public_at(db, first).await;
    nothing_public_at(db, first + SignedDuration::from_hours(24 * 3650)).await;
}

async fn a_version_cannot_be_written_with_an_instant_of_its_own_beside_its_release(db: &TestDb) {
    let first = now() + SignedDuration::from_hours(24 * 30);
    corrected_before_its_instant(db, first).await;
    // Whoever writes the database: a version scheduled on a release has no instant of its own
    // to drift from the release's.
    let raw = db.raw().await;
    let earlier = "2026-12-01T10:00:00.000000Z";
    let written = sqlx::query("UPDATE publication_versions SET released_at = $1 WHERE version = 1")
        .bind(earlier)
        .execute(&raw)
        .await;
    raw.close().await;
    assert!(written.is_err(), "{written:?}");
    nothing_public_at(db, first - SignedDuration::from_secs(1)).await;
}
