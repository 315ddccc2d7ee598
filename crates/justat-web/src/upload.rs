//! A delivery uploaded through the back office, read from its multipart form. The file is
//! streamed to disk off the async worker threads: the request's task receives the chunks and
//! hands them over a bounded channel to a blocking thread that writes them, so a slow disk holds
//! neither an async worker nor more than a few chunks of memory.

use crate::error::WebError;
use axum::body::Bytes;
use axum::extract::Multipart;
use axum::extract::multipart::{Field, MultipartError};
use axum::http::StatusCode;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Chunks in flight between the request's task and the writing thread: enough to keep the
/// disk busy while the network delivers the next one, few enough to bound the memory.
const CHUNKS_IN_FLIGHT: usize = 8;

/// A file saved under the upload folder.
#[derive(Debug)]
pub(crate) struct SavedFile {
    /// Where it is.
    pub path: PathBuf,
    /// Its name as the browser sent it, without path separators.
    pub name: String,
}

/// The form of an upload, read and checked for its CSRF token.
#[derive(Debug)]
pub(crate) struct DeliveryUpload {
    /// The source chosen (not checked yet), empty when none.
    pub source: String,
    /// The file, if one was sent and not empty.
    pub file: Option<SavedFile>,
}

/// Why an upload's form was refused.
#[derive(Debug)]
pub(crate) enum UploadRefusal {
    /// The file sent is empty (nothing is kept of it).
    EmptyFile,
    /// Any other refusal, answered as this error.
    Error(WebError),
}

impl From<WebError> for UploadRefusal {
    fn from(e: WebError) -> Self {
        UploadRefusal::Error(e)
    }
}

fn bad(message: String) -> UploadRefusal {
    UploadRefusal::Error(WebError::BadRequest(message))
}

/// Reads the form of an upload: the CSRF field comes first and is checked against `csrf`
/// before anything else is read; the file is streamed into `dir`. On a refusal, nothing of the
/// file is left on disk.
pub(crate) async fn read_delivery_form(
    mut form: Multipart,
    csrf: &str,
    dir: &Path,
) -> Result<DeliveryUpload, UploadRefusal> {
    let mut csrf_ok = false;
    let mut source = None;
    let mut saved: Option<SavedFile> = None;
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return refused(saved, WebError::TooLarge.into()).await;
            }
            Err(e) => {
                let why = bad(format!(
                    "Le formulaire envoyé n’a pas pu être lu ({}).",
                    e.body_text()
                ));
                return refused(saved, why).await;
            }
        };
        match field.name().unwrap_or("") {
            "csrf" => {
                let v = field.text().await.unwrap_or_default();
                csrf_ok = v == csrf;
            }
            _ if !csrf_ok => return refused(saved, WebError::Csrf.into()).await,
            "source" => source = Some(field.text().await.unwrap_or_default()),
            "file" => {
                let name: String = field
                    .file_name()
                    .unwrap_or("livraison")
                    .chars()
                    .filter(|c| !matches!(c, '/' | '\\' | '\0'))
                    .collect();
                let path = dir.join(format!(
                    "{}-{}",
                    justat_store::sessions::random_token(),
                    name
                ));
                let size = match save(field, dir, &path).await {
                    Ok(size) => size,
                    Err(why) => return refused(saved, why).await,
                };
                if size == 0 {
                    remove(path).await;
                    return refused(saved, UploadRefusal::EmptyFile).await;
                }
                if let Some(earlier) = saved.replace(SavedFile { path, name }) {
                    remove(earlier.path).await;
                }
            }
            other => {
                let why = bad(format!("Champ inattendu dans le formulaire : « {other} »."));
                return refused(saved, why).await;
            }
        }
    }
    if !csrf_ok {
        return refused(saved, WebError::Csrf.into()).await;
    }
    Ok(DeliveryUpload {
        source: source.unwrap_or_default(),
        file: saved,
    })
}

/// A refusal, once the file saved so far (if any) is removed.
async fn refused<T>(saved: Option<SavedFile>, why: UploadRefusal) -> Result<T, UploadRefusal> {
    if let Some(f) = saved {
        remove(f.path).await;
    }
    Err(why)
}

/// Streams a field into a new file at `path` (its folder `dir` made if needed) and returns its
/// size; on an error the partial file is removed.
async fn save(mut field: Field<'_>, dir: &Path, path: &Path) -> Result<usize, UploadRefusal> {
    let (dir, target) = (dir.to_path_buf(), path.to_path_buf());
    let file = blocking(move || {
        std::fs::create_dir_all(&dir)
            .map_err(|e| WebError::Internal(format!("upload dir: {e}")))?;
        std::fs::File::create(&target).map_err(|e| WebError::Internal(format!("upload file: {e}")))
    })
    .await?;
    let (chunks, mut received) = tokio::sync::mpsc::channel::<Bytes>(CHUNKS_IN_FLIGHT);
    let writer = tokio::task::spawn_blocking(move || {
        let mut file = file;
        while let Some(chunk) = received.blocking_recv() {
            file.write_all(&chunk)
                .map_err(|e| WebError::Internal(format!("upload write: {e}")))?;
        }
        Ok::<(), WebError>(())
    });
    let mut size = 0usize;
    let read: Result<(), MultipartError> = loop {
        match field.chunk().await {
            Ok(Some(chunk)) => {
                size += chunk.len();
                // A closed channel means the writer stopped on an error, which it returns below.
                if chunks.send(chunk).await.is_err() {
                    break Ok(());
                }
            }
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    drop(chunks);
    let written = writer
        .await
        .map_err(|e| WebError::Internal(format!("upload writer: {e}")))
        .and_then(|w| w);
    let outcome = match (written, read) {
        (Err(e), _) => Err(UploadRefusal::Error(e)),
        (Ok(()), Err(e)) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            Err(WebError::TooLarge.into())
        }
        (Ok(()), Err(e)) => Err(bad(format!(
            "Le fichier n’a pas été reçu en entier ({}).",
            e.body_text()
        ))),
        (Ok(()), Ok(())) => Ok(size),
    };
    if outcome.is_err() {
        remove(path.to_path_buf()).await;
    }
    outcome
}

/// Removes a file that is not kept, off the async threads; a failure only leaves a stray
/// file in the upload folder, which nothing reads.
pub(crate) async fn remove(path: PathBuf) {
    if let Err(e) = tokio::task::spawn_blocking(move || std::fs::remove_file(path)).await {
        tracing::warn!(error = %e, "an upload left behind could not be removed");
    }
}

/// Runs a blocking file operation off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, WebError> + Send + 'static,
) -> Result<T, WebError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| WebError::Internal(format!("upload: {e}")))?
}
