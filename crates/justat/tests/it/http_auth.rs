//! Login, logout, sessions, CSRF, throttling and role checks over real HTTP.

use crate::harness::Server;
use jiff::SignedDuration;
use justat_model::{Role, ThrottlePolicy};
use justat_store::ThrottlePolicies;
use justat_web::WebConfig;

#[tokio::test]
async fn login_sets_a_strict_session_cookie_and_logout_ends_it_server_side() {
    let s = Server::start().await;
    s.add_user("marie", Role::Statistician).await;
    let page = s.get("/connexion", None).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"username\"") && page.body.contains("id=\"password\""));
    let reply = s.try_login("marie", "marie-password-123").await;
    assert_eq!(reply.status, 303);
    assert_eq!(reply.location(), "/admin");
    let set = reply
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("justat_session="))
        .unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Path=/"),
        "{set}"
    );
    assert!(!set.contains("Secure"), "no TLS here: {set}");
    let cookie = format!("justat_session={}", reply.cookie("justat_session").unwrap());

    let admin = s.get("/admin", Some(&cookie)).await;
    assert_eq!(admin.status, 200);
    assert!(admin.body.contains("marie (test)"));
    assert!(admin.body.contains("Se déconnecter"));

    let out = s
        .post("/deconnexion", Some(&cookie), &[("csrf", &admin.csrf())])
        .await;
    assert_eq!(out.status, 303);
    assert_eq!(out.location(), "/");
    assert!(
        out.set_cookies()
            .iter()
            .any(|c| c.starts_with("justat_session=;") && c.contains("Max-Age=0"))
    );
    // Replaying the old cookie does not work: the session is gone from the server.
    let again = s.get("/admin", Some(&cookie)).await;
    assert_eq!(again.status, 303);
    assert!(again.location().starts_with("/connexion?suite="));
    let actions: Vec<_> = s
        .store
        .audit_page(None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(
        actions.contains(&"logout".to_string()) && actions.contains(&"login.success".to_string())
    );
    s.stop().await;
}

#[tokio::test]
async fn cookies_are_secure_when_served_over_tls() {
    let s = Server::start_with(WebConfig {
        secure_cookies: true,
        ..WebConfig::default()
    })
    .await;
    s.add_user("marie", Role::Statistician).await;
    let page = s.get("/connexion", None).await;
    assert!(page.set_cookies().iter().all(|c| c.contains("; Secure")));
    let reply = s.try_login("marie", "marie-password-123").await;
    assert!(
        reply
            .set_cookies()
            .iter()
            .any(|c| c.starts_with("justat_session=") && c.contains("; Secure"))
    );
    s.stop().await;
}

#[tokio::test]
async fn a_wrong_password_is_refused_without_saying_which_part_was_wrong() {
    let s = Server::start().await;
    s.add_user("marie", Role::Statistician).await;
    let wrong = s.try_login("marie", "not-her-password").await;
    let unknown = s.try_login("nobody", "not-her-password").await;
    assert_eq!(wrong.status, 401);
    assert_eq!(unknown.status, 401);
    assert!(
        wrong
            .body
            .contains("Identifiant ou mot de passe incorrect.")
    );
    assert!(
        unknown
            .body
            .contains("Identifiant ou mot de passe incorrect.")
    );
    assert!(wrong.cookie("justat_session").is_none());
    s.stop().await;
}

#[tokio::test]
async fn forms_without_the_right_csrf_token_are_refused_and_change_nothing() {
    let s = Server::start().await;
    s.add_user("marie", Role::Statistician).await;
    // Login without the token, and with a token that is not the cookie's.
    let no_token = s
        .post(
            "/connexion",
            None,
            &[("username", "marie"), ("password", "marie-password-123")],
        )
        .await;
    assert_eq!(no_token.status, 403);
    assert!(no_token.body.contains("jeton de sécurité"));
    let forged = s
        .post(
            "/connexion",
            Some("justat_login_csrf=aaaa"),
            &[
                ("csrf", "bbbb"),
                ("username", "marie"),
                ("password", "marie-password-123"),
            ],
        )
        .await;
    assert_eq!(forged.status, 403);
    assert!(forged.cookie("justat_session").is_none());

    let admin = s.login_as("root", Role::Admin).await;
    let create = [
        ("username", "eve"),
        ("display_name", "Eve"),
        ("role", "admin"),
        ("password", "eve-password-1234"),
    ];
    let refused = s
        .post("/admin/utilisateurs", Some(&admin.cookie), &create)
        .await;
    assert_eq!(refused.status, 403);
    let mut with_wrong = create.to_vec();
    with_wrong.push((
        "csrf",
        "0000000000000000000000000000000000000000000000000000000000000000",
    ));
    assert_eq!(
        s.post("/admin/utilisateurs", Some(&admin.cookie), &with_wrong)
            .await
            .status,
        403
    );
    assert!(s.store.user("eve").await.is_err(), "no account was created");
    // Logout needs the token too.
    assert_eq!(
        s.post("/deconnexion", Some(&admin.cookie), &[])
            .await
            .status,
        403
    );
    assert_eq!(s.get("/admin", Some(&admin.cookie)).await.status, 200);
    s.stop().await;
}

fn quick_throttle() -> WebConfig {
    WebConfig {
        throttle: ThrottlePolicies {
            account: ThrottlePolicy {
                free_failures: 2,
                base_delay: SignedDuration::from_millis(1200),
                max_delay: SignedDuration::from_millis(1200),
                lock_after: 4,
                lock_for: SignedDuration::from_mins(15),
                forget_after: SignedDuration::from_hours(1),
            },
            ip: ThrottlePolicy {
                lock_after: 1000,
                free_failures: 1000,
                ..ThrottlePolicy::per_ip()
            },
        },
        ..WebConfig::default()
    }
}

#[tokio::test]
async fn repeated_failures_slow_down_then_lock_the_account_and_the_lock_is_logged() {
    let s = Server::start_with(quick_throttle()).await;
    s.add_user("marie", Role::Statistician).await;
    assert_eq!(s.try_login("marie", "bad-1").await.status, 401);
    assert_eq!(s.try_login("marie", "bad-2").await.status, 401);
    // Too soon: refused before the password is even checked, the right one included.
    let wait = s.try_login("marie", "marie-password-123").await;
    assert_eq!(wait.status, 429);
    assert!(wait.body.contains("attendez"), "{}", wait.body);
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    assert_eq!(s.try_login("marie", "bad-3").await.status, 401);
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    assert_eq!(s.try_login("marie", "bad-4").await.status, 401);
    let locked = s.try_login("marie", "marie-password-123").await;
    assert_eq!(locked.status, 429);
    assert!(locked.body.contains("bloquée"), "{}", locked.body);
    let log = s.store.audit_page(None, 50).await.unwrap();
    let lock = log
        .iter()
        .find(|e| e.action == "login.lock")
        .expect("the lock is in the audit log");
    assert_eq!(lock.object, "user:marie");
    s.stop().await;
}

#[tokio::test]
async fn one_address_failing_on_many_accounts_is_locked() {
    let config = WebConfig {
        throttle: ThrottlePolicies {
            account: ThrottlePolicy::per_account(),
            ip: ThrottlePolicy {
                free_failures: 10,
                lock_after: 3,
                ..ThrottlePolicy::per_ip()
            },
        },
        ..WebConfig::default()
    };
    let s = Server::start_with(config).await;
    s.add_user("marie", Role::Statistician).await;
    for name in ["a1", "a2", "a3"] {
        assert_eq!(s.try_login(name, "guess-guess").await.status, 401);
    }
    assert_eq!(s.try_login("marie", "marie-password-123").await.status, 429);
    let log = s.store.audit_page(None, 50).await.unwrap();
    assert!(
        log.iter()
            .any(|e| e.action == "login.lock" && e.object.starts_with("ip:"))
    );
    s.stop().await;
}

#[tokio::test]
async fn roles_are_checked_on_the_server() {
    let s = Server::start().await;
    // Anonymous users are sent to the login page, and back afterwards.
    let anon = s.get("/admin/journal", None).await;
    assert_eq!(anon.status, 303);
    assert_eq!(anon.location(), "/connexion?suite=/admin/journal");

    let stat = s.login_as("marie", Role::Statistician).await;
    let dash = s.get("/admin", Some(&stat.cookie)).await;
    assert!(
        !dash.body.contains("/admin/journal"),
        "the dashboard offers only what the role allows"
    );
    let journal = s.get("/admin/journal", Some(&stat.cookie)).await;
    assert_eq!(journal.status, 403);
    assert!(journal.body.contains("Accès refusé"));
    assert_eq!(
        s.get("/admin/utilisateurs", Some(&stat.cookie))
            .await
            .status,
        403
    );
    let create = [
        ("csrf", stat.csrf.as_str()),
        ("username", "eve"),
        ("display_name", "Eve"),
        ("role", "admin"),
        ("password", "eve-password-1234"),
    ];
    assert_eq!(
        s.post("/admin/utilisateurs", Some(&stat.cookie), &create)
            .await
            .status,
        403
    );
    assert!(s.store.user("eve").await.is_err());

    let asp = s.login_as("asp", Role::Asp).await;
    assert_eq!(s.get("/admin/journal", Some(&asp.cookie)).await.status, 200);
    assert_eq!(
        s.get("/admin/utilisateurs", Some(&asp.cookie)).await.status,
        403
    );

    // A role change takes effect at once: the account's sessions end.
    let admin = s.login_as("root", Role::Admin).await;
    let demote = s
        .post(
            "/admin/utilisateurs/asp/role",
            Some(&admin.cookie),
            &[("csrf", &admin.csrf), ("role", "statistician")],
        )
        .await;
    assert_eq!(demote.status, 303);
    assert_eq!(s.get("/admin/journal", Some(&asp.cookie)).await.status, 303);
    s.stop().await;
}

#[tokio::test]
async fn login_and_logout_work_on_postgres() {
    let Ok(admin_url) = std::env::var("JUSTAT_TEST_POSTGRES_URL") else {
        eprintln!("JUSTAT_TEST_POSTGRES_URL is not set: PostgreSQL variant not run");
        return;
    };
    use sqlx::Executor;
    sqlx::any::install_default_drivers();
    let name = format!(
        "justat_e2e_{}",
        &justat_store::sessions::random_token()[..12]
    );
    let pool = sqlx::AnyPool::connect(&admin_url).await.unwrap();
    pool.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .unwrap();
    let url = format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0);
    let s = Server::start_on(tempfile::tempdir().unwrap(), url, WebConfig::default()).await;
    let session = s.login_as("marie", Role::Admin).await;
    assert_eq!(
        s.get("/admin/journal?verifier=1", Some(&session.cookie))
            .await
            .status,
        200
    );
    assert_eq!(
        s.post(
            "/deconnexion",
            Some(&session.cookie),
            &[("csrf", &session.csrf)]
        )
        .await
        .status,
        303
    );
    assert_eq!(s.get("/admin", Some(&session.cookie)).await.status, 303);
    assert_eq!(s.store.verify_audit().await.unwrap(), Ok(3));
    s.stop().await;
    pool.execute(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {name} WITH (FORCE)"
    )))
    .await
    .unwrap();
}
