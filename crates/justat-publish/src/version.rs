//! A publication's version: built from its source (tables, page, files, PDF, provenance) and
//! saved as a draft, previewed without saving, and moved through its lifecycle as a user.

use crate::tables::{Patterns, protected_tables};
use crate::{PublishError, put_file};
use jiff::Timestamp;
use justat_model::provenance::{Provenance, TableDefinition, TableProvenance};
use justat_model::publication::{Action, Collection, VersionState};
use justat_render::{BuildError, Built, DataTable, Edition, PublicationSource};
use justat_store::{Actor, Lake, LakeKind, NewVersion, PublicationVersion, Store};
use std::collections::BTreeMap;
use std::path::Path;

/// Refuses a user whose role does not build publications (only statisticians and the head of
/// service do, as only they take a version's first step).
pub async fn check_may_build(store: &Store, username: &str) -> Result<(), PublishError> {
    let who = store.user(username).await?;
    if !Action::Submit.allowed(who.role) {
        return Err(PublishError::MayNotBuild {
            username: username.to_string(),
            role: who.role.label_fr(),
        });
    }
    Ok(())
}

/// Takes a lifecycle action on a version of a publication (its latest by default) as
/// `username`, whose role decides what they may do.
pub async fn act_as(
    store: &Store,
    collection: Collection,
    slug: &str,
    version: Option<i64>,
    username: &str,
    action: Action,
    at: Option<Timestamp>,
) -> Result<PublicationVersion, PublishError> {
    let who = store.user(username).await?;
    let version = match version {
        Some(v) => v,
        None => {
            store
                .publication_version(collection, slug, None)
                .await?
                .ok_or_else(|| PublishError::NoPublication {
                    collection,
                    slug: slug.to_string(),
                })?
                .version
        }
    };
    Ok(store
        .publication_action(
            collection,
            slug,
            version,
            action,
            who.role,
            &Actor::user(username),
            at,
            Timestamp::now(),
        )
        .await?)
}

/// Builds the publication in the folder `dir` and saves it; returns the saved version.
pub async fn import_dir(
    store: &Store,
    lake: &Lake,
    dir: &Path,
    actor: &Actor,
) -> Result<PublicationVersion, PublishError> {
    let source = PublicationSource::read_dir(dir)?;
    import_source(store, lake, &source, actor).await
}

/// Builds a publication's source and saves it; returns the saved version. Nothing is saved
/// when any step fails (the files put in the lake before are content-addressed and unused).
pub async fn import_source(
    store: &Store,
    lake: &Lake,
    source: &PublicationSource,
    actor: &Actor,
) -> Result<PublicationVersion, PublishError> {
    let front = &source.front;
    let (_, tables, built) = build(store, lake, source, Patterns::Record).await?;
    let pdf = justat_pdf::compile(&built.pdf.source, &built.pdf.files).map_err(|e| BuildError {
        file: source.publication_file(),
        line: 0,
        message: e.to_string(),
    })?;
    let pdf = justat_render::OutFile {
        name: justat_render::PDF_NAME.into(),
        media_type: "application/pdf",
        bytes: pdf,
    };
    let mut files = Vec::new();
    for f in built.files.iter().chain([&pdf]) {
        let stored = put_file(lake, LakeKind::Publication, &f.name, f.media_type, &f.bytes)
            .map_err(|e| PublishError::Lake {
                name: f.name.clone(),
                source: e,
            })?;
        files.push(stored);
    }
    let provenance = Provenance {
        tables: tables
            .iter()
            .map(|(name, t)| {
                let table = TableProvenance {
                    title: t.title().to_string(),
                    source: t.source().to_string(),
                    champ: t.champ().to_string(),
                    provenance: t.provenance().clone(),
                    definition: source.table(name).map(|d| TableDefinition {
                        cube: d.cube.clone(),
                        measure: d.measure.clone(),
                        rows: d.rows.clone(),
                        columns: d.columns.clone(),
                        filters: d.filters.clone(),
                        periods: d.needed_periods(),
                    }),
                };
                (name.clone(), table)
            })
            .collect(),
        citations: built.citations.clone(),
    };
    let new = NewVersion {
        collection: front.collection,
        slug: front.slug.clone(),
        number: front.number.clone(),
        title: built.title.clone(),
        summary: built.summary.clone(),
        theme: front.theme.clone(),
        period: front.period.clone(),
        authors: front.authors.clone(),
        keywords: front.keywords.clone(),
        erratum: front.erratum.clone(),
        html: built.html.clone(),
        sources: serde_json::json!(source.files),
        figures: serde_json::json!(built.figures),
        provenance,
        files,
        content_hash: built.content_hash.clone(),
    };
    Ok(store.save_build(&new, actor, Timestamp::now()).await?)
}

pub use justat_model::job::PublicationPreview as Preview;

/// Previews a publication's source: the checks and the page of a build, without the PDF and
/// without saving anything.
pub async fn preview_source(
    store: &Store,
    lake: &Lake,
    source: &PublicationSource,
) -> Result<Preview, PublishError> {
    let (version, _, built) = build(store, lake, source, Patterns::Discard).await?;
    Ok(Preview {
        version,
        title: built.title,
        summary: built.summary,
        html: built.html,
    })
}

/// What a build and a preview share: the version number the build gets, the publication's
/// tables read, protected and certified (their patterns recorded or not), and the page, files
/// and PDF source built from them.
async fn build(
    store: &Store,
    lake: &Lake,
    source: &PublicationSource,
    patterns: Patterns,
) -> Result<(i64, BTreeMap<String, DataTable>, Built), PublishError> {
    let front = &source.front;
    let version = next_version(store, front.collection, &front.slug).await?;
    let tables = protected_tables(store, lake, source, patterns).await?;
    let built = justat_render::build(source, &tables, &edition(source, version))?;
    Ok((version, tables, built))
}

/// The version `version` of a source, at its address.
fn edition(source: &PublicationSource, version: i64) -> Edition {
    Edition {
        version: version as u32,
        address: format!(
            "/publications/{}/{}/v{version}",
            source.front.collection.slug(),
            source.front.slug
        ),
        release: None,
    }
}

/// The version number a build of this publication will get (see `Store::save_build`).
async fn next_version(
    store: &Store,
    collection: Collection,
    slug: &str,
) -> Result<i64, PublishError> {
    Ok(
        match store.publication_version(collection, slug, None).await? {
            None => 1,
            Some(v) if v.state == VersionState::Draft => v.version,
            Some(v) if v.state.was_released() => v.version + 1,
            Some(v) => {
                return Err(PublishError::Frozen {
                    collection,
                    slug: slug.to_string(),
                    version: v.version,
                    state: v.state.as_str(),
                });
            }
        },
    )
}
