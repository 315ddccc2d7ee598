//! The public site, the back-office pages, error pages and the audit log over real HTTP.

use crate::harness::Server;
use justat_model::Role;
use justat_web::WebConfig;
use sqlx::Executor;

#[tokio::test]
async fn public_pages_are_french_dsfr_pages_with_security_headers() {
    let s = Server::start().await;
    for path in [
        "/",
        "/le-service",
        "/accessibilite",
        "/mentions-legales",
        "/donnees-personnelles",
        "/connexion",
    ] {
        let r = s.get(path, None).await;
        assert_eq!(r.status, 200, "{path}");
        assert!(r.body.contains("<html lang=\"fr\""), "{path}");
        assert!(
            r.body.contains("class=\"fr-header\"") && r.body.contains("class=\"fr-footer\""),
            "{path}"
        );
        assert!(r.body.contains("href=\"#contenu\""), "{path}: skip link");
        for mention in [
            "Accessibilité : non conforme",
            "Mentions légales",
            "Données personnelles",
        ] {
            assert!(r.body.contains(mention), "{path}: footer mention {mention}");
        }
        assert!(
            !r.body.contains("<script>") && !r.body.contains("style=\""),
            "{path}: nothing inline"
        );
        let csp = r.header("content-security-policy");
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"));
        assert_eq!(r.header("x-content-type-options"), "nosniff");
        assert_eq!(
            r.header("referrer-policy"),
            "strict-origin-when-cross-origin"
        );
    }
    let health = s.get("/healthz", None).await;
    assert_eq!(health.status, 200);
    assert!(health.body.contains("\"status\":\"ok\""));
    s.stop().await;
}

#[tokio::test]
async fn dsfr_files_are_served_from_the_binary_with_long_cache() {
    let s = Server::start().await;
    let home = s.get("/", None).await;
    let css_href = home
        .body
        .split("rel=\"stylesheet\" href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let css_path = css_href.to_string();
    let css = s.get(&css_path, None).await;
    assert_eq!(css.status, 200);
    assert!(css.header("content-type").starts_with("text/css"));
    assert_eq!(
        css.header("cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert!(css.body.contains(".fr-header"));
    let font = s
        .get(
            &css_path.replace("dsfr.min.css", "fonts/Marianne-Regular.woff2"),
            None,
        )
        .await;
    assert_eq!(font.status, 200);
    assert_eq!(
        s.get(&css_path.replace("dsfr.min.css", "nope.css"), None)
            .await
            .status,
        404
    );
    s.stop().await;
}

#[tokio::test]
async fn unknown_pages_get_the_dsfr_404_page() {
    let s = Server::start().await;
    let r = s.get("/page-inexistante", None).await;
    assert_eq!(r.status, 404);
    assert!(r.body.contains("Page non trouvée") && r.body.contains("fr-header"));
    s.stop().await;
}

#[tokio::test]
async fn malformed_forms_get_a_400_page_that_says_what_was_wrong() {
    let s = Server::start_with(WebConfig {
        max_body_bytes: 4096,
        ..WebConfig::default()
    })
    .await;
    let page = s.get("/connexion", None).await;
    let cookie = format!(
        "justat_login_csrf={}",
        page.cookie("justat_login_csrf").unwrap()
    );
    let missing = s
        .post(
            "/connexion",
            Some(&cookie),
            &[("csrf", &page.csrf()), ("username", "marie")],
        )
        .await;
    assert_eq!(missing.status, 400);
    assert!(
        missing.body.contains("Le champ « password » est absent"),
        "{}",
        missing.body
    );
    let json = s
        .post_raw(
            "/connexion",
            Some(&cookie),
            "application/json",
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(json.status, 400);
    assert!(json.body.contains("application/x-www-form-urlencoded"));
    let huge = format!("csrf={}&username={}", page.csrf(), "x".repeat(10_000));
    let too_large = s
        .post_raw(
            "/connexion",
            Some(&cookie),
            "application/x-www-form-urlencoded",
            huge.into_bytes(),
        )
        .await;
    assert_eq!(too_large.status, 413);
    assert!(too_large.body.contains("trop volumineux"));
    s.stop().await;
}

#[tokio::test]
async fn an_admin_manages_accounts_and_every_change_is_in_the_audit_log() {
    let s = Server::start().await;
    let admin = s.login_as("root", Role::Admin).await;
    let c = Some(admin.cookie.as_str());
    let created = s
        .post(
            "/admin/utilisateurs",
            c,
            &[
                ("csrf", &admin.csrf),
                ("username", "marie"),
                ("display_name", "Marie Curie"),
                ("role", "statistician"),
                ("password", "marie-initial-pw"),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    let listed = s.get(&created.location(), c).await;
    assert!(listed.body.contains("Le compte marie a été créé."));
    assert!(listed.body.contains("Marie Curie"));

    let weak = s
        .post(
            "/admin/utilisateurs",
            c,
            &[
                ("csrf", &admin.csrf),
                ("username", "paul"),
                ("display_name", "Paul"),
                ("role", "asp"),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(weak.status, 400);
    assert!(weak.body.contains("au moins 12 caractères"));
    let dup = s
        .post(
            "/admin/utilisateurs",
            c,
            &[
                ("csrf", &admin.csrf),
                ("username", "marie"),
                ("display_name", "M"),
                ("role", "asp"),
                ("password", "another-long-pw"),
            ],
        )
        .await;
    assert!(dup.body.contains("Le compte marie existe déjà."));

    assert_eq!(
        s.post(
            "/admin/utilisateurs/marie/role",
            c,
            &[("csrf", &admin.csrf), ("role", "head_of_service")]
        )
        .await
        .status,
        303
    );
    assert_eq!(
        s.post(
            "/admin/utilisateurs/marie/desactiver",
            c,
            &[("csrf", &admin.csrf)]
        )
        .await
        .status,
        303
    );
    assert_eq!(s.try_login("marie", "marie-initial-pw").await.status, 401);
    assert_eq!(
        s.post(
            "/admin/utilisateurs/marie/reactiver",
            c,
            &[("csrf", &admin.csrf)]
        )
        .await
        .status,
        303
    );
    assert_eq!(
        s.post(
            "/admin/utilisateurs/marie/mot-de-passe",
            c,
            &[("csrf", &admin.csrf), ("password", "marie-second-pw")]
        )
        .await
        .status,
        303
    );
    assert_eq!(s.try_login("marie", "marie-second-pw").await.status, 303);
    let self_disable = s
        .post(
            "/admin/utilisateurs/root/desactiver",
            c,
            &[("csrf", &admin.csrf)],
        )
        .await;
    assert_eq!(self_disable.status, 400);

    let journal = s.get("/admin/journal", c).await;
    assert!(journal.body.contains("<caption>"));
    for action in [
        "user.create",
        "user.role_change",
        "user.disable",
        "user.enable",
        "user.password_reset",
        "login.failure",
    ] {
        assert!(
            journal.body.contains(action),
            "{action} missing from the journal page"
        );
    }
    let verified = s.get("/admin/journal?verifier=1", c).await;
    assert!(
        verified.body.contains("Chaîne intègre"),
        "{}",
        verified.body
    );
    s.stop().await;
}

#[tokio::test]
async fn tampering_with_the_database_shows_on_the_journal_page() {
    let s = Server::start().await;
    let admin = s.login_as("root", Role::Admin).await;
    s.add_user("marie", Role::Statistician).await;
    let raw = sqlx::AnyPool::connect(&s.url).await.unwrap();
    raw.execute("DROP TRIGGER audit_log_no_update")
        .await
        .unwrap();
    raw.execute("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2")
        .await
        .unwrap();
    raw.close().await;
    let page = s
        .get("/admin/journal?verifier=1", Some(&admin.cookie))
        .await;
    assert!(page.body.contains("Chaîne rompue"));
    assert!(
        page.body.contains("L’entrée n° 2 a été modifiée"),
        "{}",
        page.body
    );
    s.stop().await;
}

#[tokio::test]
async fn a_database_failure_gets_the_dsfr_500_page() {
    let s = Server::start().await;
    let admin = s.login_as("root", Role::Admin).await;
    s.store.close().await;
    let r = s.get("/admin", Some(&admin.cookie)).await;
    assert_eq!(r.status, 500);
    assert!(r.body.contains("Erreur inattendue") && r.body.contains("fr-header"));
    assert!(
        !r.body.contains("closed"),
        "internal details stay in the log"
    );
    assert_eq!(s.get("/healthz", None).await.status, 503);
    s.stop().await;
}
