//! The reminder plan: which invitation or reminder to send to which unit, now.
//!
//! The invitation is due at opening, reminder k at opening + its day offset, each at the
//! schedule's hour on Paris's clock, until the closing day ends. Rules: only units that have
//! not answered (not started, in progress) receive anything; a unit never invited receives the
//! invitation first; otherwise it receives the latest due reminder it has not received, and
//! none earlier than one it already received — so a unit never gets the same message twice,
//! nor two messages in one pass (after an outage, the missed reminders collapse into one).

use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use justat_model::calendar::{paris_day, paris_instant};
use serde::{Deserialize, Serialize};

/// A message of the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "message", content = "number", rename_all = "snake_case")]
pub enum Message {
    /// The invitation, at opening.
    Invitation,
    /// Reminder number k (from 1).
    Reminder(u8),
}

// The response statuses are the store's: the reminder plan reads them as the follow-up
// records them.
pub use justat_model::survey::ResponseStatus;

/// A campaign's mailing schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    opening: Date,
    closing: Date,
    reminder_days: Vec<u32>,
    hour: i8,
}

/// Why a schedule is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// Closing before opening.
    #[error("la clôture ({closing}) précède l'ouverture ({opening})")]
    ClosesBeforeOpening {
        /// Opening day.
        opening: Date,
        /// Closing day.
        closing: Date,
    },
    /// Offsets not strictly increasing and positive.
    #[error("les jours de relance doivent être positifs et croissants : {0:?}")]
    Offsets(Vec<u32>),
    /// A reminder after closing.
    #[error("la relance à J+{0} tombe après la clôture")]
    AfterClosing(u32),
    /// Sending hour outside 6 h – 20 h.
    #[error("heure d'envoi {0} h hors de 6 h – 20 h")]
    Hour(i8),
    /// More than 20 reminders.
    #[error("au plus 20 relances")]
    TooMany,
}

impl Schedule {
    /// A schedule: opening and closing days (inclusive), reminder day offsets from opening,
    /// hour of sending (Paris).
    pub fn new(
        opening: Date,
        closing: Date,
        reminder_days: Vec<u32>,
        hour: i8,
    ) -> Result<Schedule, ScheduleError> {
        if closing < opening {
            return Err(ScheduleError::ClosesBeforeOpening { opening, closing });
        }
        if !(6..=20).contains(&hour) {
            return Err(ScheduleError::Hour(hour));
        }
        if reminder_days.len() > 20 {
            return Err(ScheduleError::TooMany);
        }
        if reminder_days.first() == Some(&0) || reminder_days.windows(2).any(|w| w[0] >= w[1]) {
            return Err(ScheduleError::Offsets(reminder_days));
        }
        for &d in &reminder_days {
            if opening
                .checked_add(i64::from(d).days())
                .map_or(true, |day| day > closing)
            {
                return Err(ScheduleError::AfterClosing(d));
            }
        }
        Ok(Schedule {
            opening,
            closing,
            reminder_days,
            hour,
        })
    }

    /// The instant a message is due (`None` for a reminder the schedule does not have).
    pub fn due_at(&self, m: Message) -> Option<Timestamp> {
        let offset = match m {
            Message::Invitation => 0,
            Message::Reminder(k) => *self.reminder_days.get(usize::from(k).checked_sub(1)?)?,
        };
        let day = self.opening.checked_add(i64::from(offset).days()).ok()?;
        paris_instant(day, self.hour, 0).ok()
    }
}

/// A unit's follow-up: its status and the messages it already received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitFollowUp {
    /// Unit identifier.
    pub unit: String,
    /// Its status.
    pub status: ResponseStatus,
    /// Messages already sent to it.
    pub sent: Vec<Message>,
}

/// The messages to send now, at most one per unit, in the units' order.
pub fn due_messages(
    schedule: &Schedule,
    now: Timestamp,
    units: &[UnitFollowUp],
) -> Vec<(String, Message)> {
    if paris_day(now) > schedule.closing {
        return Vec::new();
    }
    let due = |m: Message| schedule.due_at(m).is_some_and(|at| now >= at);
    let latest_due = (1..=schedule.reminder_days.len() as u8)
        .rev()
        .map(Message::Reminder)
        .find(|m| due(*m));
    let mut out = Vec::new();
    for u in units.iter().filter(|u| u.status.awaits_answer()) {
        let message = if !u.sent.contains(&Message::Invitation) {
            due(Message::Invitation).then_some(Message::Invitation)
        } else {
            latest_due.filter(|m| u.sent.iter().all(|s| s < m))
        };
        if let Some(m) = message {
            out.push((u.unit.clone(), m));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule() -> Schedule {
        Schedule::new(
            jiff::civil::date(2026, 3, 2),
            jiff::civil::date(2026, 4, 30),
            vec![14, 28],
            9,
        )
        .unwrap()
    }
    fn at(y: i16, m: i8, d: i8, h: i8, min: i8) -> Timestamp {
        paris_instant(jiff::civil::date(y, m, d), h, min).unwrap()
    }
    fn unit(id: &str, status: ResponseStatus, sent: &[Message]) -> UnitFollowUp {
        UnitFollowUp {
            unit: id.into(),
            status,
            sent: sent.to_vec(),
        }
    }

    #[test]
    fn the_invitation_goes_at_opening_hour_not_a_minute_before() {
        let units = [unit("a", ResponseStatus::NotStarted, &[])];
        assert!(due_messages(&schedule(), at(2026, 3, 2, 8, 59), &units).is_empty());
        assert_eq!(
            due_messages(&schedule(), at(2026, 3, 2, 9, 0), &units),
            [("a".to_string(), Message::Invitation)]
        );
    }

    #[test]
    fn reminders_go_only_to_units_that_have_not_answered() {
        let inv = [Message::Invitation];
        let units = [
            unit("a", ResponseStatus::NotStarted, &inv),
            unit("b", ResponseStatus::InProgress, &inv),
            unit("c", ResponseStatus::Submitted, &inv),
            unit("d", ResponseStatus::Validated, &inv),
            unit("e", ResponseStatus::Refused, &inv),
            unit("f", ResponseStatus::OutOfScope, &inv),
        ];
        // 2 March + 14 days = 16 March, 9:00.
        assert!(due_messages(&schedule(), at(2026, 3, 16, 8, 59), &units).is_empty());
        let due = due_messages(&schedule(), at(2026, 3, 16, 9, 0), &units);
        assert_eq!(
            due,
            [
                ("a".to_string(), Message::Reminder(1)),
                ("b".to_string(), Message::Reminder(1))
            ]
        );
    }

    #[test]
    fn a_reminder_is_never_sent_twice_nor_an_earlier_one_after_a_later() {
        let s = schedule();
        let units = [
            unit(
                "a",
                ResponseStatus::NotStarted,
                &[Message::Invitation, Message::Reminder(1)],
            ),
            unit(
                "b",
                ResponseStatus::NotStarted,
                &[
                    Message::Invitation,
                    Message::Reminder(1),
                    Message::Reminder(2),
                ],
            ),
            unit("c", ResponseStatus::NotStarted, &[Message::Invitation]),
        ];
        assert!(due_messages(&s, at(2026, 3, 20, 9, 0), &units[..1]).is_empty());
        // On 30 March reminder 2 is due: a and c get it (c's missed reminder 1 collapses into it).
        let due = due_messages(&s, at(2026, 3, 30, 9, 0), &units);
        assert_eq!(
            due,
            [
                ("a".to_string(), Message::Reminder(2)),
                ("c".to_string(), Message::Reminder(2))
            ]
        );
        let after: Vec<UnitFollowUp> = units
            .iter()
            .map(|u| {
                unit(
                    &u.unit,
                    u.status,
                    &[Message::Invitation, Message::Reminder(2)],
                )
            })
            .collect();
        assert!(due_messages(&s, at(2026, 4, 20, 9, 0), &after).is_empty());
    }

    #[test]
    fn a_unit_added_late_is_invited_first_and_nothing_goes_after_closing() {
        let s = schedule();
        let late = [unit("z", ResponseStatus::NotStarted, &[])];
        assert_eq!(
            due_messages(&s, at(2026, 4, 10, 12, 0), &late),
            [("z".to_string(), Message::Invitation)]
        );
        assert_eq!(due_messages(&s, at(2026, 4, 30, 23, 59), &late).len(), 1);
        assert!(due_messages(&s, at(2026, 5, 1, 0, 0), &late).is_empty());
    }

    #[test]
    fn reminder_days_follow_paris_calendar_days_across_daylight_saving() {
        // 29 March 2026 is the switch to summer time: reminder 2 (2 March + 28 = 30 March) is
        // still due at 9:00 in Paris, i.e. 07:00 UTC.
        assert_eq!(
            schedule().due_at(Message::Reminder(2)).unwrap().to_string(),
            "2026-03-30T07:00:00Z"
        );
        assert_eq!(
            schedule().due_at(Message::Invitation).unwrap().to_string(),
            "2026-03-02T08:00:00Z"
        );
        assert_eq!(schedule().due_at(Message::Reminder(3)), None);
        assert_eq!(schedule().due_at(Message::Reminder(0)), None);
    }

    #[test]
    fn bad_schedules_are_refused() {
        let d = jiff::civil::date;
        assert!(matches!(
            Schedule::new(d(2026, 3, 2), d(2026, 3, 1), vec![], 9),
            Err(ScheduleError::ClosesBeforeOpening { .. })
        ));
        assert_eq!(
            Schedule::new(d(2026, 3, 2), d(2026, 4, 1), vec![14, 14], 9),
            Err(ScheduleError::Offsets(vec![14, 14]))
        );
        assert_eq!(
            Schedule::new(d(2026, 3, 2), d(2026, 4, 1), vec![0], 9),
            Err(ScheduleError::Offsets(vec![0]))
        );
        assert_eq!(
            Schedule::new(d(2026, 3, 2), d(2026, 3, 16), vec![15], 9),
            Err(ScheduleError::AfterClosing(15))
        );
        assert!(Schedule::new(d(2026, 3, 2), d(2026, 3, 16), vec![14], 9).is_ok());
        assert_eq!(
            Schedule::new(d(2026, 3, 2), d(2026, 4, 1), vec![], 21),
            Err(ScheduleError::Hour(21))
        );
    }
}
