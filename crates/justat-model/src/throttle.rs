//! Login throttling: repeated failures first slow down, then lock for a while.
//!
//! The same policy type serves per-account and per-IP counters, with different numbers.
//! A refused attempt (too early, or locked) is not checked against the password at all, so
//! it cannot be used to guess; it does not count as a failure either.
//!
//! An attempt is decided before its password is checked, and the decision reserves it
//! ([`ThrottlePolicy::reserve`]): until it is settled ([`ThrottlePolicy::after_failure`],
//! [`ThrottlePolicy::after_success`], [`ThrottlePolicy::release`]) it counts as a failure
//! that may yet happen. Concurrent attempts thus cannot all be allowed on the same old count:
//! no more passwords are checked than the policy allows failures.

use jiff::{SignedDuration, Timestamp};

/// How long a reserved attempt may stay unsettled before it is forgotten (the process that
/// checked it stopped); far longer than a password check takes.
pub const IN_FLIGHT_EXPIRY: SignedDuration = SignedDuration::from_mins(2);

/// The wait suggested while attempts under way may still lock the key.
const SETTLE_WAIT: SignedDuration = SignedDuration::from_secs(1);

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

    /// Whether an attempt may be checked now. Attempts reserved and not yet settled count as
    /// failures: each may turn out to be one.
    pub fn decide(&self, state: &ThrottleState, now: Timestamp) -> ThrottleDecision {
        if let Some(until) = state.locked_until
            && until > now
        {
            return ThrottleDecision::LockedUntil(until);
        }
        let state = self.forget_old(state, now);
        let pending = state.failures.saturating_add(state.in_flight);
        if pending >= self.lock_after {
            // Only attempts under way can bring the count this far without a lock: one more
            // would check a password beyond the policy's budget if they all fail.
            return ThrottleDecision::WaitUntil(now + SETTLE_WAIT);
        }
        let latest = state.last_failure.max(state.last_attempt);
        match latest {
            Some(last) if pending >= self.free_failures => {
                let allowed_at = last + self.delay_after(pending);
                if allowed_at > now {
                    ThrottleDecision::WaitUntil(allowed_at)
                } else {
                    ThrottleDecision::Allowed
                }
            }
            _ => ThrottleDecision::Allowed,
        }
    }

    /// Decides an attempt and, when it is allowed, reserves it: the state to store before the
    /// password is checked. The refusal otherwise.
    pub fn reserve(
        &self,
        state: &ThrottleState,
        now: Timestamp,
    ) -> Result<ThrottleState, ThrottleDecision> {
        match self.decide(state, now) {
            ThrottleDecision::Allowed => {
                let mut next = self.forget_old(state, now);
                next.in_flight += 1;
                next.last_attempt = Some(now);
                Ok(next)
            }
            refusal => Err(refusal),
        }
    }

    /// The state after a failed attempt at `now` (settling its reservation, if any), and
    /// whether that failure locked the key.
    pub fn after_failure(&self, state: &ThrottleState, now: Timestamp) -> (ThrottleState, bool) {
        let mut next = self.forget_old(state, now);
        next.in_flight = next.in_flight.saturating_sub(1);
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

    /// The state after a successful attempt: its reservation settled and the failures
    /// forgotten (attempts still under way keep theirs).
    pub fn after_success(&self, state: &ThrottleState) -> ThrottleState {
        ThrottleState {
            failures: 0,
            last_failure: None,
            locked_until: None,
            ..self.release(state)
        }
    }

    /// The state after a reserved attempt ended without counting as a failure (a success on
    /// a key that keeps its count, or a check that could not be made).
    pub fn release(&self, state: &ThrottleState) -> ThrottleState {
        ThrottleState {
            in_flight: state.in_flight.saturating_sub(1),
            ..state.clone()
        }
    }

    fn forget_old(&self, state: &ThrottleState, now: Timestamp) -> ThrottleState {
        let expired_lock = state.locked_until.is_some_and(|u| u <= now);
        let stale = state
            .last_failure
            .is_none_or(|l| l + self.forget_after <= now);
        let abandoned = state
            .last_attempt
            .is_none_or(|l| l + IN_FLIGHT_EXPIRY <= now);
        let attempt_stale = state
            .last_attempt
            .is_none_or(|l| l + self.forget_after.max(IN_FLIGHT_EXPIRY) <= now);
        ThrottleState {
            failures: if stale { 0 } else { state.failures },
            last_failure: if stale { None } else { state.last_failure },
            locked_until: if expired_lock {
                None
            } else {
                state.locked_until
            },
            in_flight: if abandoned { 0 } else { state.in_flight },
            last_attempt: if attempt_stale {
                None
            } else {
                state.last_attempt
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
    /// Attempts allowed whose password check has not ended yet.
    pub in_flight: u32,
    /// When the last attempt was allowed.
    pub last_attempt: Option<Timestamp>,
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

    fn no_slow_down(lock_after: u32) -> ThrottlePolicy {
        ThrottlePolicy {
            free_failures: lock_after,
            lock_after,
            ..ThrottlePolicy::per_account()
        }
    }

    #[test]
    fn reserved_attempts_use_up_the_budget_before_their_outcome_is_known() {
        let p = no_slow_down(5);
        let mut s = ThrottleState::default();
        for n in 0..5 {
            assert_eq!(s.in_flight, n);
            s = p.reserve(&s, t(0)).expect("within the budget");
        }
        // The 6th concurrent attempt would be checked beyond the lock if all five fail.
        assert_eq!(p.reserve(&s, t(0)), Err(ThrottleDecision::WaitUntil(t(1))));
        for n in 0..4 {
            let (next, locked) = p.after_failure(&s, t(0));
            assert!(!locked, "failure {n}");
            s = next;
            assert!(p.reserve(&s, t(0)).is_err(), "still 5 pending");
        }
        let (s, locked) = p.after_failure(&s, t(0));
        assert!(locked);
        assert_eq!(s.in_flight, 0);
        let until = t(0) + p.lock_for;
        assert_eq!(
            p.reserve(&s, t(0)),
            Err(ThrottleDecision::LockedUntil(until))
        );
    }

    #[test]
    fn reserved_attempts_slow_down_like_failures() {
        let p = ThrottlePolicy::per_account();
        let mut s = ThrottleState::default();
        for _ in 0..3 {
            s = p.reserve(&s, t(0)).unwrap();
        }
        assert_eq!(p.reserve(&s, t(0)), Err(ThrottleDecision::WaitUntil(t(1))));
        s = p.reserve(&s, t(1)).unwrap();
        assert_eq!(s.in_flight, 4);
        assert_eq!(p.reserve(&s, t(2)), Err(ThrottleDecision::WaitUntil(t(3))));
    }

    #[test]
    fn a_success_forgets_the_failures_but_not_the_other_attempts_under_way() {
        let p = no_slow_down(5);
        let mut s = ThrottleState::default();
        for _ in 0..3 {
            s = p.reserve(&s, t(0)).unwrap();
        }
        s = p.after_failure(&s, t(0)).0;
        assert_eq!((s.failures, s.in_flight), (1, 2));
        s = p.after_success(&s);
        assert_eq!((s.failures, s.in_flight), (0, 1));
        assert_eq!(s.last_failure, None);
        // A check that could not be made gives its reservation back without a failure.
        s = p.release(&s);
        assert_eq!((s.failures, s.in_flight), (0, 0));
        assert_eq!(p.release(&s).in_flight, 0, "never below zero");
    }

    #[test]
    fn reservations_never_settled_are_forgotten_after_the_expiry() {
        let p = no_slow_down(2);
        let mut s = ThrottleState::default();
        for _ in 0..2 {
            s = p.reserve(&s, t(0)).unwrap();
        }
        let expiry = t(0) + IN_FLIGHT_EXPIRY;
        assert!(matches!(
            p.decide(&s, expiry - SignedDuration::from_secs(1)),
            ThrottleDecision::WaitUntil(_)
        ));
        assert_eq!(p.decide(&s, expiry), ThrottleDecision::Allowed);
        assert_eq!(p.reserve(&s, expiry).unwrap().in_flight, 1);
    }
}
