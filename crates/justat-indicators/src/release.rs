//! What a dashboard may show of a value: management information at once; a value of an
//! official series only from the instant a publication releases its period, by the same
//! predicate as every public channel ([`justat_model::publication::is_public`]).

use crate::definition::Nature;
use jiff::Timestamp;
use justat_model::publication::{VersionState, is_public};

/// A version of the publication that releases a series: its reference period and when it
/// is (or will be) released, as read through the store's dated versions. A version for a
/// year releases the series up to that year.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesRelease {
    /// The version's reference period (`2024`): it releases the series' values of that year,
    /// and of its quarters and months.
    pub period: String,
    /// The version's state.
    pub state: VersionState,
    /// Its release instant, the calendar release's when it is on one.
    pub released_at: Option<Timestamp>,
}

/// What the dashboard shows for one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disclosure {
    /// The value, with its nature's mention.
    Shown,
    /// « publication le … »: an official value whose release is scheduled at this instant.
    Scheduled(Timestamp),
    /// « non encore publiée »: an official value no release is scheduled for yet.
    NotScheduled,
}

/// The year of a period (`2024`, `2024-T3`, `2024-03`), if it is one.
fn year_of(period: &str) -> Option<&str> {
    let year = period.get(..4)?;
    let rest = &period[4..];
    (year.bytes().all(|b| b.is_ascii_digit()) && (rest.is_empty() || rest.starts_with('-')))
        .then_some(year)
}

/// Whether a version of reference period `release_period` releases the series' `period`: an
/// edition for a year publishes the series up to that year (its history included); a
/// version for another kind of period releases that period only.
fn covers(release_period: &str, period: &str) -> bool {
    match (year_of(release_period), year_of(period)) {
        (Some(r), Some(p)) if release_period.len() == 4 => p <= r,
        _ => period == release_period,
    }
}

/// What may be shown at `now` of the value of `period` of a series of `nature`, released by
/// the versions `releases` of its publication.
pub fn disclosure(
    nature: Nature,
    period: &str,
    releases: &[SeriesRelease],
    now: Timestamp,
) -> Disclosure {
    if nature == Nature::Pilotage {
        return Disclosure::Shown;
    }
    let covering = releases.iter().filter(|r| covers(&r.period, period));
    let mut next: Option<Timestamp> = None;
    for r in covering {
        if is_public(r.state, r.released_at, now) {
            return Disclosure::Shown;
        }
        let scheduled = matches!(r.state, VersionState::Approved | VersionState::Released);
        if let (true, Some(at)) = (scheduled, r.released_at)
            && at > now
        {
            next = Some(next.map_or(at, |n| n.min(at)));
        }
    }
    next.map_or(Disclosure::NotScheduled, Disclosure::Scheduled)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn an_official_value_shows_from_its_release_instant_and_not_a_second_before() {
        let releases = [SeriesRelease {
            period: "2024".into(),
            state: VersionState::Released,
            released_at: Some(at("2025-06-12T10:00:00Z")),
        }];
        let official = |period: &str, now: &str| {
            disclosure(Nature::StatistiquePublique, period, &releases, at(now))
        };
        assert_eq!(
            official("2024", "2025-06-12T09:59:59Z"),
            Disclosure::Scheduled(at("2025-06-12T10:00:00Z"))
        );
        assert_eq!(official("2024", "2025-06-12T10:00:00Z"), Disclosure::Shown);
        assert_eq!(
            official("2024-T3", "2025-06-12T10:00:00Z"),
            Disclosure::Shown
        );
        assert_eq!(
            official("2024-03", "2025-06-12T10:00:00Z"),
            Disclosure::Shown
        );
        assert_eq!(
            official("2025", "2030-01-01T00:00:00Z"),
            Disclosure::NotScheduled,
            "a year no version covers"
        );
        assert_eq!(
            official("20245", "2030-01-01T00:00:00Z"),
            Disclosure::NotScheduled,
            "a prefix is not a period"
        );
        assert_eq!(
            disclosure(Nature::Pilotage, "2025", &[], at("2020-01-01T00:00:00Z")),
            Disclosure::Shown
        );
    }

    #[test]
    fn a_draft_or_a_withdrawn_version_releases_nothing() {
        for state in [VersionState::Draft, VersionState::Submitted] {
            let releases = [SeriesRelease {
                period: "2024".into(),
                state,
                released_at: Some(at("2025-01-01T00:00:00Z")),
            }];
            assert_eq!(
                disclosure(
                    Nature::StatistiquePublique,
                    "2024",
                    &releases,
                    at("2026-01-01T00:00:00Z")
                ),
                Disclosure::NotScheduled,
                "{state:?}"
            );
        }
    }
}
