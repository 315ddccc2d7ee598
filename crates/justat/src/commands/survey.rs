//! `justat survey deliver CAMPAIGN`: a validated campaign's answers received as a delivery of
//! its survey source (`survey_<survey>`), ready for the survey's chain.

use crate::config::Config;
use crate::db::open_store;
use crate::progress::print_delivery;
use anyhow::{Context, Result, bail};
use justat_engine::source::Source;
use justat_publish::survey_delivery::{deliver_campaign, survey_source_id};
use justat_store::{Actor, Lake};
use std::path::PathBuf;
use std::process::ExitCode;

/// `justat survey …`
#[derive(clap::Subcommand)]
pub enum SurveyCommand {
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
    let SurveyCommand::Deliver {
        campaign,
        questionnaire,
        source,
        json,
    } = command;
    let store = open_store(config).await?;
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
