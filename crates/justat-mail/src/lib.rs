//! Justat's survey mail: the French messages of a campaign, sent by SMTP, and an SMTP sink
//! that receives them on loopback for the demo and the tests.
//!
//! [`message::compose`] turns a campaign ([`CampaignMail`]), a unit ([`UnitMail`]) and which
//! message it is ([`MailKind`]: the invitation or reminder *n*) into a [`Composed`] subject,
//! plain text and HTML alternative — pure, so each wording is tested on its exact text.
//! A [`Sender`], made from [`SmtpSettings`], sends a list of [`Outgoing`] messages and returns
//! one [`Outcome`] per recipient: a refused or unreachable recipient never stops the others.
//! [`MailSink`] is a small SMTP server that writes every message it receives into a folder as
//! an `.eml` file (`justat mail-sink`).
//!
//! Deciding *who* gets *which* message (the reminder plan) and recording what was sent belong
//! to the survey core and the store; this crate only composes and delivers.
//!
//! ```
//! use justat_mail::{CampaignMail, MailKind, UnitMail, compose};
//! let campaign = CampaignMail {
//!     survey_title: "Activité des bureaux d’aide aux victimes".into(),
//!     period: "2025".into(),
//!     close_date: jiff::civil::date(2026, 3, 31),
//!     portal_url: "https://enquetes.justice.example".into(),
//!     legal_notice: "Réponses couvertes par le secret statistique.".into(),
//! };
//! let unit = UnitMail { unit_name: "Tribunal judiciaire de Lyon".into(), access_code: "K7QF-2M9X".into() };
//! let m = compose(MailKind::Reminder(1), &campaign, &unit).unwrap();
//! assert!(m.subject.starts_with("Relance n° 1"));
//! assert!(m.text.contains("K7QF-2M9X") && m.text.contains("31 mars 2026"));
//! ```

pub mod message;
pub mod sink;
pub mod smtp;

pub use message::{
    CampaignMail, ComposeError, Composed, MailKind, UnitIdentity, UnitMail, compose,
    compose_reminder_by_identifier,
};
pub use sink::{MailSink, SinkError, SinkLimits};
pub use smtp::{Outcome, Outgoing, SendError, Sender, SettingsError, SmtpSettings};
