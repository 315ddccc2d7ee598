//! `justat demo`: the demo accounts and the whole production chain on synthetic data —
//! extracts generated, delivered (one with dirt, ending OK_KO), checked, and turned into cubes
//! by the three shipped chains — its publications, one per collection at least, built from the
//! cubes, protected, approved and released (one of them corrected), the survey of the victim
//! support offices from campaign to cube (answers read as the portal reads a form, mail sent to
//! a loopback SMTP sink, non-response imputed, the campaign delivered) and the sheet built from
//! its cube, a trial campaign open for the respondent portal, then the server.

use crate::config::Config;
use crate::progress::{deliver, run};
use crate::server::serve_store;
use anyhow::{Context, Result};
use justat_model::calendar::{CalendarChange, Schedule};
use justat_model::programme::{
    Link, Novelty, Operation, OperationKind, OperationStatus, Opinion, OpinionKind,
};
use justat_model::survey::{CampaignState, UnitKind};
use justat_model::{Collection, Role, Sha256Hex, Username};
use justat_publish::CubeTable;
use justat_sdc::table::TableShape;
use justat_store::{
    Actor, CodeOutcome, Lake, LegalStanding, NewCampaign, NewRelease, NewUser, PageSave, Store,
    StoreError,
};
use justat_survey::campaign::reminder::Message;
use justat_synth::{GenerateOptions, SourceKind};

/// A demo account: login, password, role, name.
pub struct DemoAccount {
    /// Login name.
    pub username: &'static str,
    /// Its password (public: the demo binds to loopback by default).
    pub password: &'static str,
    /// Its role.
    pub role: Role,
    /// Name shown in pages.
    pub name: &'static str,
}

/// The demo accounts, one per role.
pub const DEMO_ACCOUNTS: &[DemoAccount] = &[
    DemoAccount {
        username: "admin",
        password: "justat-demo-admin",
        role: Role::Admin,
        name: "Alice Martin",
    },
    DemoAccount {
        username: "statisticienne",
        password: "justat-demo-statisticienne",
        role: Role::Statistician,
        name: "Sophie Bernard",
    },
    DemoAccount {
        username: "chef",
        password: "justat-demo-chef",
        role: Role::HeadOfService,
        name: "Marc Lefèvre",
    },
    DemoAccount {
        username: "destinataire",
        password: "justat-demo-destinataire",
        role: Role::EmbargoRecipient,
        name: "Claire Dubois",
    },
    DemoAccount {
        username: "asp",
        password: "justat-demo-asp",
        role: Role::Asp,
        name: "Autorité de la statistique publique",
    },
    DemoAccount {
        username: "pilotage",
        password: "justat-demo-pilotage",
        role: Role::Administration,
        name: "Direction de la protection judiciaire de la jeunesse",
    },
    DemoAccount {
        username: "pilotage-dacg",
        password: "justat-demo-pilotage-dacg",
        role: Role::Administration,
        name: "Direction des affaires criminelles et des grâces",
    },
    DemoAccount {
        username: "pilotage-sadjav",
        password: "justat-demo-pilotage-sadjav",
        role: Role::Administration,
        name: "Service de l'accès au droit et à la justice et de l'aide aux victimes",
    },
];

/// The demo's extracts: source, scale, share of dirt, chain. Small scales keep the demo quick
/// (penal ≈ 10,000 offenders, 16,000 rows a year); prison at a tenth keeps several persons per
/// establishment.
const DEMO_DATA: &[(SourceKind, f64, f64, &str)] = &[
    (SourceKind::Penal, 0.005, 0.01, "penal_orientations"),
    (SourceKind::Cjn, 0.01, 0.0, "cjn_convictions"),
    (SourceKind::Prison, 0.1, 0.0, "prison_stock"),
];
const DEMO_YEARS: std::ops::RangeInclusive<i16> = 2019..=2024;

/// The steering extracts of the demo (CJPM from its entry into force, domestic violence):
/// source, scale, share of dirt, chain. Small scales leave courts with few cases, which the
/// dashboards' secret statistique then protects.
const DEMO_STEERING_DATA: &[(SourceKind, f64, f64, &str)] = &[
    (SourceKind::Cjpm, 0.1, 0.01, "cjpm_delays"),
    (SourceKind::ProtectionOrders, 0.5, 0.01, "protection_orders"),
    (
        SourceKind::ProtectionDevices,
        1.0,
        0.0,
        "protection_devices",
    ),
];
const DEMO_STEERING_YEARS: std::ops::RangeInclusive<i16> = 2022..=2025;

/// The administration each demo steering account belongs to (role `administration`).
const DEMO_ADMINISTRATIONS: &[(&str, &str)] = &[
    ("pilotage", "DPJJ"),
    ("pilotage-dacg", "DACG"),
    ("pilotage-sadjav", "SADJAV"),
];
const DEMO_SEED: u64 = 2026;

/// Creates the demo accounts that do not exist yet; returns how many were created.
pub async fn prepare_accounts(store: &Store) -> Result<usize> {
    let mut created = 0;
    for a in DEMO_ACCOUNTS {
        let new = NewUser {
            username: Username::parse(a.username)?,
            display_name: a.name.to_string(),
            role: a.role,
            password: a.password.to_string(),
        };
        match store
            .create_user(&new, &Actor::system(), jiff::Timestamp::now())
            .await
        {
            Ok(_) => created += 1,
            Err(StoreError::Conflict { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(created)
}

/// Generates, delivers and processes the demo extracts, unless a previous demo did.
async fn prepare_production(config: &Config, store: &Store) -> Result<()> {
    if !store.deliveries().await?.is_empty() {
        println!("demo deliveries already present: kept as they are");
        return Ok(());
    }
    let lake = Lake::new(&config.data_dir);
    let dir = config.data_dir.join("demo-extracts");
    for (source, scale, dirt, chain) in DEMO_DATA {
        let opts = GenerateOptions {
            source: *source,
            years: DEMO_YEARS,
            scale: *scale,
            seed: DEMO_SEED,
            dirt: *dirt,
            gzip: false,
        };
        let files = justat_synth::generate(&opts, &dir, &mut |_| {})
            .with_context(|| format!("cannot generate the {source} extracts"))?;
        let mut ids = Vec::new();
        for f in files {
            let d = deliver(store, &lake, source.as_str(), &f.path, false).await?;
            if d.status.feeds_chains() {
                ids.push(d.id);
            }
        }
        let r = run(store, &lake, config, chain, &ids, false).await?;
        if *chain == "cjn_convictions"
            && let Some(cube) = &r.cube_id
        {
            protect_demo_tables(config, store, cube).await?;
        }
    }
    Ok(())
}

/// Protects the convictions of the latest year as the publications will show them: by offence
/// group and sentence, and by offence group and sex — two linked tables, one pattern.
async fn protect_demo_tables(config: &Config, store: &Store, cube: &Sha256Hex) -> Result<()> {
    let dims: Vec<String> = ["offence_group", "main_sentence", "sex", "age_band"]
        .map(String::from)
        .to_vec();
    let held = |fixed: [(&str, &str); 2]| TableShape {
        fixed: fixed.map(|(d, c)| (d.to_string(), c.to_string())).to_vec(),
        shown: Vec::new(),
    };
    let tables = [
        held([("age_band", "_T"), ("sex", "_T")]),
        held([("age_band", "_T"), ("main_sentence", "_T")]),
    ];
    let period = DEMO_YEARS.end().to_string();
    let lake = Lake::new(&config.data_dir);
    let CubeTable {
        mut table, pattern, ..
    } = justat_publish::cube_table(
        store,
        &lake,
        cube,
        &period,
        "condamnations",
        &dims,
        &tables,
        &justat_sdc::PrimaryRules::default(),
    )
    .await?;
    let added = justat_sdc::secondary::protect(&mut table)?;
    let id = justat_publish::record_pattern(store, &table, pattern).await?;
    println!(
        "secret statistique: convictions {period} by offence group × sentence and × sex protected together ({added} secondary suppressions, audit clean), pattern #{id}"
    );
    Ok(())
}

/// A demo publication: its folder's files, and when it was released (Paris wall-clock time).
struct DemoPublication {
    dir: &'static str,
    publication: &'static str,
    tables: &'static str,
    released: &'static str,
}

macro_rules! demo_publication {
    ($dir:literal, $released:literal) => {
        DemoPublication {
            dir: $dir,
            publication: include_str!(concat!(
                "../../../../publications/",
                $dir,
                "/publication.md"
            )),
            tables: include_str!(concat!("../../../../publications/", $dir, "/tables.toml")),
            released: $released,
        }
    };
}

/// One publication per collection at least, in the order they were released.
const DEMO_PUBLICATIONS: &[DemoPublication] = &[
    demo_publication!("infos-rapides-condamnations-2024", "2025-03-12T12:00:00"),
    demo_publication!("chiffres-cles-2025", "2025-10-15T12:00:00"),
    demo_publication!("references-6-1", "2025-11-20T12:00:00"),
    demo_publication!("references-6-2", "2025-11-20T12:00:00"),
    demo_publication!("references-6-3", "2025-11-20T12:00:00"),
    demo_publication!("infostat-orientations-2024", "2025-12-10T12:00:00"),
];

/// The *Références statistiques* sheet built from the cube of the demo survey (`bav_victims`),
/// released once the campaign is delivered.
const DEMO_SURVEY_PUBLICATION: DemoPublication =
    demo_publication!("references-bav-2025", "2026-06-17T12:00:00");

/// The erratum of the demo's correction of its *Infos rapides*.
const DEMO_ERRATUM: &str = "La figure 2 précise désormais que les condamnations sont classées selon leur peine principale.";

/// Builds, approves and releases the demo publications — the *Infos rapides* twice: its first
/// version lacked a note, corrected two days later — unless a previous demo did.
async fn prepare_publications(config: &Config, store: &Store) -> Result<()> {
    if !store.publication_versions().await?.is_empty() {
        println!("demo publications already present: kept as they are");
        return Ok(());
    }
    let statistician = Actor::user("statisticienne");
    let lake = Lake::new(&config.data_dir);
    for p in DEMO_PUBLICATIONS {
        let first = if p.dir == "infos-rapides-condamnations-2024" {
            // The first version, without the note its correction adds.
            p.publication
                .lines()
                .filter(|l| !l.starts_with("note: les condamnations sont classées"))
                .map(|l| format!("{l}\n"))
                .collect()
        } else {
            p.publication.to_string()
        };
        let released: jiff::Timestamp = p
            .released
            .parse::<jiff::civil::DateTime>()
            .and_then(|d| d.in_tz(justat_model::french::PARIS))
            .with_context(|| format!("demo release instant {}", p.released))?
            .timestamp();
        let source = justat_render::PublicationSource::parse(p.dir, &first, p.tables)?;
        let (c, slug) = (source.front.collection, source.front.slug.clone());
        justat_publish::import_source(store, &lake, &source, &statistician).await?;
        let title = calendar_title(&source.front);
        announce_past(store, c, &slug, &title, released).await?;
        release(store, c, &slug, released).await?;
        // The scheduler's record, at the instant.
        store
            .change_release(
                c,
                &slug,
                &CalendarChange::Publish,
                Role::HeadOfService,
                &Actor::system(),
                released,
            )
            .await?;
        if first != p.publication {
            let corrected = p.publication.replacen(
                "\n+++\n",
                &format!("\nerratum = \"{DEMO_ERRATUM}\"\n+++\n"),
                1,
            );
            let source = justat_render::PublicationSource::parse(p.dir, &corrected, p.tables)?;
            justat_publish::import_source(store, &lake, &source, &statistician).await?;
            release(
                store,
                c,
                &slug,
                released + jiff::SignedDuration::from_hours(48),
            )
            .await?;
        }
        println!(
            "publication: {} {} released ({})",
            c.label_fr(),
            c.number_label(&source.front.number),
            p.released
        );
    }
    Ok(())
}

/// Builds the sheet of the survey's cube, protected and audited like the others, announces it
/// in the calendar and releases it in the past, unless a previous demo did.
async fn prepare_survey_publication(config: &Config, store: &Store) -> Result<()> {
    let p = &DEMO_SURVEY_PUBLICATION;
    let source = justat_render::PublicationSource::parse(p.dir, p.publication, p.tables)?;
    let (c, slug) = (source.front.collection, source.front.slug.clone());
    if store
        .publication_versions()
        .await?
        .iter()
        .any(|v| v.collection == c && v.slug == slug)
    {
        println!("demo survey publication already present: kept as it is");
        return Ok(());
    }
    let released: jiff::Timestamp = p
        .released
        .parse::<jiff::civil::DateTime>()
        .and_then(|d| d.in_tz(justat_model::french::PARIS))
        .with_context(|| format!("demo release instant {}", p.released))?
        .timestamp();
    justat_publish::import_source(
        store,
        &Lake::new(&config.data_dir),
        &source,
        &Actor::user("statisticienne"),
    )
    .await?;
    announce_past(store, c, &slug, &calendar_title(&source.front), released).await?;
    release(store, c, &slug, released).await?;
    store
        .change_release(
            c,
            &slug,
            &CalendarChange::Publish,
            Role::HeadOfService,
            &Actor::system(),
            released,
        )
        .await?;
    println!(
        "publication: {} {} released ({}), from the survey's cube bav_victims",
        c.label_fr(),
        c.number_label(&source.front.number),
        p.released
    );
    Ok(())
}

/// A release's title in the calendar: its theme and period, never a finding (the calendar is
/// public before the publication).
fn calendar_title(front: &justat_render::FrontMatter) -> String {
    format!(
        "{} ({}), {}",
        front.theme,
        front.period,
        front.collection.number_label(&front.number)
    )
}

/// The calendar history of a demo publication released at `released`: announced 13 months
/// ahead for its month, confirmed two months ahead — the *Infostat* first for a week earlier,
/// then moved with its reason.
async fn announce_past(
    store: &Store,
    c: justat_model::Collection,
    slug: &str,
    title: &str,
    released: jiff::Timestamp,
) -> Result<()> {
    let day = |days: i64| released - jiff::SignedDuration::from_hours(24 * days);
    let paris = justat_model::calendar::paris_day(released);
    let month = justat_model::calendar::Month::new(paris.year(), paris.month())
        .context("demo release month")?;
    let policy = justat_model::calendar::CalendarPolicy::default();
    store
        .announce_release(
            &NewRelease {
                collection: c,
                slug: slug.to_string(),
                title: title.to_string(),
                schedule: Schedule::Month(month),
                justification: None,
            },
            &policy,
            Role::Statistician,
            &Actor::user("statisticienne"),
            day(400),
        )
        .await?;
    let chef = Actor::user("chef");
    let moved = c == justat_model::Collection::Infostat;
    let first = if moved { day(7) } else { released };
    store
        .change_release(
            c,
            slug,
            &CalendarChange::Confirm { at: first },
            Role::HeadOfService,
            &chef,
            day(60),
        )
        .await?;
    if moved {
        store
            .change_release(
                c,
                slug,
                &CalendarChange::Reschedule {
                    at: released,
                    reason: "Intégration des orientations de la cour d’appel de Paris, transmises avec retard".into(),
                },
                Role::HeadOfService,
                &chef,
                day(20),
            )
            .await?;
    }
    Ok(())
}

/// The demo's upcoming releases, dated from today: an *Infos rapides* confirmed then moved a
/// week later with its reason, a provisional *Chiffres clés* 13 months ahead and a provisional
/// *Infostat*, and an *Infostat* cancelled with its notice.
async fn prepare_calendar(store: &Store, config: &Config) -> Result<()> {
    if !store
        .releases()
        .await?
        .iter()
        .any(|r| r.status != justat_model::calendar::ReleaseStatus::Published)
    {
        let policy = config.calendar_policy()?;
        let now = jiff::Timestamp::now();
        let today = justat_model::calendar::paris_day(now);
        let (chef, stat) = (Actor::user("chef"), Actor::user("statisticienne"));
        let month_in = |months: i64| -> Result<justat_model::calendar::Month> {
            let d = today.checked_add(jiff::Span::new().months(months))?;
            justat_model::calendar::Month::new(d.year(), d.month()).context("demo month")
        };
        let noon_in = |days: i64| -> Result<jiff::Timestamp> {
            let d = today.checked_add(jiff::Span::new().days(days))?;
            let (h, m) = policy.standard_time(Collection::InfosRapides);
            Ok(justat_model::calendar::paris_instant(d, h, m)?)
        };
        let announce =
            |c, slug: &'static str, title: &'static str, schedule, who: &Actor, role, at| {
                let new = NewRelease {
                    collection: c,
                    slug: slug.into(),
                    title: title.into(),
                    schedule,
                    justification: None,
                };
                let who = who.clone();
                let policy = policy.clone();
                async move { store.announce_release(&new, &policy, role, &who, at).await }
            };
        let long_ago = now - jiff::SignedDuration::from_hours(24 * 330);
        // Announced eleven months ago for the month in three months: 14 months ahead.
        announce(
            Collection::InfosRapides,
            "condamnations-2025",
            "Condamnations (2025), n° 2",
            Schedule::Month(month_in(3)?),
            &stat,
            Role::Statistician,
            long_ago,
        )
        .await?;
        let confirmed = noon_in(90)?;
        store
            .change_release(
                Collection::InfosRapides,
                "condamnations-2025",
                &CalendarChange::Confirm { at: confirmed },
                Role::HeadOfService,
                &chef,
                now - jiff::SignedDuration::from_hours(24 * 30),
            )
            .await?;
        store
            .change_release(
                Collection::InfosRapides,
                "condamnations-2025",
                &CalendarChange::Reschedule {
                    at: noon_in(97)?,
                    reason:
                        "Livraison tardive de l’extraction annuelle du casier judiciaire national"
                            .into(),
                },
                Role::HeadOfService,
                &chef,
                now,
            )
            .await?;
        announce(
            Collection::ChiffresCles,
            "chiffres-cles-2026",
            "Panorama (2025), édition 2026",
            Schedule::Month(month_in(13)?),
            &chef,
            Role::HeadOfService,
            now,
        )
        .await?;
        announce(
            Collection::Infostat,
            "detention-2025",
            "Détention provisoire (2025), n° 2",
            Schedule::Month(month_in(5)?),
            &stat,
            Role::Statistician,
            now,
        )
        .await?;
        announce(
            Collection::Infostat,
            "mineurs-2025",
            "Justice pénale des mineurs (2025), n° 3",
            Schedule::Month(month_in(2)?),
            &stat,
            Role::Statistician,
            long_ago,
        )
        .await?;
        store.change_release(Collection::Infostat, "mineurs-2025", &CalendarChange::Cancel { notice: "Les données de 2025 sur les mesures éducatives ne sont pas encore consolidées ; l’étude paraîtra avec celles de 2026.".into() }, Role::HeadOfService, &chef, now).await?;
        println!(
            "calendar: past releases published, one upcoming release confirmed and moved, two provisional, one cancelled"
        );
    }
    Ok(())
}

/// The demo's release under embargo: *Références statistiques* fiche 6.4, built, approved and
/// scheduled for the next full hour plus five, its list (the demo's recipient) approved, so
/// that the recipient reads it in the embargo room while the public sees nothing.
const EMBARGOED: DemoPublication = demo_publication!("references-6-4", "");

/// The next edition of *Les chiffres clés de la justice* (2025 data), built from the CJPM cube,
/// approved and scheduled at its confirmed calendar date: until then the official series it
/// releases (`cjpm_saisines`, `op_demandes`) show « publication le … » for 2025 on the steering
/// dashboards, and their earlier years, released by the 2025 edition, their values.
const NEXT_EDITION: DemoPublication = demo_publication!("chiffres-cles-2026", "");

async fn prepare_next_edition(config: &Config, store: &Store) -> Result<()> {
    let source = justat_render::PublicationSource::parse(
        NEXT_EDITION.dir,
        NEXT_EDITION.publication,
        NEXT_EDITION.tables,
    )?;
    let (c, slug) = (source.front.collection, source.front.slug.clone());
    if store.publication_version(c, &slug, None).await?.is_some() {
        return Ok(());
    }
    let release = store
        .release(c, &slug)
        .await?
        .context("the calendar announces the next edition of Les chiffres clés")?;
    let now = jiff::Timestamp::now();
    if let Schedule::Month(month) = release.state().schedule {
        // The second Tuesday of its month, at noon in Paris.
        let first = month.first_day();
        let to_tuesday = (7 + 2 - i64::from(first.weekday().to_monday_one_offset())) % 7;
        let day = first.checked_add(jiff::Span::new().days(to_tuesday + 7))?;
        let at = justat_model::calendar::paris_instant(day, 12, 0)?;
        store
            .change_release(
                c,
                &slug,
                &CalendarChange::Confirm { at },
                Role::HeadOfService,
                &Actor::user("chef"),
                now,
            )
            .await?;
    }
    let lake = Lake::new(&config.data_dir);
    justat_publish::import_source(store, &lake, &source, &Actor::user("statisticienne")).await?;
    use justat_model::Action;
    use justat_publish::act_as;
    act_as(
        store,
        c,
        &slug,
        None,
        "statisticienne",
        Action::Submit,
        None,
    )
    .await?;
    act_as(store, c, &slug, None, "chef", Action::Approve, None).await?;
    // Scheduled at the calendar's instant: public from then, not a second before.
    act_as(store, c, &slug, None, "chef", Action::Release, None).await?;
    println!("next edition of Les chiffres clés (2025) approved and scheduled on the calendar");
    Ok(())
}

async fn prepare_embargo(config: &Config, store: &Store) -> Result<()> {
    let source = justat_render::PublicationSource::parse(
        EMBARGOED.dir,
        EMBARGOED.publication,
        EMBARGOED.tables,
    )?;
    let (c, slug) = (source.front.collection, source.front.slug.clone());
    if store.release(c, &slug).await?.is_some() {
        return Ok(());
    }
    let now = jiff::Timestamp::now();
    let hours = |h: i64| jiff::SignedDuration::from_hours(h);
    let instant = jiff::Timestamp::from_second((now + hours(6)).as_second() / 3600 * 3600)?;
    let paris = justat_model::calendar::paris_day(instant);
    let month = justat_model::calendar::Month::new(paris.year(), paris.month())
        .context("demo release month")?;
    let policy = config.calendar_policy()?;
    store
        .announce_release(
            &NewRelease {
                collection: c,
                slug: slug.clone(),
                title: calendar_title(&source.front),
                schedule: Schedule::Month(month),
                justification: None,
            },
            &policy,
            Role::Statistician,
            &Actor::user("statisticienne"),
            now - hours(24 * 200),
        )
        .await?;
    store
        .change_release(
            c,
            &slug,
            &CalendarChange::Confirm { at: instant },
            Role::HeadOfService,
            &Actor::user("chef"),
            now - hours(24 * 20),
        )
        .await?;
    let statistician = Actor::user("statisticienne");
    let lake = Lake::new(&config.data_dir);
    justat_publish::import_source(store, &lake, &source, &statistician).await?;
    {
        use justat_model::Action;
        use justat_publish::act_as;
        act_as(
            store,
            c,
            &slug,
            None,
            "statisticienne",
            Action::Submit,
            None,
        )
        .await?;
        act_as(store, c, &slug, None, "chef", Action::Approve, None).await?;
        // No instant asked: the calendar's.
        act_as(store, c, &slug, None, "chef", Action::Release, None).await?;
    }
    let list = store
        .add_recipient(
            c,
            &slug,
            &justat_store::NewRecipient {
                username: "destinataire".into(),
                function: "Conseillère chargée des statistiques".into(),
                organisation: "Cabinet du garde des Sceaux, ministère de la Justice".into(),
                email: "claire.dubois@justice.gouv.fr".into(),
                justification: "Préparer les éléments de réponse du ministère à la parution".into(),
                category: justat_model::embargo::RecipientCategory::Information,
            },
            policy.embargo_hours(c),
            Role::Statistician,
            &statistician,
            now,
        )
        .await?;
    store
        .approve_embargo_list(
            c,
            &slug,
            &list.revision(),
            Role::HeadOfService,
            &Actor::user("chef"),
            now,
        )
        .await?;
    println!(
        "embargo: {} {} scheduled for {}, readable now by `destinataire` in the embargo room",
        c.label_fr(),
        c.number_label(&source.front.number),
        justat_model::french::date_time(instant)
    );
    Ok(())
}

/// Submits, approves and releases the latest version, as the demo's statistician and head of
/// service.
async fn release(
    store: &Store,
    c: justat_model::Collection,
    slug: &str,
    at: jiff::Timestamp,
) -> Result<()> {
    use justat_model::Action;
    use justat_publish::act_as;
    act_as(store, c, slug, None, "statisticienne", Action::Submit, None).await?;
    act_as(store, c, slug, None, "chef", Action::Approve, None).await?;
    act_as(store, c, slug, None, "chef", Action::Release, Some(at)).await?;
    Ok(())
}

/// The demo's configuration: without an `audit_key`, a key in the data folder (made on first
/// use), so that the demo's releases sign checkpoints of the audit log. A real service keeps
/// its key off the database host (README).
fn with_audit_key(config: &Config) -> Result<Config> {
    let mut config = config.clone();
    if config.audit_key.as_os_str().is_empty() {
        config.audit_key = config.data_dir.join("demo-audit-key").join("audit.key");
    }
    if !config.audit_key.exists() {
        justat_store::checkpoints::generate_key(&config.audit_key)?;
    }
    Ok(config)
}

/// The demo's configuration for its questionnaire: the portal reads `surveys_dir`, by default
/// `./surveys`, relative to where `justat demo` runs. When that folder does not hold the
/// demo's questionnaire as the binary embeds it (the demo run from elsewhere than the
/// repository), the embedded copy is written to `<data_dir>/demo-surveys/` and served from
/// there, so that the printed access codes open it.
fn with_demo_questionnaire(config: &Config) -> Result<Config> {
    let file = DEMO_SURVEY
        .rsplit('/')
        .next()
        .context("the demo questionnaire's file name")?;
    let configured = config.surveys_dir.join(file);
    if std::fs::read(&configured).is_ok_and(|b| b == DEMO_SURVEY_SOURCE.as_bytes()) {
        return Ok(config.clone());
    }
    let dir = config.data_dir.join("demo-surveys");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let copy = dir.join(file);
    if std::fs::read(&copy).map_or(true, |b| b != DEMO_SURVEY_SOURCE.as_bytes()) {
        std::fs::write(&copy, DEMO_SURVEY_SOURCE)
            .with_context(|| format!("cannot write {}", copy.display()))?;
    }
    let mut config = config.clone();
    config.surveys_dir = dir;
    Ok(config)
}

/// `justat demo`: prepares the demo (accounts, deliveries, runs, protected tables,
/// publications, calendar, embargo lists) in the configured data folder, then serves it unless
/// `prepare_only`.
pub async fn demo(config: &Config, prepare_only: bool) -> Result<()> {
    let config = &with_demo_questionnaire(&with_audit_key(config)?)?;
    let store = crate::db::open_and_migrate(config).await?;
    let created = prepare_accounts(&store).await?;
    prepare_production(config, &store).await?;
    prepare_steering(config, &store).await?;
    prepare_publications(config, &store).await?;
    prepare_calendar(&store, config).await?;
    prepare_embargo(config, &store).await?;
    prepare_next_edition(config, &store).await?;
    prepare_survey(config, &store).await?;
    prepare_survey_publication(config, &store).await?;
    let trial = prepare_trial_campaign(&store).await?;
    prepare_programme(config, &store).await?;
    println!(
        "demo data ready in {} ({created} accounts created)",
        config.data_dir.display()
    );
    let public = justat_store::checkpoints::load_public_key(&config.audit_key)?;
    println!(
        "audit log signed with the demo key {} ({}); checkpoints in {}; check with:\n  JUSTAT_AUDIT_KEY={} justat audit verify",
        config.audit_key.display(),
        justat_model::checkpoint::fingerprint(&public),
        config.checkpoint_dir().display(),
        config.audit_key.display()
    );
    println!();
    println!("demo accounts (for a local demo only: anyone who reads this can use them):");
    println!("  {:<16} {:<28} ROLE", "USERNAME", "PASSWORD");
    for a in DEMO_ACCOUNTS {
        println!(
            "  {:<16} {:<28} {}",
            a.username,
            a.password,
            a.role.label_fr()
        );
    }
    println!();
    println!(
        "respondent portal {}/enquetes (survey of victim support offices 2025, trial campaign open until {}; access codes of courts that have not answered):",
        portal_base(config),
        justat_model::french::date_time(trial.closes_at)
    );
    for (name, code) in &trial.codes {
        println!("  {name:<40} {code}");
    }
    println!();
    if prepare_only {
        store.close().await;
        return Ok(());
    }
    if !config.smtp_host.is_empty() {
        return serve_store(config, store).await;
    }
    // Without a mail server of its own, the demo serves with its sink: the reminders of the
    // trial campaign, when they fall due, are written beside the survey's others.
    let mail_dir = config.data_dir.join("demo-mail");
    let sink = justat_mail::MailSink::bind(
        "127.0.0.1:0".parse()?,
        &mail_dir,
        justat_mail::SinkLimits::default(),
    )
    .await?;
    let mut served = config.clone();
    served.smtp_host = "127.0.0.1".into();
    served.smtp_port = sink.local_addr()?.port();
    served.mail_from = "enquetes@justice.example".into();
    let sink = tokio::spawn(sink.run());
    println!(
        "survey reminders sent while serving go to the SMTP sink on 127.0.0.1:{} ({})",
        served.smtp_port,
        mail_dir.display()
    );
    let outcome = serve_store(&served, store).await;
    sink.abort();
    outcome
}

/// Generates, delivers and processes the steering extracts, computes the dashboards, and
/// attaches the demo's steering accounts to their administrations, unless a previous demo did.
async fn prepare_steering(config: &Config, store: &Store) -> Result<()> {
    for (username, administration) in DEMO_ADMINISTRATIONS {
        store
            .set_user_administration(
                username,
                Some(administration),
                &Actor::system(),
                jiff::Timestamp::now(),
            )
            .await?;
    }
    let lake = Lake::new(&config.data_dir);
    let cubes = store.cubes().await?;
    let dir = config.data_dir.join("demo-extracts");
    for (source, scale, dirt, chain) in DEMO_STEERING_DATA {
        if cubes.iter().any(|c| c.chain == *chain) {
            continue;
        }
        let opts = GenerateOptions {
            source: *source,
            years: DEMO_STEERING_YEARS,
            scale: *scale,
            seed: DEMO_SEED,
            dirt: *dirt,
            gzip: false,
        };
        let files = justat_synth::generate(&opts, &dir, &mut |_| {})
            .with_context(|| format!("cannot generate the {source} extracts"))?;
        let mut ids = Vec::new();
        for f in files {
            let d = deliver(store, &lake, source.as_str(), &f.path, false).await?;
            if d.status.feeds_chains() {
                ids.push(d.id);
            }
        }
        run(store, &lake, config, chain, &ids, false).await?;
    }
    let report =
        justat_publish::dashboard::refresh(store, &lake, &Actor::system(), jiff::Timestamp::now())
            .await?;
    println!(
        "steering dashboards: {} tables computed, protected and audited",
        report.computed.len()
    );
    Ok(())
}

/// One operation of the demo's work programme: year, kind, novelty, title, description,
/// status, its reason, what it is attached to (the campaign is the BAV survey's).
struct DemoOperation {
    year: i16,
    kind: OperationKind,
    novelty: Novelty,
    title: &'static str,
    description: &'static str,
    status: OperationStatus,
    reason: Option<&'static str>,
    link: DemoLink,
}

/// What a demo operation is attached to.
enum DemoLink {
    None,
    BavCampaign,
    Chain(&'static str),
    Publication(Collection, &'static str),
}

const DEMO_SYNTHESIS_2026: &str = "En 2026, le service statistique ministériel de la Justice poursuit ses deux missions : produire et diffuser la statistique publique de la justice sur un calendrier annoncé, et fournir aux directions du ministère les indicateurs de pilotage de leurs politiques.

Deux chantiers répondent aux avis de moyen terme de la commission « Services publics et services aux publics » du Cnis : le suivi de la réforme de la justice pénale des mineurs (code de la justice pénale des mineurs, en vigueur depuis le 30 septembre 2021), avec les délais de l’audience d’examen de la culpabilité et de l’audience de sanction, et la mesure du traitement judiciaire des violences conjugales, dont le délai de six jours des ordonnances de protection.

L’enquête auprès des bureaux d’aide aux victimes des 164 tribunaux judiciaires, qui a reçu un avis d’opportunité favorable et le visa du Comité du label, a été collectée du 12 janvier au 13 mars 2026. L’Infostat sur la justice pénale des mineurs est reporté : les données de 2025 sur les mesures éducatives ne sont pas encore consolidées.";

const DEMO_SYNTHESIS_2027: &str = "En 2027, le service renouvelle l’enquête auprès des conciliateurs de justice, exploite pour la première fois les données des bracelets anti-rapprochement au niveau de chaque juridiction, et publie l’étude reportée sur la justice pénale des mineurs avec les données de 2025 et 2026.";

const DEMO_OPERATIONS: &[DemoOperation] = &[
    DemoOperation {
        year: 2026,
        kind: OperationKind::Survey,
        novelty: Novelty::New,
        title: "Enquête sur l’activité des bureaux d’aide aux victimes en 2025",
        description: "Enquête obligatoire auprès des 164 tribunaux judiciaires : victimes reçues par groupe d’infractions et sexe, accompagnement proposé, horaires d’ouverture. Résultats par cour d’appel.",
        status: OperationStatus::Done,
        reason: None,
        link: DemoLink::BavCampaign,
    },
    DemoOperation {
        year: 2026,
        kind: OperationKind::Exploitation,
        novelty: Novelty::New,
        title: "Suivi de la réforme de la justice pénale des mineurs (CJPM)",
        description: "Délais de l’audience d’examen de la culpabilité (dans les 3 mois) et de l’audience de sanction (6 à 9 mois après), mesures éducatives judiciaires provisoires et détention provisoire, à partir des données des juridictions pour mineurs.",
        status: OperationStatus::Running,
        reason: None,
        link: DemoLink::Chain("cjpm_delays"),
    },
    DemoOperation {
        year: 2026,
        kind: OperationKind::Exploitation,
        novelty: Novelty::New,
        title: "Violences conjugales : ordonnances de protection",
        description: "Demandes d’ordonnance de protection, délai entre la demande et la décision au regard du délai légal de six jours, issue des demandes.",
        status: OperationStatus::Running,
        reason: None,
        link: DemoLink::Chain("protection_orders"),
    },
    DemoOperation {
        year: 2026,
        kind: OperationKind::Exploitation,
        novelty: Novelty::New,
        title: "Téléphones grave danger et bracelets anti-rapprochement",
        description: "Dispositifs attribués et actifs chaque mois, par juridiction.",
        status: OperationStatus::Running,
        reason: None,
        link: DemoLink::Chain("protection_devices"),
    },
    DemoOperation {
        year: 2026,
        kind: OperationKind::Study,
        novelty: Novelty::New,
        title: "Parcours judiciaires des mineurs jugés selon le CJPM",
        description: "Étude des parcours des mineurs de la saisine à la sanction, en écho à la recommandation de la commission sur l’évaluation de la réforme.",
        status: OperationStatus::Running,
        reason: None,
        link: DemoLink::None,
    },
    DemoOperation {
        year: 2026,
        kind: OperationKind::Publication,
        novelty: Novelty::New,
        title: "Infostat : justice pénale des mineurs (2025)",
        description: "Premiers résultats sur les délais de jugement des mineurs sous le CJPM.",
        status: OperationStatus::Postponed,
        reason: Some(
            "Les données de 2025 sur les mesures éducatives ne sont pas encore consolidées ; l’étude paraîtra en 2027 avec celles de 2026.",
        ),
        link: DemoLink::Publication(Collection::Infostat, "mineurs-2025"),
    },
    DemoOperation {
        year: 2026,
        kind: OperationKind::Publication,
        novelty: Novelty::New,
        title: "Infostat : la détention provisoire (2025)",
        description: "La détention provisoire des majeurs et des mineurs, ses durées et ses issues.",
        status: OperationStatus::Planned,
        reason: None,
        link: DemoLink::Publication(Collection::Infostat, "detention-2025"),
    },
    DemoOperation {
        year: 2026,
        kind: OperationKind::Publication,
        novelty: Novelty::Permanent,
        title: "Les chiffres clés de la justice",
        description: "Panorama annuel des indicateurs clés de la justice.",
        status: OperationStatus::Planned,
        reason: None,
        link: DemoLink::Publication(Collection::ChiffresCles, "chiffres-cles-2026"),
    },
    DemoOperation {
        year: 2026,
        kind: OperationKind::Publication,
        novelty: Novelty::Permanent,
        title: "Infos rapides : les condamnations",
        description: "Les condamnations prononcées dans l’année, premiers résultats.",
        status: OperationStatus::Planned,
        reason: None,
        link: DemoLink::Publication(Collection::InfosRapides, "condamnations-2025"),
    },
    DemoOperation {
        year: 2026,
        kind: OperationKind::Exploitation,
        novelty: Novelty::Permanent,
        title: "Orientations des affaires pénales",
        description: "Affaires traitées par les parquets et leurs orientations, à partir de la chaîne pénale.",
        status: OperationStatus::Done,
        reason: None,
        link: DemoLink::Chain("penal_orientations"),
    },
    DemoOperation {
        year: 2026,
        kind: OperationKind::Exploitation,
        novelty: Novelty::Permanent,
        title: "Condamnations inscrites au casier judiciaire national",
        description: "Condamnations, peines et caractéristiques des condamnés.",
        status: OperationStatus::Done,
        reason: None,
        link: DemoLink::Chain("cjn_convictions"),
    },
    DemoOperation {
        year: 2026,
        kind: OperationKind::Exploitation,
        novelty: Novelty::Permanent,
        title: "Population écrouée",
        description: "Personnes écrouées au premier jour de chaque mois.",
        status: OperationStatus::Done,
        reason: None,
        link: DemoLink::Chain("prison_stock"),
    },
    DemoOperation {
        year: 2027,
        kind: OperationKind::Survey,
        novelty: Novelty::New,
        title: "Enquête auprès des conciliateurs de justice (2026)",
        description: "Activité des conciliateurs de justice : saisines, accords, durée des conciliations. Demande d’avis d’opportunité en 2026.",
        status: OperationStatus::Planned,
        reason: None,
        link: DemoLink::None,
    },
    DemoOperation {
        year: 2027,
        kind: OperationKind::Publication,
        novelty: Novelty::New,
        title: "Infostat : justice pénale des mineurs (2025-2026)",
        description: "L’étude reportée de 2026, avec les données consolidées de 2025 et 2026.",
        status: OperationStatus::Planned,
        reason: None,
        link: DemoLink::None,
    },
    DemoOperation {
        year: 2027,
        kind: OperationKind::Exploitation,
        novelty: Novelty::Permanent,
        title: "Violences conjugales : ordonnances de protection et dispositifs de protection",
        description: "Les exploitations nouvelles de 2026 deviennent permanentes.",
        status: OperationStatus::Planned,
        reason: None,
        link: DemoLink::Chain("protection_orders"),
    },
    DemoOperation {
        year: 2027,
        kind: OperationKind::Publication,
        novelty: Novelty::Permanent,
        title: "Les chiffres clés de la justice",
        description: "Panorama annuel des indicateurs clés de la justice.",
        status: OperationStatus::Planned,
        reason: None,
        link: DemoLink::None,
    },
];

/// Fills the work programme of 2026 and 2027 (operations, the Cnis's opinions on the BAV
/// survey and the commission's medium-term opinions, the service's responses) as the head
/// of service would, unless a previous demo did; then typesets each year's PDF.
async fn prepare_programme(config: &Config, store: &Store) -> Result<()> {
    let chef = Actor::user("chef");
    let now = jiff::Timestamp::now();
    if store.programme_years().await?.is_empty() {
        let bav = store
            .campaigns()
            .await?
            .into_iter()
            .find(|c| c.survey_id == "bav-2025")
            .context("the demo's work programme needs the BAV survey's campaign")?;
        let mut ids = Vec::new();
        for d in DEMO_OPERATIONS {
            let op = Operation {
                year: d.year,
                kind: d.kind,
                novelty: d.novelty,
                title: d.title.into(),
                description: d.description.into(),
                status: d.status,
                status_reason: d.reason.map(String::from),
                link: match d.link {
                    DemoLink::None => Link::None,
                    DemoLink::BavCampaign => Link::Campaign { campaign: bav.id },
                    DemoLink::Chain(chain) => Link::Chain {
                        chain: chain.into(),
                    },
                    DemoLink::Publication(collection, slug) => Link::Publication {
                        collection,
                        slug: slug.into(),
                    },
                },
            };
            ids.push(store.add_programme_operation(&op, &chef, now).await?);
        }
        let day = |s: &str| -> Result<jiff::civil::Date> { Ok(s.parse()?) };
        let legal = &bav.legal;
        let opinions = [
            Opinion {
                year: 2026,
                kind: OpinionKind::Opportunity,
                reference: legal
                    .cnis_avis_reference
                    .clone()
                    .context("the BAV campaign has its Cnis opinion")?,
                issued_on: legal
                    .cnis_avis_date
                    .context("the BAV campaign has its Cnis opinion's date")?,
                summary: "Avis d’opportunité favorable à l’enquête auprès des bureaux d’aide aux victimes des tribunaux judiciaires : elle répond à un besoin d’information sur l’aide apportée aux victimes et ne double aucune source existante.".into(),
                response: Some("L’enquête a été collectée du 12 janvier au 13 mars 2026 ; 146 des 164 tribunaux ont répondu, la non-réponse a été imputée. Ses résultats alimentent le cube des victimes reçues par cour d’appel.".into()),
                operations: vec![ids[0]],
            },
            Opinion {
                year: 2026,
                kind: OpinionKind::Label,
                reference: "séance du 14 octobre 2025".into(),
                issued_on: day("2025-10-14")?,
                summary: "Avis de conformité : label d’intérêt général et de qualité statistique, avec proposition du caractère obligatoire.".into(),
                response: Some("Le questionnaire a été allégé comme le Comité l’a demandé (horaires d’ouverture en une question).".into()),
                operations: vec![ids[0]],
            },
            Opinion {
                year: 2026,
                kind: OpinionKind::Visa,
                reference: legal
                    .visa_number
                    .clone()
                    .context("the BAV campaign has its visa")?,
                issued_on: day("2025-11-25")?,
                summary: "Visa valable pour l’année 2026 ; enquête obligatoire (arrêté du 25 novembre 2025).".into(),
                response: Some("Le visa et le caractère obligatoire figurent dans les mentions légales de l’enquête.".into()),
                operations: vec![ids[0]],
            },
            Opinion {
                year: 2026,
                kind: OpinionKind::MediumTerm,
                reference: "2024-2028, avis n° 5".into(),
                issued_on: day("2024-01-30")?,
                summary: "La commission souhaite que le service statistique de la Justice suive les effets de la réforme de la justice pénale des mineurs, notamment les délais de jugement.".into(),
                response: Some("Les délais de l’audience de culpabilité et de l’audience de sanction sont suivis chaque mois pour la DPJJ et la DACG ; une étude des parcours est en cours.".into()),
                operations: vec![ids[1], ids[4], ids[5]],
            },
            Opinion {
                year: 2026,
                kind: OpinionKind::MediumTerm,
                reference: "2024-2028, avis n° 7".into(),
                issued_on: day("2024-01-30")?,
                summary: "La commission recommande de mesurer le traitement judiciaire des violences conjugales, dont le respect du délai de six jours des ordonnances de protection.".into(),
                response: None,
                operations: vec![ids[2], ids[3]],
            },
        ];
        for o in &opinions {
            store.add_cnis_opinion(o, &chef, now).await?;
        }
        store
            .set_programme_synthesis(2026, DEMO_SYNTHESIS_2026, &chef, now)
            .await?;
        store
            .set_programme_synthesis(2027, DEMO_SYNTHESIS_2027, &chef, now)
            .await?;
    }
    let lake = Lake::new(&config.data_dir);
    for year in store.programme_years().await? {
        justat_publish::typeset_programme(store, &lake, year, now).await?;
    }
    println!("work programme: 2026 and 2027 with the Cnis's opinions, and their PDFs");
    Ok(())
}

/// The demo survey's questionnaire, its chain and its campaign's dates (Paris days).
const DEMO_SURVEY: &str = "surveys/bav-2025.toml";
const DEMO_SURVEY_SOURCE: &str = include_str!("../../../../surveys/bav-2025.toml");
const DEMO_SURVEY_OPENS: &str = "2026-01-12";
const DEMO_SURVEY_CLOSES: &str = "2026-03-13";
const DEMO_SURVEY_REMINDERS: [u32; 2] = [21, 42];
/// The period of the demo's campaign under way (a re-interview of the 2025 survey).
const DEMO_CONTROL_PERIOD: &str = "2025-controle";
/// The courts whose access codes the demo prints (tribunaux judiciaires de Lyon and
/// Saint-Étienne): two, so that the portal can be tried twice (a unit submits once).
const DEMO_RESPONDENTS: [&str; 2] = ["1/167", "1/112"];
/// The period of the demo's trial campaign of the same questionnaire, open when the demo runs.
const DEMO_TRIAL_PERIOD: &str = "2025-essai";
/// How long the trial campaign stays open after the demo created it.
const DEMO_TRIAL_DAYS: i64 = 60;

/// The demo survey of the 164 tribunaux judiciaires' victim support offices on 2025, from the
/// register to the cube: campaign, codes, answers through the portal's form reading, reminders
/// to a loopback SMTP sink, closing, imputation, validation, delivery and chain.
async fn prepare_survey(config: &Config, store: &Store) -> Result<()> {
    let stat = Actor::user("statisticienne");
    let now = jiff::Timestamp::now();
    if let Some(c) = store
        .campaigns()
        .await?
        .into_iter()
        .find(|c| c.survey_id == "bav-2025" && c.period == "2025")
    {
        println!(
            "demo survey campaign {} {} already present: kept as it is",
            c.survey_id, c.period
        );
        prepare_control_campaign(store, now).await?;
        return Ok(());
    }
    let q = justat_survey::toml_file::parse(DEMO_SURVEY, DEMO_SURVEY_SOURCE)?;
    let day = |d: &str| -> Result<jiff::civil::Date> { Ok(d.parse()?) };
    let (opening, closing) = (day(DEMO_SURVEY_OPENS)?, day(DEMO_SURVEY_CLOSES)?);
    let at = |d: jiff::civil::Date, h: i8| -> Result<jiff::Timestamp> {
        Ok(justat_model::calendar::paris_instant(d, h, 0)?)
    };
    let after = |days: i64, h: i8| -> Result<jiff::Timestamp> {
        at(opening.checked_add(jiff::ToSpan::days(days))?, h)
    };
    let start = after(-7, 9)?;
    store.load_reference_courts(&stat, start).await?;
    let courts = store
        .survey_units(Some(UnitKind::TribunalJudiciaire))
        .await?;
    // The register gets each office's contact, as the service would import it.
    let mut csv = String::from(
        "type,code,nom,cour_appel,adresse,contact_nom,contact_fonction,contact_courriel,contact_adresse\n",
    );
    for u in &courts {
        csv.push_str(&format!(
            "tribunal_judiciaire,{},\"{}\",{},,Responsable du BAV,Responsable du bureau d'aide aux victimes,bav-{}@justice.example,\n",
            u.code,
            u.name,
            u.court_of_appeal.as_deref().unwrap_or(""),
            u.code.replace('/', "-")
        ));
    }
    store
        .import_units_csv("contacts-bav.csv", csv.as_bytes(), &stat, start)
        .await?;
    let c = store
        .create_campaign(
            &NewCampaign {
                survey_id: q.id.clone(),
                period: "2025".into(),
                title: q.title.clone(),
                questionnaire_version: q.version.to_string(),
                questionnaire_sha256: Sha256Hex::of(DEMO_SURVEY_SOURCE.as_bytes()),
                legal: LegalStanding {
                    cnis_avis_date: Some(day("2025-03-12")?),
                    cnis_avis_reference: Some("n° 2025-45/Commission Services publics".into()),
                    label: Some("conformité".into()),
                    visa_number: Some("2026X004JU".into()),
                    visa_year: Some(2026),
                    mandatory: true,
                },
                opens_at: at(opening, 8)?,
                closes_at: at(closing, 23)?,
                reminder_days: DEMO_SURVEY_REMINDERS.to_vec(),
            },
            &stat,
            start,
        )
        .await?;
    store
        .sample_all_of_kind(c.id, UnitKind::TribunalJudiciaire, &stat, start)
        .await?;
    store
        .set_campaign_state(c.id, CampaignState::Open, &stat, at(opening, 8)?)
        .await?;
    let codes: std::collections::BTreeMap<String, String> = store
        .issue_access_codes(c.id, &stat, at(opening, 8)?)
        .await?
        .into_iter()
        .map(|i| (i.unit_code, i.code.as_str().to_string()))
        .collect();

    // Mail goes to a sink on loopback, into the data folder.
    let mail_dir = config.data_dir.join("demo-mail");
    let sink = justat_mail::MailSink::bind(
        "127.0.0.1:0".parse()?,
        &mail_dir,
        justat_mail::SinkLimits::default(),
    )
    .await?;
    let port = sink.local_addr()?.port();
    let sink_task = tokio::spawn(sink.run());
    let sender = justat_mail::Sender::new(&justat_mail::SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        starttls: false,
        timeout: std::time::Duration::from_secs(10),
        from: "enquetes@justice.example".into(),
        reply_to: None,
    })?;
    let schedule = justat_survey::campaign::reminder::Schedule::new(
        opening,
        closing,
        DEMO_SURVEY_REMINDERS.to_vec(),
        8,
    )?;
    let names: std::collections::BTreeMap<&str, &str> = courts
        .iter()
        .map(|u| (u.code.as_str(), u.name.as_str()))
        .collect();
    let mailing = justat_mail::CampaignMail {
        survey_title: q.title.clone(),
        period: "2025".into(),
        close_date: closing,
        portal_url: format!("{}/enquetes", portal_base(config)),
        legal_notice: "Enquête reconnue d'intérêt général et de qualité statistique (visa n° 2026X004JU valable en 2026), à caractère obligatoire, après avis d'opportunité du Cnis du 12 mars 2025. Vos réponses sont protégées par le secret statistique (loi n° 51-711 du 7 juin 1951).".into(),
    };
    let mut sent = 0usize;
    let mut mail_round = async |when: jiff::Timestamp| -> Result<()> {
        let progress = store.unit_progress(c.id).await?;
        let units: Vec<_> = progress
            .iter()
            .map(|u| justat_survey::campaign::reminder::UnitFollowUp {
                unit: u.unit_code.clone(),
                status: u.status,
                // The invitation went to every unit by post at opening, with its access code
                // (`justat_render::survey_letter`); the reminders go by e-mail, recorded.
                sent: std::iter::once(Message::Invitation)
                    .chain((1..=u.reminders).map(|k| Message::Reminder(k as u8)))
                    .collect(),
            })
            .collect();
        let mut out = Vec::new();
        for (unit, message) in
            justat_survey::campaign::reminder::due_messages(&schedule, when, &units)
        {
            let kind = match message {
                Message::Invitation => justat_mail::MailKind::Invitation,
                Message::Reminder(k) => {
                    let claim = store
                        .claim_reminder(c.id, &unit, u32::from(k), "email", &Actor::system(), when)
                        .await?;
                    if !matches!(claim, justat_store::ReminderClaim::Claimed) {
                        continue;
                    }
                    justat_mail::MailKind::Reminder(u32::from(k))
                }
            };
            let unit_mail = justat_mail::UnitMail {
                unit_name: names
                    .get(unit.as_str())
                    .copied()
                    .unwrap_or(&unit)
                    .to_string(),
                access_code: codes.get(&unit).cloned().unwrap_or_default(),
            };
            out.push(justat_mail::Outgoing {
                to: format!("bav-{}@justice.example", unit.replace('/', "-")),
                message: justat_mail::compose(kind, &mailing, &unit_mail)?,
            });
        }
        for o in sender.send_all(&out).await {
            o.result?;
            sent += 1;
        }
        Ok(())
    };

    // Most courts answer, within a month (some after the first reminder); every 9th never does, the 13th
    // ones say their office was closed, every 5th keeps the warning on its opening hours.
    let policy = justat_model::ThrottlePolicy::per_ip();
    let mut answering: Vec<(i64, usize, &str)> = courts
        .iter()
        .enumerate()
        .filter(|(i, u)| i % 9 != 4 && !DEMO_RESPONDENTS.contains(&u.code.as_str()))
        .map(|(i, u)| (((i * 7) % 30) as i64 + 2, i, u.code.as_str()))
        .collect();
    answering.sort();
    let mut reminders_done = 0;
    for (offset, i, unit) in &answering {
        while reminders_done < DEMO_SURVEY_REMINDERS.len()
            && i64::from(DEMO_SURVEY_REMINDERS[reminders_done]) <= *offset
        {
            mail_round(after(i64::from(DEMO_SURVEY_REMINDERS[reminders_done]), 9)?).await?;
            reminders_done += 1;
        }
        let when = after(*offset, 10)?;
        let CodeOutcome::Granted(who) = store
            .respondent_by_code(&codes[*unit], "127.0.0.1", &policy, when)
            .await?
        else {
            anyhow::bail!("the demo access code of {unit} was refused");
        };
        save_demo_answers(store, &q, &who, *i, usize::MAX, when).await?;
        store.submit_answers(&who, when).await?;
    }
    for k in DEMO_SURVEY_REMINDERS.iter().skip(reminders_done) {
        mail_round(after(i64::from(*k), 9)?).await?;
    }
    sink_task.abort();

    let closed_at = at(closing, 23)? + jiff::SignedDuration::from_hours(1);
    store
        .set_campaign_state(c.id, CampaignState::Closed, &stat, closed_at)
        .await?;
    // Unit non-response imputed, cell by cell, by the median of the answering courts (the
    // documented method of `justat_survey::campaign::impute`; no earlier campaign).
    let (imputed, _) = store
        .impute_non_response(
            c.id,
            |units| justat_survey::campaign::impute_non_response(&q, units),
            &stat,
            closed_at,
        )
        .await?;
    store
        .set_campaign_state(c.id, CampaignState::Validated, &stat, closed_at)
        .await?;
    let lake = Lake::new(&config.data_dir);
    let source = justat_engine::source::Source::load("survey_bav")?;
    let d = justat_publish::deliver_campaign(store, &lake, c.id, &q, &source, &stat).await?;
    println!(
        "demo survey: {} courts sampled, {} answered, {} imputed, {sent} messages in {}; delivery #{} ({})",
        courts.len(),
        answering.len(),
        imputed,
        mail_dir.display(),
        d.id,
        d.status
    );
    run(store, &lake, config, "bav_victims", &[d.id], false).await?;
    prepare_control_campaign(store, now).await?;
    Ok(())
}

/// The demo's open campaign, for trying the respondent portal: its closing instant and the
/// printed courts' names with their access codes.
struct TrialCampaign {
    closes_at: jiff::Timestamp,
    codes: Vec<(String, String)>,
}

/// A trial campaign of the demo questionnaire (period [`DEMO_TRIAL_PERIOD`]), open from the
/// day before the first demo for [`DEMO_TRIAL_DAYS`] days over every tribunal judiciaire, no
/// answer given: the 2025 campaign is closed and validated, and a respondent needs an open
/// one. The printed courts' codes are issued again on every run (only hashes are kept).
async fn prepare_trial_campaign(store: &Store) -> Result<TrialCampaign> {
    let stat = Actor::user("statisticienne");
    let now = jiff::Timestamp::now();
    let existing = store
        .campaigns()
        .await?
        .into_iter()
        .find(|c| c.survey_id == "bav-2025" && c.period == DEMO_TRIAL_PERIOD);
    let c = match existing {
        Some(c) => c,
        None => {
            let q = justat_survey::toml_file::parse(DEMO_SURVEY, DEMO_SURVEY_SOURCE)?;
            let opens_at = now - jiff::SignedDuration::from_hours(24);
            let c = store
                .create_campaign(
                    &NewCampaign {
                        survey_id: q.id.clone(),
                        period: DEMO_TRIAL_PERIOD.into(),
                        title: format!("{} (campagne d’essai)", q.title),
                        questionnaire_version: q.version.to_string(),
                        questionnaire_sha256: Sha256Hex::of(DEMO_SURVEY_SOURCE.as_bytes()),
                        legal: LegalStanding {
                            cnis_avis_date: Some("2025-03-12".parse()?),
                            cnis_avis_reference: Some(
                                "n° 2025-45/Commission Services publics".into(),
                            ),
                            label: Some("conformité".into()),
                            visa_number: Some("2026X004JU".into()),
                            visa_year: Some(2026),
                            mandatory: true,
                        },
                        opens_at,
                        closes_at: now + jiff::SignedDuration::from_hours(24 * DEMO_TRIAL_DAYS),
                        reminder_days: DEMO_SURVEY_REMINDERS.to_vec(),
                    },
                    &stat,
                    opens_at,
                )
                .await?;
            store
                .sample_all_of_kind(c.id, UnitKind::TribunalJudiciaire, &stat, opens_at)
                .await?;
            store
                .set_campaign_state(c.id, CampaignState::Open, &stat, opens_at)
                .await?;
            store.issue_access_codes(c.id, &stat, opens_at).await?;
            store.campaign(c.id).await?
        }
    };
    let mut codes = Vec::new();
    for unit in DEMO_RESPONDENTS {
        let name = store.survey_unit(unit).await?.name;
        let code = store.reissue_access_code(c.id, unit, &stat, now).await?;
        codes.push((name, code.code.as_str().to_string()));
    }
    Ok(TrialCampaign {
        closes_at: c.closes_at,
        codes,
    })
}

/// The demo's second campaign of the same questionnaire, under way: a re-interview of one
/// tribunal judiciaire per court of appeal, drawn at random (seed recorded), opened two weeks
/// ago and closing in a month; 20 courts submitted, 5 are answering, the others have not
/// started — the statisticians' follow-up, corrections and actions are tried on it.
async fn prepare_control_campaign(store: &Store, now: jiff::Timestamp) -> Result<()> {
    if store
        .campaigns()
        .await?
        .iter()
        .any(|c| c.survey_id == "bav-2025" && c.period == DEMO_CONTROL_PERIOD)
    {
        return Ok(());
    }
    let stat = Actor::user("statisticienne");
    let q = justat_survey::toml_file::parse(DEMO_SURVEY, DEMO_SURVEY_SOURCE)?;
    let day = jiff::SignedDuration::from_hours(24);
    let opens_at = now - day * 14;
    let c = store
        .create_campaign(
            &NewCampaign {
                survey_id: q.id.clone(),
                period: DEMO_CONTROL_PERIOD.into(),
                title: "Enquête de contrôle sur l'activité des bureaux d'aide aux victimes en 2025 (réinterrogation)".into(),
                questionnaire_version: q.version.to_string(),
                questionnaire_sha256: Sha256Hex::of(DEMO_SURVEY_SOURCE.as_bytes()),
                legal: LegalStanding {
                    cnis_avis_date: Some("2025-03-12".parse()?),
                    cnis_avis_reference: Some("n° 2025-45/Commission Services publics".into()),
                    label: Some("conformité".into()),
                    visa_number: Some("2026X004JU".into()),
                    visa_year: Some(2026),
                    mandatory: false,
                },
                opens_at,
                closes_at: now + day * 30,
                reminder_days: vec![21],
            },
            &stat,
            opens_at,
        )
        .await?;
    let courts = store
        .survey_units(Some(UnitKind::TribunalJudiciaire))
        .await?;
    let frame: Vec<justat_survey::campaign::FrameUnit> = courts
        .iter()
        .map(|u| justat_survey::campaign::FrameUnit {
            id: u.code.clone(),
            stratum: u.court_of_appeal.clone().unwrap_or_default(),
        })
        .collect();
    let allocation = frame.iter().map(|u| (u.stratum.clone(), 1)).collect();
    let seed = 2025;
    let drawn = justat_survey::campaign::draw_stratified(&frame, &allocation, seed)?;
    let units: Vec<justat_store::SampledUnit> = drawn
        .strata
        .iter()
        .flat_map(|(stratum, ids)| {
            ids.iter().map(|id| justat_store::SampledUnit {
                unit_code: id.clone(),
                stratum: stratum.clone(),
            })
        })
        .collect();
    store
        .set_campaign_sample(
            c.id,
            &justat_model::survey::SampleMethod::Stratified { seed },
            &units,
            &stat,
            opens_at,
        )
        .await?;
    store
        .set_campaign_state(c.id, CampaignState::Open, &stat, opens_at)
        .await?;
    let codes = store.issue_access_codes(c.id, &stat, opens_at).await?;
    let policy = justat_model::ThrottlePolicy::per_ip();
    for (i, issued) in codes.iter().enumerate().take(25) {
        let when = opens_at + jiff::SignedDuration::from_hours(10 + 12 * i as i64);
        let CodeOutcome::Granted(who) = store
            .respondent_by_code(issued.code.as_str(), "127.0.0.1", &policy, when)
            .await?
        else {
            anyhow::bail!("the demo access code of {} was refused", issued.unit_code);
        };
        // The last five saved their first page only.
        let pages = if i < 20 { usize::MAX } else { 1 };
        save_demo_answers(store, &q, &who, i + 1, pages, when).await?;
        if i < 20 {
            store.submit_answers(&who, when).await?;
        }
    }
    println!(
        "demo survey follow-up: campaign {} ({} courts drawn with seed {seed}, 20 submitted, 5 answering)",
        c.id,
        units.len()
    );
    Ok(())
}

/// Saves the demo answers of the `i`-th court, its first `pages` pages, through the portal's
/// form reading.
async fn save_demo_answers(
    store: &Store,
    q: &justat_survey::Questionnaire,
    who: &justat_store::Respondent,
    i: usize,
    pages: usize,
    when: jiff::Timestamp,
) -> Result<()> {
    for (page, fields) in demo_answers(i).into_iter().take(pages) {
        let seq = q
            .sequences
            .iter()
            .find(|s| s.id == page)
            .context("demo page")?;
        let parsed = justat_survey::Answers::from_form(seq, &fields);
        if let Some(e) = parsed.errors.first() {
            anyhow::bail!(
                "demo answers of {}, {}: {}",
                who.unit_code(),
                e.field,
                e.message
            );
        }
        let mut answers = std::collections::BTreeMap::new();
        let mut kept = Vec::new();
        for (path, a) in parsed.answers.iter() {
            if *a == justat_survey::Answer::WarningKept {
                kept.push(path.to_string());
            } else {
                answers.insert(path.to_string(), serde_json::to_value(a)?);
            }
        }
        let save = PageSave {
            session: format!("demo-{i}"),
            page: page.to_string(),
            seconds_spent: 40 + (i as u32 % 7) * 20,
            answers,
            kept_warnings: kept,
        };
        store.save_answers(who, &save, when).await?;
    }
    Ok(())
}

/// The demo answers of the `i`-th court, page by page, as its form's fields.
fn demo_answers(i: usize) -> Vec<(&'static str, Vec<(String, String)>)> {
    let f = |k: &str, v: String| (k.to_string(), v);
    if i % 13 == 6 {
        return vec![(
            "fonctionnement",
            vec![
                f("bav_actif", "non".into()),
                f("motif_inactivite", "VACANCE".into()),
            ],
        )];
    }
    let warned = i.is_multiple_of(5);
    let mut first = vec![
        f("bav_actif", "oui".into()),
        f(
            "etp",
            if warned {
                "0,4".into()
            } else {
                format!("{},5", 1 + i % 3)
            },
        ),
        f(
            "demi_journees",
            if warned {
                "8".into()
            } else {
                format!("{}", 4 + i % 5)
            },
        ),
    ];
    if warned {
        first.push(f("c_ouverture_effectif!continue", "1".into()));
    }
    // Victims: a court's size, shared out by offence group and sex.
    let size = 80 + (i * 37) % 400;
    let shares = [
        ("G_PERSONNE", 55, 62),
        ("G_BIENS", 25, 45),
        ("G_CIRCULATION", 8, 40),
        ("G_AUTORITE", 3, 35),
        ("G_STUPEFIANTS", 2, 30),
        ("G_ECOFI", 5, 50),
        ("G_ENVIRONNEMENT", 2, 40),
    ];
    let mut victims = Vec::new();
    let mut total = 0;
    for (row, pct, women) in shares {
        let n = size * pct / 100;
        let w = n * women / 100;
        victims.push(f(&format!("victimes.{row}.F"), w.to_string()));
        victims.push(f(&format!("victimes.{row}.M"), (n - w).to_string()));
        total += n;
    }
    victims.push(f("victimes_mineures", (total / 6).to_string()));
    vec![("fonctionnement", first), ("victimes", victims)]
}

/// The site's address as the demo prints it: `public_url`, else the listening address.
fn portal_base(config: &Config) -> String {
    if config.public_url.is_empty() {
        format!("http://{}", config.listen)
    } else {
        config.public_url.trim_end_matches('/').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_in(data: &std::path::Path, surveys: &std::path::Path) -> Config {
        Config {
            data_dir: data.to_path_buf(),
            surveys_dir: surveys.to_path_buf(),
            ..Config::default()
        }
    }

    #[test]
    fn the_demo_questionnaire_is_served_from_the_data_folder_when_the_surveys_folder_lacks_it() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let c = with_demo_questionnaire(&config_in(&data, &dir.path().join("nowhere"))).unwrap();
        assert_eq!(c.surveys_dir, data.join("demo-surveys"));
        let served = std::fs::read_to_string(c.surveys_dir.join("bav-2025.toml")).unwrap();
        assert_eq!(served, DEMO_SURVEY_SOURCE);
        // Run again, the copy stays as it is.
        let again =
            with_demo_questionnaire(&config_in(&data, &dir.path().join("nowhere"))).unwrap();
        assert_eq!(again.surveys_dir, c.surveys_dir);
    }

    #[test]
    fn the_demo_questionnaire_is_served_from_the_surveys_folder_that_holds_it_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let surveys = dir.path().join("surveys");
        std::fs::create_dir_all(&surveys).unwrap();
        std::fs::write(surveys.join("bav-2025.toml"), DEMO_SURVEY_SOURCE).unwrap();
        let c = with_demo_questionnaire(&config_in(&dir.path().join("data"), &surveys)).unwrap();
        assert_eq!(c.surveys_dir, surveys);
        // An edited copy is not the campaign's questionnaire: the embedded one is served.
        std::fs::write(
            surveys.join("bav-2025.toml"),
            format!("{DEMO_SURVEY_SOURCE}\n# edited\n"),
        )
        .unwrap();
        let c = with_demo_questionnaire(&config_in(&dir.path().join("data"), &surveys)).unwrap();
        assert_eq!(c.surveys_dir, dir.path().join("data").join("demo-surveys"));
    }
}
