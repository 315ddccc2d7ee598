use crate::harness::{TestDb, add_user, now};
use jiff::SignedDuration;
use justat_model::{Role, SessionPolicy};
use justat_store::Actor;

both_backends!(
    sessions_live_until_their_timeouts,
    logout_and_disabling_end_sessions,
    expired_sessions_are_purged
);

async fn sessions_live_until_their_timeouts(db: &TestDb) {
    let marie = add_user(&db.store, "marie", Role::Statistician).await;
    let policy = SessionPolicy::default();
    let t0 = now();
    let tokens = db
        .store
        .create_session(&marie, "192.0.2.1", "test-agent", t0)
        .await
        .unwrap();
    let mins = |m: i64| t0 + SignedDuration::from_mins(m);
    let info = db
        .store
        .session(&tokens.token, &policy, mins(29))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.user.username, "marie");
    assert_eq!(info.csrf, tokens.csrf);
    // Used at 29 minutes, so still alive at 58, then idle from there.
    assert!(
        db.store
            .session(&tokens.token, &policy, mins(58))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        db.store
            .session(&tokens.token, &policy, mins(88))
            .await
            .unwrap()
            .is_none()
    );
    // Once expired it is gone for good.
    assert!(
        db.store
            .session(&tokens.token, &policy, mins(60))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        db.store
            .session("not-a-token", &policy, t0)
            .await
            .unwrap()
            .is_none()
    );

    let tokens = db
        .store
        .create_session(&marie, "192.0.2.1", "test-agent", t0)
        .await
        .unwrap();
    let mut t = t0;
    while t < mins(12 * 60 - 20) {
        t += SignedDuration::from_mins(20);
        assert!(
            db.store
                .session(&tokens.token, &policy, t)
                .await
                .unwrap()
                .is_some()
        );
    }
    assert!(
        db.store
            .session(&tokens.token, &policy, mins(12 * 60))
            .await
            .unwrap()
            .is_none()
    );
}

async fn logout_and_disabling_end_sessions(db: &TestDb) {
    let marie = add_user(&db.store, "marie", Role::Statistician).await;
    let policy = SessionPolicy::default();
    let a = db
        .store
        .create_session(&marie, "192.0.2.1", "ua", now())
        .await
        .unwrap();
    let b = db
        .store
        .create_session(&marie, "192.0.2.1", "ua", now())
        .await
        .unwrap();
    db.store.end_session(&a.token, &marie, now()).await.unwrap();
    assert!(
        db.store
            .session(&a.token, &policy, now())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        db.store
            .session(&b.token, &policy, now())
            .await
            .unwrap()
            .is_some()
    );
    db.store
        .set_disabled("marie", true, &Actor::cli(), now())
        .await
        .unwrap();
    assert!(
        db.store
            .session(&b.token, &policy, now())
            .await
            .unwrap()
            .is_none()
    );
    let page = db.store.audit_page(None, 10).await.unwrap();
    assert!(
        page.iter()
            .any(|e| e.action == "logout" && e.actor == "marie")
    );
}

async fn expired_sessions_are_purged(db: &TestDb) {
    let marie = add_user(&db.store, "marie", Role::Statistician).await;
    let policy = SessionPolicy::default();
    db.store
        .create_session(&marie, "ip", "ua", now())
        .await
        .unwrap();
    db.store
        .create_session(&marie, "ip", "ua", now() + SignedDuration::from_mins(40))
        .await
        .unwrap();
    let purged = db
        .store
        .purge_sessions(&policy, now() + SignedDuration::from_mins(45))
        .await
        .unwrap();
    assert_eq!(purged, 1);
}
