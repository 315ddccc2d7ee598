//! What a server needs to keep rendered public pages without ever showing them stale: the
//! generation of the public state, and the next instant at which it changes by itself.

use crate::{Store, StoreError, time};
use jiff::Timestamp;
use sqlx::Row;

impl Store {
    /// The number of committed write transactions that may have changed what the public sees
    /// (by any process on this database). Equal numbers, no such change in between.
    pub async fn public_generation(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query("SELECT generation FROM public_state WHERE id = 1")
                .fetch_one(self.pool())
                .await?
                .try_get("generation")?,
        )
    }

    /// The first instant after `now` at which what the public sees changes without a write:
    /// a version's release instant (its own, or its confirmed release's), or a confirmed
    /// release's instant (the calendar shows it published from then on, even with nothing
    /// on it). `None` when nothing is scheduled.
    pub async fn next_public_instant(
        &self,
        now: Timestamp,
    ) -> Result<Option<Timestamp>, StoreError> {
        let row = sqlx::query(
            "SELECT MIN(t) AS t FROM (
                 SELECT released_at AS t FROM dated_versions
                 WHERE state IN ('released', 'corrected') AND released_at > $1
                 UNION ALL
                 SELECT release_at AS t FROM releases
                 WHERE status = 'confirmed' AND release_at > $1 AND 1 = 1
             ) AS upcoming",
        )
        .bind(time::to_db(now))
        .fetch_one(self.pool())
        .await?;
        row.try_get::<Option<String>, _>("t")?
            .map(|t| time::from_db(&t))
            .transpose()
    }
}
