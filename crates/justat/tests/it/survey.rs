//! Surveys into production: a validated campaign's answers, entered as the portal enters them
//! and imputed for the units that did not answer, delivered with `justat survey deliver`, its
//! chain run, and the cube read back with its imputed values counted.

use jiff::{SignedDuration, Timestamp};
use justat_model::ThrottlePolicy;
use justat_model::survey::{CampaignState, UnitKind};
use justat_store::{Actor, CodeOutcome, LegalStanding, NewCampaign, PageSave, Store};
use justat_survey::campaign::impute::{Flag, UnitAnswers, impute};
use justat_survey::{Answer, Answers, Questionnaire};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn questionnaire_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../surveys/bav-2025.toml")
}

fn justat(data: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(crate::harness::justat_binary())
        .args(args)
        .env("JUSTAT_DATA_DIR", data)
        .env_remove("JUSTAT_DATABASE_URL")
        .env_remove("JUSTAT_MIGRATE_DATABASE_URL")
        .env_remove("JUSTAT_CONFIG")
        .env("JUSTAT_LOG", "warn")
        .current_dir(data.parent().unwrap())
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// One page's form fields read as the portal reads them, then saved.
async fn save_page(
    store: &Store,
    who: &justat_store::surveys::Respondent,
    q: &Questionnaire,
    page: &str,
    fields: &[(&str, &str)],
    now: Timestamp,
) {
    let seq = q.sequences.iter().find(|s| s.id == page).unwrap();
    let fields: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let parsed = Answers::from_form(seq, &fields);
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    let mut answers = BTreeMap::new();
    let mut kept = Vec::new();
    for (path, a) in parsed.answers.iter() {
        if *a == Answer::WarningKept {
            kept.push(path.to_string());
        } else {
            answers.insert(path.to_string(), serde_json::to_value(a).unwrap());
        }
    }
    let save = PageSave {
        session: "test".into(),
        page: page.into(),
        seconds_spent: 30,
        answers,
        kept_warnings: kept,
    };
    store.save_answers(who, &save, now).await.unwrap();
}

fn table(cells: [(&str, &str, &str); 4]) -> Vec<(String, String)> {
    let q = justat_survey::load(&questionnaire_path()).unwrap();
    let mut out = Vec::new();
    for (_, qu) in q.questions() {
        if let justat_survey::Kind::CountTable(t) = &qu.kind {
            for r in &t.rows {
                for c in &t.columns {
                    let v = cells
                        .iter()
                        .find(|(row, col, _)| *row == r.code && *col == c.code)
                        .map(|(_, _, v)| *v)
                        .unwrap_or("0");
                    out.push((format!("victimes.{}.{}", r.code, c.code), v.to_string()));
                }
            }
        }
    }
    out
}

#[tokio::test]
async fn a_validated_campaign_becomes_a_delivery_whose_cube_counts_its_imputed_values() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let url = format!("sqlite://{}/justat.db", data.display());
    let store = Store::open_and_migrate(&url).await.unwrap();
    let stat = Actor::user("sophie");
    let t0: Timestamp = "2026-01-05T08:00:00Z".parse().unwrap();
    let day = |n: i64| t0 + SignedDuration::from_hours(24 * n);
    store.load_reference_courts(&stat, t0).await.unwrap();
    let bytes = std::fs::read(questionnaire_path()).unwrap();
    let q = justat_survey::load(&questionnaire_path()).unwrap();
    let c = store
        .create_campaign(
            &NewCampaign {
                survey_id: "bav-2025".into(),
                period: "2025".into(),
                title: q.title.clone(),
                questionnaire_version: q.version.to_string(),
                questionnaire_sha256: justat_model::Sha256Hex::of(&bytes),
                legal: LegalStanding {
                    cnis_avis_date: Some("2025-03-12".parse().unwrap()),
                    cnis_avis_reference: Some("n° 2025-45".into()),
                    label: None,
                    visa_number: Some("2026X004JU".into()),
                    visa_year: Some(2026),
                    mandatory: true,
                },
                opens_at: day(1),
                closes_at: day(40),
                reminder_days: vec![14],
            },
            &stat,
            t0,
        )
        .await
        .unwrap();
    store
        .sample_all_of_kind(c.id, UnitKind::TribunalJudiciaire, &stat, t0)
        .await
        .unwrap();

    // Delivering before validation is refused, and says what to do.
    let id = c.id.to_string();
    let qpath = questionnaire_path().display().to_string();
    let (ok, out) = justat(
        &data,
        &["survey", "deliver", &id, "--questionnaire", &qpath],
    );
    assert!(!ok && out.contains("seule une campagne validée"), "{out}");

    store
        .set_campaign_state(c.id, CampaignState::Open, &stat, t0)
        .await
        .unwrap();
    let codes: BTreeMap<String, String> = store
        .issue_access_codes(c.id, &stat, t0)
        .await
        .unwrap()
        .into_iter()
        .map(|i| (i.unit_code, i.code.as_str().to_string()))
        .collect();
    // Agen and Auch answer with their tables; Cahors (same court of appeal) does not;
    // Bobigny says its office was closed (no table, nothing imputed for it).
    let answered: [(&str, Vec<(String, String)>); 3] = [
        (
            "1/119",
            table([
                ("G_PERSONNE", "F", "10"),
                ("G_PERSONNE", "M", "4"),
                ("G_BIENS", "F", "3"),
                ("G_BIENS", "M", "5"),
            ]),
        ),
        (
            "1/93",
            table([
                ("G_PERSONNE", "F", "6"),
                ("G_PERSONNE", "M", "8"),
                ("G_BIENS", "F", "1"),
                ("G_BIENS", "M", "1"),
            ]),
        ),
        ("1/210", Vec::new()),
    ];
    let policy = ThrottlePolicy::per_ip();
    for (unit, cells) in &answered {
        let CodeOutcome::Granted(who) = store
            .respondent_by_code(&codes[*unit], "127.0.0.1", &policy, day(2))
            .await
            .unwrap()
        else {
            panic!("the code of {unit} is refused")
        };
        if cells.is_empty() {
            save_page(
                &store,
                &who,
                &q,
                "fonctionnement",
                &[("bav_actif", "non"), ("motif_inactivite", "VACANCE")],
                day(3),
            )
            .await;
        } else {
            save_page(
                &store,
                &who,
                &q,
                "fonctionnement",
                &[("bav_actif", "oui"), ("etp", "1,5"), ("demi_journees", "6")],
                day(3),
            )
            .await;
            let mut fields: Vec<(&str, &str)> = cells
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            fields.push(("victimes_mineures", "2"));
            save_page(&store, &who, &q, "victimes", &fields, day(3)).await;
        }
        store.submit_answers(&who, day(4)).await.unwrap();
    }
    store
        .set_campaign_state(c.id, CampaignState::Closed, &stat, day(41))
        .await
        .unwrap();

    // Non-response imputed: the stratum's median of each cell (here the lower of two).
    let progress = store.unit_progress(c.id).await.unwrap();
    let mut units = Vec::new();
    for u in &progress {
        let current = if u.submitted_at.is_some() {
            let mut a = Answers::new();
            for s in store.unit_answers(c.id, &u.unit_code).await.unwrap() {
                if let Some(v) = s.collected {
                    a.set(s.path, serde_json::from_value(v).unwrap());
                }
            }
            Some(a)
        } else {
            None
        };
        units.push(UnitAnswers {
            unit: u.unit_code.clone(),
            stratum: u.stratum.clone(),
            current,
            previous: None,
        });
    }
    let mut imputed: BTreeMap<String, BTreeMap<String, serde_json::Value>> = BTreeMap::new();
    for cell in q.table_cells(&Answers::new()) {
        let path = format!("{}.{}.{}", cell.table, cell.row, cell.column);
        for v in impute(&path, &units) {
            if let (Flag::Imputed(_), Some(a)) = (v.flag, v.value) {
                imputed
                    .entry(v.unit)
                    .or_default()
                    .insert(path.clone(), serde_json::to_value(a).unwrap());
            }
        }
    }
    assert_eq!(
        imputed.len(),
        161,
        "every court but the three that answered"
    );
    for (unit, values) in &imputed {
        store
            .record_imputed(c.id, unit, values, "stratum_median", &stat, day(42))
            .await
            .unwrap();
    }
    store
        .set_campaign_state(c.id, CampaignState::Validated, &stat, day(43))
        .await
        .unwrap();
    store.close().await;

    let (ok, out) = justat(
        &data,
        &[
            "survey",
            "deliver",
            &id,
            "--questionnaire",
            &qpath,
            "--json",
        ],
    );
    assert!(ok, "{out}");
    let d: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(d["source"], "survey_bav");
    assert_eq!(d["status"], "OK", "{out}");
    assert_eq!(
        d["rows_ok"],
        163 * 14,
        "two answered, 161 imputed, 14 cells each"
    );
    // The same campaign delivered twice is the same file: refused.
    let (ok, again) = justat(
        &data,
        &["survey", "deliver", &id, "--questionnaire", &qpath],
    );
    assert!(!ok, "{again}");

    let delivery = d["id"].to_string();
    let (ok, out) = justat(
        &data,
        &[
            "chain",
            "run",
            "bav_victims",
            "--delivery",
            &delivery,
            "--json",
        ],
    );
    assert!(ok, "{out}");
    let (ok, out) = justat(&data, &["cube", "list", "--json"]);
    assert!(ok, "{out}");
    let cubes: serde_json::Value = serde_json::from_str(&out).unwrap();
    let sha = cubes[0]["id"].as_str().unwrap_or_else(|| panic!("{out}"));
    let cube = data.join(format!("lake/cubes/{sha}.parquet"));
    let cells = |dims: &[&str], measure: &str| -> BTreeMap<Vec<String>, u64> {
        let dims: Vec<String> = dims.iter().map(|s| s.to_string()).collect();
        justat_engine::cube::read_cells(&cube, &dims, "2025", measure)
            .unwrap()
            .into_iter()
            .collect()
    };
    let by_ca = cells(&["court_of_appeal"], "victimes");
    let imputed_by_ca = cells(&["court_of_appeal"], "victimes_imputees");
    // Agen's court of appeal: Agen 22, Auch 16, Cahors imputed 6 + 4 + 1 + 1.
    assert_eq!(by_ca[&vec!["CA_1_14".to_string()]], 22 + 16 + 12);
    assert_eq!(imputed_by_ca[&vec!["CA_1_14".to_string()]], 12);
    assert_eq!(by_ca[&vec!["_T".to_string()]], 22 + 16 + 161 * 12);
    assert_eq!(imputed_by_ca[&vec!["_T".to_string()]], 161 * 12);
    let values = cells(&["court_of_appeal"], "valeurs_imputees");
    assert_eq!(values[&vec!["_T".to_string()]], 161 * 14);
    let by_sex = cells(&["row_code", "column_code"], "victimes");
    assert_eq!(
        by_sex[&vec!["G_PERSONNE".to_string(), "F".to_string()]],
        10 + 6 + 161 * 6
    );
}
