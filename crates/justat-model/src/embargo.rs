//! Privileged access before a release (embargo): the recipients' categories, the list's
//! approval, and the access window — it opens at most 24 hours before a confirmed release
//! instant, only once the release's version is frozen and its list approved, and closes at the
//! instant, when everyone gets the publication.

use crate::calendar::{ReleaseState, ReleaseStatus, Schedule};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// The longest an embargo window may last, in hours (the Code of Practice's maximum).
pub const MAX_WINDOW_HOURS: i64 = 24;

/// Why a recipient gets early access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipientCategory {
    /// To prepare the response of the ministry's authorities (information).
    Information,
    /// To check the publication before release (quality assurance).
    QualityAssurance,
}

impl RecipientCategory {
    /// Its stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            RecipientCategory::Information => "information",
            RecipientCategory::QualityAssurance => "quality_assurance",
        }
    }

    /// In French.
    pub fn label_fr(self) -> &'static str {
        match self {
            RecipientCategory::Information => "Information",
            RecipientCategory::QualityAssurance => "Assurance qualité",
        }
    }
}

impl FromStr for RecipientCategory {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "information" => Ok(RecipientCategory::Information),
            "quality_assurance" => Ok(RecipientCategory::QualityAssurance),
            _ => Err(format!(
                "unknown recipient category `{s}`; expected information or quality_assurance"
            )),
        }
    }
}

/// Where a release's recipient list stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListStatus {
    /// Proposed (by a statistician), not approved: nobody may read yet.
    Proposed,
    /// Approved by the head of service.
    Approved,
}

impl ListStatus {
    /// Its stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            ListStatus::Proposed => "proposed",
            ListStatus::Approved => "approved",
        }
    }

    /// In French.
    pub fn label_fr(self) -> &'static str {
        match self {
            ListStatus::Proposed => "proposée",
            ListStatus::Approved => "approuvée",
        }
    }
}

impl FromStr for ListStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "proposed" => Ok(ListStatus::Proposed),
            "approved" => Ok(ListStatus::Approved),
            _ => Err(format!("unknown list status `{s}`")),
        }
    }
}

/// Where a release's embargo window stands at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Window {
    /// No window: the release is not confirmed, its version not frozen or its list not
    /// approved.
    NotSet,
    /// It will open at `opens`.
    Before {
        /// When it opens.
        opens: Timestamp,
        /// When it closes (the release instant).
        closes: Timestamp,
    },
    /// Open until `closes`.
    Open {
        /// When it closes (the release instant).
        closes: Timestamp,
    },
    /// Closed: the release instant has come.
    Closed,
}

/// The embargo window of a release at `now`: from `hours` (at most [`MAX_WINDOW_HOURS`])
/// before its confirmed instant to the instant, when its version is frozen (`version_frozen`)
/// and its recipient list approved.
pub fn window(
    release: ReleaseState,
    version_frozen: bool,
    list: Option<ListStatus>,
    hours: i64,
    now: Timestamp,
) -> Window {
    let Schedule::At(at) = release.schedule else {
        return Window::NotSet;
    };
    if matches!(release.status, ReleaseStatus::Published) || now >= at {
        return Window::Closed;
    }
    if release.status != ReleaseStatus::Confirmed
        || !version_frozen
        || list != Some(ListStatus::Approved)
    {
        return Window::NotSet;
    }
    let opens = at - SignedDuration::from_hours(hours.clamp(0, MAX_WINDOW_HOURS));
    if now < opens {
        Window::Before { opens, closes: at }
    } else {
        Window::Open { closes: at }
    }
}

/// Whether an embargo list may still be proposed for a release at `now`: neither out nor
/// cancelled, and its confirmed instant, if it has one, still ahead (a provisional release may
/// get its list before its date is fixed).
pub fn takes_list(release: ReleaseState, now: Timestamp) -> bool {
    !release.status.is_final()
        && match release.schedule {
            Schedule::At(at) => at > now,
            Schedule::Month(_) => true,
        }
}

/// Whether a recipient may read a release now, and if not why (the embargo room says it; the
/// publication's address answers as for anything that does not exist).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// They may read it.
    Granted,
    /// They are not on its approved list.
    NotListed,
    /// They have not accepted the embargo terms.
    TermsNotAccepted,
    /// The window is not open.
    NotOpen,
}

/// Whether a recipient may read: listed on the approved list, terms accepted, window open.
pub fn access(window: Window, listed: bool, terms_accepted: bool) -> Access {
    if !listed {
        Access::NotListed
    } else if !terms_accepted {
        Access::TermsNotAccepted
    } else if matches!(window, Window::Open { .. }) {
        Access::Granted
    } else {
        Access::NotOpen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn confirmed(t: &str) -> ReleaseState {
        ReleaseState {
            status: ReleaseStatus::Confirmed,
            schedule: Schedule::At(at(t)),
        }
    }

    const RELEASE: &str = "2027-03-10T11:00:00Z";

    #[test]
    fn the_window_opens_hours_before_the_instant_and_closes_at_it() {
        let r = confirmed(RELEASE);
        let ok = Some(ListStatus::Approved);
        let w = |now: &str| window(r, true, ok, 24, at(now));
        assert!(matches!(w("2027-03-09T10:59:59Z"), Window::Before { .. }));
        assert_eq!(
            w("2027-03-09T11:00:00Z"),
            Window::Open {
                closes: at(RELEASE)
            }
        );
        assert!(matches!(w("2027-03-10T10:59:59Z"), Window::Open { .. }));
        assert_eq!(w(RELEASE), Window::Closed, "closed at the release instant");
        // Never more than 24 hours, whatever is asked.
        assert!(matches!(
            window(r, true, ok, 48, at("2027-03-09T10:59:59Z")),
            Window::Before { .. }
        ));
    }

    #[test]
    fn no_window_without_confirmation_frozen_version_and_approved_list() {
        let now = at("2027-03-10T08:00:00Z");
        let r = confirmed(RELEASE);
        assert_eq!(
            window(r, false, Some(ListStatus::Approved), 24, now),
            Window::NotSet
        );
        assert_eq!(
            window(r, true, Some(ListStatus::Proposed), 24, now),
            Window::NotSet
        );
        assert_eq!(window(r, true, None, 24, now), Window::NotSet);
        let provisional = ReleaseState {
            status: ReleaseStatus::Provisional,
            schedule: Schedule::Month("2027-03".parse().unwrap()),
        };
        assert_eq!(
            window(provisional, true, Some(ListStatus::Approved), 24, now),
            Window::NotSet
        );
        let cancelled = ReleaseState {
            status: ReleaseStatus::Cancelled,
            ..r
        };
        assert_eq!(
            window(cancelled, true, Some(ListStatus::Approved), 24, now),
            Window::NotSet
        );
    }

    #[test]
    fn access_needs_the_list_the_terms_and_the_open_window() {
        let open = Window::Open {
            closes: at(RELEASE),
        };
        assert_eq!(access(open, true, true), Access::Granted);
        assert_eq!(access(open, false, true), Access::NotListed);
        assert_eq!(access(open, true, false), Access::TermsNotAccepted);
        assert_eq!(access(Window::Closed, true, true), Access::NotOpen);
        assert_eq!(access(Window::NotSet, true, true), Access::NotOpen);
    }

    #[test]
    fn categories_and_statuses_round_trip() {
        for c in [
            RecipientCategory::Information,
            RecipientCategory::QualityAssurance,
        ] {
            assert_eq!(c.as_str().parse::<RecipientCategory>(), Ok(c));
        }
        for s in [ListStatus::Proposed, ListStatus::Approved] {
            assert_eq!(s.as_str().parse::<ListStatus>(), Ok(s));
        }
        assert!("presse".parse::<RecipientCategory>().is_err());
    }

    #[test]
    fn a_list_is_taken_until_the_confirmed_instant_and_never_once_out_or_cancelled() {
        let now = at("2026-12-03T09:00:00Z");
        let second = SignedDuration::from_secs(1);
        let at_instant = |t: Timestamp, status| ReleaseState {
            status,
            schedule: Schedule::At(t),
        };
        assert!(takes_list(
            at_instant(now + second, ReleaseStatus::Confirmed),
            now
        ));
        assert!(
            !takes_list(at_instant(now, ReleaseStatus::Confirmed), now),
            "the instant itself"
        );
        assert!(!takes_list(
            at_instant(now - second, ReleaseStatus::Confirmed),
            now
        ));
        let month = Schedule::Month("2026-11".parse().unwrap());
        let provisional = ReleaseState {
            status: ReleaseStatus::Provisional,
            schedule: month,
        };
        assert!(
            takes_list(provisional, now),
            "a provisional date, even a past month"
        );
        for status in [ReleaseStatus::Cancelled, ReleaseStatus::Published] {
            assert!(
                !takes_list(at_instant(now + second, status), now),
                "{status:?}"
            );
            assert!(
                !takes_list(
                    ReleaseState {
                        status,
                        schedule: month
                    },
                    now
                ),
                "{status:?}"
            );
        }
    }
}
