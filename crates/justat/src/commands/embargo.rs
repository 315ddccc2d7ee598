//! `justat embargo …`: a release's nominative list of early-access recipients — proposed by a
//! statistician, approved by the head of service — and its transmission to the Autorité de la
//! statistique publique (a CSV file and a PDF letter, with the access log on request).

use crate::config::Config;
use crate::db::open_store;
use anyhow::{Context, Result, bail};
use clap::Subcommand;
use jiff::Timestamp;
use justat_model::calendar::CalendarPolicy;
use justat_model::embargo::RecipientCategory;
use justat_model::publication::Collection;
use justat_store::{Actor, EmbargoList, NewRecipient, Store, StoreError};
use std::path::PathBuf;

/// Embargo commands.
#[derive(Subcommand)]
pub enum EmbargoCommand {
    /// Propose a recipient (an account of role embargo_recipient) for a release's list.
    Add {
        #[command(flatten)]
        target: Target,
        /// The recipient's account.
        #[arg(long)]
        recipient: String,
        /// Their function.
        #[arg(long)]
        function: String,
        /// Their organisation.
        #[arg(long)]
        organisation: String,
        /// Their e-mail address.
        #[arg(long)]
        email: String,
        /// Why they need early access.
        #[arg(long)]
        justification: String,
        /// information or quality_assurance.
        #[arg(long, default_value = "information")]
        category: String,
        /// How many hours before the release the window opens (1 to 24); the collection's
        /// setting (`embargo_hours`) by default.
        #[arg(long)]
        window_hours: Option<i64>,
    },
    /// Approve a release's list as you read it (head of service): `--revision` names the
    /// revision `embargo list` showed; without it, the list is shown and nothing approved.
    Approve {
        #[command(flatten)]
        target: Target,
        /// The list's revision, as `justat embargo list` shows it.
        #[arg(long)]
        revision: Option<String>,
    },
    /// Show a release's list.
    List {
        /// The collection.
        collection: String,
        /// The release's slug.
        slug: String,
        /// Print the list as JSON (instants in UTC, RFC 3339).
        #[arg(long)]
        json: bool,
    },
    /// Write the transmission to the ASP: the list as CSV and a PDF letter (with the access
    /// log when asked), and record that it was generated.
    Export {
        #[command(flatten)]
        target: Target,
        /// The folder to write into.
        #[arg(long)]
        out: PathBuf,
        /// Add the log of every view and download of the embargo room.
        #[arg(long)]
        access_log: bool,
    },
    /// Record that the transmission was sent to the ASP.
    Sent {
        #[command(flatten)]
        target: Target,
    },
}

/// Which release, and who acts.
#[derive(clap::Args)]
pub struct Target {
    /// The collection (chiffres-cles, references-statistiques, infostat, infos-rapides).
    collection: String,
    /// The release's slug.
    slug: String,
    /// Who acts.
    #[arg(long = "as", value_name = "USERNAME")]
    user: String,
}

/// Runs an embargo command.
pub async fn run(config: &Config, command: EmbargoCommand) -> Result<()> {
    let policy = config.calendar_policy()?;
    let store = open_store(config).await?;
    let result = dispatch(&store, &policy, command).await;
    store.close().await;
    result
}

fn print_list(collection: Collection, slug: &str, list: &EmbargoList) {
    println!(
        "{collection}/{slug}: list {}{}, window {} h, revision {}",
        list.status.as_str(),
        list.approved_by
            .as_ref()
            .map(|b| format!(" by {b}"))
            .unwrap_or_default(),
        list.window_hours,
        list.revision()
    );
    let mut t = justat_model::columns::Columns::new(&[
        "USERNAME",
        "NAME",
        "FUNCTION",
        "ORGANISATION",
        "CATEGORY",
        "JUSTIFICATION",
    ]);
    for r in &list.recipients {
        t.row([
            &r.username,
            &r.name,
            &r.function,
            &r.organisation,
            r.category.as_str(),
            &r.justification,
        ]);
    }
    print!("{}", t.render());
}

async fn dispatch(store: &Store, policy: &CalendarPolicy, command: EmbargoCommand) -> Result<()> {
    let now = Timestamp::now();
    match command {
        EmbargoCommand::Add {
            target,
            recipient,
            function,
            organisation,
            email,
            justification,
            category,
            window_hours,
        } => {
            let c: Collection = target.collection.parse()?;
            let who = store.user(&target.user).await?;
            let category: RecipientCategory = category.parse().map_err(anyhow::Error::msg)?;
            let window_hours = window_hours.unwrap_or(policy.embargo_hours(c));
            let list = store
                .add_recipient(
                    c,
                    &target.slug,
                    &NewRecipient {
                        username: recipient,
                        function,
                        organisation,
                        email,
                        justification,
                        category,
                    },
                    window_hours,
                    who.role,
                    &Actor::user(&target.user),
                    now,
                )
                .await?;
            print_list(c, &target.slug, &list);
        }
        EmbargoCommand::Approve { target, revision } => {
            let c: Collection = target.collection.parse()?;
            let who = store.user(&target.user).await?;
            let shown = store
                .embargo_list(c, &target.slug)
                .await?
                .with_context(|| format!("{c}/{} has no embargo list", target.slug))?;
            let Some(revision) = revision else {
                print_list(c, &target.slug, &shown);
                bail!(
                    "nothing approved: read the list above, then approve what you read with `justat embargo approve {c} {} --revision {} --as {}`",
                    target.slug,
                    shown.revision(),
                    target.user
                );
            };
            match store
                .approve_embargo_list(
                    c,
                    &target.slug,
                    &revision,
                    who.role,
                    &Actor::user(&target.user),
                    now,
                )
                .await
            {
                Ok(list) => print_list(c, &target.slug, &list),
                Err(e @ StoreError::Stale { .. }) => {
                    // The list as it stands now, to read before approving it.
                    if let Some(list) = store.embargo_list(c, &target.slug).await? {
                        print_list(c, &target.slug, &list);
                    }
                    bail!("nothing approved: {e}");
                }
                Err(e) => return Err(e.into()),
            }
        }
        EmbargoCommand::List {
            collection,
            slug,
            json,
        } => {
            let c: Collection = collection.parse()?;
            match store.embargo_list(c, &slug).await? {
                Some(list) if json => println!("{}", serde_json::to_string_pretty(&list)?),
                Some(list) => print_list(c, &slug, &list),
                None if json => println!("null"),
                None => println!("{c}/{slug}: no embargo list"),
            }
        }
        EmbargoCommand::Export {
            target,
            out,
            access_log,
        } => {
            let c: Collection = target.collection.parse()?;
            let who = store.user(&target.user).await?;
            if !who.role.allows(justat_model::Permission::ReadEmbargoLists) {
                bail!("{} may not read embargo lists", target.user);
            }
            let written =
                justat_publish::asp_files(store, c, &target.slug, access_log, now).await?;
            std::fs::create_dir_all(&out)
                .with_context(|| format!("cannot create {}", out.display()))?;
            for f in &written {
                std::fs::write(out.join(&f.name), &f.bytes)
                    .with_context(|| format!("cannot write {}", f.name))?;
                println!("{}", out.join(&f.name).display());
            }
            store
                .record_asp_export(c, &target.slug, false, &Actor::user(&target.user), now)
                .await?;
        }
        EmbargoCommand::Sent { target } => {
            let c: Collection = target.collection.parse()?;
            let who = store.user(&target.user).await?;
            if who.role != justat_model::Role::HeadOfService {
                bail!("only the head of service records the transmission to the ASP");
            }
            store
                .record_asp_export(c, &target.slug, true, &Actor::user(&target.user), now)
                .await?;
            println!(
                "{c}/{}: transmission to the ASP recorded as sent",
                target.slug
            );
        }
    }
    Ok(())
}
