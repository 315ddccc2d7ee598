//! The back office's editor of a publication's source (`publication.md` and `tables.toml`):
//! a new publication or a version's text, previewed or saved as a draft through a job, since
//! building reads cubes and runs the secret statistique, which the web crate does not link.
//! The sources travel in the job, so a failed build loses nothing of what was typed.

use crate::AppState;
use crate::auth::{Produce, Require, SessionCtx, page};
use crate::error::WebError;
use crate::form::ValidForm;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use justat_model::job::{EditorFiles, JobOutcome, JobRequest, PublicationPreview};
use justat_model::publication::{Collection, VersionState};
use justat_store::{Actor, JobStatus, StoreError};
use minijinja::context;
use serde::Deserialize;

/// The largest source the editor accepts (both files, URL-encoded).
const MAX_SOURCE_BYTES: usize = 1024 * 1024;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/publications/nouvelle", get(new_publication))
        .route(
            "/publications/editeur",
            post(submit).layer(DefaultBodyLimit::max(MAX_SOURCE_BYTES)),
        )
        .route("/publications/editeur/{job}", get(job_page))
        .route(
            "/publications/{collection}/{slug}/{version}/modifier",
            get(edit_version),
        )
}

/// What a new publication starts from: the front matter every publication needs, one table
/// and one figure, each line saying what to put there.
const NEW_PUBLICATION: &str = r#"+++
collection = "infos-rapides"          # chiffres-cles, references-statistiques, infostat, infos-rapides
number = "1"                          # le numéro dans la collection
slug = "nouvelle-publication"         # l’adresse : /publications/<collection>/<slug>
title = "{{ valeur condamnations ligne=_T arrondi=1000 }} condamnations en 2024"
summary = ""
authors = ["Prénom Nom"]
period = "2024"
theme = "Condamnations"
keywords = []
+++
Les atteintes aux biens représentent {{ part condamnations ligne=G_BIENS sur=_T }} des condamnations.

::: figure condamnations
graphique: barres
lecture: En 2024, {{ valeur condamnations ligne=G_BIENS }} condamnations ont sanctionné une atteinte aux biens.
:::
"#;

const NEW_TABLES: &str = r#"[[table]]
name = "condamnations"
title = "Condamnations selon la nature de l’infraction en 2024"
cube = "cjn_convictions"
measure = "condamnations"
period = "2024"
rows = "offence_group"
champ = "France entière, condamnations prononcées pour crime, délit ou contravention de 5e classe."
unit = "nombre de condamnations"
"#;

/// The editor's page: the two texts, and what the last build of them said.
#[derive(Default)]
struct Editor {
    heading: String,
    publication: String,
    tables: String,
    notice: Option<String>,
    job: Option<i64>,
    pending: bool,
    error: Option<String>,
    saved: Option<(String, String)>,
    preview: Option<PublicationPreview>,
}

fn render(s: &SessionCtx, e: Editor) -> Result<Html<String>, WebError> {
    page(
        "admin/publication_editor.html",
        &e.heading.clone(),
        "admin",
        Some(s),
        context! {
            heading => e.heading,
            publication => e.publication,
            tables => e.tables,
            notice => e.notice,
            job => e.job,
            pending => e.pending,
            error => e.error,
            saved_href => e.saved.as_ref().map(|s| s.0.clone()),
            saved_label => e.saved.map(|s| s.1),
            preview_title => e.preview.as_ref().map(|p| p.title.clone()),
            preview_summary => e.preview.as_ref().map(|p| p.summary.clone()),
            preview_version => e.preview.as_ref().map(|p| p.version),
            preview_body => e.preview.map(|p| {
                // The build's own HTML: every text in it was escaped by the renderer.
                minijinja::Value::from_safe_string(p.html)
            }),
        },
    )
}

async fn new_publication(Require(s, ..): Require<Produce>) -> Result<Html<String>, WebError> {
    render(
        &s,
        Editor {
            heading: "Nouvelle publication".into(),
            publication: NEW_PUBLICATION.into(),
            tables: NEW_TABLES.into(),
            ..Editor::default()
        },
    )
}

async fn edit_version(
    State(state): State<AppState>,
    Require(s, ..): Require<Produce>,
    Path((collection, slug, version)): Path<(String, String, String)>,
) -> Result<Html<String>, WebError> {
    let c: Collection = collection.parse().map_err(|_| WebError::NotFound)?;
    let n: i64 = version
        .strip_prefix('v')
        .and_then(|v| v.parse().ok())
        .ok_or(WebError::NotFound)?;
    let latest = state
        .store
        .publication_version(c, &slug, None)
        .await?
        .ok_or(WebError::NotFound)?;
    if latest.version != n {
        return Err(WebError::BadRequest(format!(
            "La version {n} n’est pas la dernière : modifiez la version {}.",
            latest.version
        )));
    }
    let notice = match latest.state {
        VersionState::Draft => None,
        s if s.was_released() => Some(
            "Cette version est publiée : l’enregistrement crée une version corrigée, qui remplacera celle-ci à sa parution. Indiquez ce qui change dans l’en-tête, par une ligne erratum = \"…\"."
                .to_string(),
        ),
        _ => {
            return Err(WebError::BadRequest(
                "Cette version est soumise ou validée : son contenu est figé. Renvoyez-la en brouillon pour la modifier."
                    .into(),
            ));
        }
    };
    let file = |name: &str| {
        latest.sources[name]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    render(
        &s,
        Editor {
            heading: format!("Modifier « {} »", latest.title),
            publication: file("publication.md"),
            tables: file("tables.toml"),
            notice,
            ..Editor::default()
        },
    )
}

#[derive(Deserialize)]
struct EditorForm {
    publication: String,
    #[serde(default)]
    tables: String,
    intent: Intent,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Intent {
    Apercu,
    Enregistrer,
}

async fn submit(
    State(state): State<AppState>,
    Require(s, ..): Require<Produce>,
    ValidForm(form): ValidForm<EditorForm>,
) -> Result<Response, WebError> {
    // Browsers send text areas with CRLF line ends; the sources are kept as files are.
    let unix = |t: &str| t.replace("\r\n", "\n");
    let request = JobRequest::Publication {
        save: form.intent == Intent::Enregistrer,
        files: EditorFiles {
            publication: unix(&form.publication),
            tables: unix(&form.tables),
        },
    };
    let job = state
        .store
        .enqueue_job(&request, &Actor::user(&s.user.username), Timestamp::now())
        .await?;
    Ok(Redirect::to(&format!("/admin/publications/editeur/{}", job.id)).into_response())
}

async fn job_page(
    State(state): State<AppState>,
    Require(s, ..): Require<Produce>,
    Path(id): Path<i64>,
) -> Result<Html<String>, WebError> {
    let job = match state.store.job(id).await {
        Ok(j) => j,
        Err(StoreError::NotFound { .. }) => return Err(WebError::NotFound),
        Err(e) => return Err(e.into()),
    };
    let Ok(JobRequest::Publication { save, files }) = job.request.clone() else {
        return Err(WebError::NotFound);
    };
    let saved = match &job.result {
        Some(JobOutcome::Saved { saved: v }) => Some((
            format!(
                "/admin/publications/{}/{}/v{}",
                v.collection.slug(),
                v.slug,
                v.version
            ),
            format!(
                "Brouillon enregistré (version {}) : voir la version, sa traçabilité et la soumettre",
                v.version
            ),
        )),
        _ => None,
    };
    let preview = match &job.result {
        Some(JobOutcome::Preview { preview }) => Some(preview.clone()),
        _ => None,
    };
    render(
        &s,
        Editor {
            heading: if save {
                "Enregistrement de la publication".into()
            } else {
                "Aperçu de la publication".into()
            },
            publication: files.publication,
            tables: files.tables,
            job: Some(id),
            pending: matches!(job.status, JobStatus::Queued | JobStatus::Running),
            error: job.error.clone(),
            saved,
            preview,
            notice: None,
        },
    )
}
