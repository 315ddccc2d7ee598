//! What leaves the building before a release's instant: the stamped copy of a version's PDF
//! for an early-access recipient, and the transmission of a release's list to the Autorité de
//! la statistique publique (the list as CSV, the letter as PDF, the access log on request).

use crate::{PublishError, put_file};
use jiff::Timestamp;
use justat_model::Sha256Hex;
use justat_model::publication::Collection;
use justat_render::asp::{
    AspAccess, AspCheckpoint, AspExport, AspRecipient, accesses_csv, letter, recipients_csv,
};
use justat_store::{Actor, Lake, LakeKind, Store, StoredFile};

/// A file of the transmission to the ASP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AspFile {
    /// Its name (`<collection>-<slug>-destinataires.csv`, `…-lettre-asp.pdf`, `…-acces.csv`).
    pub name: String,
    /// Its media type.
    pub media_type: &'static str,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// The transmission to the ASP of a release's list: the list as CSV, the PDF letter and, when
/// asked, the access log as CSV.
pub async fn asp_files(
    store: &Store,
    c: Collection,
    slug: &str,
    access_log: bool,
    now: Timestamp,
) -> Result<Vec<AspFile>, PublishError> {
    let release = store
        .release(c, slug)
        .await?
        .ok_or_else(|| PublishError::NotInCalendar {
            collection: c,
            slug: slug.to_string(),
        })?;
    let list = store
        .embargo_list(c, slug)
        .await?
        .ok_or_else(|| PublishError::NoEmbargoList {
            collection: c,
            slug: slug.to_string(),
        })?;
    let accesses = if access_log {
        Some(
            store
                .embargo_accesses(c, slug)
                .await?
                .into_iter()
                .map(|a| AspAccess {
                    at: a.at,
                    who: a.who,
                    file: a.file,
                    version: a.version,
                    ip: a.ip,
                    user_agent: a.user_agent,
                })
                .collect::<Vec<_>>(),
        )
    } else {
        None
    };
    let export = AspExport {
        release: format!("{}, {}", release.title, c.label_fr()),
        release_at: release.release_at,
        window_hours: list.window_hours,
        approved: list.approved_by.clone().zip(list.approved_at),
        recipients: list
            .recipients
            .iter()
            .map(|r| AspRecipient {
                name: r.name.clone(),
                function: r.function.clone(),
                organisation: r.organisation.clone(),
                email: r.email.clone(),
                category: r.category.label_fr().to_string(),
                justification: r.justification.clone(),
                proposed: (r.added_by.clone(), r.added_at),
            })
            .collect(),
        accesses,
        generated_at: now,
        checkpoint: transmitted_checkpoint(store, now).await,
    };
    let base = format!("{}-{slug}", c.slug());
    let doc = letter(&export);
    let pdf = justat_pdf::compile(&doc.source, &doc.files).map_err(PublishError::Letter)?;
    let mut files = vec![
        AspFile {
            name: format!("{base}-destinataires.csv"),
            media_type: "text/csv; charset=utf-8",
            bytes: recipients_csv(&export),
        },
        AspFile {
            name: format!("{base}-lettre-asp.pdf"),
            media_type: "application/pdf",
            bytes: pdf,
        },
    ];
    if let Some(a) = &export.accesses {
        files.push(AspFile {
            name: format!("{base}-acces.csv"),
            media_type: "text/csv; charset=utf-8",
            bytes: accesses_csv(a),
        });
    }
    Ok(files)
}

/// The audit log's checkpoint the transmission carries: one signed now, so that the ASP holds
/// the head as it is; if signing fails, the latest in the file (the failure is logged); none
/// without a key.
async fn transmitted_checkpoint(store: &Store, now: Timestamp) -> Option<AspCheckpoint> {
    let config = store.checkpoint_config()?;
    let signed = match store.checkpoint(now).await {
        Ok(Some(c)) => Some(c),
        Ok(None) => None,
        Err(e) => {
            tracing::error!(error = %e, "cannot sign an audit checkpoint for the ASP: the latest one is sent");
            justat_store::checkpoints::latest_checkpoint(&config.file())
                .ok()
                .flatten()
        }
    }?;
    Some(AspCheckpoint {
        seq: signed.checkpoint.seq,
        hash: signed.checkpoint.hash.to_string(),
        at: signed.checkpoint.at,
        signature: signed.signature_hex(),
        fingerprint: signed.fingerprint(),
        line: signed.to_line(),
    })
}

/// Makes the transmission to the ASP (with the access log), puts its files into the lake and
/// records that it was generated; returns the files as stored.
pub async fn transmit_to_asp(
    store: &Store,
    lake: &Lake,
    c: Collection,
    slug: &str,
    actor: &Actor,
    now: Timestamp,
) -> Result<Vec<StoredFile>, PublishError> {
    let files = asp_files(store, c, slug, true, now).await?;
    let mut stored = Vec::new();
    for f in &files {
        stored.push(put_file(
            lake,
            LakeKind::Transmission,
            &f.name,
            f.media_type,
            &f.bytes,
        )?);
    }
    store.record_asp_export(c, slug, false, actor, now).await?;
    Ok(stored)
}

/// Stamps every page of a version's PDF with `banner` (the recipient's name and the embargo),
/// puts the copy into the lake and records it as given to `recipient`; returns its SHA-256.
#[allow(clippy::too_many_arguments)]
pub async fn stamped_copy(
    store: &Store,
    lake: &Lake,
    c: Collection,
    slug: &str,
    version: i64,
    banner: &str,
    recipient: &str,
    now: Timestamp,
) -> Result<Sha256Hex, PublishError> {
    let v = store
        .publication_version(c, slug, Some(version))
        .await?
        .ok_or(PublishError::NoVersion)?;
    let f = v.file(justat_render::PDF_NAME).ok_or(PublishError::NoPdf)?;
    let original = std::fs::read(lake.path(LakeKind::Publication, &f.sha256, "pdf"))?;
    let pages = justat_pdf::page_count(&original)?;
    let source = justat_render::typst::stamped(pages, banner);
    let copy = justat_pdf::compile(
        &source,
        &[(justat_render::typst::STAMPED_ORIGINAL.to_string(), original)],
    )?;
    let sha = lake.put_bytes(LakeKind::Transmission, &copy, "pdf")?;
    store
        .record_embargo_copy(c, slug, recipient, version, &sha, now)
        .await?;
    Ok(sha)
}
