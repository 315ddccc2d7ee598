//! Session expiry: an idle timeout and an absolute timeout.

use jiff::{SignedDuration, Timestamp};

/// How long a session lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A session unused for this long ends.
    pub idle: SignedDuration,
    /// A session ends this long after login, however active.
    pub absolute: SignedDuration,
}

impl Default for SessionPolicy {
    /// 30 minutes idle, 12 hours in all (ANSSI's recommendations for administration sites).
    fn default() -> Self {
        SessionPolicy {
            idle: SignedDuration::from_mins(30),
            absolute: SignedDuration::from_hours(12),
        }
    }
}

/// Whether a session may still be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStatus {
    /// Usable.
    Active,
    /// Unused for longer than the idle timeout.
    IdleExpired,
    /// Older than the absolute timeout.
    AbsoluteExpired,
}

impl SessionPolicy {
    /// The status at `now` of a session created at `created` and last used at `last_seen`.
    pub fn status(
        &self,
        created: Timestamp,
        last_seen: Timestamp,
        now: Timestamp,
    ) -> SessionStatus {
        if now >= created + self.absolute {
            SessionStatus::AbsoluteExpired
        } else if now >= last_seen + self.idle {
            SessionStatus::IdleExpired
        } else {
            SessionStatus::Active
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_and_absolute_boundaries() {
        let p = SessionPolicy::default();
        let t0 = Timestamp::from_second(1_800_000_000).unwrap();
        let s = |secs: i64| t0 + SignedDuration::from_secs(secs);
        assert_eq!(p.status(t0, t0, s(1799)), SessionStatus::Active);
        assert_eq!(p.status(t0, t0, s(1800)), SessionStatus::IdleExpired);
        // Active use keeps it alive until the absolute limit, not a second more.
        assert_eq!(p.status(t0, s(43_000), s(43_199)), SessionStatus::Active);
        assert_eq!(
            p.status(t0, s(43_000), s(43_200)),
            SessionStatus::AbsoluteExpired
        );
    }
}
