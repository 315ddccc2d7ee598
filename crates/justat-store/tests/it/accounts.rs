use crate::harness::{TestDb, add_user, now};
use jiff::SignedDuration;
use justat_model::{PasswordProblem, Role, ThrottlePolicy, Username};
use justat_store::{
    Actor, HashingLimits, LoginAttempt, LoginOutcome, LoginRefusal, NewUser, StoreError,
    ThrottlePolicies,
};

both_backends!(
    users_are_created_listed_and_unique,
    role_changes_and_disabling_are_audited,
    a_weak_password_is_refused_and_nothing_is_written,
    login_succeeds_only_with_the_right_password_of_an_enabled_account,
    repeated_failures_slow_down_then_lock_and_the_lock_is_logged,
    concurrent_failures_are_counted_atomically_and_decided_before_hashing,
    an_attempt_finding_every_hasher_busy_is_refused_unchecked_and_uncounted,
);

fn attempt(user: &str, password: &str) -> LoginAttempt {
    LoginAttempt {
        username: user.into(),
        password: password.into(),
        ip: "192.0.2.7".into(),
    }
}

async fn actions(db: &TestDb) -> Vec<String> {
    let mut page = db.store.audit_page(None, 1000).await.unwrap();
    page.reverse();
    page.into_iter().map(|e| e.action).collect()
}

async fn users_are_created_listed_and_unique(db: &TestDb) {
    let marie = add_user(&db.store, "marie", Role::Statistician).await;
    assert_eq!(marie.role, Role::Statistician);
    assert!(!marie.disabled);
    add_user(&db.store, "alain", Role::Admin).await;
    let names: Vec<_> = db
        .store
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(names, vec!["alain", "marie"]);
    let dup = db
        .store
        .create_user(
            &NewUser {
                username: Username::parse("marie").unwrap(),
                display_name: "Other".into(),
                role: Role::Admin,
                password: "another-long-password".into(),
            },
            &Actor::cli(),
            now(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(dup, StoreError::Conflict { what: "user", .. }),
        "{dup}"
    );
    assert_eq!(actions(db).await, vec!["user.create", "user.create"]);
    assert!(matches!(
        db.store.user("nobody").await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn role_changes_and_disabling_are_audited(db: &TestDb) {
    add_user(&db.store, "marie", Role::Statistician).await;
    let admin = Actor::user("alain");
    let u = db
        .store
        .set_role("marie", Role::HeadOfService, &admin, now())
        .await
        .unwrap();
    assert_eq!(u.role, Role::HeadOfService);
    let u = db
        .store
        .set_disabled("marie", true, &admin, now())
        .await
        .unwrap();
    assert!(u.disabled);
    let u = db
        .store
        .set_disabled("marie", false, &admin, now())
        .await
        .unwrap();
    assert!(!u.disabled);
    let page = db.store.audit_page(None, 10).await.unwrap();
    let role_change = page
        .iter()
        .find(|e| e.action == "user.role_change")
        .unwrap();
    assert_eq!(role_change.actor, "alain");
    assert_eq!(role_change.object, "user:marie");
    assert!(role_change.details.contains("\"from\":\"statistician\""));
    assert!(role_change.details.contains("\"to\":\"head_of_service\""));
    assert_eq!(
        actions(db).await,
        vec![
            "user.create",
            "user.role_change",
            "user.disable",
            "user.enable"
        ]
    );
    assert!(matches!(
        db.store.set_role("ghost", Role::Admin, &admin, now()).await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn a_weak_password_is_refused_and_nothing_is_written(db: &TestDb) {
    add_user(&db.store, "marie", Role::Statistician).await;
    let err = db
        .store
        .reset_password("marie", "short", &Actor::cli(), now())
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        StoreError::Password(PasswordProblem::TooShort { .. })
    ));
    assert_eq!(actions(db).await, vec!["user.create"]);
    db.store
        .reset_password("marie", "a-much-better-passphrase", &Actor::cli(), now())
        .await
        .unwrap();
    let out = db
        .store
        .authenticate(
            &attempt("marie", "a-much-better-passphrase"),
            &ThrottlePolicies::default(),
            now(),
        )
        .await
        .unwrap();
    assert!(matches!(out, LoginOutcome::Success(_)));
}

async fn login_succeeds_only_with_the_right_password_of_an_enabled_account(db: &TestDb) {
    add_user(&db.store, "marie", Role::Statistician).await;
    let p = ThrottlePolicies::default();
    let ok = db
        .store
        .authenticate(&attempt("marie", "marie-password-123"), &p, now())
        .await
        .unwrap();
    assert!(matches!(ok, LoginOutcome::Success(ref u) if u.username == "marie"));
    let bad = LoginOutcome::Refused(LoginRefusal::BadCredentials);
    assert_eq!(
        db.store
            .authenticate(&attempt("marie", "wrong-password"), &p, now())
            .await
            .unwrap(),
        bad
    );
    assert_eq!(
        db.store
            .authenticate(&attempt("ghost", "marie-password-123"), &p, now())
            .await
            .unwrap(),
        bad
    );
    db.store
        .set_disabled("marie", true, &Actor::cli(), now())
        .await
        .unwrap();
    assert_eq!(
        db.store
            .authenticate(&attempt("marie", "marie-password-123"), &p, now())
            .await
            .unwrap(),
        bad
    );
    let page = db.store.audit_page(None, 20).await.unwrap();
    let reasons: Vec<_> = page
        .iter()
        .filter(|e| e.action == "login.failure")
        .map(|e| e.details.clone())
        .collect();
    assert_eq!(reasons.len(), 3);
    assert!(reasons[0].contains("disabled"));
    assert!(reasons[1].contains("unknown_user"));
    assert!(reasons[2].contains("wrong_password"));
    assert!(
        page.iter()
            .any(|e| e.action == "login.success" && e.details.contains("192.0.2.7"))
    );
}

async fn repeated_failures_slow_down_then_lock_and_the_lock_is_logged(db: &TestDb) {
    add_user(&db.store, "marie", Role::Statistician).await;
    let policies = ThrottlePolicies {
        account: ThrottlePolicy {
            free_failures: 2,
            base_delay: SignedDuration::from_secs(10),
            max_delay: SignedDuration::from_secs(10),
            lock_after: 3,
            lock_for: SignedDuration::from_mins(15),
            forget_after: SignedDuration::from_hours(1),
        },
        ip: ThrottlePolicy::per_ip(),
    };
    let t0 = now();
    let bad = LoginOutcome::Refused(LoginRefusal::BadCredentials);
    assert_eq!(
        db.store
            .authenticate(&attempt("marie", "nope-1"), &policies, t0)
            .await
            .unwrap(),
        bad
    );
    assert_eq!(
        db.store
            .authenticate(&attempt("marie", "nope-2"), &policies, t0)
            .await
            .unwrap(),
        bad
    );
    // The right password is not even checked while the account must wait.
    let wait = db
        .store
        .authenticate(&attempt("marie", "marie-password-123"), &policies, t0)
        .await
        .unwrap();
    assert_eq!(
        wait,
        LoginOutcome::Refused(LoginRefusal::WaitUntil(t0 + SignedDuration::from_secs(10)))
    );
    let t1 = t0 + SignedDuration::from_secs(10);
    assert_eq!(
        db.store
            .authenticate(&attempt("marie", "nope-3"), &policies, t1)
            .await
            .unwrap(),
        bad
    );
    let locked = db
        .store
        .authenticate(&attempt("marie", "marie-password-123"), &policies, t1)
        .await
        .unwrap();
    let until = t1 + SignedDuration::from_mins(15);
    assert_eq!(
        locked,
        LoginOutcome::Refused(LoginRefusal::LockedUntil(until))
    );
    assert!(actions(db).await.contains(&"login.lock".to_string()));
    let after = db
        .store
        .authenticate(&attempt("marie", "marie-password-123"), &policies, until)
        .await
        .unwrap();
    assert!(matches!(after, LoginOutcome::Success(_)));
}

async fn concurrent_failures_are_counted_atomically_and_decided_before_hashing(db: &TestDb) {
    add_user(&db.store, "marie", Role::Statistician).await;
    // No slow-down, so that only the count decides: 4 failures lock the account.
    let policies = ThrottlePolicies {
        account: ThrottlePolicy {
            free_failures: 4,
            lock_after: 4,
            ..ThrottlePolicy::per_account()
        },
        ip: ThrottlePolicy::per_ip(),
    };
    let t0 = now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..30 {
        let store = db.store.clone();
        tasks.spawn(async move {
            store
                .authenticate(&attempt("marie", &format!("nope-{i}")), &policies, t0)
                .await
                .unwrap()
        });
    }
    let mut checked = 0;
    while let Some(outcome) = tasks.join_next().await {
        match outcome.unwrap() {
            LoginOutcome::Refused(LoginRefusal::BadCredentials) => checked += 1,
            LoginOutcome::Refused(_) => {}
            LoginOutcome::Success(_) => panic!("a wrong password succeeded"),
        }
    }
    assert_eq!(checked, 4, "attempts checked out of 30 concurrent");
    let log = actions(db).await;
    assert_eq!(log.iter().filter(|a| *a == "login.failure").count(), 4);
    assert_eq!(log.iter().filter(|a| *a == "login.lock").count(), 1);
    let locked = db
        .store
        .authenticate(&attempt("marie", "marie-password-123"), &policies, t0)
        .await
        .unwrap();
    assert!(
        matches!(locked, LoginOutcome::Refused(LoginRefusal::LockedUntil(_))),
        "{locked:?}"
    );
}

async fn an_attempt_finding_every_hasher_busy_is_refused_unchecked_and_uncounted(db: &TestDb) {
    // One hash at a time and no waiting: concurrent attempts beyond the first are turned away.
    let store = db.store.clone().with_hashing_limits(HashingLimits {
        concurrent: 1,
        wait: std::time::Duration::ZERO,
    });
    let policies = ThrottlePolicies::default();
    let t0 = now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..8 {
        let store = store.clone();
        tasks.spawn(async move {
            store
                .authenticate(&attempt(&format!("ghost{i}"), "nope-nope"), &policies, t0)
                .await
                .unwrap()
        });
    }
    let (mut checked, mut busy) = (0, 0);
    while let Some(outcome) = tasks.join_next().await {
        match outcome.unwrap() {
            LoginOutcome::Refused(LoginRefusal::BadCredentials) => checked += 1,
            LoginOutcome::Refused(LoginRefusal::Busy) => busy += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(checked + busy, 8);
    assert!(checked >= 1 && busy >= 1, "{checked} checked, {busy} busy");
    assert_eq!(store.hashing_peak(), 1);
    // Only the checked attempts count against the shared address.
    let log = actions(db).await;
    assert_eq!(
        log.iter().filter(|a| *a == "login.failure").count(),
        checked
    );
    let ip = ThrottlePolicies {
        ip: ThrottlePolicy {
            free_failures: checked as u32 + 1,
            lock_after: checked as u32 + 1,
            ..ThrottlePolicy::per_ip()
        },
        ..policies
    };
    // One more failure is allowed on the address: busy attempts left nothing reserved.
    assert_eq!(
        store
            .authenticate(&attempt("ghost-last", "nope-nope"), &ip, t0)
            .await
            .unwrap(),
        LoginOutcome::Refused(LoginRefusal::BadCredentials)
    );
}
