//! Login throttling: repeated failures first slow down, then lock for a while.
//!
//! The same policy type serves per-account and per-IP counters, with different numbers.
//! A refused attempt (too early, or locked) is not checked against the password at all, so
//! it cannot be used to guess; it does not count as a failure either.

use jiff::{SignedDuration, Timestamp};

/// The numbers of one throttle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures allowed without any delay.
    pub free_failures: u32,
    /// The wait imposed after the first failure beyond the free ones; it doubles after each.
    pub base_delay: SignedDuration,
    /// The longest wait between two attempts.
    pub max_delay: SignedDuration,
    /// Failures after which the key is locked.
    pub lock_after: u32,
    /// How long a lock lasts.
    pub lock_for: SignedDuration,
    /// A failure older than this is forgotten.
    pub forget_after: SignedDuration,
}

impl ThrottlePolicy {
    /// The policy for one account: 3 free failures, then 1 s, 2 s, 4 s… up to 30 s; locked
    /// for 15 minutes at the 10th failure.
    pub fn per_account() -> ThrottlePolicy {
        ThrottlePolicy {
            free_failures: 3,
            base_delay: SignedDuration::from_secs(1),
            max_delay: SignedDuration::from_secs(30),
            lock_after: 10,
            lock_for: SignedDuration::from_mins(15),
            forget_after: SignedDuration::from_hours(1),
        }
    }

    /// The policy for one client address: more lenient (offices share addresses), locked for
    /// 15 minutes at the 50th failure.
    pub fn per_ip() -> ThrottlePolicy {
        ThrottlePolicy {
            free_failures: 10,
            base_delay: SignedDuration::from_secs(1),
            max_delay: SignedDuration::from_secs(30),
            lock_after: 50,
            lock_for: SignedDuration::from_mins(15),
            forget_after: SignedDuration::from_hours(1),
        }
    }

    fn delay_after(&self, failures: u32) -> SignedDuration {
        if failures < self.free_failures || failures == 0 {
            return SignedDuration::ZERO;
        }
        let doublings = (failures - self.free_failures).min(30);
        let secs = self.base_delay.as_secs_f64() * f64::from(1u32 << doublings.min(20));
        SignedDuration::from_secs_f64(secs.min(self.max_delay.as_secs_f64()))
    }

    /// Whether an attempt may be checked now.
    pub fn decide(&self, state: &ThrottleState, now: Timestamp) -> ThrottleDecision {
        if let Some(until) = state.locked_until
            && until > now
        {
            return ThrottleDecision::LockedUntil(until);
        }
        let state = self.forget_old(state, now);
        match state.last_failure {
            Some(last) if state.failures >= self.free_failures => {
                let allowed_at = last + self.delay_after(state.failures);
                if allowed_at > now {
                    ThrottleDecision::WaitUntil(allowed_at)
                } else {
                    ThrottleDecision::Allowed
                }
            }
            _ => ThrottleDecision::Allowed,
        }
    }

    /// The state after a failed attempt at `now`, and whether that failure locked the key.
    pub fn after_failure(&self, state: &ThrottleState, now: Timestamp) -> (ThrottleState, bool) {
        let mut next = self.forget_old(state, now);
        next.failures += 1;
        next.last_failure = Some(now);
        if next.failures >= self.lock_after {
            // The lock replaces the count: after it expires, the slow-down starts again from
            // the free failures rather than re-locking at the next mistake.
            next.failures = 0;
            next.locked_until = Some(now + self.lock_for);
            return (next, true);
        }
        (next, false)
    }

    fn forget_old(&self, state: &ThrottleState, now: Timestamp) -> ThrottleState {
        let expired_lock = state.locked_until.is_some_and(|u| u <= now);
        let stale = state
            .last_failure
            .is_none_or(|l| l + self.forget_after <= now);
        ThrottleState {
            failures: if stale { 0 } else { state.failures },
            last_failure: if stale { None } else { state.last_failure },
            locked_until: if expired_lock {
                None
            } else {
                state.locked_until
            },
        }
    }
}

/// The counter kept for one account or one address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThrottleState {
    /// Recent failures not yet forgotten.
    pub failures: u32,
    /// When the last failure happened.
    pub last_failure: Option<Timestamp>,
    /// Until when the key is locked.
    pub locked_until: Option<Timestamp>,
}

/// What to do with an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleDecision {
    /// Check the password.
    Allowed,
    /// Refuse: too soon after the last failure.
    WaitUntil(Timestamp),
    /// Refuse: locked.
    LockedUntil(Timestamp),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }

    #[test]
    fn free_failures_then_doubling_delays_then_lock() {
        let p = ThrottlePolicy::per_account();
        let mut s = ThrottleState::default();
        let mut now = t(0);
        for _ in 0..3 {
            assert_eq!(p.decide(&s, now), ThrottleDecision::Allowed);
            s = p.after_failure(&s, now).0;
        }
        // 3 failures: the next attempt waits 1 s.
        assert_eq!(p.decide(&s, now), ThrottleDecision::WaitUntil(t(1)));
        now = t(1);
        assert_eq!(p.decide(&s, now), ThrottleDecision::Allowed);
        s = p.after_failure(&s, now).0;
        assert_eq!(p.decide(&s, now), ThrottleDecision::WaitUntil(t(3)));
        // Failures 5 to 9 keep slowing down, capped at 30 s.
        let mut waits = vec![];
        for _ in 0..5 {
            now = match p.decide(&s, now) {
                ThrottleDecision::WaitUntil(u) => {
                    waits.push((u - now).as_secs());
                    u
                }
                other => panic!("{other:?}"),
            };
            let (next, locked) = p.after_failure(&s, now);
            assert!(!locked);
            s = next;
        }
        assert_eq!(waits, vec![2, 4, 8, 16, 30]);
        assert_eq!(s.failures, 9);
        now += SignedDuration::from_secs(30);
        let (locked_state, locked) = p.after_failure(&s, now);
        assert!(locked);
        let until = now + SignedDuration::from_mins(15);
        assert_eq!(
            p.decide(&locked_state, now),
            ThrottleDecision::LockedUntil(until)
        );
        assert_eq!(
            p.decide(&locked_state, until - SignedDuration::from_secs(1)),
            ThrottleDecision::LockedUntil(until)
        );
        assert_eq!(p.decide(&locked_state, until), ThrottleDecision::Allowed);
    }

    #[test]
    fn old_failures_are_forgotten() {
        let p = ThrottlePolicy::per_account();
        let mut s = ThrottleState::default();
        for _ in 0..5 {
            s = p.after_failure(&s, t(0)).0;
        }
        assert!(matches!(p.decide(&s, t(1)), ThrottleDecision::WaitUntil(_)));
        assert_eq!(p.decide(&s, t(3600)), ThrottleDecision::Allowed);
        let (after, _) = p.after_failure(&s, t(3600));
        assert_eq!(after.failures, 1);
    }

    #[test]
    fn per_ip_is_more_lenient() {
        let p = ThrottlePolicy::per_ip();
        let mut s = ThrottleState::default();
        for _ in 0..10 {
            assert_eq!(p.decide(&s, t(0)), ThrottleDecision::Allowed);
            s = p.after_failure(&s, t(0)).0;
        }
        assert!(matches!(p.decide(&s, t(0)), ThrottleDecision::WaitUntil(_)));
    }
}
