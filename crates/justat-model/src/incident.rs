//! The incident register of releases: early access outside the rules, a leak, a late release.
//! An incident must be reviewed by the head of service before the next release of its
//! collection (the Code of Practice: after a breach, the arrangements are revised).

use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// What went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentKind {
    /// Someone read a release before its instant outside the approved embargo list.
    EarlyAccess,
    /// A release's content was disclosed before its instant.
    Leak,
    /// A release came out after its announced instant.
    LateRelease,
}

impl IncidentKind {
    /// Every kind.
    pub const ALL: [IncidentKind; 3] = [
        IncidentKind::EarlyAccess,
        IncidentKind::Leak,
        IncidentKind::LateRelease,
    ];

    /// Its stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentKind::EarlyAccess => "early_access",
            IncidentKind::Leak => "leak",
            IncidentKind::LateRelease => "late_release",
        }
    }

    /// In French.
    pub fn label_fr(self) -> &'static str {
        match self {
            IncidentKind::EarlyAccess => "Accès anticipé irrégulier",
            IncidentKind::Leak => "Fuite",
            IncidentKind::LateRelease => "Parution en retard",
        }
    }
}

impl FromStr for IncidentKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IncidentKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                format!("unknown incident kind `{s}`; expected early_access, leak or late_release")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for k in IncidentKind::ALL {
            assert_eq!(k.as_str().parse::<IncidentKind>(), Ok(k));
        }
        assert!("retard".parse::<IncidentKind>().is_err());
    }
}
