//! The embargo room: a listed recipient accepts the embargo terms once, then reads — only
//! while the window is open — the frozen version of the releases they are listed on, marked
//! with the embargo's end and their name. Every view and download is in the audit log (who,
//! when, which version and file, address, user agent). The PDF is the recipient's own stamped
//! copy, made by the job runner when they ask for it (a POST; reading a page queues nothing).
//! Anything else answers as what does not exist.

use crate::AppState;
use crate::auth::{ClientMeta, ReadUnderEmbargo, Require, SessionCtx, page};
use crate::error::WebError;
use crate::form::ValidForm;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use justat_model::Sha256Hex;
use justat_model::embargo::{Access, ListStatus, Window, access, window};
use justat_model::french;
use justat_model::job::{self, JobRequest};
use justat_model::publication::{Collection, is_frozen_before_release};
use justat_store::{Actor, AuditRecord, JobStatus, PublicationVersion, Recipient, Release};
use minijinja::context;
use serde::Serialize;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/embargo", get(room))
        .route("/embargo/conditions", post(accept_terms))
        .route("/embargo/{collection}/{slug}", get(read))
        .route(
            "/embargo/{collection}/{slug}/fichiers/{file}",
            get(download),
        )
        .route(
            "/embargo/{collection}/{slug}/exemplaire",
            post(prepare_copy),
        )
}

/// The terms a recipient accepts before reading anything.
const TERMS: &[&str] = &[
    "Les publications consultées ici sont couvertes par un embargo jusqu’à l’instant de leur parution : leur contenu ne doit être ni diffusé, ni commenté publiquement, ni communiqué à quiconque avant cet instant.",
    "L’accès est personnel : il ne doit être ni partagé ni délégué.",
    "Chaque consultation et chaque téléchargement sont enregistrés (date, heure, version, fichier, adresse et navigateur) ; la liste des destinataires et, sur demande, ces enregistrements sont transmis à l’Autorité de la statistique publique.",
    "Tout manquement est consigné au registre des incidents et entraîne le retrait de l’accès anticipé.",
];

/// What a recipient may see of one release now.
struct Grant {
    release: Release,
    version: Option<PublicationVersion>,
    recipient: Option<Recipient>,
    window: Window,
    access: Access,
}

/// The window and access of `username` to a release, at `now`.
async fn grant(
    state: &AppState,
    username: &str,
    collection: Collection,
    slug: &str,
    now: Timestamp,
) -> Result<Option<Grant>, WebError> {
    let Some(release) = state.store.release(collection, slug).await? else {
        return Ok(None);
    };
    let list = state.store.embargo_list(collection, slug).await?;
    let version = state
        .store
        .publication_version(collection, slug, None)
        .await?;
    // The frozen version: approved, or scheduled and not public yet.
    let frozen = version
        .as_ref()
        .is_some_and(|v| is_frozen_before_release(v.state, v.released_at, now));
    let recipient = list
        .as_ref()
        .and_then(|l| l.recipients.iter().find(|r| r.username == username))
        .cloned();
    let w = window(
        release.state(),
        frozen,
        list.as_ref().map(|l| l.status),
        list.as_ref().map_or(0, |l| l.window_hours),
        now,
    );
    let listed = recipient.is_some()
        && list
            .as_ref()
            .is_some_and(|l| l.status == ListStatus::Approved);
    let terms = state
        .store
        .embargo_terms_accepted(username)
        .await?
        .is_some();
    Ok(Some(Grant {
        access: access(w, listed, terms),
        release,
        version: version.filter(|_| frozen),
        recipient,
        window: w,
    }))
}

#[derive(Serialize)]
struct RoomLine {
    title: String,
    collection: &'static str,
    when: String,
    state: String,
    href: Option<String>,
}

/// What the room says of a release, and the link to read it when access is granted.
fn room_state(
    access: Access,
    window: Window,
    c: Collection,
    slug: &str,
) -> (String, Option<String>) {
    match (access, window) {
        (Access::Granted, Window::Open { closes }) => (
            format!("Accès ouvert jusqu’au {}", french::date_time(closes)),
            Some(format!("/admin/embargo/{}/{slug}", c.slug())),
        ),
        (_, Window::Before { opens, .. }) => (
            format!("Accès à partir du {}", french::date_time(opens)),
            None,
        ),
        (_, Window::Closed) => (
            "Parue : l’accès anticipé est terminé ; la publication est sur le site public"
                .to_string(),
            None,
        ),
        (Access::NotListed, _) => (
            "La liste des destinataires n’est pas encore approuvée".to_string(),
            None,
        ),
        _ => (
            "Pas encore d’accès : la date ou la version de la publication n’est pas encore arrêtée"
                .to_string(),
            None,
        ),
    }
}

async fn room(
    State(state): State<AppState>,
    Require(s, ..): Require<ReadUnderEmbargo>,
) -> Result<Html<String>, WebError> {
    let now = Timestamp::now();
    let accepted = state.store.embargo_terms_accepted(&s.user.username).await?;
    let mut lines = Vec::new();
    if accepted.is_some() {
        for (c, slug) in state.store.releases_listing(&s.user.username).await? {
            let Some(g) = grant(&state, &s.user.username, c, &slug, now).await? else {
                continue;
            };
            let (text, href) = room_state(g.access, g.window, c, &slug);
            lines.push(RoomLine {
                title: g.release.title.clone(),
                collection: c.label_fr(),
                when: g.release.when_fr(),
                state: text,
                href,
            });
        }
    }
    page(
        "admin/embargo.html",
        "Salle d’embargo",
        "admin",
        Some(&s),
        context! {
            terms => crate::view::ser(&TERMS),
            accepted => accepted.map(french::date_time),
            lines => crate::view::ser(&lines),
        },
    )
}

async fn accept_terms(
    State(state): State<AppState>,
    Require(s, ..): Require<ReadUnderEmbargo>,
    ValidForm(_): ValidForm<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    state
        .store
        .accept_embargo_terms(&s.user.username, Timestamp::now())
        .await?;
    Ok(Redirect::to("/admin/embargo").into_response())
}

/// The release and version a recipient may read now, or nothing (404).
async fn granted(
    state: &AppState,
    s: &SessionCtx,
    collection: &str,
    slug: &str,
) -> Result<(Release, PublicationVersion, Recipient, Timestamp), WebError> {
    let c: Collection = collection.parse().map_err(|_| WebError::NotFound)?;
    let g = grant(state, &s.user.username, c, slug, Timestamp::now())
        .await?
        .ok_or(WebError::NotFound)?;
    match (g.access, g.window, g.version, g.recipient) {
        (Access::Granted, Window::Open { closes }, Some(v), Some(r)) => {
            Ok((g.release, v, r, closes))
        }
        _ => Err(WebError::NotFound),
    }
}

/// Records a view or download in the audit log.
async fn log_access(
    state: &AppState,
    s: &SessionCtx,
    v: &PublicationVersion,
    file: &str,
    meta: &ClientMeta,
) -> Result<(), WebError> {
    let now = Timestamp::now();
    state
        .store
        .audit(
            AuditRecord::new(
                &Actor::user(&s.user.username),
                if file == "page" {
                    "embargo.view"
                } else {
                    "embargo.download"
                },
                format!("{}/{}/v{}", v.collection.slug(), v.slug, v.version),
            )
            .with(serde_json::json!({
                "file": file, "version": v.version, "content_hash": v.content_hash,
                "ip": meta.ip, "user_agent": meta.user_agent,
            })),
            now,
        )
        .await?;
    Ok(())
}

async fn read(
    State(state): State<AppState>,
    Require(s, ..): Require<ReadUnderEmbargo>,
    meta: ClientMeta,
    Path((collection, slug)): Path<(String, String)>,
) -> Result<Html<String>, WebError> {
    let (release, v, recipient, closes) = granted(&state, &s, &collection, &slug).await?;
    log_access(&state, &s, &v, "page", &meta).await?;
    let here = format!("/admin/embargo/{}/{}", v.collection.slug(), v.slug);
    let files: Vec<(String, String)> = v
        .files
        .iter()
        .map(|f| (format!("{here}/fichiers/{}", f.name), f.name.clone()))
        .collect();
    // The body was built for the public site: its links to the version's files and page
    // answer 404 until the instant, so they are moved into the room.
    let body = justat_render::links::relocate(
        &v.html,
        &justat_render::links::Relocation {
            public: &format!("/publications/{}/{}", v.collection.slug(), v.slug),
            version: v.version,
            page: &here,
        },
    );
    page(
        "admin/embargo_publication.html",
        &v.title,
        "admin",
        Some(&s),
        context! {
            v => crate::view::ser(&v),
            until => french::date_time(closes),
            release_title => release.title,
            recipient => crate::view::ser(&recipient),
            collection_label => v.collection.label_fr(),
            number => v.collection.number_label(&v.number),
            body => minijinja::Value::from_safe_string(body),
            files,
        },
    )
}

/// Where a recipient's own copy of a version's PDF stands.
enum StampedCopy {
    /// Made: its SHA-256 in the lake.
    Ready(Sha256Hex),
    /// Asked for, being made.
    Pending,
    /// The job failed, with its error.
    Failed(String),
    /// Not asked for yet.
    NotAsked,
}

/// The recipient's copy of version `v`: made, being made, failed, or not asked for.
async fn stamped_copy(
    state: &AppState,
    username: &str,
    v: &PublicationVersion,
) -> Result<StampedCopy, WebError> {
    let copy = state
        .store
        .embargo_copy(v.collection, &v.slug, username, v.version)
        .await?;
    if let Some(sha) = copy {
        return Ok(StampedCopy::Ready(sha));
    }
    let last = state
        .store
        .latest_job(job::kind::EMBARGO_COPY, username)
        .await?
        .filter(|j| {
            matches!(&j.request, Ok(JobRequest::EmbargoCopy { slug, version, .. })
                if *slug == v.slug && *version == v.version)
        });
    Ok(match last {
        Some(j) => match j.status {
            JobStatus::Queued | JobStatus::Running => StampedCopy::Pending,
            JobStatus::Failed => StampedCopy::Failed(j.error.unwrap_or_default()),
            JobStatus::Done => StampedCopy::NotAsked,
        },
        None => StampedCopy::NotAsked,
    })
}

/// What the job runner needs to stamp `recipient`'s copy of `v`: the version, and the banner
/// on every page (the embargo's end and who the copy is for).
fn copy_request(v: &PublicationVersion, recipient: &Recipient, closes: Timestamp) -> JobRequest {
    JobRequest::EmbargoCopy {
        collection: v.collection,
        slug: v.slug.clone(),
        version: v.version,
        banner: format!(
            "Sous embargo jusqu’au {} — exemplaire de {} ({}) — ne pas diffuser",
            french::date_time(closes),
            recipient.name,
            recipient.organisation
        ),
    }
}

/// The address of a recipient's copy of a release's PDF in the room.
fn copy_href(collection: &str, slug: &str) -> String {
    format!(
        "/admin/embargo/{collection}/{slug}/fichiers/{}",
        justat_render::PDF_NAME
    )
}

/// Asks the job runner for the recipient's stamped copy of the PDF, unless it is made or being
/// made, then sends them to it.
async fn prepare_copy(
    State(state): State<AppState>,
    Require(s, ..): Require<ReadUnderEmbargo>,
    Path((collection, slug)): Path<(String, String)>,
    ValidForm(_): ValidForm<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let (_, v, recipient, closes) = granted(&state, &s, &collection, &slug).await?;
    if v.file(justat_render::PDF_NAME).is_none() {
        return Err(WebError::NotFound);
    }
    if let StampedCopy::NotAsked = stamped_copy(&state, &s.user.username, &v).await? {
        state
            .store
            .enqueue_job(
                &copy_request(&v, &recipient, closes),
                &Actor::user(&s.user.username),
                Timestamp::now(),
            )
            .await?;
    }
    Ok(Redirect::to(&copy_href(&collection, &slug)).into_response())
}

async fn download(
    State(state): State<AppState>,
    Require(s, ..): Require<ReadUnderEmbargo>,
    meta: ClientMeta,
    Path((collection, slug, file)): Path<(String, String, String)>,
) -> Result<Response, WebError> {
    let (_, v, _, _) = granted(&state, &s, &collection, &slug).await?;
    if v.file(&file).is_none() {
        return Err(WebError::NotFound);
    }
    if file != justat_render::PDF_NAME {
        log_access(&state, &s, &v, &file, &meta).await?;
        return crate::routes::publications::serve_file(&state, &v, &file);
    }
    // The PDF is the recipient's own copy, stamped with the embargo's end and their name,
    // made once by the job runner (which typesets) when they ask for it (a POST: reading a
    // page never queues work); until then this page offers to ask, or waits for it.
    let pending = match stamped_copy(&state, &s.user.username, &v).await? {
        StampedCopy::Ready(sha) => return serve_copy(&state, &s, &v, &sha, &meta).await,
        StampedCopy::Failed(error) => {
            return Err(WebError::Internal(format!(
                "the stamped copy failed: {error}"
            )));
        }
        StampedCopy::Pending => true,
        StampedCopy::NotAsked => false,
    };
    Ok(page(
        "admin/embargo_copy.html",
        "Préparation de votre exemplaire",
        "admin",
        Some(&s),
        context! {
            pending,
            href => copy_href(&collection, &slug),
            action => format!("/admin/embargo/{collection}/{slug}/exemplaire"),
        },
    )?
    .into_response())
}

/// The recipient's stamped copy, its download logged.
async fn serve_copy(
    state: &AppState,
    s: &SessionCtx,
    v: &PublicationVersion,
    sha: &Sha256Hex,
    meta: &ClientMeta,
) -> Result<Response, WebError> {
    log_access(state, s, v, justat_render::PDF_NAME, meta).await?;
    let path = justat_store::Lake::new(&state.config.data_dir).path(
        justat_store::LakeKind::Transmission,
        sha,
        "pdf",
    );
    let bytes = std::fs::read(&path)
        .map_err(|e| WebError::Internal(format!("cannot read {}: {e}", path.display())))?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/pdf".to_string(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{}\"",
                    justat_render::stamped_copy_name(&v.slug, v.version, &s.user.username)
                ),
            ),
        ],
        bytes,
    )
        .into_response())
}
