//! The PDF of a year's work programme: read from the store as it stands, laid out as the
//! Cnis's programme (`justat_model::programme::year_view`), typeset by Typst and kept in the
//! lake with the revision it shows. Run by the worker after each edit and by the demo, never
//! by the web server.

use crate::PublishError;
use jiff::Timestamp;
use justat_model::Sha256Hex;
use justat_store::{Lake, LakeKind, Store};

/// Typesets the PDF of `year`'s programme unless the latest one already shows its latest
/// revision; returns the PDF's digest (none when nothing was written for the year).
pub async fn typeset_programme(
    store: &Store,
    lake: &Lake,
    year: i16,
    now: Timestamp,
) -> Result<Option<Sha256Hex>, PublishError> {
    let (view, revision) = store.programme_view(year).await?;
    if revision == 0 {
        return Ok(None);
    }
    if let Some(pdf) = store.programme_pdf(year).await?
        && pdf.revision >= revision
    {
        return Ok(Some(pdf.sha256));
    }
    let doc = justat_render::programme::programme_pdf(&view);
    let pdf = justat_pdf::compile(&doc.source, &doc.files)?;
    let sha = lake.put_bytes(LakeKind::Publication, &pdf, "pdf")?;
    store
        .record_programme_pdf(year, revision, &sha, now)
        .await?;
    Ok(Some(sha))
}
