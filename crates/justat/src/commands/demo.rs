//! `justat demo`: the demo accounts and the whole production chain on synthetic data —
//! extracts generated, delivered (one with dirt, ending OK_KO), checked, and turned into cubes
//! by the three shipped chains — its publications, one per collection at least, built from the
//! cubes, protected, approved and released (one of them corrected), then the server.

use crate::config::Config;
use crate::progress::{deliver, run};
use crate::server::serve_store;
use anyhow::{Context, Result};
use justat_model::calendar::{CalendarChange, Schedule};
use justat_model::{Role, Sha256Hex, Username};
use justat_publish::CubeTable;
use justat_sdc::table::TableShape;
use justat_store::{Actor, Lake, NewRelease, NewUser, Store, StoreError};
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
/// (penal ≈ 10,000 rows a year); prison at a tenth keeps several persons per establishment.
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
    use justat_model::Collection;
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

/// `justat demo`: prepares the demo (accounts, deliveries, runs, protected tables,
/// publications, calendar, embargo lists) in the configured data folder, then serves it unless
/// `prepare_only`.
pub async fn demo(config: &Config, prepare_only: bool) -> Result<()> {
    let config = &with_audit_key(config)?;
    let store = crate::db::open_and_migrate(config).await?;
    let created = prepare_accounts(&store).await?;
    prepare_production(config, &store).await?;
    prepare_steering(config, &store).await?;
    prepare_publications(config, &store).await?;
    prepare_calendar(&store, config).await?;
    prepare_embargo(config, &store).await?;
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
    if prepare_only {
        store.close().await;
        return Ok(());
    }
    serve_store(config, store).await
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
