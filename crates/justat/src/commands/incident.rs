//! `justat incident …`: the incident register of releases — report, review (head of service),
//! list. A collection's next release waits for the review of its incidents.

use crate::config::Config;
use crate::db::open_store;
use anyhow::Result;
use clap::Subcommand;
use jiff::Timestamp;
use justat_model::incident::IncidentKind;
use justat_model::publication::Collection;
use justat_store::{Actor, Incident, Store};

/// Incident commands.
#[derive(Subcommand)]
pub enum IncidentCommand {
    /// Report an incident of a release.
    Report {
        /// The collection.
        collection: String,
        /// The release's slug.
        slug: String,
        /// early_access, leak or late_release.
        #[arg(long)]
        kind: String,
        /// What happened.
        #[arg(long)]
        description: String,
        /// Who reports it.
        #[arg(long = "as", value_name = "USERNAME")]
        user: String,
    },
    /// Review an incident: what was found and what changes (head of service).
    Review {
        /// The incident's number.
        id: i64,
        /// The review.
        #[arg(long)]
        review: String,
        /// Who reviews it.
        #[arg(long = "as", value_name = "USERNAME")]
        user: String,
    },
    /// List the register (instants in Paris time).
    List {
        /// Print the list as JSON (instants in UTC, RFC 3339).
        #[arg(long)]
        json: bool,
    },
}

fn print(i: &Incident) {
    println!(
        "#{:<4} {:<24} {:<40} {:<13} {}{}",
        i.id,
        i.collection.slug(),
        i.slug,
        i.kind.as_str(),
        i.description,
        i.review
            .as_ref()
            .map(|r| format!(" — reviewed: {r}"))
            .unwrap_or_else(|| " — NOT REVIEWED".into())
    );
}

/// Runs an incident command.
pub async fn run(config: &Config, command: IncidentCommand) -> Result<()> {
    let store = open_store(config).await?;
    let result = dispatch(&store, command).await;
    store.close().await;
    result
}

async fn dispatch(store: &Store, command: IncidentCommand) -> Result<()> {
    let now = Timestamp::now();
    match command {
        IncidentCommand::Report {
            collection,
            slug,
            kind,
            description,
            user,
        } => {
            let c: Collection = collection.parse()?;
            let kind: IncidentKind = kind.parse().map_err(anyhow::Error::msg)?;
            let who = store.user(&user).await?;
            if !who.role.allows(justat_model::Permission::ReadEmbargoLists) {
                anyhow::bail!(
                    "{user} is {}: the service reports incidents",
                    who.role.label_fr()
                );
            }
            let i = store
                .report_incident(c, &slug, kind, &description, &Actor::user(&user), now)
                .await?;
            print(&i);
        }
        IncidentCommand::Review { id, review, user } => {
            let who = store.user(&user).await?;
            let i = store
                .review_incident(id, &review, who.role, &Actor::user(&user), now)
                .await?;
            print(&i);
        }
        IncidentCommand::List { json } => {
            let all = store.incidents().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
                return Ok(());
            }
            let mut t = justat_model::columns::Columns::new(&[
                "ID",
                "COLLECTION",
                "SLUG",
                "KIND",
                "REPORTED (HEURE DE PARIS)",
                "REVIEW",
                "DESCRIPTION",
            ])
            .right(0);
            for i in all {
                t.row([
                    format!("#{}", i.id),
                    i.collection.slug().to_string(),
                    i.slug,
                    i.kind.as_str().to_string(),
                    justat_model::french::date_time(i.reported_at),
                    i.review
                        .map(|r| format!("reviewed: {r}"))
                        .unwrap_or_else(|| "NOT REVIEWED".into()),
                    i.description,
                ]);
            }
            print!("{}", t.render());
        }
    }
    Ok(())
}
