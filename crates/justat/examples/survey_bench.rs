//! `bench/survey`'s driver: simulated respondents saving the pages of the demo questionnaire
//! concurrently against a running `justat serve`, then every answer they saved looked for in
//! the store. Run by `bench/survey/run.sh`, which documents it.
//!
//! ```text
//! survey_bench prepare DATA_DIR SURVEYS_DIR UNITS CODES_FILE   # register, campaign, codes
//! survey_bench run DATA_DIR SURVEYS_DIR BASE_URL CODES_FILE    # respondents, then the check
//! ```

use anyhow::{Context, Result, bail};
use jiff::{SignedDuration, Timestamp};
use justat_model::survey::{CampaignState, UnitKind};
use justat_store::{Actor, LegalStanding, NewCampaign, Store};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const SURVEY: &str = "bav-2025";
const PERIOD: &str = "bench";

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["prepare", data, surveys, units, codes] => {
            prepare(
                Path::new(data),
                Path::new(surveys),
                units.parse()?,
                Path::new(codes),
            )
            .await
        }
        ["run", data, surveys, base, codes] => {
            run(Path::new(data), Path::new(surveys), base, Path::new(codes)).await
        }
        _ => bail!(
            "usage: survey_bench prepare DATA SURVEYS UNITS CODES | run DATA SURVEYS BASE_URL CODES"
        ),
    }
}

async fn open(data: &Path) -> Result<Store> {
    Ok(Store::open_and_migrate(&justat_store::sqlite_url(data)).await?)
}

/// `units` associations imported from a CSV register, sampled in an open campaign of the demo
/// questionnaire; their access codes written to `codes` (`unit,code` lines).
async fn prepare(data: &Path, surveys: &Path, units: usize, codes: &Path) -> Result<()> {
    std::fs::create_dir_all(data)?;
    let store = open(data).await?;
    let actor = Actor::user("bench");
    let now = Timestamp::now();
    let mut csv = String::from(
        "type,code,nom,cour_appel,adresse,contact_nom,contact_fonction,contact_courriel,contact_adresse\n",
    );
    for i in 1..=units {
        csv.push_str(&format!(
            "association,BENCH-{i:05},Association d'aide aux victimes n° {i},,,Contact {i},Directrice,contact{i}@bench.example,\n"
        ));
    }
    store
        .import_units_csv("bench.csv", csv.as_bytes(), &actor, now)
        .await?;
    let file = surveys.join(format!("{SURVEY}.toml"));
    let bytes = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
    let q = justat_survey::load(&file)?;
    let c = store
        .create_campaign(
            &NewCampaign {
                survey_id: SURVEY.into(),
                period: PERIOD.into(),
                title: q.title.clone(),
                questionnaire_version: q.version.to_string(),
                questionnaire_sha256: justat_model::Sha256Hex::of(&bytes),
                legal: LegalStanding {
                    cnis_avis_date: Some("2025-03-12".parse()?),
                    cnis_avis_reference: Some("n° 2025-45".into()),
                    label: None,
                    visa_number: None,
                    visa_year: None,
                    mandatory: false,
                },
                opens_at: now - SignedDuration::from_hours(1),
                closes_at: now + SignedDuration::from_hours(24 * 30),
                reminder_days: vec![],
            },
            &actor,
            now,
        )
        .await?;
    store
        .sample_all_of_kind(c.id, UnitKind::Association, &actor, now)
        .await?;
    store
        .set_campaign_state(c.id, CampaignState::Open, &actor, now)
        .await?;
    let issued = store.issue_access_codes(c.id, &actor, now).await?;
    let lines: String = issued
        .iter()
        .map(|i| format!("{},{}\n", i.unit_code, i.code.as_str()))
        .collect();
    std::fs::write(codes, lines)?;
    store.close().await;
    println!(
        "campaign {} with {} units, codes in {}",
        c.id,
        issued.len(),
        codes.display()
    );
    Ok(())
}

/// A page to save: its number, its identifier in the questionnaire, its form's fields.
type Page = (usize, &'static str, Vec<(String, String)>);

/// The pages a respondent saves, as (page number, page id, form fields): values that differ
/// from unit to unit, so that an answer saved for the wrong unit is seen.
fn pages(i: usize) -> Vec<Page> {
    let f = |k: &str, v: String| (k.to_string(), v);
    let mut victims = Vec::new();
    let mut total = 0;
    for (r, row) in [
        "G_PERSONNE",
        "G_BIENS",
        "G_CIRCULATION",
        "G_AUTORITE",
        "G_STUPEFIANTS",
        "G_ECOFI",
        "G_ENVIRONNEMENT",
    ]
    .iter()
    .enumerate()
    {
        for (s, sex) in ["F", "M"].iter().enumerate() {
            let n = (i * 7 + r * 13 + s * 5) % 97;
            total += n;
            victims.push(f(&format!("victimes.{row}.{sex}"), n.to_string()));
        }
    }
    victims.push(f("victimes_mineures", (total / 7).to_string()));
    vec![
        (
            1,
            "fonctionnement",
            vec![
                f("bav_actif", "oui".into()),
                f("etp", format!("{},{}", 1 + i % 9, i % 10)),
                f("demi_journees", (i % 8).to_string()),
                f(
                    "date_convention",
                    format!("20{:02}-0{}-1{}", 10 + i % 15, 1 + i % 9, i % 10),
                ),
            ],
        ),
        (2, "victimes", victims),
        (
            3,
            "permanences",
            vec![
                f("services", "INFO".into()),
                f("services", "PSY".into()),
                f(
                    "commentaire",
                    format!("Réponse du banc d’essai pour l’unité {i}"),
                ),
            ],
        ),
    ]
}

/// The value of `name="csrf" value="…"` in a page.
fn csrf(html: &str) -> Option<String> {
    let at = html.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    Some(html[at..].split('"').next()?.to_string())
}

/// The value a `Set-Cookie` gives `name`.
fn set_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap_or("").to_string())
}

/// One respondent: enters the code, then saves each page; returns each save's latency.
async fn respondent(
    client: &reqwest::Client,
    base: &str,
    i: usize,
    code: &str,
) -> Result<Vec<Duration>> {
    let form = client.get(format!("{base}/enquetes")).send().await?;
    let login = set_cookie(&form, "justat_login_csrf").context("no login CSRF cookie")?;
    let token = csrf(&form.text().await?).context("no CSRF token on /enquetes")?;
    let entered = client
        .post(format!("{base}/enquetes"))
        .header("Cookie", format!("justat_login_csrf={login}"))
        .form(&[("csrf", token.as_str()), ("code", code)])
        .send()
        .await?;
    if entered.status() != 303 {
        bail!("code refused: {}", entered.status());
    }
    let session = set_cookie(&entered, "justat_enquete").context("no portal cookie")?;
    let cookie = format!("justat_enquete={session}");
    let mut latencies = Vec::new();
    for (number, _, fields) in pages(i) {
        let page = client
            .get(format!("{base}/enquetes/page/{number}"))
            .header("Cookie", &cookie)
            .send()
            .await?;
        let html = page.text().await?;
        let token = csrf(&html).context("no CSRF token on the page")?;
        let shown = html
            .split("name=\"shown\" value=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap_or("")
            .to_string();
        let mut body = vec![
            ("csrf".to_string(), token),
            ("shown".to_string(), shown),
            ("started_at".to_string(), "0".to_string()),
            ("action".to_string(), "enregistrer".to_string()),
        ];
        body.extend(fields);
        let start = Instant::now();
        let saved = client
            .post(format!("{base}/enquetes/page/{number}"))
            .header("Cookie", &cookie)
            .form(&body)
            .send()
            .await?;
        let status = saved.status();
        let _ = saved.bytes().await?;
        latencies.push(start.elapsed());
        if status != 303 {
            bail!("page {number} not saved: {status}");
        }
    }
    Ok(latencies)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let k = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[k.clamp(1, sorted.len()) - 1]
}

async fn run(data: &Path, surveys: &Path, base: &str, codes: &Path) -> Result<()> {
    let codes: Vec<(String, String)> = std::fs::read_to_string(codes)?
        .lines()
        .filter_map(|l| l.split_once(','))
        .map(|(u, c)| (u.to_string(), c.to_string()))
        .collect();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(codes.len())
        .timeout(Duration::from_secs(120))
        .build()?;
    let base = base.trim_end_matches('/').to_string();
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, (unit, code)) in codes.iter().enumerate() {
        let (client, base, unit, code) = (client.clone(), base.clone(), unit.clone(), code.clone());
        tasks.spawn(async move { (i, unit, respondent(&client, &base, i, &code).await) });
    }
    let mut latencies = Vec::new();
    let mut saved_units = Vec::new();
    let mut failures = BTreeMap::<String, usize>::new();
    while let Some(joined) = tasks.join_next().await {
        let (i, unit, outcome) = joined?;
        match outcome {
            Ok(l) => {
                latencies.extend(l);
                saved_units.push((i, unit));
            }
            Err(e) => *failures.entry(e.to_string()).or_default() += 1,
        }
    }
    let elapsed = start.elapsed();
    latencies.sort();

    // Nothing lost: every answer a respondent saved is in the store, as the portal reads it.
    let store = open(data).await?;
    let campaign = store
        .campaigns()
        .await?
        .into_iter()
        .find(|c| c.survey_id == SURVEY && c.period == PERIOD)
        .context("the bench campaign")?;
    let q = justat_survey::load(&PathBuf::from(surveys).join(format!("{SURVEY}.toml")))?;
    let (mut checked, mut lost) = (0usize, Vec::new());
    for (i, unit) in &saved_units {
        let stored: BTreeMap<String, serde_json::Value> = store
            .unit_answers(campaign.id, unit)
            .await?
            .into_iter()
            .filter_map(|a| Some((a.path, a.collected?)))
            .collect();
        for (_, page, fields) in pages(*i) {
            let seq = q.sequences.iter().find(|s| s.id == page).context("page")?;
            let parsed = justat_survey::Answers::from_form(seq, &fields);
            for (path, answer) in parsed.answers.iter() {
                checked += 1;
                if stored.get(path) != Some(&serde_json::to_value(answer)?) {
                    lost.push(format!("{unit} {path}"));
                }
            }
        }
    }
    store.close().await;

    let saves = latencies.len();
    println!("respondents         {}", codes.len());
    println!("respondents done    {}", saved_units.len());
    for (e, n) in &failures {
        println!("respondents failed  {n}: {e}");
    }
    println!("page saves          {saves}");
    // Each respondent: the code page, the code, then a GET and a save per page.
    let requests = saved_units.len() * (2 + 2 * pages(0).len());
    println!("elapsed             {:.1} s", elapsed.as_secs_f64());
    println!(
        "requests            {requests} ({:.0}/s, every request of the respondents done)",
        requests as f64 / elapsed.as_secs_f64()
    );
    println!(
        "throughput          {:.0} saves/s",
        saves as f64 / elapsed.as_secs_f64()
    );
    for p in [50.0, 90.0, 99.0] {
        println!(
            "save latency p{p:<3}   {:.1} ms",
            percentile(&latencies, p).as_secs_f64() * 1000.0
        );
    }
    println!(
        "save latency max    {:.1} ms",
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1000.0
    );
    println!("answers checked     {checked}");
    println!("answers lost        {}", lost.len());
    for l in lost.iter().take(10) {
        println!("  lost: {l}");
    }
    if !lost.is_empty() || !failures.is_empty() {
        bail!(
            "{} answers lost, {} respondents failed",
            lost.len(),
            failures.values().sum::<usize>()
        );
    }
    Ok(())
}
