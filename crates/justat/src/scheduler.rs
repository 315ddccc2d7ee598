//! What the server does by the clock, beside answering requests: the release scheduler, which
//! records each release as published once its instant has come and its publication is public
//! (or a late release in the incident register), and the daily signed checkpoint of the audit
//! log.

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
