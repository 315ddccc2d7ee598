//! A model-based test of the calendar and the publication lifecycle together: random sequences
//! of announce / confirm / move / cancel / publish / build / correct / submit / reject /
//! approve / release / supersede / clock advance, applied to the real store, each step checked
//! against a plain model kept beside it. After every step: the store refuses what the model
//! refuses and does what it does; every version's state and public instant, and every listing
//! the public channels read (the public version, its history, the list of publications), agree
//! with `is_public` on the model; and no version is public before its release's instant, nor at
//! all while its release is provisional or cancelled.
//!
//! `JUSTAT_MODEL_CASES` sets the number of sequences on SQLite (default 1,000); PostgreSQL,
//! when `JUSTAT_TEST_POSTGRES_URL` is set, runs a tenth of them.

use crate::harness::TestDb;
use jiff::{SignedDuration, Timestamp};
use justat_model::Role;
use justat_model::calendar::{
    CalendarChange, CalendarPolicy, Month, ReleaseState, ReleaseStatus, Schedule, announce, apply,
};
use justat_model::publication::{Action, Collection, VersionState, is_public, transition};
use justat_store::{Actor, NewRelease, NewVersion, StoreError};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// The number of sequences run on SQLite, unless `JUSTAT_MODEL_CASES` says otherwise.
const DEFAULT_CASES: u32 = 1_000;

/// The longest sequence of steps.
const MAX_STEPS: usize = 28;

fn cases() -> u32 {
    std::env::var("JUSTAT_MODEL_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_CASES)
}

/// The publications a sequence works on: one plain, one an essential indicator (announced a
/// year ahead unless justified). Sequences share one database; each has its own slugs.
const PUBS: [(Collection, &str); 2] = [
    (Collection::Infostat, "orientations"),
    (Collection::InfosRapides, "condamnations"),
];

fn names(sequence: u32) -> Vec<(Collection, String)> {
    PUBS.iter()
        .map(|&(c, slug)| (c, format!("{slug}-{sequence}")))
        .collect()
}

/// The instant a sequence starts at: each sequence three days before the previous one, so
/// that the earlier sequences' versions, all in the database, are not public yet at its
/// instants and the public list stays short.
fn start(sequence: u32) -> Timestamp {
    let first: Timestamp = "2036-11-29T10:00:00Z".parse().unwrap();
    first - SignedDuration::from_hours(72 * i64::from(sequence))
}

/// The instants steps ask for: whole hours from the sequence's start, so that they meet one
/// another.
fn at_hour(start: Timestamp, k: u8) -> Timestamp {
    start + SignedDuration::from_hours(i64::from(k))
}

/// When a release asks for its version.
#[derive(Debug, Clone, Copy)]
enum Asked {
    /// No instant: the calendar's.
    None,
    /// The release's own instant, when it has one.
    ReleaseInstant,
    /// An hour of the grid.
    At(u8),
}

#[derive(Debug, Clone)]
enum Op {
    Announce {
        p: usize,
        month: Option<u8>,
        at: u8,
        justified: bool,
    },
    Confirm {
        p: usize,
        at: u8,
    },
    MoveMonth {
        p: usize,
        month: u8,
    },
    Move {
        p: usize,
        at: u8,
    },
    Cancel {
        p: usize,
    },
    Publish {
        p: usize,
    },
    Build {
        p: usize,
        erratum: bool,
    },
    Act {
        p: usize,
        back: u8,
        action: Action,
        head: bool,
        asked: Asked,
    },
    /// The next step of the publication's lifecycle: build its first version or a correction,
    /// submit, approve, release (on the calendar's instant). Random actions seldom get versions
    /// released, corrected, then moved or cancelled: these steps do.
    Progress {
        p: usize,
        asked: Asked,
    },
    Advance {
        minutes: u16,
    },
}

fn op() -> impl Strategy<Value = Op> {
    // Most steps on the first publication, so that its versions go a long way.
    let p = prop::sample::select(vec![0usize, 0, 0, 0, 0, 1]);
    let at = 0u8..24;
    prop_oneof![
        2 => (p.clone(), prop::option::weighted(0.2, 0u8..3), at.clone(), prop::bool::weighted(0.7))
            .prop_map(|(p, month, at, justified)| Op::Announce { p, month, at, justified }),
        1 => (p.clone(), at.clone()).prop_map(|(p, at)| Op::Confirm { p, at }),
        1 => (p.clone(), 0u8..3).prop_map(|(p, month)| Op::MoveMonth { p, month }),
        2 => (p.clone(), at.clone()).prop_map(|(p, at)| Op::Move { p, at }),
        1 => p.clone().prop_map(|p| Op::Cancel { p }),
        1 => p.clone().prop_map(|p| Op::Publish { p }),
        3 => (p.clone(), prop::bool::weighted(0.8)).prop_map(|(p, erratum)| Op::Build { p, erratum }),
        12 => (p.clone(), prop_oneof![
                3 => Just(Asked::None),
                1 => Just(Asked::ReleaseInstant),
                1 => at.clone().prop_map(Asked::At),
            ])
            .prop_map(|(p, asked)| Op::Progress { p, asked }),
        4 => (
            p,
            prop::sample::select(vec![0u8, 0, 0, 1]),
            prop::sample::select(vec![
                Action::Submit,
                Action::Approve,
                Action::Release,
                Action::Reject,
                Action::Supersede,
            ]),
            prop::bool::weighted(0.9),
            prop_oneof![
                2 => Just(Asked::None),
                2 => Just(Asked::ReleaseInstant),
                2 => at.prop_map(Asked::At),
            ],
        )
            .prop_map(|(p, back, action, head, asked)| Op::Act { p, back, action, head, asked }),
        2 => prop::sample::select(vec![20u16, 60, 60, 120, 180, 300])
            .prop_map(|minutes| Op::Advance { minutes }),
    ]
}

/// A version as the model sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct MVersion {
    state: VersionState,
    /// Released on its publication's calendar release: its instant is the release's.
    on_release: bool,
    /// Its own instant, released outside the calendar.
    own: Option<Timestamp>,
}

#[derive(Debug, Clone, Default)]
struct MPub {
    release: Option<ReleaseState>,
    versions: Vec<MVersion>,
}

impl MPub {
    fn release_instant(&self) -> Option<Timestamp> {
        match self.release?.schedule {
            Schedule::At(t) => Some(t),
            Schedule::Month(_) => None,
        }
    }

    /// A version's public instant: its release's while the release is confirmed or published,
    /// none while it is provisional or cancelled, its own when released outside the calendar.
    fn instant(&self, v: &MVersion) -> Option<Timestamp> {
        if !v.on_release {
            return v.own;
        }
        let r = self.release?;
        match r.status {
            ReleaseStatus::Confirmed | ReleaseStatus::Published => self.release_instant(),
            ReleaseStatus::Provisional | ReleaseStatus::Cancelled => None,
        }
    }

    fn is_public(&self, n: usize, now: Timestamp) -> bool {
        let v = &self.versions[n];
        is_public(v.state, self.instant(v), now)
    }

    /// The public versions at `now`, newest first.
    fn public(&self, now: Timestamp) -> Vec<i64> {
        (0..self.versions.len())
            .rev()
            .filter(|&n| self.is_public(n, now))
            .map(|n| n as i64 + 1)
            .collect()
    }
}

struct Model {
    names: Vec<(Collection, String)>,
    start: Timestamp,
    now: Timestamp,
    pubs: Vec<MPub>,
}

fn month_after(now: Timestamp, months: u8) -> Month {
    let today = justat_model::calendar::paris_day(now);
    let first = today
        .first_of_month()
        .checked_add(jiff::Span::new().months(i64::from(months)))
        .unwrap();
    Month::new(first.year(), first.month()).unwrap()
}

fn role(head: bool) -> Role {
    if head {
        Role::HeadOfService
    } else {
        Role::Statistician
    }
}

/// What the model says a step does: `Ok(())` applied, `Err(())` refused (and nothing changes).
type Outcome = Result<(), ()>;

impl Model {
    /// The version an `Act` step targets: its number, 0 when there is none.
    fn target(&self, p: usize, back: u8) -> i64 {
        (self.pubs[p].versions.len() as i64 - i64::from(back)).max(0)
    }

    /// A `Progress` step as the step it is in the current state.
    fn resolve(&self, op: &Op) -> Op {
        let Op::Progress { p, asked } = *op else {
            return op.clone();
        };
        let act = |action| Op::Act {
            p,
            back: 0,
            action,
            head: true,
            asked,
        };
        match self.pubs[p].versions.last().map(|v| v.state) {
            None | Some(VersionState::Released | VersionState::Corrected) => {
                Op::Build { p, erratum: true }
            }
            Some(VersionState::Draft) => act(Action::Submit),
            Some(VersionState::Submitted) => act(Action::Approve),
            Some(VersionState::Approved) => act(Action::Release),
        }
    }

    fn calendar(&mut self, p: usize, change: &CalendarChange, role: Role) -> Outcome {
        let now = self.now;
        let pb = &mut self.pubs[p];
        let Some(state) = pb.release else {
            return Err(());
        };
        let (next, _) = apply(state, change, role, now).map_err(|_| ())?;
        pb.release = Some(next);
        if let CalendarChange::Cancel { .. } = change {
            for v in &mut pb.versions {
                if v.on_release && v.state == VersionState::Released {
                    *v = MVersion {
                        state: VersionState::Approved,
                        on_release: false,
                        own: None,
                    };
                }
            }
        }
        Ok(())
    }

    fn step(&mut self, op: &Op) -> Outcome {
        let (start, now) = (self.start, self.now);
        match *op {
            Op::Announce {
                p,
                month,
                at,
                justified,
            } => {
                let pb = &mut self.pubs[p];
                if pb.release.is_some() || pb.versions.iter().any(|v| v.state.was_released()) {
                    return Err(());
                }
                let schedule = match month {
                    Some(m) => Schedule::Month(month_after(now, m)),
                    None => Schedule::At(at_hour(start, at)),
                };
                let justification = justified.then_some("Série essentielle");
                let state = announce(
                    PUBS[p].0,
                    schedule,
                    Role::HeadOfService,
                    &CalendarPolicy::default(),
                    justification,
                    now,
                )
                .map_err(|_| ())?;
                pb.release = Some(state);
                Ok(())
            }
            Op::Confirm { p, at } => self.calendar(
                p,
                &CalendarChange::Confirm {
                    at: at_hour(start, at),
                },
                Role::HeadOfService,
            ),
            Op::MoveMonth { p, month } => self.calendar(
                p,
                &CalendarChange::MoveMonth {
                    month: month_after(now, month),
                    reason: "Données tardives".into(),
                },
                Role::HeadOfService,
            ),
            Op::Move { p, at } => self.calendar(
                p,
                &CalendarChange::Reschedule {
                    at: at_hour(start, at),
                    reason: "Données tardives".into(),
                },
                Role::HeadOfService,
            ),
            Op::Cancel { p } => self.calendar(
                p,
                &CalendarChange::Cancel {
                    notice: "La série est suspendue.".into(),
                },
                Role::HeadOfService,
            ),
            Op::Publish { p } => self.calendar(p, &CalendarChange::Publish, Role::HeadOfService),
            Op::Build { p, erratum } => {
                let pb = &mut self.pubs[p];
                let draft = MVersion {
                    state: VersionState::Draft,
                    on_release: false,
                    own: None,
                };
                match pb.versions.last().map(|v| v.state) {
                    None => pb.versions.push(draft),
                    Some(VersionState::Draft) => {}
                    Some(VersionState::Submitted | VersionState::Approved) => return Err(()),
                    Some(VersionState::Released | VersionState::Corrected) => {
                        if !erratum {
                            return Err(());
                        }
                        pb.versions.push(draft);
                    }
                }
                Ok(())
            }
            Op::Act {
                p,
                back,
                action,
                head,
                asked,
            } => {
                let n = self.target(p, back);
                let pb = &mut self.pubs[p];
                let n = usize::try_from(n - 1).map_err(|_| ())?;
                let to = transition(pb.versions[n].state, action, role(head)).map_err(|_| ())?;
                if action != Action::Release {
                    pb.versions[n].state = to;
                    return Ok(());
                }
                let asked = match asked {
                    Asked::None => None,
                    Asked::ReleaseInstant => pb.release_instant().or(Some(now)),
                    Asked::At(k) => Some(at_hour(start, k)),
                };
                let released = match (pb.release, asked) {
                    (Some(r), a) if r.status == ReleaseStatus::Confirmed => {
                        let t = pb.release_instant().ok_or(())?;
                        if a.is_some_and(|a| a != t) {
                            return Err(());
                        }
                        MVersion {
                            state: to,
                            on_release: true,
                            own: None,
                        }
                    }
                    (Some(r), Some(a)) if r.status == ReleaseStatus::Published => {
                        if pb.release_instant().is_some_and(|t| a < t) {
                            return Err(());
                        }
                        MVersion {
                            state: to,
                            on_release: false,
                            own: Some(a),
                        }
                    }
                    (Some(_), _) | (None, None) => return Err(()),
                    (None, Some(a)) => MVersion {
                        state: to,
                        on_release: false,
                        own: Some(a),
                    },
                };
                for v in &mut pb.versions[..n] {
                    if v.state == VersionState::Released {
                        v.state = VersionState::Corrected;
                    }
                }
                pb.versions[n] = released;
                Ok(())
            }
            Op::Progress { .. } => unreachable!("resolved before it is applied"),
            Op::Advance { minutes } => {
                self.now = now + SignedDuration::from_mins(i64::from(minutes));
                Ok(())
            }
        }
    }
}

fn built(model: &Model, p: usize, erratum: bool) -> NewVersion {
    let (c, slug) = &model.names[p];
    NewVersion {
        erratum: erratum.then(|| "Le tableau 2 est corrigé.".to_string()),
        ..crate::harness::built(*c, slug)
    }
}

/// Applies a step to the store: `Ok(())` done, `Err(())` refused; any other failure (a database
/// error) fails the test.
async fn apply_to_store(db: &TestDb, model: &Model, op: &Op) -> Result<Outcome, TestCaseError> {
    let (start, now) = (model.start, model.now);
    let a = Actor::user("marc");
    let outcome = |r: Result<(), StoreError>| match r {
        Ok(()) => Ok(Ok(())),
        Err(
            StoreError::Refused(_)
            | StoreError::NotFound { .. }
            | StoreError::Calendar(_)
            | StoreError::Lifecycle(_),
        ) => Ok(Err(())),
        Err(e) => Err(TestCaseError::fail(format!("{op:?}: {e}"))),
    };
    let change = |p: usize, change: CalendarChange| {
        let (c, slug) = model.names[p].clone();
        let a = a.clone();
        async move {
            db.store
                .change_release(c, &slug, &change, Role::HeadOfService, &a, now)
                .await
                .map(drop)
        }
    };
    let reason = || "Données tardives".to_string();
    let r = match *op {
        Op::Announce {
            p,
            month,
            at,
            justified,
        } => {
            let (c, slug) = model.names[p].clone();
            let new = NewRelease {
                collection: c,
                slug,
                title: "Titre annoncé".into(),
                schedule: match month {
                    Some(m) => Schedule::Month(month_after(now, m)),
                    None => Schedule::At(at_hour(start, at)),
                },
                justification: justified.then(|| "Série essentielle".into()),
            };
            db.store
                .announce_release(
                    &new,
                    &CalendarPolicy::default(),
                    Role::HeadOfService,
                    &a,
                    now,
                )
                .await
                .map(drop)
        }
        Op::Confirm { p, at } => {
            change(
                p,
                CalendarChange::Confirm {
                    at: at_hour(start, at),
                },
            )
            .await
        }
        Op::MoveMonth { p, month } => {
            change(
                p,
                CalendarChange::MoveMonth {
                    month: month_after(now, month),
                    reason: reason(),
                },
            )
            .await
        }
        Op::Move { p, at } => {
            change(
                p,
                CalendarChange::Reschedule {
                    at: at_hour(start, at),
                    reason: reason(),
                },
            )
            .await
        }
        Op::Cancel { p } => {
            change(
                p,
                CalendarChange::Cancel {
                    notice: "La série est suspendue.".into(),
                },
            )
            .await
        }
        Op::Publish { p } => change(p, CalendarChange::Publish).await,
        Op::Build { p, erratum } => db
            .store
            .save_build(&built(model, p, erratum), &a, now)
            .await
            .map(drop),
        Op::Act {
            p,
            back,
            action,
            head,
            asked,
        } => {
            let (c, slug) = &model.names[p];
            let pb = &model.pubs[p];
            // The version number, as the model counts them; one that does not exist (0) is
            // refused as unknown.
            let n = model.target(p, back);
            let asked = match asked {
                Asked::None => None,
                Asked::ReleaseInstant => pb.release_instant().or(Some(now)),
                Asked::At(k) => Some(at_hour(start, k)),
            };
            db.store
                .publication_action(*c, slug, n, action, role(head), &a, asked, now)
                .await
                .map(drop)
        }
        Op::Advance { .. } => Ok(()),
        Op::Progress { .. } => unreachable!("resolved before it is applied"),
    };
    outcome(r)
}

/// Compares everything the public channels read, and the invariant, after a step: for the
/// publication `only` when given (the one a step changed), for every one otherwise; the public
/// list always.
async fn check(
    db: &TestDb,
    model: &Model,
    step: usize,
    only: Option<usize>,
) -> Result<(), TestCaseError> {
    let now = model.now;
    let at = |what: &str| format!("after step {step} at {now}: {what}");
    let mut listed = Vec::new();
    for (p, pb) in model.pubs.iter().enumerate() {
        let (c, slug) = (model.names[p].0, model.names[p].1.as_str());
        let expected = pb.public(now);
        if let Some(&v) = expected.first() {
            listed.push((slug.to_string(), v));
        }
        if only.is_some_and(|o| o != p) {
            continue;
        }
        let release = db.store.release(c, slug).await.unwrap();
        prop_assert_eq!(
            release.as_ref().map(|r| r.state()),
            pb.release,
            "{}",
            at("release")
        );
        for (n, mv) in pb.versions.iter().enumerate() {
            let v = db
                .store
                .publication_version(c, slug, Some(n as i64 + 1))
                .await
                .unwrap();
            let v =
                v.ok_or_else(|| TestCaseError::fail(at(&format!("{slug} v{} missing", n + 1))))?;
            prop_assert_eq!(
                v.state,
                mv.state,
                "{}",
                at(&format!("{slug} v{} state", n + 1))
            );
            prop_assert_eq!(
                v.released_at,
                pb.instant(mv),
                "{}",
                at(&format!("{slug} v{} instant", n + 1))
            );
            prop_assert_eq!(v.is_public(now), pb.is_public(n, now), "{}", at(slug));
            // The invariant, on the store's own data: a version of a publication in the
            // calendar is never public before the release's instant, nor while the release
            // is provisional or cancelled.
            if v.is_public(now)
                && let Some(r) = &release
            {
                prop_assert!(
                    matches!(
                        r.status,
                        ReleaseStatus::Confirmed | ReleaseStatus::Published
                    ) && r
                        .release_at
                        .is_some_and(|t| t <= now && v.released_at >= Some(t)),
                    "{}",
                    at(&format!(
                        "{slug} v{} public beside release {:?}",
                        n + 1,
                        r.state()
                    ))
                );
            }
        }
        let latest = db.store.publication_version(c, slug, None).await.unwrap();
        prop_assert_eq!(
            latest.map(|v| v.version),
            (!pb.versions.is_empty()).then_some(pb.versions.len() as i64),
            "{}",
            at("latest version")
        );
        let public = db.store.public_version(c, slug, now).await.unwrap();
        prop_assert_eq!(
            public.map(|v| v.version),
            expected.first().copied(),
            "{}",
            at(&format!("{slug} public version"))
        );
        let history: Vec<i64> = db
            .store
            .public_history(c, slug, now)
            .await
            .unwrap()
            .iter()
            .map(|v| v.version)
            .collect();
        prop_assert_eq!(
            &history,
            &expected,
            "{}",
            at(&format!("{slug} public history"))
        );
    }
    // The sequence's own publications in the list (the database holds the earlier sequences').
    let mut list: Vec<(String, i64)> = db
        .store
        .public_versions(now)
        .await
        .unwrap()
        .into_iter()
        .filter(|v| {
            model
                .names
                .iter()
                .any(|(c, s)| *c == v.collection && *s == v.slug)
        })
        .map(|v| (v.slug, v.version))
        .collect();
    list.sort();
    listed.sort();
    prop_assert_eq!(list, listed, "{}", at("public list"));
    // The public pages' cache keeps a page until the next instant the store names: no
    // instant of the model at which a version or a release becomes public may come before it
    // (the store's may be earlier: other sequences' publications share the database).
    let next = db.store.next_public_instant(now).await.unwrap();
    for (p, pb) in model.pubs.iter().enumerate() {
        let release = pb
            .release
            .filter(|r| r.status == ReleaseStatus::Confirmed)
            .and_then(|_| pb.release_instant());
        let versions = pb
            .versions
            .iter()
            .filter(|v| v.state.was_released())
            .filter_map(|v| pb.instant(v));
        for t in release.into_iter().chain(versions).filter(|&t| t > now) {
            prop_assert!(
                next.is_some_and(|next| next <= t),
                "{}",
                at(&format!(
                    "{} becomes public at {t}, after the next instant {next:?}",
                    model.names[p].1
                ))
            );
        }
    }
    Ok(())
}

async fn run_sequence(db: &TestDb, sequence: u32, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut model = Model {
        names: names(sequence),
        start: start(sequence),
        now: start(sequence),
        pubs: vec![MPub::default(); PUBS.len()],
    };
    for (i, op) in ops.iter().enumerate() {
        let op = &model.resolve(op);
        let generation = db.store.public_generation().await.unwrap();
        let store = apply_to_store(db, &model, op).await?;
        let expected = model.step(op);
        prop_assert_eq!(
            store,
            expected,
            "step {} {:?}: store and model disagree",
            i + 1,
            op
        );
        // The public pages' cache is kept while the generation stays: every accepted change
        // must move it, or a server would go on showing the state before the change.
        if store.is_ok() && !matches!(op, Op::Advance { .. }) {
            prop_assert!(
                db.store.public_generation().await.unwrap() > generation,
                "step {} {:?}: accepted without a new public generation",
                i + 1,
                op
            );
        }
        // A step changes one publication; the clock, all of them. Every publication is
        // checked again at the end, so that a step that changed another is caught.
        let only = match *op {
            Op::Advance { .. } => None,
            Op::Announce { p, .. }
            | Op::Confirm { p, .. }
            | Op::MoveMonth { p, .. }
            | Op::Move { p, .. }
            | Op::Cancel { p }
            | Op::Publish { p }
            | Op::Build { p, .. }
            | Op::Act { p, .. }
            | Op::Progress { p, .. } => Some(p),
        };
        check(db, &model, i + 1, only).await?;
    }
    check(db, &model, ops.len(), None).await?;
    Ok(())
}

/// Runs `cases` random sequences on the database `db`, each on publications of its own (one
/// database for all: migrating one per sequence would cost most of the time).
fn run(cases: u32, db: impl std::future::Future<Output = Option<TestDb>>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let Some(db) = rt.block_on(db) else {
        return;
    };
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let sequence = std::cell::Cell::new(0u32);
    let result = runner.run(&prop::collection::vec(op(), 1..=MAX_STEPS), |ops| {
        sequence.set(sequence.get() + 1);
        rt.block_on(run_sequence(&db, sequence.get(), &ops))
    });
    rt.block_on(db.finish());
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn the_calendar_and_the_lifecycle_agree_with_the_model_sqlite() {
    run(cases(), async {
        Some(crate::harness::sqlite_in_memory_fs().await)
    });
}

#[test]
fn the_calendar_and_the_lifecycle_agree_with_the_model_postgres() {
    if std::env::var("JUSTAT_TEST_POSTGRES_URL").is_err() {
        eprintln!("JUSTAT_TEST_POSTGRES_URL is not set: PostgreSQL variant not run");
        return;
    }
    run((cases() / 10).max(1), crate::harness::postgres());
}
