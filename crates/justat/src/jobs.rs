//! The jobs a worker runs (`justat worker`): the long work the back office queues (delivery
//! checks, chain runs, publications built or previewed from the editor, stamped copies,
//! transmissions to the ASP, respondents' acknowledgements of receipt), each executed by calling the library that does it, recording
//! progress for the job's page. The process that claims them is `crate::worker`.

use crate::config::Config;
use justat_engine::chain::{Chain, RunOptions, run_chain};
use justat_engine::ingest::add_delivery;
use justat_engine::source::Source;
use justat_model::job::{JobOutcome, JobRequest, SavedVersion};
use justat_render::PublicationSource;
use justat_store::{Actor, Job, Lake, Store};
use std::time::Duration;

/// Set to `1` in a worker's environment, accepts the job kinds the end-to-end tests use to
/// make a job panic or wait. Nothing in Justat queues them (the back office queues only its
/// own kinds); without the variable, and in any release build, they are unknown kinds.
pub const TEST_KINDS_VAR: &str = "JUSTAT_TEST_JOB_KINDS";

/// Typesets a respondent's acknowledgement of receipt and keeps it in the lake.
fn survey_receipt(
    lake: &Lake,
    receipt: &justat_model::survey::SurveyReceipt,
) -> Result<justat_model::Sha256Hex, String> {
    let doc = justat_render::survey_receipt(receipt).map_err(|e| e.to_string())?;
    let pdf = justat_pdf::compile(&doc.source, &doc.files).map_err(|e| e.to_string())?;
    lake.put_bytes(justat_store::LakeKind::Transmission, &pdf, "pdf")
        .map_err(|e| format!("the acknowledgement cannot be stored in the lake: {e}"))
}

/// Sends progress lines to the store from synchronous callbacks, at most one a second.
fn progress_writer(
    store: &Store,
    id: i64,
) -> (
    tokio::sync::watch::Sender<String>,
    tokio::task::JoinHandle<()>,
) {
    let (tx, mut rx) = tokio::sync::watch::channel(String::new());
    let store = store.clone();
    let task = tokio::spawn(async move {
        while rx.changed().await.is_ok() {
            let line = rx.borrow_and_update().clone();
            let _ = store.job_progress(id, &line).await;
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    (tx, task)
}

/// Executes one job; its outcome (JSON for the job's page) or its error, in French where a
/// user reads it.
pub async fn execute(
    store: &Store,
    lake: &Lake,
    config: &Config,
    job: &Job,
    test_kinds: bool,
) -> Result<JobOutcome, String> {
    let actor = Actor::user(&job.created_by);
    let (tx, task) = progress_writer(store, job.id);
    let request = match &job.request {
        Ok(request) => request,
        Err(e) => return Err(e.to_string()),
    };
    let result = match request {
        JobRequest::Delivery { source, path, .. } => {
            let result = async {
                let source = Source::load(source).map_err(|e| e.to_string())?;
                add_delivery(store, lake, &source, path, &actor, &mut |rows| {
                    let _ = tx.send(format!("{rows} lignes contrôlées"));
                })
                .await
                .map_err(|e| e.to_string())
            }
            .await;
            // The original is in the lake (or was refused): the upload is no longer needed.
            let _ = std::fs::remove_file(path);
            result.map(|d| JobOutcome::Delivery {
                delivery: d.id,
                status: d.status,
            })
        }
        JobRequest::ChainRun { chain, deliveries } => {
            async {
                let chain = Chain::load(chain).map_err(|e| e.to_string())?;
                let options = RunOptions {
                    memory_limit_bytes: config.engine_memory_mib as usize * 1024 * 1024,
                    ..RunOptions::default()
                };
                let run = run_chain(
                    store,
                    lake,
                    &chain,
                    deliveries,
                    &options,
                    &actor,
                    &mut |done, total, what| {
                        let _ = tx.send(format!("étape {done} sur {total} : {what}"));
                    },
                )
                .await
                .map_err(|e| e.to_string())?;
                // The dashboards follow the newer cube here, in the worker, so that the web
                // server never computes (or protects) a table.
                let mut dashboards = Vec::new();
                if run.cube_id.is_some() {
                    let _ = tx.send("tableaux de bord de pilotage mis à jour".into());
                    dashboards = justat_publish::dashboard::refresh(
                        store,
                        lake,
                        &actor,
                        jiff::Timestamp::now(),
                    )
                    .await
                    .map_err(|e| e.to_string())?
                    .computed;
                }
                Ok(JobOutcome::ChainRun {
                    run: run.id,
                    cube: run.cube_id,
                    dashboards,
                })
            }
            .await
        }
        JobRequest::Publication { save, files } => async {
            justat_publish::check_may_build(store, &job.created_by).await?;
            // The editor's source has no folder: its errors name the files alone.
            let source = PublicationSource::parse("", &files.publication, &files.tables)?;
            let _ = tx.send("tableaux lus, protégés et audités, page construite".into());
            Ok(if *save {
                let v = justat_publish::import_source(store, lake, &source, &actor).await?;
                JobOutcome::Saved {
                    saved: SavedVersion {
                        collection: v.collection,
                        slug: v.slug,
                        version: v.version,
                    },
                }
            } else {
                let p = justat_publish::preview_source(store, lake, &source).await?;
                JobOutcome::Preview { preview: p }
            })
        }
        .await
        .map_err(|e: anyhow::Error| format!("{e:#}")),
        JobRequest::EmbargoCopy {
            collection,
            slug,
            version,
            banner,
        } => justat_publish::stamped_copy(
            store,
            lake,
            *collection,
            slug,
            *version,
            banner,
            &job.created_by,
            jiff::Timestamp::now(),
        )
        .await
        .map(|sha256| JobOutcome::EmbargoCopy { sha256 })
        .map_err(|e| format!("{:#}", anyhow::Error::from(e))),
        JobRequest::AspExport { collection, slug } => {
            let now = jiff::Timestamp::now();
            justat_publish::transmit_to_asp(store, lake, *collection, slug, &actor, now)
                .await
                .map(|files| JobOutcome::AspExport { files })
                .map_err(|e| format!("{:#}", anyhow::Error::from(e)))
        }
        JobRequest::SurveyReceipt { receipt, .. } => {
            let _ = tx.send("accusé de réception en composition".into());
            survey_receipt(lake, receipt)
                .map(|receipt_sha256| JobOutcome::SurveyReceipt { receipt_sha256 })
        }
        JobRequest::ProgrammePdf { year } => {
            let _ = tx.send("programme de travail en composition".into());
            justat_publish::typeset_programme(store, lake, *year, jiff::Timestamp::now())
                .await
                .map(|programme_pdf| JobOutcome::ProgrammePdf {
                    programme_year: *year,
                    programme_pdf,
                })
                .map_err(|e| format!("{:#}", anyhow::Error::from(e)))
        }
        JobRequest::TestPanic { message } if test_kinds => panic!("{message}"),
        JobRequest::TestSleep { seconds } if test_kinds => {
            let _ = tx.send("en sommeil".into());
            tokio::time::sleep(Duration::from_secs(*seconds)).await;
            Ok(JobOutcome::Slept { slept: *seconds })
        }
        JobRequest::TestPanic { .. } | JobRequest::TestSleep { .. } => {
            Err(format!("unknown job kind `{}`", job.kind))
        }
    };
    drop(tx);
    let _ = task.await;
    result
}

/// The sources and chains offered by the back office.
pub fn catalog() -> justat_web::Catalog {
    let sources = justat_engine::source::SHIPPED
        .iter()
        .filter_map(|(id, _)| Source::load(id).ok())
        .map(|s| justat_web::CatalogEntry {
            id: s.id,
            label: s.label,
            source: None,
            version: Some(s.version),
        })
        .collect();
    let chains = justat_engine::chain::SHIPPED
        .iter()
        .filter_map(|(id, _)| Chain::load(id).ok())
        .map(|c| justat_web::CatalogEntry {
            id: c.id,
            label: c.label,
            source: Some(c.source),
            version: Some(c.version),
        })
        .collect();
    justat_web::Catalog { sources, chains }
}
