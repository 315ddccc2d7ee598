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

/// The part of a dashboard's page about one indicator: from its heading to the next one.
fn card<'a>(page: &'a str, indicator: &str) -> &'a str {
    let start = page
        .find(&format!("id=\"titre-{indicator}\""))
        .unwrap_or_else(|| panic!("no card for {indicator}"));
    let rest = &page[start..];
    let end = rest[1..].find("id=\"titre-").map_or(rest.len(), |e| e + 1);
    &rest[..end]
}

#[tokio::test]
async fn an_official_value_shows_in_a_dashboard_from_its_release_instant_and_not_a_second_before() {
    // A cube for the publication (criminal record), and the CJPM cube whose indicator
    // `cjpm_saisines` is an official series released by `chiffres-cles-2025`.
    let tmp = crate::harness::with_convictions_cube("5");
    let p = tmp.path();
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
    ok(p, &["chain", "run", "cjpm_delays", "--delivery", "2"]);
    for (user, role) in [
        ("sophie", "statistician"),
        ("chef", "head_of_service"),
        ("pilote", "administration"),
    ] {
        let o = justat_in(
            p,
            &["user", "add", user, "--role", role, "--password-stdin"],
            Some("a-long-enough-password-1\n"),
        );
        assert!(o.status.success(), "{}", text(&o));
    }
    // The command line attaches the account to its administration, and refuses an unknown one.
    let unknown = justat_in(p, &["user", "set-administration", "pilote", "DGX"], None);
    assert!(!unknown.status.success());
    assert!(
        text(&unknown).contains("unknown administration `DGX`; expected one of: DACG"),
        "{}",
        text(&unknown)
    );
    let set = ok(p, &["user", "set-administration", "pilote", "dpjj"]);
    assert!(
        set.contains("pilote now reads the steering dashboards of the DPJJ"),
        "{set}"
    );

    // The edition that releases the series (its period 2024 covers 2023), approved, then
    // scheduled on the calendar a few seconds ahead.
    let d = p.join("cc");
    std::fs::create_dir_all(&d).unwrap();
    let publication = crate::publications::PUBLICATION
        .replace(
            "collection = \"infos-rapides\"",
            "collection = \"chiffres-cles\"",
        )
        .replace("number = \"9\"", "number = \"2025\"")
        .replace(
            "slug = \"condamnations-2024\"",
            "slug = \"chiffres-cles-2025\"",
        );
    std::fs::write(d.join("publication.md"), publication).unwrap();
    std::fs::write(d.join("tables.toml"), crate::publications::TABLES).unwrap();
    ok(p, &["publication", "import", "cc", "--as", "sophie"]);
    let target = ["chiffres-cles", "chiffres-cles-2025"];
    ok(
        p,
        &[
            "publication",
            "submit",
            target[0],
            target[1],
            "--as",
            "sophie",
        ],
    );
    ok(
        p,
        &[
            "publication",
            "approve",
            target[0],
            target[1],
            "--as",
            "chef",
        ],
    );
    let at = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(12);
    let at_text = at.to_string();
    ok(
        p,
        &[
            "calendar",
            "announce",
            target[0],
            target[1],
            "--title",
            "Chiffres clés 2025",
            "--at",
            &at_text,
            "--justification",
            "Test",
            "--as",
            "chef",
        ],
    );
    ok(
        p,
        &[
            "publication",
            "release",
            target[0],
            target[1],
            "--as",
            "chef",
        ],
    );

    let s = Server::on_data(p).await;
    let pilote = s.login("pilote", "a-long-enough-password-1").await;
    let year = justat_indicators::Granularity::Year;
    let t = s
        .store
        .dashboard_table("cjpm_saisines", year.label())
        .await
        .unwrap()
        .unwrap();
    let content: DashboardContent = serde_json::from_str(&t.content).unwrap();
    let france = content.row("_T").unwrap();
    // The latest year the cube holds (cases referred in 2023 run into 2024).
    let i = content.periods.len() - 1;
    let value = justat_model::french::integer(france.values[i].unwrap().round() as i64);
    let shown = format!(
        "<strong>{value} affaires</strong> en {}",
        content.periods[i]
    );
    let scheduled = format!("publication le {}", justat_model::french::date_time(at));
    let path = "/admin/tableaux-de-bord/dpjj?periodicite=ann%C3%A9e&territoire=_T";
    let page = s.get(path, Some(&pilote.cookie)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let before = card(&page.body, "cjpm_saisines");
    assert!(before.contains(&scheduled), "{before}");
    assert!(!before.contains(&shown), "{before}");

    // One second before the instant: still held back.
    assert!(
        jiff::Timestamp::now() < at - jiff::SignedDuration::from_secs(1),
        "the first checks ran more than a second before the instant"
    );
    while jiff::Timestamp::now() < at - jiff::SignedDuration::from_secs(1) {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let page = s.get(path, Some(&pilote.cookie)).await;
    let second_before = card(&page.body, "cjpm_saisines");
    assert!(second_before.contains(&scheduled) && !second_before.contains(&shown));
    // From the instant: the value, and no more « publication le ».
    while jiff::Timestamp::now() < at {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let page = s.get(path, Some(&pilote.cookie)).await;
    let after = card(&page.body, "cjpm_saisines");
    assert!(after.contains(&shown), "{after}");
    assert!(!after.contains("publication le"), "{after}");
    s.stop().await;
}
