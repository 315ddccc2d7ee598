//! Publications end to end: a folder built against a real cube (protected, audited), its
//! errors named at their file and line, the lifecycle from the command line, and the public
//! site answering nothing before the release instant and everything from it.

use crate::harness::{Server, justat_in, output_text as text};
use justat_web::WebConfig;
use std::path::Path;
use std::process::Output;

fn justat(dir: &Path, args: &[&str]) -> Output {
    justat_in(dir, args, None)
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let o = justat(dir, args);
    assert!(o.status.success(), "{args:?}: {}", text(&o));
    text(&o)
}

pub(crate) const PUBLICATION: &str = "+++
collection = \"infos-rapides\"
number = \"9\"
slug = \"condamnations-2024\"
title = \"Près de {{ valeur groupes ligne=_T arrondi=100 }} condamnations en 2024\"
authors = [\"Test\"]
period = \"2024\"
theme = \"Condamnations\"
+++
Les atteintes aux biens représentent {{ part groupes ligne=G_BIENS sur=_T }} des condamnations.

::: figure groupes
lecture: En 2024, {{ valeur groupes ligne=G_BIENS }} condamnations ont sanctionné une atteinte aux biens.
:::
";

pub(crate) const TABLES: &str = "[[table]]
name = \"groupes\"
title = \"Condamnations selon la nature de l'infraction en 2024\"
cube = \"cjn_convictions\"
measure = \"condamnations\"
period = \"2024\"
rows = \"offence_group\"
champ = \"France entière.\"
unit = \"nombre de condamnations\"
";

fn add_user(dir: &Path, name: &str, role: &str) {
    let o = justat_in(
        dir,
        &["user", "add", name, "--role", role, "--password-stdin"],
        Some("a-long-enough-password-1\n"),
    );
    assert!(o.status.success(), "{}", text(&o));
}

fn folder(dir: &Path, name: &str, publication: &str, tables: &str) -> String {
    let d = dir.join(name);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("publication.md"), publication).unwrap();
    std::fs::write(d.join("tables.toml"), tables).unwrap();
    d.display().to_string()
}

#[tokio::test]
async fn a_publication_is_built_from_a_cube_released_and_public_from_its_instant_only() {
    let tmp = crate::harness::with_convictions_cube("5");
    let p = tmp.path();
    for (user, role) in [
        ("sophie", "statistician"),
        ("chef", "head_of_service"),
        ("pilote", "administration"),
    ] {
        add_user(p, user, role);
    }

    // Bad input stops the build at its file and line, and saves nothing.
    for (name, publication, tables, says) in [
        (
            "bad-code",
            PUBLICATION.replace("ligne=G_BIENS sur", "ligne=G_NOPE sur"),
            TABLES.to_string(),
            "publication.md:10: ",
        ),
        (
            "bad-dim",
            PUBLICATION.to_string(),
            TABLES.replace("rows = \"offence_group\"", "rows = \"court\""),
            "tables.toml:1: table `groupes`: cube `cjn_convictions` has no dimension `court`",
        ),
        (
            "bad-cube",
            PUBLICATION.to_string(),
            TABLES.replace("cube = \"cjn_convictions\"", "cube = \"absent\""),
            "no cube named `absent`",
        ),
        (
            "bad-front",
            PUBLICATION.replace("number = \"9\"\n", ""),
            TABLES.to_string(),
            "publication.md:",
        ),
    ] {
        let dir = folder(p, name, &publication, &tables);
        let o = justat(p, &["publication", "import", &dir, "--as", "sophie"]);
        assert!(!o.status.success(), "{name}");
        assert!(text(&o).contains(says), "{name}: {}", text(&o));
    }
    assert!(
        !ok(p, &["publication", "list"]).contains("condamnations-2024"),
        "nothing saved"
    );

    let dir = folder(p, "ir", PUBLICATION, TABLES);
    let refused = justat(p, &["publication", "import", &dir, "--as", "pilote"]);
    assert!(
        !refused.status.success() && text(&refused).contains("only statisticians"),
        "{}",
        text(&refused)
    );
    let built = ok(p, &["publication", "import", &dir, "--as", "sophie"]);
    assert!(built.contains("version 1 saved as a draft"), "{built}");
    let approve_early = justat(
        p,
        &[
            "publication",
            "approve",
            "infos-rapides",
            "condamnations-2024",
            "--as",
            "chef",
        ],
    );
    assert!(
        !approve_early.status.success(),
        "a draft is submitted first"
    );
    ok(
        p,
        &[
            "publication",
            "submit",
            "infos-rapides",
            "condamnations-2024",
            "--as",
            "sophie",
        ],
    );
    let by_statistician = justat(
        p,
        &[
            "publication",
            "approve",
            "infos-rapides",
            "condamnations-2024",
            "--as",
            "sophie",
        ],
    );
    assert!(
        text(&by_statistician).contains("may not approve"),
        "{}",
        text(&by_statistician)
    );
    ok(
        p,
        &[
            "publication",
            "approve",
            "infos-rapides",
            "condamnations-2024",
            "--as",
            "chef",
        ],
    );
    // Released four seconds from now: time enough to look before the instant.
    let at = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(4);
    ok(
        p,
        &[
            "publication",
            "release",
            "infos-rapides",
            "condamnations-2024",
            "--as",
            "chef",
            "--at",
            &at.to_string(),
        ],
    );

    let data = p.join("data");
    let dir = tempfile::tempdir().unwrap();
    let url = justat_store::sqlite_url(&data);
    let s = Server::start_on(
        dir,
        url,
        WebConfig {
            data_dir: data.clone(),
            ..WebConfig::default()
        },
    )
    .await;
    let base = "/publications/infos-rapides/condamnations-2024";
    let addresses = [
        base.to_string(),
        format!("{base}/v1"),
        format!("{base}/donnees/groupes.csv"),
        format!("{base}/v1/donnees/groupes.xlsx"),
        format!("{base}/donnees.zip"),
        format!("{base}/v1/donnees.zip"),
        format!("{base}.pdf"),
        format!("{base}/v1/condamnations-2024.pdf"),
    ];
    let get = |path: String| {
        let c = s.client.clone();
        let u = format!("{}{path}", s.base);
        async move { c.get(u).send().await.unwrap() }
    };
    for a in &addresses {
        assert_eq!(get(a.clone()).await.status(), 404, "{a} before the instant");
    }
    let list = get("/publications".into()).await.text().await.unwrap();
    assert!(
        !list.contains("condamnations en 2024"),
        "not listed before the instant"
    );
    assert!(
        jiff::Timestamp::now() < at,
        "the checks before the instant ran before it"
    );
    while jiff::Timestamp::now() < at {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    for a in &addresses {
        assert_eq!(get(a.clone()).await.status(), 200, "{a} from the instant");
    }
    let page = get(base.into()).await.text().await.unwrap();
    assert!(page.contains("Près de"), "the title cites its value");
    assert!(page.contains("<caption>"), "tables have captions");
    let csv = get(format!("{base}/donnees/groupes.csv")).await;
    assert!(
        csv.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("condamnations-2024-v1-groupes.csv")
    );
    let csv = csv.text().await.unwrap();
    assert!(csv.starts_with("code,"), "{csv}");
    let pdf = get(format!("{base}.pdf")).await;
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF-"));
    assert_eq!(get(format!("{base}/v2")).await.status(), 404);
    assert_eq!(
        get(format!("{base}/donnees/absent.csv")).await.status(),
        404
    );
    assert_eq!(get("/publications/inconnue".into()).await.status(), 404);
    let frozen = justat(
        p,
        &[
            "publication",
            "import",
            &folder(p, "ir", PUBLICATION, TABLES),
            "--as",
            "sophie",
        ],
    );
    assert!(
        text(&frozen).contains("erratum"),
        "a released version is corrected by a new version: {}",
        text(&frozen)
    );
    s.stop().await;
}

#[tokio::test]
async fn the_back_office_moves_a_version_through_the_lifecycle_by_role() {
    use justat_model::Role;
    use justat_model::publication::{Collection, VersionState};
    let s = Server::start().await;
    let new = justat_store::NewVersion {
        collection: Collection::Infostat,
        slug: "essai".into(),
        number: "3".into(),
        title: "Un essai".into(),
        summary: String::new(),
        theme: "Essais".into(),
        period: "2024".into(),
        authors: vec!["A".into()],
        keywords: vec![],
        erratum: None,
        html: "<p>Corps de l’essai</p>".into(),
        sources: serde_json::json!({}),
        figures: serde_json::json!([]),
        provenance: justat_model::Provenance::default(),
        files: vec![],
        content_hash: "00".repeat(32).parse().unwrap(),
    };
    s.store
        .save_build(
            &new,
            &justat_store::Actor::user("a"),
            jiff::Timestamp::now(),
        )
        .await
        .unwrap();
    let stat = s.login_as("sophie", Role::Statistician).await;
    let chef = s.login_as("marc", Role::HeadOfService).await;
    let base = "/admin/publications/infostat/essai/v1";
    let page = s.get(base, Some(&stat.cookie)).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("Corps de l’essai"),
        "the draft's preview"
    );
    assert!(page.body.contains("Soumettre à la validation"));
    assert!(
        !page.body.contains("Valider (figer"),
        "a statistician is not offered approval"
    );
    let post = |who: &crate::harness::Session, action: &str| {
        let path = format!("{base}/{action}");
        let (cookie, csrf) = (who.cookie.clone(), who.csrf.clone());
        let s = &s;
        async move {
            s.post(&path, Some(&cookie), &[("csrf", &csrf)])
                .await
                .status
        }
    };
    assert_eq!(post(&stat, "soumettre").await, 303);
    assert_eq!(
        post(&stat, "valider").await,
        400,
        "only the head of service approves"
    );
    assert_eq!(post(&chef, "valider").await, 303);
    assert_eq!(post(&chef, "inventer").await, 404);
    // Without its CSRF token the form is refused and nothing moves.
    let no_csrf = s
        .post(&format!("{base}/publier"), Some(&chef.cookie), &[])
        .await;
    assert_ne!(no_csrf.status, 303);
    let v = s
        .store
        .publication_version(Collection::Infostat, "essai", Some(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v.state, VersionState::Approved);
    assert_eq!(post(&chef, "publier").await, 303);
    assert_eq!(
        s.get("/publications/infostat/essai", None).await.status,
        200
    );
    // Someone not logged in sees nothing of the back office.
    assert_ne!(s.get(base, None).await.status, 200);
    s.stop().await;
}

#[tokio::test]
async fn the_editor_previews_and_saves_a_publication_built_by_the_job_runner() {
    use justat_model::publication::{Collection, VersionState};
    let tmp = crate::harness::with_convictions_cube("7");
    let p = tmp.path();
    add_user(p, "sophie", "statistician");
    add_user(p, "pilote", "administration");
    let s = Server::serve_process(p).await;
    let password = "a-long-enough-password-1";
    let sophie = s.login("sophie", password).await;
    let pilote = s.login("pilote", password).await;

    let new = s
        .get("/admin/publications/nouvelle", Some(&sophie.cookie))
        .await;
    assert_eq!(new.status, 200);
    assert!(new.body.contains("[[table]]") && new.body.contains("collection = "));
    assert_eq!(
        s.get("/admin/publications/nouvelle", Some(&pilote.cookie))
            .await
            .status,
        403,
        "only producers write publications"
    );

    let send = |publication: String, intent: &'static str| {
        let (cookie, csrf) = (sophie.cookie.clone(), sophie.csrf.clone());
        let s = &s;
        async move {
            // As a browser sends a text area: CRLF line ends.
            let publication = publication.replace('\n', "\r\n");
            let reply = s
                .post(
                    "/admin/publications/editeur",
                    Some(&cookie),
                    &[
                        ("csrf", &csrf),
                        ("publication", &publication),
                        ("tables", TABLES),
                        ("intent", intent),
                    ],
                )
                .await;
            assert_eq!(reply.status, 303, "{}", reply.body);
            s.finished(&cookie, &reply.location()).await
        }
    };

    // A bad source: its error at its file and line, the text sent kept, nothing saved.
    let bad = send(
        PUBLICATION.replace("ligne=G_BIENS sur", "ligne=G_NOPE sur"),
        "apercu",
    )
    .await;
    assert!(bad.contains("publication.md:10: "), "{bad}");
    assert!(bad.contains("ligne=G_NOPE sur"), "the text sent is kept");
    // The preview: the page as built, its tables protected; nothing stored.
    let preview = send(PUBLICATION.to_string(), "apercu").await;
    assert!(preview.contains("Aperçu de la version 1"), "{preview}");
    assert!(preview.contains("Près de") && preview.contains("<caption>"));
    let shown = &preview[preview.find("Aperçu de la version 1").unwrap()..];
    assert!(!shown.contains("{{ valeur"), "values are resolved");
    assert!(s.store.publication_versions().await.unwrap().is_empty());
    let cube = s.store.cubes().await.unwrap()[0].id.clone();
    assert!(
        s.store
            .latest_pattern(&cube, "2024", "condamnations")
            .await
            .unwrap()
            .is_none(),
        "a preview records no suppression pattern"
    );

    // Saved: a draft built like an import, its source as typed (LF line ends).
    let saved = send(PUBLICATION.to_string(), "enregistrer").await;
    assert!(
        saved.contains("Brouillon enregistré (version 1)"),
        "{saved}"
    );
    let v = s
        .store
        .publication_version(Collection::InfosRapides, "condamnations-2024", None)
        .await
        .unwrap()
        .expect("the draft");
    assert_eq!((v.version, v.state), (1, VersionState::Draft));
    assert_eq!(v.sources["publication.md"], PUBLICATION);
    assert!(v.files.iter().any(|f| f.name == "publication.pdf"));
    assert!(
        s.store
            .latest_pattern(&cube, "2024", "condamnations")
            .await
            .unwrap()
            .is_some()
    );

    // The version's page offers the editor; the editor holds its text; a change rebuilds it.
    let base = "/admin/publications/infos-rapides/condamnations-2024/v1";
    assert!(
        s.get(base, Some(&sophie.cookie))
            .await
            .body
            .contains(&format!("{base}/modifier"))
    );
    let edit = s
        .get(&format!("{base}/modifier"), Some(&sophie.cookie))
        .await;
    assert!(
        edit.body.contains("slug = &quot;condamnations-2024&quot;"),
        "{}",
        edit.body
    );
    let retitled = PUBLICATION.replace("Près de", "Environ");
    send(retitled, "enregistrer").await;
    let v = s
        .store
        .publication_version(Collection::InfosRapides, "condamnations-2024", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v.version, 1, "a draft is rebuilt in place");
    assert!(v.title.starts_with("Environ"), "{}", v.title);

    // Submitted, it is frozen: no editor.
    ok(
        p,
        &[
            "publication",
            "submit",
            "infos-rapides",
            "condamnations-2024",
            "--as",
            "sophie",
        ],
    );
    assert_eq!(
        s.get(&format!("{base}/modifier"), Some(&sophie.cookie))
            .await
            .status,
        400
    );
    let frozen = send(PUBLICATION.to_string(), "apercu").await;
    assert!(frozen.contains("frozen"), "{frozen}");
    s.stop().await;
}
