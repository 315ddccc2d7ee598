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

/// A multipart body of the delivery form: `(name, file name if a file, content)` per field.
fn multipart(fields: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "justat-test-boundary-7d3f";
    let mut body = Vec::new();
    for (name, file, content) in fields {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file {
            Some(f) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n\
                     Content-Type: text/csv\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn files_in(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    }
}

#[tokio::test]
async fn an_uploaded_delivery_is_streamed_to_disk_and_queued_and_a_refused_one_leaves_nothing() {
    let uploads = tempfile::tempdir().unwrap();
    let upload_dir = uploads.path().join("depots");
    let config = WebConfig {
        upload_dir: upload_dir.clone(),
        max_upload_bytes: 1 << 20,
        ..WebConfig::default()
    };
    let catalog = justat_web::Catalog {
        sources: vec![justat_web::CatalogEntry {
            id: "penal".into(),
            label: "Chaîne pénale".into(),
            source: None,
            version: None,
        }],
        chains: Vec::new(),
    };
    let dir = tempfile::tempdir().unwrap();
    let url = justat_store::sqlite_url(dir.path());
    let s = Server::start_with_catalog(dir, url, config, catalog).await;
    let sophie = s.login_as("sophie", Role::Statistician).await;
    let post = |fields: Vec<(&'static str, Option<&'static str>, Vec<u8>)>| {
        let s = &s;
        let cookie = sophie.cookie.clone();
        async move {
            let borrowed: Vec<(&str, Option<&str>, &[u8])> = fields
                .iter()
                .map(|(n, f, c)| (*n, *f, c.as_slice()))
                .collect();
            let (content_type, body) = multipart(&borrowed);
            s.post_raw("/admin/livraisons", Some(&cookie), &content_type, body)
                .await
        }
    };
    let csrf = sophie.csrf.clone().into_bytes();
    // Several hundred kilobytes: many chunks through the writer.
    let content: Vec<u8> = (0..300_000u32).map(|i| b'a' + (i % 26) as u8).collect();

    let r = post(vec![
        ("csrf", None, csrf.clone()),
        ("source", None, b"penal".to_vec()),
        ("file", Some("extraction/penal.csv"), content.clone()),
    ])
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let job_id: i64 = r
        .location()
        .strip_prefix("/admin/taches/")
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("a job page: {}", r.location()));
    let job = s.store.job(job_id).await.unwrap();
    assert_eq!(job.kind, "delivery");
    let Ok(justat_model::JobRequest::Delivery {
        source,
        path,
        file_name,
    }) = job.request
    else {
        panic!("a delivery: {job:?}");
    };
    assert_eq!(source, "penal");
    assert_eq!(file_name, "extractionpenal.csv", "no path separator");
    assert!(path.starts_with(&upload_dir), "{path:?}");
    assert_eq!(std::fs::read(&path).unwrap(), content, "every byte written");
    assert_eq!(files_in(&upload_dir), vec![path.clone()]);

    // Refused: nothing more is left in the upload folder.
    let r = post(vec![
        ("csrf", None, csrf.clone()),
        ("source", None, b"penal".to_vec()),
        ("file", Some("vide.csv"), Vec::new()),
    ])
    .await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("le fichier reçu est vide"), "{}", r.body);
    let r = post(vec![
        ("csrf", None, csrf.clone()),
        ("source", None, b"inconnue".to_vec()),
        ("file", Some("penal.csv"), content.clone()),
    ])
    .await;
    assert_eq!(r.status, 400);
    assert!(
        r.body.contains("La source « inconnue » n’existe pas."),
        "{}",
        r.body
    );
    let r = post(vec![
        ("csrf", None, csrf.clone()),
        ("source", None, b"penal".to_vec()),
    ])
    .await;
    assert_eq!(r.status, 400);
    assert!(
        r.body.contains("Choisissez un fichier à déposer."),
        "{}",
        r.body
    );
    let r = post(vec![
        ("csrf", None, vec![b'0'; 64]),
        ("source", None, b"penal".to_vec()),
        ("file", Some("penal.csv"), content.clone()),
    ])
    .await;
    assert_eq!(r.status, 403, "a wrong CSRF token, checked before the file");
    let too_large: Vec<u8> = vec![b'x'; 2 << 20];
    let r = post(vec![
        ("csrf", None, csrf.clone()),
        ("source", None, b"penal".to_vec()),
        ("file", Some("grand.csv"), too_large),
    ])
    .await;
    assert_eq!(r.status, 413, "{}", r.body);
    assert_eq!(files_in(&upload_dir), vec![path], "no partial file left");
}
