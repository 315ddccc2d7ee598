//! `justat survey …`: the statisticians' follow-up of campaigns (`list`, `status`,
//! `non-respondents`), their actions (`close`, `impute`, `validate`, `reopen`, `reissue-code`), each one call
//! of the store (the rules are the model's and the survey core's), and `deliver`: a validated
//! campaign's answers received as a delivery of its survey source (`survey_<survey>`), ready
//! for the survey's chain.

use crate::config::Config;
use crate::db::open_store;
use crate::progress::print_delivery;
use anyhow::{Context, Result, bail};
use jiff::Timestamp;
use justat_engine::source::Source;
use justat_model::columns::Columns;
use justat_model::french;
use justat_model::survey::{CampaignAction, CampaignState, campaign_action_refusal};
use justat_publish::survey_delivery::{deliver_campaign, survey_source_id};
use justat_store::{Actor, Lake};
use std::path::PathBuf;
use std::process::ExitCode;

/// `justat survey …`
#[derive(clap::Subcommand)]
pub enum SurveyCommand {
    /// The campaigns: survey, period, state, dates, sample size and response rate.
    List {
        /// Print them as JSON.
        #[arg(long)]
        json: bool,
    },
    /// A campaign's response rates by unit kind and court of appeal, and its units by status.
    Status {
        /// The campaign's number.
        campaign: i64,
        /// Print the rates as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The units that still owe an answer (not started, in progress), with their contacts, as
    /// CSV.
    NonRespondents {
        /// The campaign's number.
        campaign: i64,
        /// Write the CSV to this file (default: standard output).
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// End a campaign's collection (open → closed).
    Close {
        /// The campaign's number.
        campaign: i64,
    },
    /// Impute a closed campaign's unit non-response: the unit's previous answer, else its
    /// stratum's median, for every count-table cell; imputed values flagged with their method.
    Impute {
        /// The campaign's number.
        campaign: i64,
    },
    /// Validate a closed campaign: its answers may then become a delivery.
    Validate {
        /// The campaign's number.
        campaign: i64,
    },
    /// Reopen a unit's submitted (or validated) response to its respondent.
    Reopen {
        /// The campaign's number.
        campaign: i64,
        /// The unit's code.
        unit: String,
        /// Why (kept in the unit's history).
        #[arg(long)]
        reason: String,
    },
    /// Issue a new access code to a unit that lost its letter: the old code stops working at
    /// once, the answers saved stay. The code is printed once (only its hash is kept), to be
    /// sent to the unit.
    ReissueCode {
        /// The campaign's number.
        campaign: i64,
        /// The unit's code.
        unit: String,
    },
    /// Receive a validated campaign's answers (collected, edited or imputed, imputed ones
    /// flagged) as a delivery of the survey's source, checked like any extract.
    Deliver {
        /// The campaign's number.
        campaign: i64,
        /// The campaign's questionnaire file (default: `surveys/<survey>.toml`); its SHA-256
        /// must be the one the campaign recorded.
        #[arg(long)]
        questionnaire: Option<PathBuf>,
        /// The source (a shipped id or a file; default: `survey_<survey>`).
        #[arg(long)]
        source: Option<String>,
        /// Print the delivery as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a `justat survey` command.
pub async fn run(config: &Config, command: SurveyCommand) -> Result<ExitCode> {
    let store = open_store(config).await?;
    let now = Timestamp::now();
    let cli = Actor::cli();
    let refused = |state: CampaignState, action: CampaignAction| -> Result<()> {
        match campaign_action_refusal(state, action) {
            Some(why) => bail!("{why}"),
            None => Ok(()),
        }
    };
    match command {
        SurveyCommand::List { json } => {
            let mut rows = Vec::new();
            for c in store.campaigns().await? {
                let rates = store.response_rates(c.id, now).await?;
                rows.push((c, rates.total));
            }
            if json {
                let list: Vec<_> = rows
                    .iter()
                    .map(|(c, t)| serde_json::json!({ "campaign": c, "rate": t }))
                    .collect();
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                let mut t = Columns::new(&[
                    "ID",
                    "SURVEY",
                    "PERIOD",
                    "STATE",
                    "OPENS (PARIS)",
                    "CLOSES (PARIS)",
                    "SAMPLE",
                    "RESPONDED",
                    "RATE",
                ])
                .right(6)
                .right(7)
                .right(8);
                for (c, total) in &rows {
                    t.row([
                        c.id.to_string(),
                        c.survey_id.clone(),
                        c.period.clone(),
                        c.state.as_str().to_string(),
                        french::date_time(c.opens_at),
                        french::date_time(c.closes_at),
                        total.in_scope.to_string(),
                        total.responded.to_string(),
                        format!("{:.1} %", total.rate * 100.0),
                    ]);
                }
                print!("{}", t.render());
            }
        }
        SurveyCommand::Status { campaign, json } => {
            let c = store.campaign(campaign).await?;
            let rates = store.response_rates(campaign, now).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rates)?);
            } else {
                println!(
                    "campaign {} — {} {} ({}): {} of {} units in scope responded ({:.1} %)",
                    c.id,
                    c.survey_id,
                    c.period,
                    c.state.as_str(),
                    rates.total.responded,
                    rates.total.in_scope,
                    rates.total.rate * 100.0
                );
                for (title, rows) in [
                    ("BY UNIT KIND", &rates.by_kind),
                    ("BY COURT OF APPEAL", &rates.by_court_of_appeal),
                ] {
                    println!("\n{title}");
                    let mut t = Columns::new(&["GROUP", "IN SCOPE", "RESPONDED", "RATE"])
                        .right(1)
                        .right(2)
                        .right(3);
                    for r in rows {
                        t.row([
                            r.group.clone(),
                            r.in_scope.to_string(),
                            r.responded.to_string(),
                            format!("{:.1} %", r.rate * 100.0),
                        ]);
                    }
                    print!("{}", t.render());
                }
            }
        }
        SurveyCommand::NonRespondents { campaign, output } => {
            let csv = store.non_respondents_export(campaign).await?;
            match output {
                Some(path) => {
                    std::fs::write(&path, &csv)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    eprintln!(
                        "{} non-respondent line(s) written to {}",
                        csv.lines().count().saturating_sub(1),
                        path.display()
                    );
                }
                None => print!("{csv}"),
            }
        }
        SurveyCommand::Close { campaign } => {
            refused(store.campaign(campaign).await?.state, CampaignAction::Close)?;
            let c = store
                .set_campaign_state(campaign, CampaignState::Closed, &cli, now)
                .await?;
            println!("campaign {} is {}", c.id, c.state.as_str());
        }
        SurveyCommand::Validate { campaign } => {
            refused(
                store.campaign(campaign).await?.state,
                CampaignAction::Validate,
            )?;
            let c = store
                .set_campaign_state(campaign, CampaignState::Validated, &cli, now)
                .await?;
            println!("campaign {} is {}", c.id, c.state.as_str());
        }
        SurveyCommand::Impute { campaign } => {
            let c = store.campaign(campaign).await?;
            refused(c.state, CampaignAction::Impute)?;
            let q = justat_survey::load_for_campaign(
                &config.surveys_dir,
                &c.survey_id,
                &c.questionnaire_sha256,
                &c.questionnaire_version,
            )?;
            let (units, values) = store
                .impute_non_response(
                    campaign,
                    |units| justat_survey::campaign::impute_non_response(&q, units),
                    &cli,
                    now,
                )
                .await?;
            println!("campaign {campaign}: {values} value(s) imputed for {units} unit(s)");
        }
        SurveyCommand::Reopen {
            campaign,
            unit,
            reason,
        } => {
            let status = store
                .reopen_response(campaign, &unit, &reason, &cli, now)
                .await?;
            println!("unit {unit} of campaign {campaign} is {}", status.as_str());
        }
        SurveyCommand::ReissueCode { campaign, unit } => {
            let issued = store
                .reissue_access_code(campaign, &unit, &cli, now)
                .await?;
            println!(
                "new access code of unit {unit} for campaign {campaign} (the previous one no longer works; send it to the unit, it is not shown again):\n  {}",
                issued.code.as_str()
            );
        }
        SurveyCommand::Deliver {
            campaign,
            questionnaire,
            source,
            json,
        } => return deliver(config, store, campaign, questionnaire, source, json).await,
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

/// `justat survey deliver`.
async fn deliver(
    config: &Config,
    store: justat_store::Store,
    campaign: i64,
    questionnaire: Option<PathBuf>,
    source: Option<String>,
    json: bool,
) -> Result<ExitCode> {
    let c = store.campaign(campaign).await?;
    let path =
        questionnaire.unwrap_or_else(|| PathBuf::from(format!("surveys/{}.toml", c.survey_id)));
    let bytes = std::fs::read(&path)
        .with_context(|| format!("cannot read the questionnaire {}", path.display()))?;
    if justat_model::Sha256Hex::of(&bytes) != c.questionnaire_sha256 {
        bail!(
            "{} n'est pas le questionnaire de la campagne n° {campaign} (son SHA-256 diffère de celui enregistré à la création de la campagne)",
            path.display()
        );
    }
    let q = justat_survey::load(&path)?;
    let source = Source::load(&source.unwrap_or_else(|| survey_source_id(&c.survey_id)))?;
    let lake = Lake::new(&config.data_dir);
    let d = deliver_campaign(&store, &lake, campaign, &q, &source, &Actor::cli()).await?;
    store.close().await;
    if json {
        println!("{}", serde_json::to_string_pretty(&d)?);
    } else {
        print_delivery(&d);
    }
    Ok(if d.status.feeds_chains() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}
