//! The release calendar end to end: announcing and changing dates from the command line by
//! role, the release instant on every public channel (not a second before), a release on a
//! daylight-saving day, and a server killed around the instant.

use crate::harness::{Server, justat_in, output_text as text};
use std::path::Path;
use std::time::Duration;

pub(crate) fn ok(dir: &Path, args: &[&str]) -> String {
    let o = justat_in(dir, args, None);
    assert!(o.status.success(), "{args:?}: {}", text(&o));
    text(&o)
}

fn fails(dir: &Path, args: &[&str]) -> String {
    let o = justat_in(dir, args, None);
    assert!(!o.status.success(), "{args:?} should fail: {}", text(&o));
    text(&o)
}

/// The end-to-end publication, its title made easy to look for on every channel.
fn publication() -> String {
    crate::publications::PUBLICATION.replace(
        "Près de {{ valeur groupes ligne=_T arrondi=100 }} condamnations en 2024",
        "Secret jusqu’à la parution : {{ valeur groupes ligne=_T }} condamnations",
    )
}

const TITLE_WORDS: &str = "Secret jusqu";

/// A data folder with a cube, the accounts, and the publication built, submitted and approved.
pub(crate) fn prepared() -> tempfile::TempDir {
    let tmp = crate::harness::with_convictions_cube("3");
    let p = tmp.path();
    for (user, role) in [("sophie", "statistician"), ("chef", "head_of_service")] {
        let o = justat_in(
            p,
            &["user", "add", user, "--role", role, "--password-stdin"],
            Some("a-long-enough-password-1\n"),
        );
        assert!(o.status.success(), "{}", text(&o));
    }
    let d = p.join("ir");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("publication.md"), publication()).unwrap();
    std::fs::write(d.join("tables.toml"), crate::publications::TABLES).unwrap();
    ok(p, &["publication", "import", "ir", "--as", "sophie"]);
    let target = ["infos-rapides", "condamnations-2024"];
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
    tmp
}

/// Announces the release confirmed at `at` (head of service, with the short-notice
/// justification an essential indicator needs) and schedules the approved version on it.
pub(crate) fn schedule_at(p: &Path, at: jiff::Timestamp) {
    let at = at.to_string();
    let announce = [
        "calendar",
        "announce",
        "infos-rapides",
        "condamnations-2024",
        "--title",
        "Condamnations en 2024",
        "--at",
        &at,
        "--as",
        "chef",
    ];
    let short = fails(p, &announce);
    assert!(short.contains("essential indicator"), "{short}");
    let mut justified = announce.to_vec();
    justified.extend(["--justification", "Nouvelle série"]);
    ok(p, &justified);
    // The calendar decides the instant: releasing asks for no other.
    ok(
        p,
        &[
            "publication",
            "release",
            "infos-rapides",
            "condamnations-2024",
            "--as",
            "chef",
        ],
    );
}

async fn body(s: &Server, path: &str) -> (u16, String) {
    let r = s.get(path, None).await;
    (r.status, r.body)
}

#[tokio::test]
async fn dates_are_announced_and_changed_by_role_with_their_reasons() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    for (user, role) in [("sophie", "statistician"), ("chef", "head_of_service")] {
        let o = justat_in(
            p,
            &["user", "add", user, "--role", role, "--password-stdin"],
            Some("a-long-enough-password-1\n"),
        );
        assert!(o.status.success(), "{}", text(&o));
    }
    let next_year = (jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .year()
        + 1)
    .to_string();
    let month = format!("{next_year}-06");
    let target = ["infostat", "detention-2025"];
    // A statistician proposes a provisional month; only the head of service confirms.
    ok(
        p,
        &[
            "calendar",
            "announce",
            target[0],
            target[1],
            "--title",
            "Détention provisoire",
            "--month",
            &month,
            "--as",
            "sophie",
        ],
    );
    let day = format!("{next_year}-06-10");
    let refused = fails(
        p,
        &[
            "calendar", "confirm", target[0], target[1], "--date", &day, "--as", "sophie",
        ],
    );
    assert!(refused.contains("may not confirm"), "{refused}");
    let confirmed = ok(
        p,
        &[
            "calendar", "confirm", target[0], target[1], "--date", &day, "--as", "chef",
        ],
    );
    assert!(
        confirmed.contains("à 12 h 00"),
        "the collection's standard hour: {confirmed}"
    );
    // Never back to provisional; a move needs its reason.
    let back = fails(
        p,
        &[
            "calendar", "move", target[0], target[1], "--month", &month, "--reason", "x", "--as",
            "chef",
        ],
    );
    assert!(back.contains("cannot be asked"), "{back}");
    let later = format!("{next_year}-06-17");
    let no_reason = fails(
        p,
        &[
            "calendar", "move", target[0], target[1], "--date", &later, "--as", "chef",
        ],
    );
    assert!(no_reason.contains("--reason"), "{no_reason}");
    ok(
        p,
        &[
            "calendar",
            "move",
            target[0],
            target[1],
            "--date",
            &later,
            "--time",
            "09:30",
            "--reason",
            "Données tardives",
            "--as",
            "chef",
        ],
    );
    let blank = fails(
        p,
        &[
            "calendar", "cancel", target[0], target[1], "--notice", " ", "--as", "chef",
        ],
    );
    assert!(blank.contains("notice is required"), "{blank}");
    ok(
        p,
        &[
            "calendar",
            "cancel",
            target[0],
            target[1],
            "--notice",
            "Série suspendue",
            "--as",
            "chef",
        ],
    );
    let list: serde_json::Value =
        serde_json::from_str(&ok(p, &["calendar", "list", "--json"])).unwrap();
    let r = &list[0];
    assert_eq!(r["status"], "cancelled");
    assert_eq!(r["sequence"], 3);
    assert_eq!(r["notice"], "Série suspendue");
    let reasons: Vec<&str> = r["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        [
            "annonce",
            "date confirmée",
            "Données tardives",
            "Série suspendue"
        ]
    );
    // Bad input is named.
    let bad = fails(
        p,
        &[
            "calendar", "announce", "infostat", "x", "--title", "X", "--month", "2027-13", "--as",
            "chef",
        ],
    );
    assert!(bad.contains("2027-13"), "{bad}");
    let gap = fails(
        p,
        &[
            "calendar",
            "announce",
            "infostat",
            "y",
            "--title",
            "Y",
            "--date",
            &format!("{next_year}-03-28"),
            "--time",
            "02:30",
            "--as",
            "chef",
        ],
    );
    assert!(
        gap.contains("daylight saving") || gap.contains("does not exist"),
        "{gap}"
    );
    let log = ok(p, &["audit", "verify"]);
    assert!(log.contains("OK"), "{log}");
}

#[tokio::test]
async fn a_release_at_noon_on_a_daylight_saving_day_is_at_noon_in_paris() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    let o = justat_in(
        p,
        &[
            "user",
            "add",
            "chef",
            "--role",
            "head_of_service",
            "--password-stdin",
        ],
        Some("a-long-enough-password-1\n"),
    );
    assert!(o.status.success(), "{}", text(&o));
    // The last Sunday of March of next year: clocks go forward at 02:00.
    let year = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .year()
        + 1;
    let march_end = jiff::civil::date(year, 3, 31);
    let sunday = march_end
        .nth_weekday_of_month(-1, jiff::civil::Weekday::Sunday)
        .unwrap();
    let warned = ok(
        p,
        &[
            "calendar",
            "announce",
            "infostat",
            "dst",
            "--title",
            "Parution un dimanche",
            "--date",
            &sunday.to_string(),
            "--time",
            "12:00",
            "--as",
            "chef",
        ],
    );
    assert!(warned.contains("week-end"), "a Sunday is flagged: {warned}");
    let s = Server::on_data(p).await;
    let (status, api) = body(&s, "/api/v1/calendrier?collection=infostat").await;
    assert_eq!(status, 200);
    let api: serde_json::Value = serde_json::from_str(&api).unwrap();
    let r = &api["releases"][0];
    assert_eq!(
        r["release_at"],
        format!("{sunday}T10:00:00Z"),
        "noon CEST is 10:00 UTC"
    );
    assert_eq!(r["release_at_paris"], format!("{sunday}T12:00:00+02:00"));
    let (_, ics) = body(&s, "/calendrier/infostat.ics").await;
    assert!(
        ics.contains(&format!(
            "DTSTART;TZID=Europe/Paris:{}T120000",
            sunday.strftime("%Y%m%d")
        )),
        "{ics}"
    );
    s.stop().await;
}

#[tokio::test]
async fn every_channel_shows_a_release_from_its_instant_and_not_a_second_before() {
    let tmp = prepared();
    let p = tmp.path();
    let at = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(6);
    schedule_at(p, at);
    let s = Server::on_data(p).await;
    let base = "/publications/infos-rapides/condamnations-2024";
    let files = [
        base.to_string(),
        format!("{base}/v1"),
        format!("{base}.pdf"),
        format!("{base}/donnees/groupes.csv"),
        format!("{base}/donnees/groupes.xlsx"),
        format!("{base}/donnees.zip"),
    ];
    let channels = [
        "/",
        "/publications",
        "/publications/infos-rapides",
        "/calendrier",
        "/calendrier.ics",
        "/calendrier/infos-rapides.ics",
        "/calendrier.atom",
        "/api/v1/calendrier",
        "/sitemap.xml",
        "/recherche?q=secret+parution",
    ];
    for f in &files {
        assert_eq!(s.get(f, None).await.status, 404, "{f} before the instant");
    }
    for c in channels {
        let (status, text) = body(&s, c).await;
        assert_eq!(status, 200, "{c}");
        assert!(
            !text.contains(TITLE_WORDS),
            "{c} shows the title before the instant"
        );
        assert!(
            !text.contains(&format!("{base}\"")) && !text.contains(&format!("{base}<")),
            "{c} links to the publication before the instant"
        );
    }
    let (_, api) = body(&s, "/api/v1/calendrier").await;
    assert!(api.contains("\"status\":\"confirmed\""), "{api}");
    assert!(
        jiff::Timestamp::now() < at - jiff::SignedDuration::from_secs(1),
        "the checks before the instant ran more than a second before it"
    );
    // One second before: still nothing.
    while jiff::Timestamp::now() < at - jiff::SignedDuration::from_secs(1) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(s.get(base, None).await.status, 404, "one second before");
    assert!(
        !body(&s, "/recherche?q=secret")
            .await
            .1
            .contains(TITLE_WORDS)
    );
    while jiff::Timestamp::now() < at {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // From the instant, every channel at once — no scheduler runs in this server.
    for f in &files {
        assert_eq!(s.get(f, None).await.status, 200, "{f} from the instant");
    }
    for c in [
        "/",
        "/publications",
        "/publications/infos-rapides",
        "/recherche?q=secret+parution",
    ] {
        assert!(
            body(&s, c).await.1.contains(TITLE_WORDS),
            "{c} from the instant"
        );
    }
    let (_, sitemap) = body(&s, "/sitemap.xml").await;
    assert!(sitemap.contains(&format!("{base}</loc>")), "{sitemap}");
    let (_, api) = body(&s, "/api/v1/calendrier").await;
    assert!(api.contains("\"status\":\"published\""), "{api}");
    assert!(
        api.contains(&format!("{base}\"")),
        "the API links to the publication"
    );
    let (_, calendar) = body(&s, "/calendrier").await;
    assert!(
        calendar.contains(&format!("href=\"{base}\"")),
        "the calendar links to it"
    );
    let (_, atom) = body(&s, "/calendrier.atom").await;
    assert!(atom.contains(&format!("{base}\"")), "{atom}");
    let (_, page) = body(&s, base).await;
    assert!(
        page.contains("Calendrier de cette parution"),
        "the release page shows its calendar"
    );
    s.stop().await;
}

/// The links and answers of the publication at its public address: none may answer or appear.
async fn nothing_public(s: &Server, why: &str) {
    let base = "/publications/infos-rapides/condamnations-2024";
    for f in [
        base.to_string(),
        format!("{base}/v1"),
        format!("{base}/v2"),
        format!("{base}.pdf"),
        format!("{base}/donnees/groupes.csv"),
        format!("{base}/donnees/groupes.xlsx"),
        format!("{base}/donnees.zip"),
    ] {
        assert_eq!(s.get(&f, None).await.status, 404, "{f} {why}");
    }
    for c in [
        "/",
        "/publications",
        "/publications/infos-rapides",
        "/sitemap.xml",
        "/recherche?q=secret+parution",
    ] {
        let (status, text) = body(s, c).await;
        assert_eq!(status, 200, "{c}");
        assert!(!text.contains(TITLE_WORDS), "{c} shows the title {why}");
        assert!(
            !text.contains(&format!("{base}\"")) && !text.contains(&format!("{base}<")),
            "{c} links to the publication {why}"
        );
    }
}

#[tokio::test]
async fn a_release_moved_or_cancelled_after_its_correction_carries_every_version() {
    let tmp = prepared();
    let p = tmp.path();
    // Time enough to import, approve and release the correction before the instant.
    let at = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(30);
    schedule_at(p, at);
    let corrected = publication().replacen(
        "\n+++\n",
        "\nerratum = \"Une note précise le champ.\"\n+++\n",
        1,
    );
    std::fs::write(p.join("ir").join("publication.md"), corrected).unwrap();
    ok(p, &["publication", "import", "ir", "--as", "sophie"]);
    let v2 = ["infos-rapides", "condamnations-2024", "--version", "2"];
    for (action, who) in [
        ("submit", "sophie"),
        ("approve", "chef"),
        ("release", "chef"),
    ] {
        ok(
            p,
            &[&["publication", action][..], &v2, &["--as", who]].concat(),
        );
    }
    let later = (at + jiff::SignedDuration::from_hours(24)).to_string();
    let target = ["infos-rapides", "condamnations-2024"];
    ok(
        p,
        &[
            "calendar",
            "move",
            target[0],
            target[1],
            "--at",
            &later,
            "--reason",
            "Données tardives",
            "--as",
            "chef",
        ],
    );
    assert!(
        jiff::Timestamp::now() < at,
        "the correction and the move were done before the old instant"
    );
    let s = Server::on_data(p).await;
    while jiff::Timestamp::now() < at {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    nothing_public(&s, "at the old instant of a moved release").await;
    let (_, calendar) = body(&s, "/api/v1/calendrier").await;
    assert!(calendar.contains("\"status\":\"confirmed\""), "{calendar}");
    s.stop().await;
    ok(
        p,
        &[
            "calendar",
            "cancel",
            target[0],
            target[1],
            "--notice",
            "Série suspendue",
            "--as",
            "chef",
        ],
    );
    let s = Server::on_data(p).await;
    nothing_public(&s, "after the release was cancelled").await;
    s.stop().await;
    assert!(ok(p, &["audit", "verify"]).contains("OK"));
}

#[tokio::test]
async fn a_server_killed_around_the_instant_restarts_consistent() {
    let tmp = prepared();
    let p = tmp.path();
    let at = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(3);
    schedule_at(p, at);
    let s = Server::serve_process(p).await;
    // Killed (SIGKILL) right at the instant, before or while its scheduler records it.
    while jiff::Timestamp::now() < at {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    s.stop().await;
    let s = Server::serve_process(p).await;
    let mut published = false;
    for _ in 0..100 {
        let r = s
            .store
            .release(
                justat_model::publication::Collection::InfosRapides,
                "condamnations-2024",
            )
            .await
            .unwrap()
            .unwrap();
        if r.status == justat_model::calendar::ReleaseStatus::Published {
            let publish_lines = r.history.iter().filter(|h| h.reason == "parution").count();
            assert_eq!(publish_lines, 1, "recorded once");
            assert!(r.published_at.unwrap() >= at);
            published = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(published, "the restarted scheduler records the release");
    assert_eq!(
        s.get("/publications/infos-rapides/condamnations-2024", None)
            .await
            .status,
        200
    );
    s.stop().await;
    // A correction of the published release is released when asked, at once: the calendar
    // no longer decides its instant.
    let corrected = publication().replacen(
        "\n+++\n",
        "\nerratum = \"Une note précise le champ.\"\n+++\n",
        1,
    );
    std::fs::write(p.join("ir").join("publication.md"), corrected).unwrap();
    ok(p, &["publication", "import", "ir", "--as", "sophie"]);
    let v2 = ["infos-rapides", "condamnations-2024", "--version", "2"];
    ok(
        p,
        &[&["publication", "submit"][..], &v2, &["--as", "sophie"]].concat(),
    );
    ok(
        p,
        &[&["publication", "approve"][..], &v2, &["--as", "chef"]].concat(),
    );
    let released = ok(
        p,
        &[&["publication", "release"][..], &v2, &["--as", "chef"]].concat(),
    );
    assert!(released.contains("released"), "{released}");
    assert!(ok(p, &["audit", "verify"]).contains("OK"));
}

fn add_account(p: &Path, user: &str, role: &str, name: &str) {
    let o = justat_in(
        p,
        &[
            "user",
            "add",
            user,
            "--role",
            role,
            "--name",
            name,
            "--password-stdin",
        ],
        Some("a-long-enough-password-1\n"),
    );
    assert!(o.status.success(), "{}", text(&o));
}

#[tokio::test]
async fn a_listed_recipient_reads_under_embargo_and_nobody_else_sees_anything() {
    let tmp = prepared();
    let p = tmp.path();
    add_account(p, "claire", "embargo_recipient", "Claire Dubois");
    add_account(p, "paul", "embargo_recipient", "Paul Martin");
    add_account(p, "autorite", "asp", "Autorité de la statistique publique");
    // First announced 30 hours ahead: outside the 24-hour window.
    schedule_at(
        p,
        jiff::Timestamp::now() + jiff::SignedDuration::from_hours(30),
    );
    let target = ["infos-rapides", "condamnations-2024"];
    let add = |who: &str| {
        vec![
            "embargo".to_string(),
            "add".into(),
            target[0].into(),
            target[1].into(),
            "--recipient".into(),
            who.into(),
            "--function".into(),
            "Conseillère".into(),
            "--organisation".into(),
            "Cabinet du garde des Sceaux".into(),
            "--email".into(),
            format!("{who}@justice.gouv.fr"),
            "--justification".into(),
            "Préparer la réponse du ministère".into(),
            "--as".into(),
            "sophie".into(),
        ]
    };
    let args: Vec<String> = add("claire");
    ok(p, &args.iter().map(String::as_str).collect::<Vec<_>>());
    let s = Server::serve_process(p).await;
    let password = "a-long-enough-password-1";
    let claire = s.login("claire", password).await;
    let paul = s.login("paul", password).await;
    let sophie = s.login("sophie", password).await;
    let page = format!("/admin/embargo/{}/{}", target[0], target[1]);
    let pdf = format!("{page}/fichiers/publication.pdf");

    // Terms first; then nothing until the list is approved.
    let room = s.get("/admin/embargo", Some(&claire.cookie)).await;
    assert!(
        room.body.contains("J’accepte les conditions"),
        "{}",
        room.body
    );
    assert_eq!(
        s.get(&page, Some(&claire.cookie)).await.status,
        404,
        "terms not accepted"
    );
    let accepted = s
        .post(
            "/admin/embargo/conditions",
            Some(&claire.cookie),
            &[("csrf", &claire.csrf)],
        )
        .await;
    assert_eq!(accepted.status, 303);
    assert_eq!(
        s.get(&page, Some(&claire.cookie)).await.status,
        404,
        "list not approved"
    );
    let room = s.get("/admin/embargo", Some(&claire.cookie)).await;
    assert!(room.body.contains("pas encore approuvée"), "{}", room.body);
    let listed = ok(p, &["embargo", "list", target[0], target[1]]);
    let revision = listed
        .split("revision ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("the list's revision: {listed}"))
        .to_string();
    ok(
        p,
        &[
            "embargo",
            "approve",
            target[0],
            target[1],
            "--revision",
            &revision,
            "--as",
            "chef",
        ],
    );
    assert_eq!(
        s.get(&page, Some(&claire.cookie)).await.status,
        404,
        "before the window"
    );
    let room = s.get("/admin/embargo", Some(&claire.cookie)).await;
    assert!(room.body.contains("Accès à partir du"), "{}", room.body);
    // Brought forward (time enough for every check before the instant on a loaded machine):
    // the window is open, and the scheduled version moved with the release.
    let at = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(45);
    ok(
        p,
        &[
            "calendar",
            "move",
            target[0],
            target[1],
            "--at",
            &at.to_string(),
            "--reason",
            "Avancée (test)",
            "--as",
            "chef",
        ],
    );

    // The listed recipient reads, marked with the embargo's end and her name; logged.
    let read = s.get(&page, Some(&claire.cookie)).await;
    assert_eq!(read.status, 200);
    assert!(read.body.contains("Sous embargo jusqu’au") && read.body.contains("Claire Dubois"));
    assert!(read.body.contains(TITLE_WORDS));
    // Her own copy of the PDF, stamped by the job runner once she asks for it (reading the
    // page asks nothing); then the page waits for it.
    let offer = s.get(&pdf, Some(&claire.cookie)).await;
    assert_eq!(offer.status, 200);
    assert!(
        offer.body.contains("Préparer mon exemplaire") && !offer.body.contains("data-job-pending"),
        "{}",
        offer.body
    );
    let asked = s
        .post(
            &format!("{page}/exemplaire"),
            Some(&claire.cookie),
            &[("csrf", &claire.csrf)],
        )
        .await;
    assert_eq!((asked.status, asked.location()), (303, pdf.clone()));
    let mut copy = Vec::new();
    for _ in 0..300 {
        let r = s
            .client
            .get(format!("{}{pdf}", s.base))
            .header("cookie", &claire.cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        if r.headers()["content-type"] == "application/pdf" {
            copy = r.bytes().await.unwrap().to_vec();
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let copy_file = p.join("copie.pdf");
    std::fs::write(&copy_file, &copy).unwrap();
    let stamped = std::process::Command::new("pdftotext")
        .arg(&copy_file)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is installed");
    let stamped = String::from_utf8_lossy(&stamped.stdout);
    assert!(
        stamped.contains("Sous embargo jusqu") && stamped.contains("Claire Dubois"),
        "every page carries the embargo and her name: {stamped}"
    );
    // Nobody else: another recipient, a statistician, a logged-out user, the public.
    assert_eq!(s.get(&page, Some(&paul.cookie)).await.status, 404);
    assert_eq!(s.get(&pdf, Some(&paul.cookie)).await.status, 404);
    let asked = s
        .post(
            &format!("{page}/exemplaire"),
            Some(&paul.cookie),
            &[("csrf", &paul.csrf)],
        )
        .await;
    assert_eq!(asked.status, 404, "no copy for who is not listed");
    assert_eq!(s.get(&page, Some(&sophie.cookie)).await.status, 403);
    assert_ne!(s.get(&page, None).await.status, 200);
    let public = "/publications/infos-rapides/condamnations-2024";
    for guessed in [
        public.to_string(),
        format!("{public}/v1/donnees/groupes.csv"),
        format!("{public}.pdf"),
    ] {
        assert_eq!(s.get(&guessed, None).await.status, 404, "{guessed}");
    }
    let accesses = s
        .store
        .embargo_accesses(justat_model::Collection::InfosRapides, target[1])
        .await
        .unwrap();
    assert_eq!(accesses.len(), 2, "{accesses:?}");
    assert_eq!(
        (accesses[0].who.as_str(), accesses[0].file.as_str()),
        ("claire", "page")
    );
    assert_eq!(accesses[1].file, "publication.pdf");
    assert!(!accesses[0].ip.is_empty() && accesses[0].version == 1);

    // The ASP reads the list and downloads its transmission, prepared by the job runner.
    let asp = s.login("autorite", password).await;
    let lists = s.get("/admin/listes-embargo", Some(&asp.cookie)).await;
    assert!(lists.body.contains("Claire Dubois") && lists.body.contains("publication.pdf"));
    let job = s
        .post(
            &format!(
                "/admin/listes-embargo/{}/{}/transmission",
                target[0], target[1]
            ),
            Some(&asp.cookie),
            &[("csrf", &asp.csrf)],
        )
        .await;
    assert_eq!(job.status, 303, "{}", job.body);
    let done = s.finished(&asp.cookie, &job.location()).await;
    assert!(done.contains("lettre-asp.pdf"), "{done}");
    let letter = s
        .get(
            &format!(
                "{}/infos-rapides-condamnations-2024-lettre-asp.pdf",
                job.location()
            ),
            Some(&asp.cookie),
        )
        .await;
    assert_eq!(letter.status, 200);
    assert_eq!(letter.header("content-type"), "application/pdf");
    let csv = s
        .get(
            &format!(
                "{}/infos-rapides-condamnations-2024-destinataires.csv",
                job.location()
            ),
            Some(&asp.cookie),
        )
        .await;
    assert!(
        csv.body
            .contains("Claire Dubois,Conseillère,Cabinet du garde des Sceaux")
    );
    let log = s
        .get(
            &format!(
                "{}/infos-rapides-condamnations-2024-acces.csv",
                job.location()
            ),
            Some(&asp.cookie),
        )
        .await;
    assert!(
        log.body.contains("claire,publication.pdf,1"),
        "{}",
        log.body
    );
    assert_eq!(s.get(&job.location(), Some(&paul.cookie)).await.status, 403);
    assert!(
        jiff::Timestamp::now() < at,
        "the checks under embargo ran before the instant"
    );

    // At the instant the room closes and everyone gets the publication, with the list of
    // early accesses (function and organisation) beside it.
    while jiff::Timestamp::now() < at {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        s.get(&page, Some(&claire.cookie)).await.status,
        404,
        "closed at the instant"
    );
    let out = s.get(public, None).await;
    assert_eq!(out.status, 200);
    assert!(
        out.body.contains("Accès anticipés")
            && out
                .body
                .contains("Conseillère, Cabinet du garde des Sceaux")
    );
    assert!(
        !out.body.contains("Claire Dubois"),
        "names are not published by default"
    );
    s.stop().await;
    assert!(ok(p, &["audit", "verify"]).contains("OK"));
}

#[tokio::test]
async fn a_late_release_is_registered_and_the_next_release_waits_for_its_review() {
    let tmp = prepared();
    let p = tmp.path();
    // Announced, but the approved version is not scheduled: the instant passes without it.
    let at = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(2);
    let at_s = at.to_string();
    ok(
        p,
        &[
            "calendar",
            "announce",
            "infos-rapides",
            "condamnations-2024",
            "--title",
            "Condamnations",
            "--at",
            &at_s,
            "--justification",
            "Nouvelle série",
            "--as",
            "chef",
        ],
    );
    let s = Server::serve_process(p).await;
    let mut listed = String::new();
    for _ in 0..100 {
        listed = ok(p, &["incident", "list"]);
        if listed.contains("late_release") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        listed.contains("late_release") && listed.contains("NOT REVIEWED"),
        "{listed}"
    );
    // Recorded once, even by a restarted scheduler.
    s.stop().await;
    let s = Server::serve_process(p).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        ok(p, &["incident", "list"]).matches("late_release").count(),
        1
    );
    s.stop().await;
    let release = [
        "publication",
        "release",
        "infos-rapides",
        "condamnations-2024",
        "--as",
        "chef",
        "--at",
        &at_s,
    ];
    let waits = fails(p, &release);
    assert!(waits.contains("must be reviewed"), "{waits}");
    let by_statistician = fails(
        p,
        &["incident", "review", "1", "--review", "x", "--as", "sophie"],
    );
    assert!(
        by_statistician.contains("head of service"),
        "{by_statistician}"
    );
    ok(
        p,
        &[
            "incident",
            "review",
            "1",
            "--review",
            "Validation tardive : la version est désormais validée la veille de la parution",
            "--as",
            "chef",
        ],
    );
    ok(p, &release);
}

#[tokio::test]
async fn the_back_office_calendar_lets_each_role_do_its_part_and_says_why_not() {
    use justat_model::Role;
    let s = Server::start().await;
    let stat = s.login_as("sophie", Role::Statistician).await;
    let chef = s.login_as("marc", Role::HeadOfService).await;
    let page = s.get("/admin/calendrier", Some(&stat.cookie)).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Annoncer une parution"));
    let year = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .year()
        + 2;
    let month = format!("{year}-06");
    let announce = |who: &crate::harness::Session, fields: Vec<(&'static str, String)>| {
        let (cookie, csrf) = (who.cookie.clone(), who.csrf.clone());
        let s = &s;
        async move {
            let mut form: Vec<(&str, &str)> = vec![("csrf", &csrf)];
            form.extend(fields.iter().map(|(k, v)| (*k, v.as_str())));
            s.post("/admin/calendrier/annoncer", Some(&cookie), &form)
                .await
        }
    };
    let fields = |slug: &str| {
        vec![
            ("collection", "infostat".to_string()),
            ("slug", slug.to_string()),
            ("title", "Détention provisoire (2026)".to_string()),
            ("month", month.clone()),
        ]
    };
    assert_eq!(announce(&stat, fields("detention-2026")).await.status, 303);
    let twice = announce(&stat, fields("detention-2026")).await;
    assert_eq!(twice.status, 422);
    assert!(
        twice.body.contains("Rien n’a été modifié"),
        "{}",
        twice.body
    );
    let bad = announce(&stat, fields("Détention")).await;
    assert_eq!(bad.status, 422);
    // Only the head of service confirms; the statistician is told why.
    let confirm = |who: &crate::harness::Session, date: String| {
        let (cookie, csrf) = (who.cookie.clone(), who.csrf.clone());
        let s = &s;
        async move {
            s.post(
                "/admin/calendrier/infostat/detention-2026/confirmer",
                Some(&cookie),
                &[("csrf", &csrf), ("date", &date), ("time", "")],
            )
            .await
        }
    };
    let day = format!("{year}-06-11");
    let refused = confirm(&stat, day.clone()).await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("may not confirm"), "{}", refused.body);
    assert_eq!(confirm(&chef, day).await.status, 303);
    let r = s
        .store
        .release(justat_model::Collection::Infostat, "detention-2026")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.status, justat_model::calendar::ReleaseStatus::Confirmed);
    assert!(r.when_fr().ends_with("à 12 h 00"), "{}", r.when_fr());
    // A move without its reason changes nothing; with it, the public history has it.
    let path = "/admin/calendrier/infostat/detention-2026/deplacer";
    let later = format!("{year}-06-18");
    let blank = s
        .post(
            path,
            Some(&chef.cookie),
            &[("csrf", &chef.csrf), ("date", &later), ("reason", " ")],
        )
        .await;
    assert_eq!(blank.status, 422);
    let moved = s
        .post(
            path,
            Some(&chef.cookie),
            &[
                ("csrf", &chef.csrf),
                ("date", &later),
                ("reason", "Données tardives"),
            ],
        )
        .await;
    assert_eq!(moved.status, 303);
    assert!(
        s.get("/calendrier", None)
            .await
            .body
            .contains("Données tardives")
    );
    // Without the form's token nothing moves.
    let forged = s
        .post(
            path,
            Some(&chef.cookie),
            &[("date", &later), ("reason", "x")],
        )
        .await;
    assert_ne!(forged.status, 303);

    // Its embargo list: proposed by the statistician, approved by the head of service.
    s.add_user("claire", Role::EmbargoRecipient).await;
    let propose = |who: &str| {
        let (cookie, csrf) = (stat.cookie.clone(), stat.csrf.clone());
        let who = who.to_string();
        let s = &s;
        async move {
            s.post(
                "/admin/listes-embargo/destinataires",
                Some(&cookie),
                &[
                    ("csrf", csrf.as_str()),
                    ("release", "infostat/detention-2026"),
                    ("recipient", who.as_str()),
                    ("function", "Conseillère"),
                    ("organisation", "Cabinet"),
                    ("email", "claire@justice.gouv.fr"),
                    ("justification", "Préparer la réponse"),
                    ("category", "information"),
                ],
            )
            .await
        }
    };
    let unknown = propose("personne").await;
    assert_eq!(unknown.status, 422);
    assert!(unknown.body.contains("introuvable"), "{}", unknown.body);
    assert_eq!(propose("claire").await.status, 303);
    let approve = "/admin/listes-embargo/infostat/detention-2026/approuver";
    let revision = s
        .store
        .embargo_list(justat_model::Collection::Infostat, "detention-2026")
        .await
        .unwrap()
        .unwrap()
        .revision();
    let by_stat = s
        .post(
            approve,
            Some(&stat.cookie),
            &[("csrf", &stat.csrf), ("revision", &revision)],
        )
        .await;
    assert_eq!(by_stat.status, 422, "only the head of service approves");
    let by_chef = s
        .post(
            approve,
            Some(&chef.cookie),
            &[("csrf", &chef.csrf), ("revision", &revision)],
        )
        .await;
    assert_eq!(by_chef.status, 303);
    let list = s
        .store
        .embargo_list(justat_model::Collection::Infostat, "detention-2026")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(list.status, justat_model::embargo::ListStatus::Approved);
    s.stop().await;
}
