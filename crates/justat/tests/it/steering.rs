//! Steering dashboards end to end: CJPM extracts delivered and processed from the command
//! line (which computes the dashboards, as the worker does), then the back office: an
//! administration's account reads its own dashboard and nothing of another's (404), a small
//! court-level count is withheld, and every view is in the audit log.

use crate::harness::{Server, justat_in, output_text as text};
use justat_indicators::DashboardContent;
use justat_model::Role;
use justat_store::Actor;
use justat_web::WebConfig;
use std::path::Path;

fn ok(dir: &Path, args: &[&str]) -> String {
    let o = justat_in(dir, args, None);
    assert!(o.status.success(), "{args:?}: {}", text(&o));
    text(&o)
}

#[tokio::test]
async fn an_administration_reads_only_its_dashboards_whose_small_court_counts_are_withheld() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    ok(p, &["db", "migrate"]);
    ok(
        p,
        &[
            "generate",
            "cjpm",
            "--years",
            "2023-2023",
            "--scale",
            "0.1",
            "--seed",
            "3",
            "--out",
            "ext",
        ],
    );
    ok(p, &["delivery", "add", "cjpm", "ext/cjpm_2023.csv"]);
    let run = ok(p, &["chain", "run", "cjpm_delays", "--delivery", "1"]);
    assert!(run.contains("dashboards refreshed"), "{run}");

    let data = p.join("data");
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_on(
        dir,
        justat_store::sqlite_url(&data),
        WebConfig {
            data_dir: data.clone(),
            ..WebConfig::default()
        },
    )
    .await;
    s.add_user("dpjj", Role::Administration).await;
    s.add_user("sadjav", Role::Administration).await;
    let now = jiff::Timestamp::now();
    for (user, adm) in [("dpjj", "DPJJ"), ("sadjav", "SADJAV")] {
        s.store
            .set_user_administration(user, Some(adm), &Actor::system(), now)
            .await
            .unwrap();
    }
    let dpjj = s.login("dpjj", "dpjj-password-123").await;
    let sadjav = s.login("sadjav", "sadjav-password-123").await;

    let own = s
        .get(
            "/admin/tableaux-de-bord/dpjj?periodicite=mois&territoire=_T",
            Some(&dpjj.cookie),
        )
        .await;
    assert_eq!(own.status, 200, "{}", own.body);
    assert!(own.body.contains("la culpabilité tenues dans les 3 mois"));
    assert!(own.body.contains("ce n’est pas une statistique publique"));
    assert!(own.body.contains("<svg") && own.body.contains("<caption>"));
    let definition = "/admin/tableaux-de-bord/dpjj/indicateurs/cjpm_mejp";
    assert_eq!(s.get(definition, Some(&dpjj.cookie)).await.status, 200);
    let file = "/admin/tableaux-de-bord/dpjj/indicateurs/cjpm_mejp/mois.csv";
    assert_eq!(s.get(file, Some(&dpjj.cookie)).await.status, 200);

    // Another administration's dashboard, indicator or file does not exist for this account.
    for path in [
        "/admin/tableaux-de-bord/dpjj",
        definition,
        file,
        "/admin/tableaux-de-bord/dpjj/indicateurs/cjpm_mejp/mois.xlsx",
    ] {
        assert_eq!(
            s.get(path, Some(&sadjav.cookie)).await.status,
            404,
            "{path}"
        );
    }
    for path in [
        "/admin/tableaux-de-bord/sadjav",
        "/admin/tableaux-de-bord/dpjj/indicateurs/op_decisions_6_jours",
        "/admin/tableaux-de-bord/dpjj/indicateurs/inconnu",
    ] {
        assert_eq!(s.get(path, Some(&dpjj.cookie)).await.status, 404, "{path}");
    }

    // At a tenth of the national volume, many courts have fewer than 5 cases a month:
    // their values are withheld, and so is what would let them be derived.
    let t = s
        .store
        .dashboard_table("cjpm_mejp", "mois")
        .await
        .unwrap()
        .unwrap();
    let content: DashboardContent = serde_json::from_str(&t.content).unwrap();
    let courts: Vec<_> = content.rows.iter().filter(|r| r.depth == 2).collect();
    assert!(!courts.is_empty());
    let withheld = courts
        .iter()
        .flat_map(|r| r.secret.iter().zip(&r.values))
        .filter(|(s, _)| **s)
        .collect::<Vec<_>>();
    assert!(!withheld.is_empty(), "small court counts are withheld");
    assert!(
        withheld.iter().all(|(_, v)| v.is_none()),
        "a withheld value is not kept"
    );
    let france = content.row("_T").unwrap();
    assert!(
        france.secret.iter().all(|s| !s),
        "France's counts are large"
    );
    assert!(!t.csv.is_empty() && !t.xlsx_hex.is_empty());
    let court = courts.iter().find(|r| r.secret.iter().any(|s| *s)).unwrap();
    let page = s
        .get(
            &format!(
                "/admin/tableaux-de-bord/dpjj?periodicite=mois&territoire={}",
                court.code
            ),
            Some(&dpjj.cookie),
        )
        .await;
    assert!(page.body.contains("s (secret statistique)"));

    // Every view is in the audit log, with who and what.
    let entries = s.store.audit_page(None, 200).await.unwrap();
    let views = entries
        .iter()
        .filter(|e| e.action == "dashboard.view" && e.actor == "dpjj")
        .count();
    assert!(views >= 2, "{views} dashboard views logged");
    assert!(
        entries
            .iter()
            .any(|e| e.action == "dashboard.indicator" && e.object == "indicator:cjpm_mejp")
    );
    assert!(entries.iter().any(|e| e.action == "dashboard.download"));
    s.stop().await;
}
