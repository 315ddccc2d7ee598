//! `justat calendar …`: announcing releases and changing their dates, as the head of service or
//! a statistician (the scheduler that records each release as published is `crate::scheduler`).

use crate::config::Config;
use crate::db::open_store;
use anyhow::{Context, Result, bail};
use clap::Subcommand;
use jiff::Timestamp;
use jiff::civil::Date;
use justat_model::calendar::{
    CalendarChange, CalendarPolicy, Month, Schedule, day_flags, paris_day, paris_instant,
};
use justat_model::publication::Collection;
use justat_store::{Actor, NewRelease, Release, Store};

/// Calendar commands.
#[derive(Subcommand)]
pub enum CalendarCommand {
    /// Announce a release: provisional with --month, confirmed with --date (head of service).
    Announce {
        #[command(flatten)]
        target: Target,
        /// The title announced.
        #[arg(long)]
        title: String,
        #[command(flatten)]
        when: When,
        /// Why an essential indicator is announced less than 12 months ahead.
        #[arg(long)]
        justification: Option<String>,
    },
    /// Give a provisional release its exact date (head of service).
    Confirm {
        #[command(flatten)]
        target: Target,
        /// The day (YYYY-MM-DD, Paris).
        #[arg(long, required_unless_present = "at")]
        date: Option<String>,
        /// The time (HH:MM, Paris); the collection's standard time by default.
        #[arg(long, requires = "date")]
        time: Option<String>,
        /// An exact instant instead (RFC 3339), to the second.
        #[arg(long, conflicts_with_all = ["date", "time"])]
        at: Option<String>,
    },
    /// Move a release: a provisional one to another --month, a confirmed one to another
    /// --date (head of service), with the reason the public history shows.
    Move {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        when: When,
        /// Why, shown in the public history.
        #[arg(long)]
        reason: String,
    },
    /// Cancel a release, with its public notice (head of service).
    Cancel {
        #[command(flatten)]
        target: Target,
        /// The notice shown in the calendar.
        #[arg(long)]
        notice: String,
    },
    /// List the calendar.
    List {
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Which release, and who acts.
#[derive(clap::Args)]
pub struct Target {
    /// The collection (chiffres-cles, references-statistiques, infostat, infos-rapides).
    collection: String,
    /// The slug of the publication it releases.
    slug: String,
    /// Who acts (their role decides what they may do).
    #[arg(long = "as", value_name = "USERNAME")]
    user: String,
}

/// A month, a day and time, or an exact instant.
#[derive(clap::Args)]
pub struct When {
    /// A month (YYYY-MM): a provisional date.
    #[arg(long, conflicts_with_all = ["date", "time", "at"])]
    month: Option<String>,
    /// An exact instant (RFC 3339, e.g. 2027-06-10T12:00:00+02:00), to the second.
    #[arg(long, conflicts_with_all = ["date", "time"])]
    at: Option<String>,
    /// A day (YYYY-MM-DD, Paris): a confirmed date.
    #[arg(long)]
    date: Option<String>,
    /// The time (HH:MM, Paris) with --date; the collection's standard time by default.
    #[arg(long, requires = "date")]
    time: Option<String>,
}

/// The instant of a Paris day and time, the collection's standard time by default.
pub fn instant(
    policy: &CalendarPolicy,
    collection: Collection,
    date: &str,
    time: Option<&str>,
) -> Result<Timestamp> {
    let day: Date = date
        .parse()
        .with_context(|| format!("`{date}` is not a day written YYYY-MM-DD"))?;
    let (h, m) = match time {
        Some(t) => {
            let (h, m) = t
                .split_once(':')
                .with_context(|| format!("`{t}` is not a time written HH:MM"))?;
            (
                h.parse().with_context(|| format!("`{t}`: hour"))?,
                m.parse().with_context(|| format!("`{t}`: minute"))?,
            )
        }
        None => policy.standard_time(collection),
    };
    Ok(paris_instant(day, h, m)?)
}

fn schedule(policy: &CalendarPolicy, collection: Collection, when: &When) -> Result<Schedule> {
    match (&when.month, &when.date, &when.at) {
        (Some(m), None, None) => Ok(Schedule::Month(m.parse::<Month>()?)),
        (None, Some(d), None) => Ok(Schedule::At(instant(
            policy,
            collection,
            d,
            when.time.as_deref(),
        )?)),
        (None, None, Some(at)) => Ok(Schedule::At(parse_at(at)?)),
        _ => bail!(
            "give --month YYYY-MM (provisional), or --date YYYY-MM-DD [--time HH:MM], or --at RFC3339"
        ),
    }
}

fn parse_at(at: &str) -> Result<Timestamp> {
    at.parse::<Timestamp>()
        .with_context(|| format!("--at `{at}`: expected RFC 3339, e.g. 2027-06-10T12:00:00+02:00"))
}

/// Warns of a release planned on a week-end or a public holiday (allowed, but unusual).
fn warn_day(schedule: Schedule) {
    if let Schedule::At(at) = schedule {
        let flags = day_flags(paris_day(at));
        if !flags.is_empty() {
            let what: Vec<String> = flags.iter().map(|f| f.label_fr()).collect();
            eprintln!("warning: {} is a {}", paris_day(at), what.join(" and a "));
        }
    }
}

/// Runs a calendar command.
pub async fn run(config: &Config, command: CalendarCommand) -> Result<()> {
    let store = open_store(config).await?;
    let result = dispatch(config, &store, command).await;
    store.close().await;
    result
}

async fn dispatch(config: &Config, store: &Store, command: CalendarCommand) -> Result<()> {
    let policy = config.calendar_policy()?;
    let now = Timestamp::now();
    let release = match command {
        CalendarCommand::List { json } => {
            let all = store.releases().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else {
                print_list(&all);
            }
            return Ok(());
        }
        CalendarCommand::Announce {
            target,
            title,
            when,
            justification,
        } => {
            let collection: Collection = target.collection.parse()?;
            let schedule = schedule(&policy, collection, &when)?;
            warn_day(schedule);
            let who = store.user(&target.user).await?;
            store
                .announce_release(
                    &NewRelease {
                        collection,
                        slug: target.slug.clone(),
                        title,
                        schedule,
                        justification,
                    },
                    &policy,
                    who.role,
                    &Actor::user(&target.user),
                    now,
                )
                .await?
        }
        CalendarCommand::Confirm {
            target,
            date,
            time,
            at,
        } => {
            let collection: Collection = target.collection.parse()?;
            let at = match (at, date) {
                (Some(at), _) => parse_at(&at)?,
                (None, Some(date)) => instant(&policy, collection, &date, time.as_deref())?,
                (None, None) => bail!("give --date YYYY-MM-DD [--time HH:MM] or --at RFC3339"),
            };
            warn_day(Schedule::At(at));
            change(store, &target, CalendarChange::Confirm { at }, now).await?
        }
        CalendarCommand::Move {
            target,
            when,
            reason,
        } => {
            let collection: Collection = target.collection.parse()?;
            let change_asked = match schedule(&policy, collection, &when)? {
                Schedule::Month(month) => CalendarChange::MoveMonth { month, reason },
                Schedule::At(at) => {
                    warn_day(Schedule::At(at));
                    CalendarChange::Reschedule { at, reason }
                }
            };
            change(store, &target, change_asked, now).await?
        }
        CalendarCommand::Cancel { target, notice } => {
            change(store, &target, CalendarChange::Cancel { notice }, now).await?
        }
    };
    println!(
        "{}/{}: {} — {}",
        release.collection,
        release.slug,
        release.status.as_str(),
        release.when_fr()
    );
    Ok(())
}

async fn change(
    store: &Store,
    target: &Target,
    change: CalendarChange,
    now: Timestamp,
) -> Result<Release> {
    let collection: Collection = target.collection.parse()?;
    let who = store.user(&target.user).await?;
    Ok(store
        .change_release(
            collection,
            &target.slug,
            &change,
            who.role,
            &Actor::user(&target.user),
            now,
        )
        .await?)
}

fn print_list(all: &[Release]) {
    let mut t = justat_model::columns::Columns::new(&[
        "COLLECTION",
        "SLUG",
        "STATUS",
        "WHEN (HEURE DE PARIS)",
        "TITLE",
    ]);
    for r in all {
        t.row([
            r.collection.slug(),
            &r.slug,
            r.status.as_str(),
            &r.when_fr(),
            &r.title,
        ]);
    }
    print!("{}", t.render());
}
