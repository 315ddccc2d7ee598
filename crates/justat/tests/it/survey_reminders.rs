//! The reminders of open survey campaigns, sent by `justat serve` on their schedule to the
//! configured SMTP server — here the project's SMTP sink on loopback: a due reminder arrives
//! once, none goes to a unit that answered, none for a closed campaign, and none holds an
//! access code.

use crate::harness::Server;
use jiff::{SignedDuration, Timestamp};
use justat_model::survey::{CampaignState, UnitKind};
use justat_store::{Actor, CodeOutcome, LegalStanding, NewCampaign, PageSave, Store};
use std::path::Path;
use std::time::Duration;

const UNITS: &str = "type,code,nom,cour_appel,adresse,contact_nom,contact_fonction,contact_courriel,contact_adresse\n\
    association,AV-1,Association Un,,1 rue A,Marie Un,Directrice,marie@un.fr,\n\
    association,AV-2,Association Deux,,2 rue B,Paul Deux,Juriste,paul@deux.fr,\n\
    association,AV-3,Association Trois,,,,,,\n";

/// A campaign of the associations, opened `opened_days` ago, closing in `closes_in_days`
/// (negative: already past), with reminders at 7 and 14 days; its codes by unit.
async fn campaign(
    store: &Store,
    period: &str,
    opened_days: i64,
    closes_in_days: i64,
) -> (i64, std::collections::BTreeMap<String, String>) {
    let actor = Actor::user("sophie");
    let now = Timestamp::now();
    let opens_at = now - SignedDuration::from_hours(24 * opened_days);
    let c = store
        .create_campaign(
            &NewCampaign {
                survey_id: "bav-2025".into(),
                period: period.into(),
                title: "Activité des bureaux d’aide aux victimes".into(),
                questionnaire_version: "1".into(),
                questionnaire_sha256: justat_model::Sha256Hex::of(b"questionnaire"),
                legal: LegalStanding {
                    cnis_avis_date: Some("2025-03-12".parse().unwrap()),
                    cnis_avis_reference: Some("n° 2025-45".into()),
                    label: Some("conformité".into()),
                    visa_number: Some("2026X004JU".into()),
                    visa_year: Some(2026),
                    mandatory: true,
                },
                opens_at,
                closes_at: now + SignedDuration::from_hours(24 * closes_in_days),
                reminder_days: vec![7, 14],
            },
            &actor,
            opens_at,
        )
        .await
        .unwrap();
    store
        .sample_all_of_kind(c.id, UnitKind::Association, &actor, opens_at)
        .await
        .unwrap();
    store
        .set_campaign_state(c.id, CampaignState::Open, &actor, opens_at)
        .await
        .unwrap();
    let codes = store
        .issue_access_codes(c.id, &actor, opens_at)
        .await
        .unwrap()
        .into_iter()
        .map(|i| (i.unit_code, i.code.as_str().to_string()))
        .collect();
    (c.id, codes)
}

/// The messages the sink wrote, as (recipient, decoded text).
fn inbox(dir: &Path) -> Vec<(String, String)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| {
            let eml = std::fs::read_to_string(f).unwrap();
            let to = eml
                .lines()
                .find_map(|l| l.strip_prefix("To: "))
                .unwrap_or_default()
                .to_string();
            (to, quoted_printable(&eml))
        })
        .collect()
}

/// The message with its quoted-printable parts decoded (soft breaks joined, `=XX` bytes).
fn quoted_printable(eml: &str) -> String {
    let joined = eml.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Waits until the sink holds `n` messages (at most 60 s), then a little more for any extra.
async fn wait_for(dir: &Path, n: usize) -> Vec<(String, String)> {
    for _ in 0..600 {
        if inbox(dir).len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The server's first round is over when its messages are there; a second message would
    // follow the first within this time.
    tokio::time::sleep(Duration::from_secs(2)).await;
    inbox(dir)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_server_sends_a_due_reminder_once_by_smtp_to_units_that_have_not_answered_only() {
    let dir = tempfile::tempdir().unwrap();
    let url = justat_store::sqlite_url(&dir.path().join("data"));
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    let store = Store::open_and_migrate(&url).await.unwrap();
    let now = Timestamp::now();
    store
        .import_units_csv("unites.csv", UNITS.as_bytes(), &Actor::user("sophie"), now)
        .await
        .unwrap();
    // Open 16 days: the second reminder is due. AV-2 answered; AV-3 has no e-mail contact.
    let (open, codes) = campaign(&store, "2025", 16, 30).await;
    let CodeOutcome::Granted(who) = store
        .respondent_by_code(
            &codes["AV-2"],
            "127.0.0.1",
            &justat_model::ThrottlePolicy::per_ip(),
            now,
        )
        .await
        .unwrap()
    else {
        panic!("the code of AV-2 is refused");
    };
    let save = PageSave {
        session: "test".into(),
        page: "fonctionnement".into(),
        seconds_spent: 10,
        answers: [(
            "bav_actif".to_string(),
            serde_json::to_value(justat_survey::Answer::YesNo(false)).unwrap(),
        )]
        .into(),
        kept_warnings: Vec::new(),
    };
    store.save_answers(&who, &save, now).await.unwrap();
    store.submit_answers(&who, now).await.unwrap();
    // Closed by the statistician, and open past its closing instant: no reminder for either.
    let (closed, _) = campaign(&store, "2024", 16, 30).await;
    store
        .set_campaign_state(closed, CampaignState::Closed, &Actor::user("sophie"), now)
        .await
        .unwrap();
    campaign(&store, "2023", 40, -1).await;
    store.close().await;

    let mail = dir.path().join("courriels");
    let sink = justat_mail::MailSink::bind(
        "127.0.0.1:0".parse().unwrap(),
        &mail,
        justat_mail::SinkLimits::default(),
    )
    .await
    .unwrap();
    let port = sink.local_addr().unwrap().port().to_string();
    let sink = tokio::spawn(sink.run());
    let env = [
        ("JUSTAT_SMTP_HOST", "127.0.0.1"),
        ("JUSTAT_SMTP_PORT", port.as_str()),
        ("JUSTAT_MAIL_FROM", "enquetes@justice.example"),
        ("JUSTAT_PUBLIC_URL", "https://enquetes.justice.example"),
        ("JUSTAT_START_WORKER", "false"),
    ];
    let server = Server::serve_process_with(dir.path(), &env).await;
    let got = wait_for(&mail, 1).await;
    assert_eq!(got.len(), 1, "one reminder, to AV-1 only: {got:#?}");
    let (to, text) = &got[0];
    assert_eq!(to, "marie@un.fr");
    assert!(text.contains("Relance n° 2"), "{text}");
    assert!(
        text.contains("https://enquetes.justice.example/enquetes"),
        "{text}"
    );
    assert!(
        text.contains("courrier d’invitation adressé à Association Un, identifiant AV-1"),
        "{text}"
    );
    assert!(
        !text.contains(&codes["AV-1"]),
        "no access code in clear: {text}"
    );
    let reminders = server.store.unit_progress(open).await.unwrap();
    let av1 = reminders.iter().find(|u| u.unit_code == "AV-1").unwrap();
    assert_eq!(av1.reminders, 1, "recorded once");
    server.stop().await;

    // A restarted server finds it recorded: nothing is sent again.
    let again = Server::serve_process_with(dir.path(), &env).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(inbox(&mail).len(), 1, "{:#?}", inbox(&mail));
    again.stop().await;
    sink.abort();
}
