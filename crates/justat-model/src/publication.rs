//! Publications: the four collections, and the lifecycle of a publication's versions
//! (draft → submitted → approved → released, then corrected by a later version), with who may
//! move a version from one state to the next and when the public may read it.

use crate::Role;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// One of the service's four collections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Collection {
    /// *Chiffres clés de la justice*: annual, themed double pages of key figures.
    ChiffresCles,
    /// *Références statistiques justice*: numbered thematic sheets of tables and comments.
    ReferencesStatistiques,
    /// *Infostat justice*: a numbered analysis of 4 to 8 pages.
    Infostat,
    /// *Infos rapides justice*: a numbered release of 2 to 4 pages, one number in its title.
    InfosRapides,
}

impl Collection {
    /// Every collection, in the order the site lists them.
    pub const ALL: [Collection; 4] = [
        Collection::ChiffresCles,
        Collection::ReferencesStatistiques,
        Collection::Infostat,
        Collection::InfosRapides,
    ];

    /// The stable slug of its public address (`/publications/<slug>`).
    pub fn slug(self) -> &'static str {
        match self {
            Collection::ChiffresCles => "chiffres-cles",
            Collection::ReferencesStatistiques => "references-statistiques",
            Collection::Infostat => "infostat",
            Collection::InfosRapides => "infos-rapides",
        }
    }

    /// Its French title.
    pub fn label_fr(self) -> &'static str {
        match self {
            Collection::ChiffresCles => "Chiffres clés de la justice",
            Collection::ReferencesStatistiques => "Références statistiques justice",
            Collection::Infostat => "Infostat justice",
            Collection::InfosRapides => "Infos rapides justice",
        }
    }

    /// What the collection is, for its page.
    pub fn description_fr(self) -> &'static str {
        match self {
            Collection::ChiffresCles => {
                "Chaque année, les principaux indicateurs de l’activité de la justice, en doubles pages thématiques."
            }
            Collection::ReferencesStatistiques => {
                "Des fiches thématiques numérotées d’indicateurs détaillés, avec leurs tableaux et commentaires."
            }
            Collection::Infostat => {
                "Des analyses approfondies de 4 à 8 pages sur un sujet de la justice."
            }
            Collection::InfosRapides => {
                "La diffusion rapide d’indicateurs centraux, avec de premières analyses, en 2 à 4 pages."
            }
        }
    }

    /// How a publication's number is written in the collection (`Infostat justice n° 195`,
    /// `fiche 6.1`, the edition year of the *Chiffres clés*).
    pub fn number_label(self, number: &str) -> String {
        match self {
            Collection::ReferencesStatistiques => format!("fiche {number}"),
            Collection::ChiffresCles => format!("édition {number}"),
            Collection::Infostat | Collection::InfosRapides => format!("n° {number}"),
        }
    }
}

impl fmt::Display for Collection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.slug())
    }
}

/// A collection slug that is not one of the four.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown collection `{found}`; expected one of: chiffres-cles, references-statistiques, infostat, infos-rapides"
)]
pub struct UnknownCollection {
    /// What was given.
    pub found: String,
}

impl FromStr for Collection {
    type Err = UnknownCollection;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Collection::ALL
            .into_iter()
            .find(|c| c.slug() == s)
            .ok_or_else(|| UnknownCollection {
                found: s.to_string(),
            })
    }
}

/// Where a version of a publication stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionState {
    /// Being written; rebuilt at will.
    Draft,
    /// Handed to the head of service for approval.
    Submitted,
    /// Approved: its content and tables are frozen under a content hash.
    Approved,
    /// Released to the public; never modified again.
    Released,
    /// Released, then replaced by a later version with an erratum; still readable at its address.
    Corrected,
}

impl VersionState {
    /// The stable identifier stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            VersionState::Draft => "draft",
            VersionState::Submitted => "submitted",
            VersionState::Approved => "approved",
            VersionState::Released => "released",
            VersionState::Corrected => "corrected",
        }
    }

    /// The French label shown to staff.
    pub fn label_fr(self) -> &'static str {
        match self {
            VersionState::Draft => "Brouillon",
            VersionState::Submitted => "Soumise",
            VersionState::Approved => "Validée",
            VersionState::Released => "Parue",
            VersionState::Corrected => "Corrigée",
        }
    }

    /// Whether the content may still change (a new build replaces it).
    pub fn is_editable(self) -> bool {
        self == VersionState::Draft
    }

    /// Whether the version has ever been released (it is then immutable and public).
    pub fn was_released(self) -> bool {
        matches!(self, VersionState::Released | VersionState::Corrected)
    }
}

impl FromStr for VersionState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            VersionState::Draft,
            VersionState::Submitted,
            VersionState::Approved,
            VersionState::Released,
            VersionState::Corrected,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
        .ok_or_else(|| format!("unknown version state `{s}`"))
    }
}

/// What someone asks of a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// A statistician hands a draft over for approval.
    Submit,
    /// The head of service sends a submitted version back to draft.
    Reject,
    /// The head of service approves a submitted version: its content is frozen.
    Approve,
    /// An approved version is released to the public.
    Release,
    /// A released version is replaced by a later released version (its correction).
    Supersede,
}

impl Action {
    /// The stable identifier used in the audit log and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Submit => "submit",
            Action::Reject => "reject",
            Action::Approve => "approve",
            Action::Release => "release",
            Action::Supersede => "supersede",
        }
    }

    /// The roles that may take this action: statisticians propose; only the head of service
    /// approves and releases. Superseding follows from releasing a correction, so it takes the
    /// same role as releasing.
    pub fn allowed(self, role: Role) -> bool {
        match self {
            Action::Submit => matches!(role, Role::Statistician | Role::HeadOfService),
            Action::Reject | Action::Approve | Action::Release | Action::Supersede => {
                role == Role::HeadOfService
            }
        }
    }
}

/// Why a version cannot take an action.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    /// The action does not apply in this state.
    #[error("a version that is {} cannot be asked to {}", .from.as_str(), .action.as_str())]
    NotFrom {
        /// The version's state.
        from: VersionState,
        /// The action asked.
        action: Action,
    },
    /// The role may not take the action.
    #[error("the role {} may not {} a version", .role.as_str(), .action.as_str())]
    Forbidden {
        /// Who asked.
        role: Role,
        /// The action asked.
        action: Action,
    },
}

/// The state a version moves to when `role` takes `action` on it; the only place that
/// decides the lifecycle. Nothing moves a version back once approved: a change after approval
/// is a new version.
pub fn transition(
    from: VersionState,
    action: Action,
    role: Role,
) -> Result<VersionState, LifecycleError> {
    use VersionState::*;
    let to = match (from, action) {
        (Draft, Action::Submit) => Submitted,
        (Submitted, Action::Reject) => Draft,
        (Submitted, Action::Approve) => Approved,
        (Approved, Action::Release) => Released,
        (Released, Action::Supersede) => Corrected,
        _ => return Err(LifecycleError::NotFrom { from, action }),
    };
    if !action.allowed(role) {
        return Err(LifecycleError::Forbidden { role, action });
    }
    Ok(to)
}

/// Whether the public may read a version at `now`: released (or corrected since) and its
/// release instant passed. Every public channel asks this one function.
pub fn is_public(state: VersionState, released_at: Option<Timestamp>, now: Timestamp) -> bool {
    state.was_released() && released_at.is_some_and(|at| now >= at)
}

/// Whether a version is the frozen one the embargo room shows at `now`: approved, or released
/// on an instant still ahead (scheduled, not public yet).
pub fn is_frozen_before_release(
    state: VersionState,
    released_at: Option<Timestamp>,
    now: Timestamp,
) -> bool {
    state == VersionState::Approved
        || (state == VersionState::Released && !is_public(state, released_at, now))
}

/// Whether the back office offers to edit a version: only the latest one (`is_latest`), a
/// draft rebuilt in place or a released version corrected by a new one.
pub fn offers_edit(state: VersionState, is_latest: bool) -> bool {
    is_latest && (state == VersionState::Draft || state.was_released())
}

/// Whether `slug` may name a publication in a public address: lower-case ASCII letters,
/// digits and single hyphens, 1 to 80 characters, neither starting nor ending with a hyphen.
pub fn is_valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= 80
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-')
        && !slug.contains("--")
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATES: [VersionState; 5] = [
        VersionState::Draft,
        VersionState::Submitted,
        VersionState::Approved,
        VersionState::Released,
        VersionState::Corrected,
    ];
    const ACTIONS: [Action; 5] = [
        Action::Submit,
        Action::Reject,
        Action::Approve,
        Action::Release,
        Action::Supersede,
    ];

    #[test]
    fn collections_round_trip_through_their_slugs() {
        for c in Collection::ALL {
            assert_eq!(c.slug().parse::<Collection>().unwrap(), c);
        }
        assert!("infostats".parse::<Collection>().is_err());
    }

    #[test]
    fn states_round_trip() {
        for s in STATES {
            assert_eq!(s.as_str().parse::<VersionState>().unwrap(), s);
        }
    }

    #[test]
    fn the_lifecycle_is_exactly_as_specified() {
        use VersionState::*;
        let expected = |from, action, role| -> Option<VersionState> {
            let to = match (from, action) {
                (Draft, Action::Submit) => Submitted,
                (Submitted, Action::Reject) => Draft,
                (Submitted, Action::Approve) => Approved,
                (Approved, Action::Release) => Released,
                (Released, Action::Supersede) => Corrected,
                _ => return None,
            };
            let ok = match action {
                Action::Submit => role == Role::Statistician || role == Role::HeadOfService,
                _ => role == Role::HeadOfService,
            };
            ok.then_some(to)
        };
        for from in STATES {
            for action in ACTIONS {
                for role in Role::ALL {
                    assert_eq!(
                        transition(from, action, role).ok(),
                        expected(from, action, role),
                        "{from:?} {action:?} {role:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn an_approved_version_never_goes_back_to_draft() {
        for action in ACTIONS {
            for role in Role::ALL {
                if let Ok(to) = transition(VersionState::Approved, action, role) {
                    assert_eq!(to, VersionState::Released);
                }
            }
        }
    }

    #[test]
    fn a_version_is_public_from_its_release_instant_and_not_a_second_before() {
        let at: Timestamp = "2027-03-10T11:00:00Z".parse().unwrap();
        let before = at - jiff::SignedDuration::from_secs(1);
        assert!(!is_public(VersionState::Released, Some(at), before));
        assert!(is_public(VersionState::Released, Some(at), at));
        assert!(is_public(VersionState::Corrected, Some(at), at));
        for s in [
            VersionState::Draft,
            VersionState::Submitted,
            VersionState::Approved,
        ] {
            assert!(!is_public(s, Some(at), at), "{s:?}");
        }
        assert!(!is_public(VersionState::Released, None, at));
    }

    #[test]
    fn slugs() {
        for ok in ["condamnations-2024", "a", "fiche-6-1"] {
            assert!(is_valid_slug(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "a--b", "Été", "a b", "a/b", &"x".repeat(81)] {
            assert!(!is_valid_slug(bad), "{bad}");
        }
    }

    #[test]
    fn the_embargo_room_shows_an_approved_or_scheduled_version_until_its_instant() {
        let now: Timestamp = "2026-12-03T09:00:00Z".parse().unwrap();
        let second = jiff::SignedDuration::from_secs(1);
        let frozen = |s, at: Option<Timestamp>| is_frozen_before_release(s, at, now);
        assert!(frozen(VersionState::Approved, None));
        assert!(frozen(VersionState::Released, Some(now + second)));
        assert!(
            !frozen(VersionState::Released, Some(now)),
            "public at its instant"
        );
        assert!(!frozen(VersionState::Released, Some(now - second)));
        for s in [
            VersionState::Draft,
            VersionState::Submitted,
            VersionState::Corrected,
        ] {
            assert!(!frozen(s, Some(now + second)), "{s:?}");
        }
    }

    #[test]
    fn only_the_latest_draft_or_released_version_is_offered_for_editing() {
        for s in STATES {
            let expected = matches!(
                s,
                VersionState::Draft | VersionState::Released | VersionState::Corrected
            );
            assert_eq!(offers_edit(s, true), expected, "{s:?}");
            assert!(!offers_edit(s, false), "{s:?} of an older version");
        }
    }
}
