//! `justat publication …`: building a publication from its folder (`justat_publish`: its
//! tables read from the cubes, protected together per cube and period and audited, then
//! rendered and stored as a draft) and moving its versions through the lifecycle.

use crate::config::Config;
use crate::db::open_store;
use anyhow::{Context, Result};
use clap::Subcommand;
use jiff::Timestamp;
use justat_model::columns::Columns;
use justat_model::publication::{Action, Collection};
use justat_publish::{act_as, check_may_build, import_dir};
use justat_store::{Actor, Lake, Store};
use std::path::PathBuf;

/// Publication commands.
#[derive(Subcommand)]
pub enum PublicationCommand {
    /// Build a publication from its folder (publication.md, tables.toml) and save it as a
    /// draft (or as a correction of its released version).
    Import {
        /// The folder.
        dir: PathBuf,
        /// Who builds it (a statistician's or the head of service's account).
        #[arg(long = "as", value_name = "USERNAME")]
        user: String,
    },
    /// List every publication version and its state (release instants in Paris time).
    List {
        /// Print the list as JSON (instants in UTC, RFC 3339).
        #[arg(long)]
        json: bool,
    },
    /// Hand a draft to the head of service.
    Submit(ActionArgs),
    /// Send a submitted version back to draft (head of service).
    Reject(ActionArgs),
    /// Approve a submitted version: its content is frozen (head of service).
    Approve(ActionArgs),
    /// Release an approved version at an instant (head of service): its calendar release's
    /// when the calendar announces one.
    Release {
        #[command(flatten)]
        args: ActionArgs,
        /// The release instant (RFC 3339, e.g. 2027-03-12T12:00:00+01:00); the calendar's
        /// confirmed instant, or now when the calendar has no release for it.
        #[arg(long)]
        at: Option<String>,
    },
}

/// Which version, and who acts.
#[derive(clap::Args)]
pub struct ActionArgs {
    /// The collection (chiffres-cles, references-statistiques, infostat, infos-rapides).
    collection: String,
    /// The publication's slug.
    slug: String,
    /// The version; the latest by default.
    #[arg(long)]
    version: Option<i64>,
    /// Who acts (their role decides what they may do).
    #[arg(long = "as", value_name = "USERNAME")]
    user: String,
}

/// Runs a publication command.
pub async fn run(config: &Config, command: PublicationCommand) -> Result<()> {
    let store = open_store(config).await?;
    let result = dispatch(config, &store, command).await;
    store.close().await;
    result
}

async fn dispatch(config: &Config, store: &Store, command: PublicationCommand) -> Result<()> {
    match command {
        PublicationCommand::Import { dir, user } => {
            check_may_build(store, &user).await?;
            let lake = Lake::new(&config.data_dir);
            let v = import_dir(store, &lake, &dir, &Actor::user(&user)).await?;
            println!(
                "{}/{} version {} saved as a draft: « {} » ({} files, content {})",
                v.collection,
                v.slug,
                v.version,
                v.title,
                v.files.len(),
                v.content_hash.short()
            );
            Ok(())
        }
        PublicationCommand::List { json } => {
            let all = store.publication_versions().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
                return Ok(());
            }
            let mut t = Columns::new(&[
                "COLLECTION",
                "SLUG",
                "V",
                "STATE",
                "RELEASE (HEURE DE PARIS)",
                "TITLE",
            ])
            .right(2);
            for v in all {
                t.row([
                    v.collection.slug().to_string(),
                    v.slug,
                    v.version.to_string(),
                    v.state.as_str().to_string(),
                    v.released_at
                        .map(justat_model::french::date_time)
                        .unwrap_or_default(),
                    v.title,
                ]);
            }
            print!("{}", t.render());
            Ok(())
        }
        PublicationCommand::Submit(a) => act(store, a, Action::Submit, None).await,
        PublicationCommand::Reject(a) => act(store, a, Action::Reject, None).await,
        PublicationCommand::Approve(a) => act(store, a, Action::Approve, None).await,
        PublicationCommand::Release { args, at } => {
            let collection: Collection = args.collection.parse()?;
            let at = match at {
                Some(t) => Some(t.parse::<Timestamp>().with_context(|| {
                    format!("--at `{t}`: expected RFC 3339, e.g. 2027-03-12T12:00:00+01:00")
                })?),
                None => {
                    store
                        .default_release_instant(collection, &args.slug, Timestamp::now())
                        .await?
                }
            };
            act(store, args, Action::Release, at).await
        }
    }
}

async fn act(store: &Store, a: ActionArgs, action: Action, at: Option<Timestamp>) -> Result<()> {
    let collection: Collection = a.collection.parse()?;
    let v = act_as(store, collection, &a.slug, a.version, &a.user, action, at).await?;
    println!(
        "{collection}/{} version {}: {}{}",
        a.slug,
        v.version,
        v.state.as_str(),
        v.released_at
            .map(|t| format!(", public from {}", justat_model::french::date_time(t)))
            .unwrap_or_default()
    );
    Ok(())
}
