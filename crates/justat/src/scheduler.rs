//! What the server does by the clock, beside answering requests: the release scheduler, which
//! records each release as published once its instant has come and its publication is public
//! (or a late release in the incident register), the daily signed checkpoint of the audit
//! log, and the reminders of open survey campaigns, sent by SMTP on their schedule.

use jiff::{SignedDuration, Timestamp};
use justat_model::calendar::{CalendarChange, ReleaseStatus};
use justat_model::incident::IncidentKind;
use justat_store::{Actor, Release, Store};
use std::time::Duration;

/// What the scheduler's store calls return.
type Result<T> = std::result::Result<T, justat_store::StoreError>;

/// Records a late release in the incident register, once (a restarted scheduler finds it).
async fn record_late(store: &Store, r: &Release, now: Timestamp) -> Result<()> {
    let known = store.incidents().await?.iter().any(|i| {
        i.collection == r.collection && i.slug == r.slug && i.kind == IncidentKind::LateRelease
    });
    if !known {
        store
            .report_incident(
                r.collection,
                &r.slug,
                IncidentKind::LateRelease,
                &format!(
                    "La parution « {} » annoncée pour le {} n’était pas publique à cet instant.",
                    r.title,
                    r.when_fr()
                ),
                &Actor::system(),
                now,
            )
            .await?;
    }
    Ok(())
}

/// Records as published each confirmed release whose instant has come and whose publication
/// is public; a release whose instant passed without a public publication is late, and said
/// once in the log. What the public sees does not wait for this: every channel asks whether
/// the publication is public at the request's instant.
pub async fn releases(store: Store) {
    let mut late: std::collections::BTreeSet<i64> = Default::default();
    loop {
        let now = Timestamp::now();
        match store.due_releases(now).await {
            Ok(due) => {
                for r in due {
                    match store.public_version(r.collection, &r.slug, now).await {
                        Ok(Some(_)) => {
                            let done = store
                                .change_release(
                                    r.collection,
                                    &r.slug,
                                    &CalendarChange::Publish,
                                    justat_model::Role::HeadOfService,
                                    &Actor::system(),
                                    now,
                                )
                                .await;
                            match done {
                                Ok(p) if p.status == ReleaseStatus::Published => {
                                    tracing::info!(release = %r.uid, "release published");
                                    store.checkpoint_after("release.published", now).await;
                                }
                                Ok(_) => {}
                                Err(e) => {
                                    tracing::warn!(release = %r.uid, error = %e, "cannot record a release as published")
                                }
                            }
                        }
                        Ok(None) => {
                            if late.insert(r.id) {
                                tracing::warn!(release = %r.uid, "release instant passed and its publication is not public: late release");
                                if let Err(e) = record_late(&store, &r, now).await {
                                    tracing::warn!(release = %r.uid, error = %e, "cannot record the late release in the incident register");
                                }
                            }
                        }
                        Err(e) => tracing::warn!(error = %e, "cannot read a publication"),
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot read the calendar"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Signs a checkpoint whenever the last one is older than 23 hours: at least one a day while
/// the server runs (checked every ten minutes).
pub async fn daily_checkpoints(store: Store) {
    if store.checkpoint_config().is_none() {
        tracing::warn!(
            "no audit_key configured: the audit log is not anchored outside the database (see `justat audit keygen`)"
        );
        return;
    }
    loop {
        match store
            .checkpoint_if_older(SignedDuration::from_hours(23), Timestamp::now())
            .await
        {
            Ok(Some(c)) => {
                tracing::info!(seq = c.checkpoint.seq, "daily audit checkpoint signed")
            }
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "cannot sign the daily audit checkpoint"),
        }
        tokio::time::sleep(std::time::Duration::from_secs(600)).await;
    }
}

/// How often the survey reminders are looked for: they are due by the day, and a round that
/// finds none costs one query per open campaign.
const REMINDER_ROUND: Duration = Duration::from_secs(300);

/// Sends the due reminders of every open survey campaign, by SMTP through `sender`, at start
/// and then every [`REMINDER_ROUND`]: without `sender` (no `smtp_host` configured), says once
/// that none is sent if a campaign is open. `portal_url` is the site's address, whose `/enquetes` the message names.
/// A task beside the web server: no request waits for it.
pub async fn survey_reminders(
    store: Store,
    sender: Option<justat_mail::Sender>,
    portal_url: String,
) {
    let Some(sender) = sender else {
        let open = store.campaigns().await.map(|cs| {
            cs.iter()
                .any(|c| c.state == justat_model::survey::CampaignState::Open)
        });
        if matches!(open, Ok(true)) {
            tracing::warn!(
                "no smtp_host configured: the reminders of open survey campaigns are not sent (see README, survey mail)"
            );
        }
        return;
    };
    let mut round = ReminderRound::default();
    loop {
        if let Err(e) = round
            .run(&store, &sender, &portal_url, Timestamp::now())
            .await
        {
            tracing::error!(error = %e, "survey reminder round failed; tried again at the next round");
        }
        tokio::time::sleep(REMINDER_ROUND).await;
    }
}

/// What one reminder round remembers for the next: the units already said to have no e-mail
/// contact, so that the log says it once per reminder.
#[derive(Default)]
pub struct ReminderRound {
    without_contact: std::collections::BTreeSet<(i64, String, u32)>,
}

impl ReminderRound {
    /// Sends each reminder due at `now` to the units still awaited: decided and recorded first
    /// (`claim_reminder`, so that two servers or two rounds never send it twice), then sent to
    /// the unit's contacts. The message names the unit's identifier, not its access code, which
    /// only the invitation letter carried. Returns the number of messages sent.
    pub async fn run(
        &mut self,
        store: &Store,
        sender: &justat_mail::Sender,
        portal_url: &str,
        now: Timestamp,
    ) -> Result<usize> {
        let mut sent = 0;
        for c in store.campaigns().await? {
            if c.state != justat_model::survey::CampaignState::Open {
                continue;
            }
            let due = store.due_reminders(c.id, now).await?;
            if due.is_empty() {
                continue;
            }
            let mail = justat_mail::CampaignMail {
                survey_title: c.title.clone(),
                period: c.period.clone(),
                close_date: justat_model::calendar::paris_day(c.closes_at),
                portal_url: format!("{}/enquetes", portal_url.trim_end_matches('/')),
                legal_notice: short_notice(&c.legal),
            };
            for d in due {
                let recipients: Vec<String> = store
                    .unit_contacts(&d.unit_code)
                    .await?
                    .into_iter()
                    .filter(|k| k.erased_at.is_none() && !k.email.trim().is_empty())
                    .map(|k| k.email)
                    .collect();
                if recipients.is_empty() {
                    if self
                        .without_contact
                        .insert((c.id, d.unit_code.clone(), d.number))
                    {
                        tracing::warn!(campaign = c.id, unit = %d.unit_code, reminder = d.number, "survey reminder due, but the unit has no e-mail contact: not sent");
                    }
                    continue;
                }
                let unit = store.survey_unit(&d.unit_code).await?;
                let message = match justat_mail::compose_reminder_by_identifier(
                    d.number,
                    &mail,
                    &justat_mail::UnitIdentity {
                        unit_name: unit.name,
                        unit_code: d.unit_code.clone(),
                    },
                ) {
                    Ok(m) => m,
                    Err(e) => {
                        tracing::error!(campaign = c.id, unit = %d.unit_code, reminder = d.number, error = %e, "survey reminder cannot be composed: not sent");
                        continue;
                    }
                };
                let claim = store
                    .claim_reminder(c.id, &d.unit_code, d.number, "email", &Actor::system(), now)
                    .await?;
                if claim != justat_store::ReminderClaim::Claimed {
                    continue;
                }
                let outgoing: Vec<justat_mail::Outgoing> = recipients
                    .into_iter()
                    .map(|to| justat_mail::Outgoing {
                        to,
                        message: message.clone(),
                    })
                    .collect();
                for o in sender.send_all(&outgoing).await {
                    match o.result {
                        Ok(()) => {
                            sent += 1;
                            tracing::info!(campaign = c.id, unit = %d.unit_code, reminder = d.number, "survey reminder sent");
                        }
                        // Recorded as decided: it is not sent again, and the log says so.
                        Err(e) => {
                            tracing::error!(campaign = c.id, unit = %d.unit_code, reminder = d.number, error = %e, "survey reminder recorded but not delivered")
                        }
                    }
                }
            }
        }
        Ok(sent)
    }
}

/// The short form of a campaign's legal notice, for its messages: its standing (label and visa,
/// obligation, Cnis opinion), then statistical secrecy.
pub fn short_notice(l: &justat_store::LegalStanding) -> String {
    let mut standing = Vec::new();
    if let (Some(number), Some(year)) = (&l.visa_number, l.visa_year) {
        standing.push(format!(
            "Enquête reconnue d’intérêt général et de qualité statistique (visa n° {number} valable en {year})"
        ));
    }
    if l.mandatory {
        standing.push("à caractère obligatoire".to_string());
    }
    if let Some(date) = l.cnis_avis_date {
        standing.push(format!(
            "après avis d’opportunité du Cnis du {}",
            justat_model::french::day_of(date)
        ));
    }
    let mut text = String::new();
    if !standing.is_empty() {
        let mut first = standing.join(", ");
        if l.visa_number.is_none() {
            first = format!("Enquête {first}");
        }
        text.push_str(&first);
        text.push_str(". ");
    }
    text.push_str(
        "Vos réponses sont protégées par le secret statistique (loi n° 51-711 du 7 juin 1951).",
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use justat_store::LegalStanding;

    fn standing() -> LegalStanding {
        LegalStanding {
            cnis_avis_date: Some(jiff::civil::date(2025, 3, 12)),
            cnis_avis_reference: Some("n° 2025-45".into()),
            label: Some("conformité".into()),
            visa_number: Some("2026X004JU".into()),
            visa_year: Some(2026),
            mandatory: true,
        }
    }

    #[test]
    fn the_short_notice_says_visa_obligation_cnis_opinion_and_secrecy() {
        assert_eq!(
            short_notice(&standing()),
            "Enquête reconnue d’intérêt général et de qualité statistique (visa n° 2026X004JU valable en 2026), à caractère obligatoire, après avis d’opportunité du Cnis du 12 mars 2025. Vos réponses sont protégées par le secret statistique (loi n° 51-711 du 7 juin 1951)."
        );
    }

    #[test]
    fn a_short_notice_without_visa_or_obligation_says_only_what_holds() {
        let mut l = standing();
        l.visa_number = None;
        l.visa_year = None;
        l.mandatory = false;
        assert_eq!(
            short_notice(&l),
            "Enquête après avis d’opportunité du Cnis du 12 mars 2025. Vos réponses sont protégées par le secret statistique (loi n° 51-711 du 7 juin 1951)."
        );
        l.cnis_avis_date = None;
        assert_eq!(
            short_notice(&l),
            "Vos réponses sont protégées par le secret statistique (loi n° 51-711 du 7 juin 1951)."
        );
    }
}
