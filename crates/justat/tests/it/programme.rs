//! The work programme end to end: the head of service edits it in the back office (a wrong
//! form comes back with what was typed and a French message per field, nothing saved), every
//! edit is in the history, the public page shows it in the Cnis's layout, and the worker of
//! `justat serve` typesets its PDF, listed in the sitemap.

use crate::harness::{Server, justat_in, output_text as text};
use std::path::Path;
use std::time::Duration;

fn ok(dir: &Path, args: &[&str], stdin: Option<&str>) -> String {
    let o = justat_in(dir, args, stdin);
    assert!(o.status.success(), "{args:?}: {}", text(&o));
    text(&o)
}

#[tokio::test]
async fn the_head_of_service_edits_the_programme_the_public_reads_it_and_its_pdf() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    ok(p, &["db", "migrate"], None);
    for (name, role) in [("chef", "head_of_service"), ("stat", "statistician")] {
        ok(
            p,
            &["user", "add", name, "--role", role, "--password-stdin"],
            Some(&format!("{name}-password-123\n")),
        );
    }
    let s = Server::serve_process(p).await;
    assert_eq!(s.get("/programme-de-travail/2026", None).await.status, 404);
    let stat = s.login("stat", "stat-password-123").await;
    assert_eq!(
        s.get("/admin/programme-de-travail/2026", Some(&stat.cookie))
            .await
            .status,
        403,
        "only the head of service edits the programme"
    );
    let chef = s.login("chef", "chef-password-123").await;
    let admin = s.get("/admin", Some(&chef.cookie)).await;
    assert!(admin.body.contains("/admin/programme-de-travail"));
    let page = s
        .get("/admin/programme-de-travail/2026", Some(&chef.cookie))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);

    // A wrong form: every problem named beside its field, what was typed kept, nothing saved.
    let new = "/admin/programme-de-travail/2026/operations/nouvelle";
    let wrong = s
        .post(
            new,
            Some(&chef.cookie),
            &[
                ("csrf", &chef.csrf),
                ("year", "2026"),
                ("kind", "study"),
                ("novelty", "new"),
                ("title", ""),
                (
                    "description",
                    "Parcours des mineurs <de la saisine> à la sanction",
                ),
                ("status", "postponed"),
                ("status_reason", ""),
            ],
        )
        .await;
    assert_eq!(wrong.status, 422, "{}", wrong.body);
    assert!(wrong.body.contains("ce champ est obligatoire"));
    assert!(
        wrong
            .body
            .contains("une opération reportée doit en donner la raison")
    );
    assert!(
        wrong
            .body
            .contains("Parcours des mineurs &lt;de la saisine&gt; à la sanction"),
        "what was typed comes back, escaped"
    );
    assert!(s.store.programme_years().await.unwrap().is_empty());
    // Without the CSRF token, nothing either.
    let forged = s
        .post(
            new,
            Some(&chef.cookie),
            &[("title", "Intrus"), ("kind", "study")],
        )
        .await;
    assert_ne!(forged.status, 303);
    assert!(s.store.programme_years().await.unwrap().is_empty());

    let add = |fields: Vec<(&'static str, &'static str)>| {
        let mut form = vec![("csrf", chef.csrf.as_str()), ("year", "2026")];
        form.extend(fields);
        form.into_iter()
            .map(|(k, v)| (k, v.to_string()))
            .collect::<Vec<_>>()
    };
    let study = add(vec![
        ("kind", "study"),
        ("novelty", "new"),
        ("title", "Parcours des mineurs jugés selon le CJPM"),
        ("status", "postponed"),
        ("status_reason", "Données de 2025 non consolidées"),
    ]);
    let chain = add(vec![
        ("kind", "exploitation"),
        ("novelty", "new"),
        ("title", "Suivi du CJPM"),
        ("status", "running"),
        ("chain", "cjpm_delays"),
    ]);
    for form in [&study, &chain] {
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = s.post(new, Some(&chef.cookie), &pairs).await;
        assert_eq!(r.status, 303, "{}", r.body);
    }
    let ops = s.store.programme(2026).await.unwrap().operations;
    let (study_id, chain_id) = (ops[0].id.to_string(), ops[1].id.to_string());

    // An opinion answered by both, with a wrong date first.
    let opinion = "/admin/programme-de-travail/2026/avis/nouveau";
    let opinion_form = |date: &'static str| {
        vec![
            ("csrf", chef.csrf.clone()),
            ("year", "2026".into()),
            ("kind", "medium_term".into()),
            ("reference", "2024-2028, avis n° 5".into()),
            ("issued_on", date.into()),
            (
                "summary",
                "Suivre la réforme de la justice pénale des mineurs".into(),
            ),
            ("response", String::new()),
            ("operations", study_id.clone()),
            ("operations", chain_id.clone()),
        ]
    };
    let bad = opinion_form("30/01/2024");
    let bad: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = s.post(opinion, Some(&chef.cookie), &bad).await;
    assert_eq!(r.status, 422);
    assert!(
        r.body
            .contains("« 30/01/2024 » n’est pas une date (AAAA-MM-JJ)")
    );
    assert!(r.body.contains("value=\"2024-2028, avis n° 5\""));
    assert_eq!(
        r.body.matches(" checked>").count(),
        2,
        "the ticked operations stay ticked"
    );
    let good = opinion_form("2024-01-30");
    let good: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = s.post(opinion, Some(&chef.cookie), &good).await;
    assert_eq!(r.status, 303, "{}", r.body);

    // The study is done after all; the synthesis is written.
    let done = add(vec![
        ("kind", "study"),
        ("novelty", "new"),
        ("title", "Parcours des mineurs jugés selon le CJPM"),
        ("status", "done"),
    ]);
    let done: Vec<(&str, &str)> = done.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let edit = format!("/admin/programme-de-travail/2026/operations/{study_id}");
    let r = s.post(&edit, Some(&chef.cookie), &done).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let r = s
        .post(
            "/admin/programme-de-travail/2026/synthese",
            Some(&chef.cookie),
            &[
                ("csrf", &chef.csrf),
                (
                    "synthesis",
                    "Le suivi de la réforme.\r\n\r\nDeuxième paragraphe.",
                ),
            ],
        )
        .await;
    assert_eq!(r.status, 303);

    let admin = s
        .get("/admin/programme-de-travail/2026", Some(&chef.cookie))
        .await;
    assert!(admin.body.contains("Historique des modifications"));
    assert!(
        admin
            .body
            .contains("&quot;status&quot;:&quot;postponed&quot;")
            || admin.body.contains("\"status\":\"postponed\""),
        "the value before the edit is in the history"
    );
    let history = s.store.programme_history(2026).await.unwrap();
    assert_eq!(history.len(), 5);
    assert!(history.iter().all(|h| h.changed_by == "chef"));

    let public = s.get("/programme-de-travail/2026", None).await;
    assert_eq!(public.status, 200);
    for t in [
        "2.2 Nouvelles exploitations de fichiers administratifs",
        "Suivi du CJPM",
        "Chaîne de traitement cjpm_delays",
        "Réalisée",
        "<p>Deuxième paragraphe.</p>",
        "2024-2028, avis n° 5",
        "Réponse à venir.",
        "href=\"/calendrier\"",
    ] {
        assert!(public.body.contains(t), "{t}");
    }
    let sitemap = s.get("/sitemap.xml", None).await;
    assert!(sitemap.body.contains("/programme-de-travail/2026<"));

    // The worker typesets the PDF of the latest revision.
    let revision = s.store.programme(2026).await.unwrap().revision;
    let pdf_path = "/programme-de-travail/2026/programme-de-travail-2026.pdf";
    let mut typeset = None;
    for _ in 0..300 {
        if let Some(pdf) = s.store.programme_pdf(2026).await.unwrap()
            && pdf.revision == revision
        {
            typeset = Some(pdf);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        typeset.is_some(),
        "the PDF of revision {revision} was typeset"
    );
    let pdf = s
        .client
        .get(format!("{}{pdf_path}", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.status(), 200);
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF"));
    assert!(s.get("/sitemap.xml", None).await.body.contains(pdf_path));
    s.stop().await;
}
