//! The release calendar: a release is announced provisional (a month), then confirmed (an exact
//! Europe/Paris instant), then published or cancelled, never back to provisional; who may
//! change what, with which reason; the public history line each change appends; and the
//! announcement rules (essential collections a year ahead, weekends and French public holidays
//! flagged).

use crate::Role;
use crate::publication::Collection;
use jiff::civil::{Date, DateTime, Weekday};
use jiff::tz::Disambiguation;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Where a release stands in the calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseStatus {
    /// Announced for a month; its exact date is not fixed yet.
    Provisional,
    /// Announced for an exact instant.
    Confirmed,
    /// Out: the instant has come and the release was recorded as published.
    Published,
    /// Cancelled, with a public notice.
    Cancelled,
}

impl ReleaseStatus {
    /// Every status.
    pub const ALL: [ReleaseStatus; 4] = [
        ReleaseStatus::Provisional,
        ReleaseStatus::Confirmed,
        ReleaseStatus::Published,
        ReleaseStatus::Cancelled,
    ];

    /// Its stable name (database, API, CLI).
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseStatus::Provisional => "provisional",
            ReleaseStatus::Confirmed => "confirmed",
            ReleaseStatus::Published => "published",
            ReleaseStatus::Cancelled => "cancelled",
        }
    }

    /// Its French label.
    pub fn label_fr(self) -> &'static str {
        match self {
            ReleaseStatus::Provisional => "Provisoire",
            ReleaseStatus::Confirmed => "Confirmée",
            ReleaseStatus::Published => "Parue",
            ReleaseStatus::Cancelled => "Annulée",
        }
    }

    /// Whether nothing can change it any more.
    pub fn is_final(self) -> bool {
        matches!(self, ReleaseStatus::Published | ReleaseStatus::Cancelled)
    }
}

impl FromStr for ReleaseStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReleaseStatus::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown release status `{s}`; expected provisional, confirmed, published or cancelled"
                )
            })
    }
}

/// The month a provisional release is announced for (`2027-06`, « juin 2027 »).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: i16,
    month: i8,
}

impl Month {
    /// The month `month` (1–12) of `year`, if both are valid.
    pub fn new(year: i16, month: i8) -> Option<Month> {
        ((1..=12).contains(&month) && (1900..=9999).contains(&year))
            .then_some(Month { year, month })
    }

    /// Its first day.
    pub fn first_day(self) -> Date {
        Date::constant(self.year, self.month, 1)
    }

    /// In French: « juin 2027 ».
    pub fn label_fr(self) -> String {
        format!(
            "{} {}",
            crate::french::MONTHS[(self.month - 1) as usize],
            self.year
        )
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for Month {
    type Err = CalendarError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || CalendarError::BadMonth(s.to_string());
        let (y, m) = s.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        Month::new(y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?).ok_or_else(bad)
    }
}

/// When a release is announced for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// A month (provisional).
    Month(Month),
    /// An exact instant (confirmed, published; a cancelled release keeps its last).
    At(Timestamp),
}

impl Schedule {
    /// In French, as the calendar shows it: « juin 2027 (date provisoire) » or
    /// « 12 juin 2027 à 12 h 00 ».
    pub fn label_fr(self) -> String {
        match self {
            Schedule::Month(m) => format!("{} (date provisoire)", m.label_fr()),
            Schedule::At(t) => crate::french::date_time(t),
        }
    }

    /// The earliest instant it may happen: the instant, or the first day of the month at
    /// midnight in Paris. Lists sort on it; the announcement rule measures from it.
    pub fn earliest(self) -> Timestamp {
        match self {
            Schedule::At(t) => t,
            // Midnight always exists, once, in Paris: its clocks change at 02:00 and 03:00.
            Schedule::Month(m) => {
                paris_instant(m.first_day(), 0, 0).unwrap_or(Timestamp::UNIX_EPOCH)
            }
        }
    }
}

/// A release's place in the calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReleaseState {
    /// Its status.
    pub status: ReleaseStatus,
    /// What it is announced for.
    pub schedule: Schedule,
}

impl ReleaseState {
    /// Whether the release is still to come at `now`: announced (provisional or confirmed, neither
    /// out nor cancelled) and its earliest instant strictly after `now` — at its instant it is no
    /// longer to come. The « Prochaines parutions » of the home page and of a publication's page.
    ///
    /// The calendar page's « Parutions à venir » is wider: it lists every release whose
    /// [`shown_status`](ReleaseState::shown_status) is provisional or confirmed, so a late release
    /// (its date passed, its publication not public yet) stays there until it is out.
    pub fn is_upcoming(self, now: Timestamp) -> bool {
        !self.status.is_final() && self.schedule.earliest() > now
    }

    /// The status every public channel shows at `now`: a confirmed release whose instant has
    /// come and whose publication is public is out, whatever the scheduler has recorded yet (it
    /// records it shortly after; the public must not wait for it).
    pub fn shown_status(self, now: Timestamp, publication_public: bool) -> ReleaseStatus {
        let due = matches!(self.schedule, Schedule::At(t) if t <= now);
        match self.status {
            ReleaseStatus::Confirmed if due && publication_public => ReleaseStatus::Published,
            s => s,
        }
    }
}

/// A kind of change asked of a release, without its values: what the back office offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// [`CalendarChange::Confirm`].
    Confirm,
    /// [`CalendarChange::MoveMonth`].
    MoveMonth,
    /// [`CalendarChange::Reschedule`].
    Reschedule,
    /// [`CalendarChange::Cancel`].
    Cancel,
}

impl ChangeKind {
    /// Every kind the back office may offer, in the order it offers them.
    pub const ALL: [ChangeKind; 4] = [
        ChangeKind::Confirm,
        ChangeKind::MoveMonth,
        ChangeKind::Reschedule,
        ChangeKind::Cancel,
    ];
}

/// The kinds of change `role` may ask of a release in `state` at `now`. Each kind is tried
/// through [`apply`] with values it accepts whenever the kind itself is allowed (an instant 400
/// days ahead, a month far ahead, a reason), so what is offered is what `apply` decides.
pub fn offered_changes(state: ReleaseState, role: Role, now: Timestamp) -> Vec<ChangeKind> {
    let later = now + jiff::SignedDuration::from_hours(24 * 400);
    let far_month = Month {
        year: 2100,
        month: 1,
    };
    ChangeKind::ALL
        .into_iter()
        .filter(|kind| {
            let change = match kind {
                ChangeKind::Confirm => CalendarChange::Confirm { at: later },
                ChangeKind::MoveMonth => CalendarChange::MoveMonth {
                    month: far_month,
                    reason: "x".into(),
                },
                ChangeKind::Reschedule => CalendarChange::Reschedule {
                    at: later,
                    reason: "x".into(),
                },
                ChangeKind::Cancel => CalendarChange::Cancel { notice: "x".into() },
            };
            apply(state, &change, role, now).is_ok()
        })
        .collect()
}

/// A change asked of a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CalendarChange {
    /// A provisional release gets its exact instant.
    Confirm {
        /// The instant.
        at: Timestamp,
    },
    /// A provisional release moves to another month.
    MoveMonth {
        /// The new month.
        month: Month,
        /// Why, for the public history.
        reason: String,
    },
    /// A confirmed release moves to another instant.
    Reschedule {
        /// The new instant.
        at: Timestamp,
        /// Why, for the public history.
        reason: String,
    },
    /// The release will not happen.
    Cancel {
        /// The public notice.
        notice: String,
    },
    /// The instant has come and the publication is out (recorded by the scheduler).
    Publish,
}

impl CalendarChange {
    /// Its stable name, for the audit log.
    pub fn as_str(&self) -> &'static str {
        match self {
            CalendarChange::Confirm { .. } => "confirm",
            CalendarChange::MoveMonth { .. } => "move_month",
            CalendarChange::Reschedule { .. } => "reschedule",
            CalendarChange::Cancel { .. } => "cancel",
            CalendarChange::Publish => "publish",
        }
    }

    /// Who may ask it: the head of service confirms, reschedules and cancels; a statistician
    /// may also move a provisional month (a proposal); publication is the scheduler's, or the
    /// head of service's.
    pub fn allowed(&self, role: Role) -> bool {
        match self {
            CalendarChange::MoveMonth { .. } => {
                matches!(role, Role::Statistician | Role::HeadOfService)
            }
            _ => role == Role::HeadOfService,
        }
    }
}

/// Why a calendar change is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The change does not apply to the release's status.
    #[error("a {} release cannot be asked to {change}", .from.as_str())]
    NotFrom {
        /// The status.
        from: ReleaseStatus,
        /// The change's name.
        change: &'static str,
    },
    /// The role may not ask this change.
    #[error("the role {} may not {change} a release", .role.as_str())]
    Forbidden {
        /// The role.
        role: Role,
        /// The change's name.
        change: &'static str,
    },
    /// A reason or notice is required and was empty.
    #[error("a {0} is required")]
    ReasonRequired(&'static str),
    /// The instant asked is not in the future.
    #[error("the release instant {0} is not in the future")]
    NotInFuture(Timestamp),
    /// The release's instant has passed: it can no longer be moved or cancelled.
    #[error("the release instant {0} has passed: it can no longer be changed")]
    InstantPassed(Timestamp),
    /// The release cannot be published before its instant.
    #[error("the release instant {0} has not come yet")]
    TooEarly(Timestamp),
    /// An essential indicator announced short of the lead time, without a justification.
    #[error("{0}: give a justification to announce it all the same")]
    ShortNotice(String),
    /// The month asked has already begun or passed.
    #[error("{0} has already begun: announce a later month")]
    MonthPassed(String),
    /// Not a month written `YYYY-MM`.
    #[error("`{0}` is not a month written YYYY-MM (e.g. 2027-06)")]
    BadMonth(String),
    /// A Paris wall-clock time that does not exist or happens twice (daylight saving changes).
    #[error("{0}")]
    BadLocalTime(String),
}

/// What a change did, for the release's public history: the schedule before and after, in
/// French, and the reason given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryLine {
    /// The schedule or status before.
    pub previous: String,
    /// The schedule or status after.
    pub new: String,
    /// The reason (or the notice of a cancellation).
    pub reason: String,
}

/// Applies `change`, asked by `role` at `now`, to a release; returns its new state and the line
/// to append to its public history.
pub fn apply(
    state: ReleaseState,
    change: &CalendarChange,
    role: Role,
    now: Timestamp,
) -> Result<(ReleaseState, HistoryLine), CalendarError> {
    use ReleaseStatus::*;
    let name = change.as_str();
    let not_from = || CalendarError::NotFrom {
        from: state.status,
        change: name,
    };
    let required = |text: &str, what: &'static str| {
        if text.trim().is_empty() {
            Err(CalendarError::ReasonRequired(what))
        } else {
            Ok(text.trim().to_string())
        }
    };
    let future = |at: Timestamp| {
        if at > now {
            Ok(())
        } else {
            Err(CalendarError::NotInFuture(at))
        }
    };
    // A confirmed release whose instant has passed is out (or late): its date is history.
    let not_passed = || match state.schedule {
        Schedule::At(t) if t <= now => Err(CalendarError::InstantPassed(t)),
        _ => Ok(()),
    };
    let (next, reason) = match (state.status, change) {
        (Provisional, CalendarChange::Confirm { at }) => {
            future(*at)?;
            (
                ReleaseState {
                    status: Confirmed,
                    schedule: Schedule::At(*at),
                },
                "date confirmée".to_string(),
            )
        }
        (Provisional, CalendarChange::MoveMonth { month, reason }) => (
            ReleaseState {
                status: Provisional,
                schedule: Schedule::Month(*month),
            },
            required(reason, "reason")?,
        ),
        (Confirmed, CalendarChange::Reschedule { at, reason }) => {
            not_passed()?;
            future(*at)?;
            (
                ReleaseState {
                    status: Confirmed,
                    schedule: Schedule::At(*at),
                },
                required(reason, "reason")?,
            )
        }
        (Provisional | Confirmed, CalendarChange::Cancel { notice }) => {
            not_passed()?;
            (
                ReleaseState {
                    status: Cancelled,
                    schedule: state.schedule,
                },
                required(notice, "notice")?,
            )
        }
        (Confirmed, CalendarChange::Publish) => {
            if let Schedule::At(t) = state.schedule
                && t > now
            {
                return Err(CalendarError::TooEarly(t));
            }
            (
                ReleaseState {
                    status: Published,
                    schedule: state.schedule,
                },
                "parution".to_string(),
            )
        }
        _ => return Err(not_from()),
    };
    if !change.allowed(role) {
        return Err(CalendarError::Forbidden { role, change: name });
    }
    Ok((
        next,
        HistoryLine {
            previous: describe(state),
            new: describe(next),
            reason,
        },
    ))
}

/// Checks a new release announced by `role` at `now` for `schedule`: a month (provisional) may
/// be proposed by a statistician or the head of service, an instant (confirmed at once) only by
/// the head of service; an essential indicator announced short of the policy's lead time needs
/// a justification. Returns the release's first state.
pub fn announce(
    collection: Collection,
    schedule: Schedule,
    role: Role,
    policy: &CalendarPolicy,
    justification: Option<&str>,
    now: Timestamp,
) -> Result<ReleaseState, CalendarError> {
    let status = match schedule {
        Schedule::Month(m) => {
            let today = paris_day(now);
            if m <= Month::new(today.year(), today.month()).unwrap_or(m) {
                return Err(CalendarError::MonthPassed(m.label_fr()));
            }
            ReleaseStatus::Provisional
        }
        Schedule::At(at) => {
            if at <= now {
                return Err(CalendarError::NotInFuture(at));
            }
            ReleaseStatus::Confirmed
        }
    };
    let allowed = match status {
        ReleaseStatus::Provisional => matches!(role, Role::Statistician | Role::HeadOfService),
        _ => role == Role::HeadOfService,
    };
    if !allowed {
        return Err(CalendarError::Forbidden {
            role,
            change: "announce",
        });
    }
    if let Some(why) = policy.short_notice(collection, schedule, now)
        && justification.is_none_or(|j| j.trim().is_empty())
    {
        return Err(CalendarError::ShortNotice(why));
    }
    Ok(ReleaseState { status, schedule })
}

/// A release's place in French, for its history: « 12 juin 2027 à 12 h 00 », « annulée ».
pub fn describe(state: ReleaseState) -> String {
    match state.status {
        ReleaseStatus::Cancelled => "annulée".to_string(),
        ReleaseStatus::Published => format!("parue ({})", state.schedule.label_fr()),
        _ => state.schedule.label_fr(),
    }
}

/// The rules the calendar announces by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarPolicy {
    /// The collections whose releases are essential indicators, announced a year ahead.
    pub essential: Vec<Collection>,
    /// How many months ahead an essential release must be announced.
    pub lead_months: i8,
    /// Each collection's standard release hour and minute, Paris time.
    pub standard_time: Vec<(Collection, i8, i8)>,
    /// How many hours before a release of each collection its embargo window opens (at most
    /// [`crate::embargo::MAX_WINDOW_HOURS`]).
    pub embargo_hours: Vec<(Collection, i64)>,
}

impl Default for CalendarPolicy {
    fn default() -> Self {
        CalendarPolicy {
            essential: vec![Collection::ChiffresCles, Collection::InfosRapides],
            lead_months: 12,
            standard_time: Collection::ALL.iter().map(|c| (*c, 12, 0)).collect(),
            embargo_hours: Collection::ALL
                .iter()
                .map(|c| (*c, crate::embargo::MAX_WINDOW_HOURS))
                .collect(),
        }
    }
}

impl CalendarPolicy {
    /// A collection's standard release time (hour, minute), Paris time.
    pub fn standard_time(&self, c: Collection) -> (i8, i8) {
        self.standard_time
            .iter()
            .find(|(k, ..)| *k == c)
            .map_or((12, 0), |(_, h, m)| (*h, *m))
    }

    /// How many hours before a release of `c` its embargo window opens.
    pub fn embargo_hours(&self, c: Collection) -> i64 {
        self.embargo_hours
            .iter()
            .find(|(k, _)| *k == c)
            .map_or(crate::embargo::MAX_WINDOW_HOURS, |(_, h)| *h)
    }

    /// Why announcing a release of `collection` for `schedule` at `now` needs a justification:
    /// an essential indicator announced less than `lead_months` ahead. `None` when it does not.
    pub fn short_notice(
        &self,
        collection: Collection,
        schedule: Schedule,
        now: Timestamp,
    ) -> Option<String> {
        if !self.essential.contains(&collection) {
            return None;
        }
        let now_paris = now.to_zoned_datetime(crate::french::paris());
        let limit = now_paris
            .checked_add(i64::from(self.lead_months).months())
            .ok()?
            .timestamp();
        (schedule.earliest() < limit).then(|| {
            format!(
                "{} is an essential indicator: its releases are announced at least {} months ahead, and this one is announced for {}",
                collection.label_fr(),
                self.lead_months,
                schedule.label_fr()
            )
        })
    }
}

/// Why a day is unusual for a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum DayFlag {
    /// A Saturday or a Sunday.
    Weekend,
    /// A French public holiday, named.
    Holiday(&'static str),
}

impl DayFlag {
    /// In French.
    pub fn label_fr(&self) -> String {
        match self {
            DayFlag::Weekend => "week-end".to_string(),
            DayFlag::Holiday(name) => format!("jour férié ({name})"),
        }
    }
}

/// The flags of a Paris calendar day: week-end, public holiday.
pub fn day_flags(day: Date) -> Vec<DayFlag> {
    let mut flags = Vec::new();
    if matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday) {
        flags.push(DayFlag::Weekend);
    }
    if let Some(name) = holiday(day) {
        flags.push(DayFlag::Holiday(name));
    }
    flags
}

/// The French public holiday (metropolitan France) on `day`, if any.
pub fn holiday(day: Date) -> Option<&'static str> {
    let fixed = match (day.month(), day.day()) {
        (1, 1) => Some("jour de l’an"),
        (5, 1) => Some("fête du Travail"),
        (5, 8) => Some("Victoire 1945"),
        (7, 14) => Some("fête nationale"),
        (8, 15) => Some("Assomption"),
        (11, 1) => Some("Toussaint"),
        (11, 11) => Some("Armistice 1918"),
        (12, 25) => Some("Noël"),
        _ => None,
    };
    if fixed.is_some() {
        return fixed;
    }
    let easter = easter_sunday(day.year())?;
    let offset = easter.until(day).ok()?.get_days();
    match offset {
        1 => Some("lundi de Pâques"),
        39 => Some("Ascension"),
        50 => Some("lundi de Pentecôte"),
        _ => None,
    }
}

/// Easter Sunday of `year` (Gregorian computus, anonymous algorithm).
fn easter_sunday(year: i16) -> Option<Date> {
    let y = i32::from(year);
    let a = y % 19;
    let b = y / 100;
    let c = y % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    Date::new(year, month as i8, day as i8).ok()
}

/// The instant of a Paris wall-clock time. A time that does not exist (skipped when clocks go
/// forward) or that happens twice (when they go back) is refused rather than guessed.
pub fn paris_instant(day: Date, hour: i8, minute: i8) -> Result<Timestamp, CalendarError> {
    let wall = DateTime::new(day.year(), day.month(), day.day(), hour, minute, 0, 0)
        .map_err(|e| CalendarError::BadLocalTime(e.to_string()))?;
    crate::french::paris()
        .to_ambiguous_zoned_datetime(wall)
        .disambiguate(Disambiguation::Reject)
        .map(|z| z.timestamp())
        .map_err(|_| {
            CalendarError::BadLocalTime(format!(
                "{day} {hour:02}:{minute:02} does not exist or happens twice in Paris (a daylight saving change): choose another time"
            ))
        })
}

/// The Paris calendar day of an instant.
pub fn paris_day(at: Timestamp) -> Date {
    at.to_zoned_datetime(crate::french::paris()).date()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    const NOW: &str = "2026-12-03T09:00:00Z";

    fn provisional(m: &str) -> ReleaseState {
        ReleaseState {
            status: ReleaseStatus::Provisional,
            schedule: Schedule::Month(m.parse().unwrap()),
        }
    }

    fn confirmed(t: &str) -> ReleaseState {
        ReleaseState {
            status: ReleaseStatus::Confirmed,
            schedule: Schedule::At(at(t)),
        }
    }

    fn changes() -> Vec<CalendarChange> {
        vec![
            CalendarChange::Confirm {
                at: at("2027-06-10T10:00:00Z"),
            },
            CalendarChange::MoveMonth {
                month: "2027-07".parse().unwrap(),
                reason: "données tardives".into(),
            },
            CalendarChange::Reschedule {
                at: at("2027-06-17T10:00:00Z"),
                reason: "données tardives".into(),
            },
            CalendarChange::Cancel {
                notice: "série arrêtée".into(),
            },
            CalendarChange::Publish,
        ]
    }

    #[test]
    fn every_status_change_and_role_follows_the_table() {
        use ReleaseStatus::*;
        let states = [
            provisional("2027-06"),
            confirmed("2027-06-10T10:00:00Z"),
            ReleaseState {
                status: Published,
                schedule: Schedule::At(at("2026-01-10T10:00:00Z")),
            },
            ReleaseState {
                status: Cancelled,
                schedule: Schedule::Month("2027-06".parse().unwrap()),
            },
        ];
        for state in states {
            for change in changes() {
                for role in Role::ALL {
                    let got = apply(state, &change, role, at(NOW));
                    let expected_to = match (state.status, change.as_str()) {
                        (Provisional, "confirm") => Some(Confirmed),
                        (Provisional, "move_month") => Some(Provisional),
                        (Confirmed, "reschedule") => Some(Confirmed),
                        (Provisional | Confirmed, "cancel") => Some(Cancelled),
                        // Confirmed for 2027: too early to publish.
                        _ => None,
                    };
                    match (expected_to, got) {
                        (Some(to), Ok((next, _))) => {
                            assert!(change.allowed(role), "{state:?} {change:?} {role}");
                            assert_eq!(next.status, to);
                        }
                        (Some(_), Err(CalendarError::Forbidden { .. })) => {
                            assert!(!change.allowed(role))
                        }
                        (None, Err(_)) => {}
                        (e, g) => panic!("{state:?} {change:?} {role}: expected {e:?}, got {g:?}"),
                    }
                }
            }
        }
    }

    #[test]
    fn nothing_goes_back_to_provisional_and_final_states_stay() {
        for change in changes() {
            for state in [
                confirmed("2027-06-10T10:00:00Z"),
                ReleaseState {
                    status: ReleaseStatus::Cancelled,
                    schedule: Schedule::Month("2027-06".parse().unwrap()),
                },
            ] {
                if let Ok((next, _)) = apply(state, &change, Role::HeadOfService, at(NOW)) {
                    assert_ne!(next.status, ReleaseStatus::Provisional, "{change:?}");
                    assert_ne!(state.status, ReleaseStatus::Cancelled);
                }
            }
        }
    }

    #[test]
    fn a_date_change_or_cancellation_needs_its_reason() {
        let chef = Role::HeadOfService;
        let now = at(NOW);
        let c = confirmed("2027-06-10T10:00:00Z");
        let blank = CalendarChange::Reschedule {
            at: at("2027-06-17T10:00:00Z"),
            reason: "  ".into(),
        };
        assert_eq!(
            apply(c, &blank, chef, now),
            Err(CalendarError::ReasonRequired("reason"))
        );
        let cancel = CalendarChange::Cancel { notice: "".into() };
        assert_eq!(
            apply(c, &cancel, chef, now),
            Err(CalendarError::ReasonRequired("notice"))
        );
        let (next, line) = apply(
            c,
            &CalendarChange::Reschedule {
                at: at("2027-06-17T10:00:00Z"),
                reason: " Données tardives ".into(),
            },
            chef,
            now,
        )
        .unwrap();
        assert_eq!(next.schedule, Schedule::At(at("2027-06-17T10:00:00Z")));
        assert_eq!(line.previous, "10 juin 2027 à 12 h 00");
        assert_eq!(line.new, "17 juin 2027 à 12 h 00");
        assert_eq!(line.reason, "Données tardives");
    }

    #[test]
    fn instants_are_checked_against_now() {
        let chef = Role::HeadOfService;
        let c = confirmed("2026-12-03T11:00:00Z");
        let before = at("2026-12-03T10:59:59Z");
        let instant = at("2026-12-03T11:00:00Z");
        // A past or present instant cannot be announced.
        assert!(matches!(
            apply(
                provisional("2026-12"),
                &CalendarChange::Confirm { at: before },
                chef,
                before
            ),
            Err(CalendarError::NotInFuture(_))
        ));
        // One second before, it can still move; at the instant it cannot.
        let later = CalendarChange::Reschedule {
            at: at("2026-12-10T11:00:00Z"),
            reason: "x".into(),
        };
        assert!(apply(c, &later, chef, before).is_ok());
        assert!(matches!(
            apply(c, &later, chef, instant),
            Err(CalendarError::InstantPassed(_))
        ));
        // Published from the instant on, not a second before.
        assert!(matches!(
            apply(c, &CalendarChange::Publish, chef, before),
            Err(CalendarError::TooEarly(_))
        ));
        assert_eq!(
            apply(c, &CalendarChange::Publish, chef, instant)
                .unwrap()
                .0
                .status,
            ReleaseStatus::Published
        );
    }

    #[test]
    fn paris_noon_on_daylight_saving_days_is_noon_in_paris() {
        // 28 March 2027: clocks go forward (CET → CEST); 31 October 2027: back.
        let spring = paris_instant(Date::constant(2027, 3, 28), 12, 0).unwrap();
        assert_eq!(spring, at("2027-03-28T10:00:00Z"));
        let autumn = paris_instant(Date::constant(2027, 10, 31), 12, 0).unwrap();
        assert_eq!(autumn, at("2027-10-31T11:00:00Z"));
        let before = paris_instant(Date::constant(2027, 3, 27), 12, 0).unwrap();
        assert_eq!(before, at("2027-03-27T11:00:00Z"));
        assert_eq!(crate::french::date_time(spring), "28 mars 2027 à 12 h 00");
        // 02:30 does not exist on the spring day and happens twice on the autumn day.
        assert!(paris_instant(Date::constant(2027, 3, 28), 2, 30).is_err());
        assert!(paris_instant(Date::constant(2027, 10, 31), 2, 30).is_err());
        assert_eq!(
            paris_day(at("2027-03-27T23:30:00Z")),
            Date::constant(2027, 3, 28)
        );
    }

    #[test]
    fn french_public_holidays_and_weekends_are_flagged() {
        let d = |y, m, day| Date::constant(y, m, day);
        assert_eq!(easter_sunday(2027), Some(d(2027, 3, 28)));
        assert_eq!(easter_sunday(2026), Some(d(2026, 4, 5)));
        assert_eq!(holiday(d(2027, 3, 29)), Some("lundi de Pâques"));
        assert_eq!(holiday(d(2027, 5, 6)), Some("Ascension"));
        assert_eq!(holiday(d(2027, 5, 17)), Some("lundi de Pentecôte"));
        assert_eq!(holiday(d(2027, 7, 14)), Some("fête nationale"));
        assert_eq!(holiday(d(2027, 7, 15)), None);
        assert_eq!(day_flags(d(2027, 6, 10)), vec![]);
        assert_eq!(day_flags(d(2027, 6, 12)), vec![DayFlag::Weekend]);
        assert_eq!(
            day_flags(d(2027, 5, 8)),
            vec![DayFlag::Weekend, DayFlag::Holiday("Victoire 1945")]
        );
    }

    #[test]
    fn essential_indicators_are_announced_a_year_ahead() {
        let p = CalendarPolicy::default();
        let now = at(NOW);
        let soon = Schedule::Month("2027-11".parse().unwrap());
        let year_on = Schedule::Month("2028-01".parse().unwrap());
        assert!(
            p.short_notice(Collection::InfosRapides, soon, now)
                .is_some()
        );
        assert!(
            p.short_notice(Collection::InfosRapides, year_on, now)
                .is_none()
        );
        assert!(p.short_notice(Collection::Infostat, soon, now).is_none());
        // Exactly twelve months ahead, to the second, is in time.
        let exact = Schedule::At(at("2027-12-03T09:00:00Z"));
        assert!(
            p.short_notice(Collection::ChiffresCles, exact, now)
                .is_none()
        );
        let short = Schedule::At(at("2027-12-03T08:59:59Z"));
        assert!(
            p.short_notice(Collection::ChiffresCles, short, now)
                .is_some()
        );
        assert_eq!(p.standard_time(Collection::Infostat), (12, 0));
    }

    #[test]
    fn announcements_check_role_date_and_lead_time() {
        let p = CalendarPolicy::default();
        let now = at(NOW);
        let month = |m: &str| Schedule::Month(m.parse().unwrap());
        let ok = announce(
            Collection::Infostat,
            month("2027-06"),
            Role::Statistician,
            &p,
            None,
            now,
        );
        assert_eq!(ok.unwrap().status, ReleaseStatus::Provisional);
        // The current month has begun: too late to announce it as a month.
        assert!(matches!(
            announce(
                Collection::Infostat,
                month("2026-12"),
                Role::HeadOfService,
                &p,
                None,
                now
            ),
            Err(CalendarError::MonthPassed(_))
        ));
        let instant = Schedule::At(at("2027-06-10T10:00:00Z"));
        assert!(matches!(
            announce(
                Collection::Infostat,
                instant,
                Role::Statistician,
                &p,
                None,
                now
            ),
            Err(CalendarError::Forbidden { .. })
        ));
        assert_eq!(
            announce(
                Collection::Infostat,
                instant,
                Role::HeadOfService,
                &p,
                None,
                now
            )
            .unwrap()
            .status,
            ReleaseStatus::Confirmed
        );
        assert!(matches!(
            announce(
                Collection::InfosRapides,
                instant,
                Role::HeadOfService,
                &p,
                Some(" "),
                now
            ),
            Err(CalendarError::ShortNotice(_))
        ));
        assert!(
            announce(
                Collection::InfosRapides,
                instant,
                Role::HeadOfService,
                &p,
                Some("première édition"),
                now
            )
            .is_ok()
        );
        assert!(matches!(
            announce(
                Collection::Infostat,
                Schedule::At(now),
                Role::HeadOfService,
                &p,
                None,
                now
            ),
            Err(CalendarError::NotInFuture(_))
        ));
        for role in [
            Role::Admin,
            Role::Asp,
            Role::EmbargoRecipient,
            Role::Administration,
        ] {
            assert!(announce(Collection::Infostat, month("2027-06"), role, &p, None, now).is_err());
        }
    }

    #[test]
    fn a_release_is_upcoming_strictly_before_its_earliest_instant() {
        let now = at(NOW);
        let second = jiff::SignedDuration::from_secs(1);
        let instant = |t: Timestamp| ReleaseState {
            status: ReleaseStatus::Confirmed,
            schedule: Schedule::At(t),
        };
        assert!(instant(now + second).is_upcoming(now));
        assert!(
            !instant(now).is_upcoming(now),
            "the instant itself is not to come"
        );
        assert!(!instant(now - second).is_upcoming(now));
        // Provisional: from its month's first midnight in Paris (2026-12-31T23:00Z for January).
        let january = provisional("2027-01");
        let midnight = at("2026-12-31T23:00:00Z");
        assert!(january.is_upcoming(midnight - second));
        assert!(!january.is_upcoming(midnight), "its month has begun");
        assert!(
            !provisional("2026-12").is_upcoming(now),
            "the current month"
        );
        // Cancelled or out: never to come, whatever their date.
        for status in [ReleaseStatus::Cancelled, ReleaseStatus::Published] {
            let s = ReleaseState {
                status,
                ..instant(now + second)
            };
            assert!(!s.is_upcoming(now), "{status:?}");
            let s = ReleaseState {
                status,
                ..provisional("2027-06")
            };
            assert!(!s.is_upcoming(now), "{status:?}");
        }
    }

    #[test]
    fn a_due_confirmed_release_is_shown_out_once_its_publication_is_public() {
        let now = at(NOW);
        let second = jiff::SignedDuration::from_secs(1);
        let c = |t: Timestamp| ReleaseState {
            status: ReleaseStatus::Confirmed,
            schedule: Schedule::At(t),
        };
        assert_eq!(c(now).shown_status(now, true), ReleaseStatus::Published);
        assert_eq!(
            c(now - second).shown_status(now, true),
            ReleaseStatus::Published
        );
        assert_eq!(
            c(now + second).shown_status(now, true),
            ReleaseStatus::Confirmed
        );
        assert_eq!(
            c(now).shown_status(now, false),
            ReleaseStatus::Confirmed,
            "late: its publication is not public"
        );
        let p = provisional("2026-11");
        assert_eq!(p.shown_status(now, true), ReleaseStatus::Provisional);
        let cancelled = ReleaseState {
            status: ReleaseStatus::Cancelled,
            ..c(now - second)
        };
        assert_eq!(cancelled.shown_status(now, true), ReleaseStatus::Cancelled);
        let published = ReleaseState {
            status: ReleaseStatus::Published,
            ..c(now - second)
        };
        assert_eq!(published.shown_status(now, false), ReleaseStatus::Published);
    }

    #[test]
    fn the_back_office_offers_the_changes_apply_accepts() {
        let now = at(NOW);
        let head = Role::HeadOfService;
        let p = provisional("2027-06");
        let c = confirmed("2027-06-10T10:00:00Z");
        for (state, role) in [
            (p, head),
            (c, head),
            (p, Role::Statistician),
            (c, Role::Admin),
        ] {
            let offered = offered_changes(state, role, now);
            for kind in ChangeKind::ALL {
                let expected = match kind {
                    ChangeKind::Confirm => changes()[0].clone(),
                    ChangeKind::MoveMonth => changes()[1].clone(),
                    ChangeKind::Reschedule => CalendarChange::Reschedule {
                        at: at("2027-06-17T10:00:00Z"),
                        reason: "données tardives".into(),
                    },
                    ChangeKind::Cancel => CalendarChange::Cancel {
                        notice: "série suspendue".into(),
                    },
                };
                assert_eq!(
                    offered.contains(&kind),
                    apply(state, &expected, role, now).is_ok(),
                    "{kind:?} of {state:?} as {role:?}"
                );
            }
        }
        assert!(offered_changes(p, head, now).contains(&ChangeKind::Confirm));
        assert!(!offered_changes(c, head, now).contains(&ChangeKind::Confirm));
        let cancelled = ReleaseState {
            status: ReleaseStatus::Cancelled,
            ..c
        };
        assert!(offered_changes(cancelled, head, now).is_empty());
    }

    #[test]
    fn months_parse_and_read_in_french() {
        let m: Month = "2027-06".parse().unwrap();
        assert_eq!(
            (m.to_string(), m.label_fr()),
            ("2027-06".into(), "juin 2027".into())
        );
        for bad in ["2027-13", "2027-6", "27-06", "juin 2027", ""] {
            assert!(bad.parse::<Month>().is_err(), "{bad}");
        }
        assert_eq!(
            Schedule::Month(m).earliest(),
            at("2027-05-31T22:00:00Z"),
            "midnight in Paris"
        );
    }
}
