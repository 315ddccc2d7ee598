//! The jobs a worker runs (`justat worker`): the long work the back office queues (delivery
//! checks, chain runs, publications built or previewed from the editor, stamped copies,
//! transmissions to the ASP), one job at a time, recording progress for the job's page.

use crate::config::Config;
use crate::worker::Current;
use anyhow::Context;
use justat_engine::chain::{Chain, RunOptions, run_chain};
use justat_engine::ingest::add_delivery;
use justat_engine::source::Source;
use justat_render::PublicationSource;
use justat_render::source::{PUBLICATION_FILE, TABLES_FILE};
use justat_store::{Actor, Job, Lake, Store};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Set to `1` in a worker's environment, accepts the job kinds the end-to-end tests use to
/// make a job panic or wait. Nothing in Justat queues them (the back office queues only its
/// own kinds); without the variable, and in any release build, they are unknown kinds.
pub const TEST_KINDS_VAR: &str = "JUSTAT_TEST_JOB_KINDS";

/// Where and why the last panic of this process happened, kept by the panic hook so that a
/// job's error names the place, which the panic's payload lacks.
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// Runs queued jobs, as worker `worker`, until the process ends. A job that panics fails
/// with the panic's message and place; the worker goes on with the next one.
pub async fn work(store: Store, config: Config, worker: String, current: Current) {
    let default_hook = Arc::new(std::panic::take_hook());
    std::panic::set_hook(Box::new(move |info| {
        let place = info
            .location()
            .map(|l| format!(" ({}:{})", l.file(), l.line()))
            .unwrap_or_default();
        let message = info.payload_as_str().unwrap_or("sans message");
        *LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()) = Some(format!("{message}{place}"));
        default_hook(info);
    }));
    // Only debug builds (the ones the end-to-end tests run) can be switched to test kinds.
    let test_kinds =
        cfg!(debug_assertions) && std::env::var(TEST_KINDS_VAR).is_ok_and(|v| v == "1");
    let lake = Lake::new(&config.data_dir);
    let config = Arc::new(config);
    loop {
        match store.claim_job(&worker, jiff::Timestamp::now()).await {
            Ok(Some(job)) => {
                let id = job.id;
                *LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()) = None;
                *current.lock().unwrap_or_else(|e| e.into_inner()) = Some(id);
                tracing::info!(job = id, kind = %job.kind, "job started");
                let task = tokio::spawn({
                    let (store, lake, config) = (store.clone(), lake.clone(), config.clone());
                    async move { execute(&store, &lake, &config, &job, test_kinds).await }
                });
                let outcome = match task.await {
                    Ok(outcome) => outcome,
                    Err(e) => {
                        let what = LAST_PANIC
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .take()
                            .unwrap_or_else(|| e.to_string());
                        tracing::error!(job = id, panic = %what, "job panicked");
                        Err(format!(
                            "erreur interne de Justat pendant ce travail, qui est abandonné (les travaux suivants continuent) : {what}"
                        ))
                    }
                };
                // Memory refused under the limit may come back as an error or a panic (a
                // buffer, a thread) rather than end the process: the reason says so first.
                let outcome = outcome.map_err(|e| {
                    if config.worker_memory_mib > 0 && crate::worker::refused_memory(&e) {
                        format!(
                            "{} ; corrigez la cause puis relancez-le ({e})",
                            crate::worker::over_memory(config.worker_memory_mib)
                        )
                    } else {
                        e
                    }
                });
                if let Err(e) = &outcome {
                    tracing::warn!(job = id, error = %e, "job failed");
                }
                match store
                    .finish_job(id, &worker, outcome, jiff::Timestamp::now())
                    .await
                {
                    Ok(true) => tracing::info!(job = id, "job ended"),
                    Ok(false) => tracing::warn!(
                        job = id,
                        "the job was marked failed while it ran: its outcome is not recorded"
                    ),
                    Err(e) => {
                        tracing::error!(job = id, error = %e, "cannot record the end of a job")
                    }
                }
                *current.lock().unwrap_or_else(|e| e.into_inner()) = None;
            }
            Ok(None) => tokio::time::sleep(Duration::from_millis(500)).await,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the job queue");
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    }
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

async fn execute(
    store: &Store,
    lake: &Lake,
    config: &Config,
    job: &Job,
    test_kinds: bool,
) -> Result<serde_json::Value, String> {
    let actor = Actor::user(&job.created_by);
    let (tx, task) = progress_writer(store, job.id);
    let result = match job.kind.as_str() {
        "delivery" => {
            let source = job.params["source"].as_str().unwrap_or_default();
            let path = std::path::PathBuf::from(job.params["path"].as_str().unwrap_or_default());
            let result = async {
                let source = Source::load(source).map_err(|e| e.to_string())?;
                add_delivery(store, lake, &source, &path, &actor, &mut |rows| {
                    let _ = tx.send(format!("{rows} lignes contrôlées"));
                })
                .await
                .map_err(|e| e.to_string())
            }
            .await;
            // The original is in the lake (or was refused): the upload is no longer needed.
            let _ = std::fs::remove_file(&path);
            result.map(|d| serde_json::json!({ "delivery": d.id, "status": d.status }))
        }
        "chain_run" => {
            let chain = job.params["chain"].as_str().unwrap_or_default();
            let ids: Vec<i64> = job.params["deliveries"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_i64())
                .collect();
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
                    &ids,
                    &options,
                    &actor,
                    &mut |done, total, what| {
                        let _ = tx.send(format!("étape {done} sur {total} : {what}"));
                    },
                )
                .await
                .map_err(|e| e.to_string())?;
                Ok(serde_json::json!({ "run": run.id, "cube": run.cube_id }))
            }
            .await
        }
        "publication" => {
            let save = job.params["save"].as_bool().unwrap_or(false);
            let file = |name: &str| job.params["files"][name].as_str().unwrap_or_default();
            async {
                crate::publication::check_may_build(store, &job.created_by).await?;
                // The editor's source has no folder: its errors name the files alone.
                let source =
                    PublicationSource::parse("", file(PUBLICATION_FILE), file(TABLES_FILE))?;
                let _ = tx.send("tableaux lus, protégés et audités, page construite".into());
                Ok(if save {
                    let v =
                        crate::publication::import_source(config, store, &source, &actor).await?;
                    serde_json::json!({ "saved": {
                        "collection": v.collection.slug(), "slug": v.slug, "version": v.version,
                    } })
                } else {
                    let p = crate::publication::preview_source(config, store, &source).await?;
                    serde_json::json!({ "preview": p })
                })
            }
            .await
            .map_err(|e: anyhow::Error| format!("{e:#}"))
        }
        "embargo_copy" => async {
            let c: justat_model::Collection = job.params["collection"]
                .as_str()
                .unwrap_or_default()
                .parse()?;
            let slug = job.params["slug"].as_str().unwrap_or_default();
            let version = job.params["version"].as_i64().unwrap_or(0);
            let banner = job.params["banner"].as_str().unwrap_or_default();
            let v = store
                .publication_version(c, slug, Some(version))
                .await?
                .context("no such version")?;
            let f = v
                .file(justat_render::PDF_NAME)
                .context("the version has no PDF")?;
            let original =
                std::fs::read(lake.path(justat_store::LakeKind::Publication, &f.sha256, "pdf"))?;
            let pages = justat_pdf::page_count(&original)?;
            let source = justat_render::typst::stamped(pages, banner);
            let copy = justat_pdf::compile(
                &source,
                &[(justat_render::typst::STAMPED_ORIGINAL.to_string(), original)],
            )?;
            let sha = lake.put_bytes(justat_store::LakeKind::Transmission, &copy, "pdf")?;
            store
                .record_embargo_copy(
                    c,
                    slug,
                    &job.created_by,
                    version,
                    sha.as_str(),
                    jiff::Timestamp::now(),
                )
                .await?;
            Ok(serde_json::json!({ "sha256": sha.to_string() }))
        }
        .await
        .map_err(|e: anyhow::Error| format!("{e:#}")),
        "asp_export" => async {
            let c: justat_model::Collection = job.params["collection"]
                .as_str()
                .unwrap_or_default()
                .parse()?;
            let slug = job.params["slug"].as_str().unwrap_or_default();
            let now = jiff::Timestamp::now();
            let files = crate::embargo::asp_files(store, c, slug, true, now).await?;
            let mut stored = Vec::new();
            for (name, media_type, bytes) in &files {
                let ext = name.rsplit('.').next().unwrap_or("bin");
                let sha = lake.put_bytes(justat_store::LakeKind::Transmission, bytes, ext)?;
                stored.push(serde_json::json!({
                    "name": name, "media_type": media_type, "sha256": sha.to_string(),
                    "size": bytes.len(),
                }));
            }
            store.record_asp_export(c, slug, false, &actor, now).await?;
            Ok(serde_json::json!({ "files": stored }))
        }
        .await
        .map_err(|e: anyhow::Error| format!("{e:#}")),
        "test_panic" if test_kinds => {
            panic!("{}", job.params["message"].as_str().unwrap_or("test panic"))
        }
        "test_sleep" if test_kinds => {
            let seconds = job.params["seconds"].as_u64().unwrap_or(0);
            let _ = tx.send("en sommeil".into());
            tokio::time::sleep(Duration::from_secs(seconds)).await;
            Ok(serde_json::json!({ "slept": seconds }))
        }
        other => Err(format!("unknown job kind `{other}`")),
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
