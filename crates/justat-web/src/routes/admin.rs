//! The back office: dashboard, audit log, accounts.

use crate::AppState;
use crate::auth::{ManageAccounts, ReadAuditLog, Require, SessionCtx, Staff, page};
use crate::error::WebError;
use crate::form::ValidForm;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use justat_model::{Permission, Role, Username, french};
use justat_store::{Actor, NewUser, StoreError};
use minijinja::context;
use serde::{Deserialize, Serialize};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard))
        .route("/journal", get(audit_log))
        .route("/utilisateurs", get(users).post(create_user))
        .route("/utilisateurs/{username}/role", post(change_role))
        .route("/utilisateurs/{username}/desactiver", post(disable))
        .route("/utilisateurs/{username}/reactiver", post(enable))
        .route(
            "/utilisateurs/{username}/mot-de-passe",
            post(reset_password),
        )
}

#[derive(Serialize)]
struct Section {
    href: &'static str,
    title: &'static str,
    description: &'static str,
}

const SECTIONS: &[(Permission, Section)] = &[
    (
        Permission::Produce,
        Section {
            href: "/admin/livraisons",
            title: "Livraisons",
            description: "Déposer l’extraction d’une application de gestion et consulter le contrôle de chaque livraison.",
        },
    ),
    (
        Permission::Produce,
        Section {
            href: "/admin/chaines",
            title: "Chaînes de traitement",
            description: "Lancer une chaîne sur des livraisons et consulter les traitements, leurs manifestes et les cubes produits.",
        },
    ),
    (
        Permission::Produce,
        Section {
            href: "/admin/publications",
            title: "Publications",
            description: "Les versions des publications, leur aperçu, leur traçabilité jusqu’aux livraisons, et leur circuit de validation.",
        },
    ),
    (
        Permission::Produce,
        Section {
            href: "/admin/calendrier",
            title: "Calendrier des parutions",
            description: "Annoncer les parutions, confirmer, déplacer ou annuler une date avec son motif public.",
        },
    ),
    (
        Permission::EditProgramme,
        Section {
            href: "/admin/programme-de-travail",
            title: "Programme de travail",
            description: "Le programme de l’année présenté au Cnis : synthèse, opérations et leur état, avis du Cnis et réponses du service, avec l’historique de chaque modification.",
        },
    ),
    (
        Permission::ReadUnderEmbargo,
        Section {
            href: "/admin/embargo",
            title: "Salle d’embargo",
            description: "Les publications auxquelles vous avez un accès anticipé, pendant leur fenêtre d’embargo.",
        },
    ),
    (
        Permission::ReadEmbargoLists,
        Section {
            href: "/admin/listes-embargo",
            title: "Listes d’accès anticipé",
            description: "Les destinataires de chaque parution sous embargo, leur approbation, le journal de leurs accès et la transmission à l’Autorité de la statistique publique.",
        },
    ),
    (
        Permission::ReadDashboards,
        Section {
            href: "/admin/tableaux-de-bord",
            title: "Tableaux de bord de pilotage",
            description: "Les indicateurs de pilotage et les séries de la statistique publique suivis par votre direction, par territoire et par période.",
        },
    ),
    (
        Permission::FollowSurveys,
        Section {
            href: "/admin/enquetes",
            title: "Enquêtes",
            description: "Le suivi des campagnes de collecte : taux de réponse, unités, relances, contrôle et correction des réponses, imputation et validation.",
        },
    ),
    (
        Permission::ReadAuditLog,
        Section {
            href: "/admin/journal",
            title: "Journal d’audit",
            description: "Toutes les actions enregistrées, et la vérification de l’intégrité du journal.",
        },
    ),
    (
        Permission::ManageAccounts,
        Section {
            href: "/admin/utilisateurs",
            title: "Comptes",
            description: "Créer, désactiver des comptes, changer leur rôle ou leur mot de passe.",
        },
    ),
];

async fn dashboard(Staff(s): Staff) -> Result<Html<String>, WebError> {
    let sections: Vec<&Section> = SECTIONS
        .iter()
        .filter(|(p, _)| s.user.role.allows(*p))
        .map(|(_, sec)| sec)
        .collect();
    page(
        "admin/index.html",
        "Espace de travail",
        "admin",
        Some(&s),
        context! { sections => crate::view::ser(&sections) },
    )
}

#[derive(Deserialize)]
struct AuditQuery {
    avant: Option<i64>,
    verifier: Option<u8>,
}

#[derive(Serialize)]
struct AuditRow {
    seq: i64,
    at: String,
    actor: String,
    action: String,
    object: String,
    details: String,
}

const AUDIT_PAGE: i64 = 50;

async fn audit_log(
    State(state): State<AppState>,
    Require(s, ..): Require<ReadAuditLog>,
    Query(q): Query<AuditQuery>,
) -> Result<Html<String>, WebError> {
    let entries = state.store.audit_page(q.avant, AUDIT_PAGE).await?;
    let total = state.store.audit_len().await?;
    let rows: Vec<AuditRow> = entries
        .iter()
        .map(|e| AuditRow {
            seq: e.seq,
            at: e
                .at
                .parse::<Timestamp>()
                .map_or_else(|_| e.at.clone(), french::date_time),
            actor: e.actor.clone(),
            action: e.action.clone(),
            object: e.object.clone(),
            details: e.details.clone(),
        })
        .collect();
    let verification = match q.verifier {
        Some(_) => Some(match state.store.verify_audit().await? {
            Ok(count) => context! {
                ok => true, count => french::integer(count as i64),
                anchor => anchor_check(&state.store).await?,
            },
            Err(br) => context! {
                ok => false, problem => describe_break(&br),
                anchor => anchor_check(&state.store).await?,
            },
        }),
        None => None,
    };
    let (first, last) = match (entries.first(), entries.last()) {
        (Some(f), Some(l)) => (l.seq, f.seq),
        _ => (0, 0),
    };
    let older = entries.last().filter(|l| l.seq > 1).map(|l| l.seq);
    page(
        "admin/audit.html",
        "Journal d’audit",
        "admin",
        Some(&s),
        context! { entries => crate::view::ser(&rows), total, first, last, older, verification },
    )
}

/// The table checked against the signed checkpoints kept outside the database: a consistent
/// chain proves nothing against someone who recomputed it whole.
async fn anchor_check(store: &justat_store::Store) -> Result<minijinja::Value, WebError> {
    let Some(config) = store.checkpoint_config() else {
        return Ok(context! { status => "none" });
    };
    let key = match justat_store::checkpoints::load_public_key(&config.key) {
        Ok(k) => k,
        Err(e) => {
            tracing::error!(error = %e, "the audit key cannot be read");
            return Ok(context! { status => "nokey" });
        }
    };
    Ok(
        match store
            .verify_audit_checkpoints(&config.file(), &[key])
            .await?
        {
            Ok(r) => match &r.latest {
                None => context! { status => "empty" },
                Some(c) => context! {
                    status => "ok",
                    checked => french::integer(r.checked as i64),
                    seq => french::integer(c.seq),
                    at => french::date_time(c.at),
                    unanchored => french::integer(r.unanchored),
                },
            },
            Err(b) => context! { status => "broken", problem => describe_checkpoint_break(&b) },
        },
    )
}

/// A departure from the signed checkpoints, in French.
fn describe_checkpoint_break(b: &justat_model::checkpoint::CheckpointBreak) -> String {
    use justat_model::checkpoint::CheckpointBreak::*;
    match b {
        Unreadable { line, reason } => {
            format!("La ligne {line} du fichier des points de contrôle est illisible ({reason}).")
        }
        BadSignature { line, seq } => format!(
            "Le point de contrôle de la ligne {line} (entrée n° {seq}) est falsifié : sa signature ne correspond pas à son contenu."
        ),
        UnknownKey {
            line,
            seq,
            fingerprint,
        } => format!(
            "Le point de contrôle de la ligne {line} (entrée n° {seq}) est signé par une clé qui n’est pas celle de Justat ({fingerprint})."
        ),
        Rewritten {
            line,
            seq,
            at,
            from,
            ..
        } => format!(
            "Le journal a été réécrit : le point de contrôle signé le {} (ligne {line}) atteste une autre empreinte pour l’entrée n° {seq} que celle de la base ; une entrée entre les n° {from} et {seq} a été modifiée et la chaîne recalculée.",
            french::date_time(*at)
        ),
        Truncated {
            line,
            seq,
            at,
            last,
        } => format!(
            "Le journal a été tronqué : le point de contrôle signé le {} (ligne {line}) atteste l’entrée n° {seq}, absente de la base (sa dernière entrée est la n° {last}).",
            french::date_time(*at)
        ),
    }
}

/// A chain break, in French.
fn describe_break(b: &justat_model::ChainBreak) -> String {
    use justat_model::ChainBreak::*;
    match b {
        Edited { seq } => format!(
            "L’entrée n° {seq} a été modifiée : son contenu ne correspond plus à la chaîne d’empreintes."
        ),
        Deleted { seq } => format!("L’entrée n° {seq} a été supprimée."),
        Inserted { seq } => format!(
            "L’entrée n° {seq} a été insérée : elle n’a pas été écrite par Justat à cette place."
        ),
        Reordered { seq, written_as } => format!(
            "L’entrée n° {seq} a été déplacée : elle avait été écrite comme entrée n° {written_as}."
        ),
        TailDeleted { from, to } => {
            format!("Les entrées n° {from} à {to} ont été supprimées de la fin du journal.")
        }
    }
}

#[derive(Deserialize)]
struct UsersQuery {
    fait: Option<String>,
    compte: Option<String>,
}

#[derive(Serialize)]
struct UserRow {
    username: String,
    display_name: String,
    role: &'static str,
    disabled: bool,
    created_at: String,
}

async fn users_page(
    state: &AppState,
    s: &SessionCtx,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    let users = match state.store.list_users().await {
        Ok(u) => u,
        Err(e) => return WebError::from(e).into_response(),
    };
    let users: Vec<UserRow> = users
        .into_iter()
        .map(|u| UserRow {
            username: u.username,
            display_name: u.display_name,
            role: u.role.as_str(),
            disabled: u.disabled,
            created_at: french::date_time(u.created_at),
        })
        .collect();
    let roles: Vec<_> = Role::ALL
        .iter()
        .map(|r| context! { id => r.as_str(), label => r.label_fr() })
        .collect();
    match page(
        "admin/users.html",
        "Comptes",
        "admin",
        Some(s),
        context! { users => crate::view::ser(&users), roles, notice, error },
    ) {
        Ok(html) => (status, html).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn users(
    State(state): State<AppState>,
    Require(s, ..): Require<ManageAccounts>,
    Query(q): Query<UsersQuery>,
) -> Response {
    let who = q.compte.unwrap_or_default();
    let notice = q.fait.as_deref().and_then(|f| match f {
        "cree" => Some(format!("Le compte {who} a été créé.")),
        "role" => Some(format!(
            "Le rôle de {who} a été changé ; ses sessions ouvertes ont été fermées."
        )),
        "desactive" => Some(format!(
            "Le compte {who} a été désactivé ; ses sessions ouvertes ont été fermées."
        )),
        "reactive" => Some(format!("Le compte {who} a été réactivé.")),
        "mot-de-passe" => Some(format!(
            "Le mot de passe de {who} a été réinitialisé ; ses sessions ouvertes ont été fermées."
        )),
        _ => None,
    });
    users_page(&state, &s, StatusCode::OK, notice, None).await
}

fn done(what: &str, username: &str) -> Response {
    Redirect::to(&format!(
        "/admin/utilisateurs?fait={what}&compte={}",
        crate::error::urlencode(username)
    ))
    .into_response()
}

/// A user's mistake shown on the accounts page; anything else is an internal error.
async fn refused(state: &AppState, s: &SessionCtx, e: StoreError) -> Response {
    let message = match &e {
        StoreError::Conflict { key, .. } => format!("Le compte {key} existe déjà."),
        StoreError::NotFound { key, .. } => format!("Il n’y a pas de compte {key}."),
        StoreError::Password(p) => password_problem_fr(p),
        _ => return WebError::from(e).into_response(),
    };
    users_page(state, s, StatusCode::BAD_REQUEST, None, Some(message)).await
}

fn password_problem_fr(p: &justat_model::PasswordProblem) -> String {
    use justat_model::PasswordProblem::*;
    match p {
        TooShort { len, min } => {
            format!("Le mot de passe doit compter au moins {min} caractères (il en a {len}).")
        }
        TooLong { len, max } => {
            format!("Le mot de passe doit compter au plus {max} caractères (il en a {len}).")
        }
        ContainsUsername => "Le mot de passe ne doit pas être l’identifiant.".to_string(),
    }
}

#[derive(Deserialize)]
struct CreateUserForm {
    username: String,
    display_name: String,
    role: String,
    password: String,
}

async fn create_user(
    State(state): State<AppState>,
    Require(s, ..): Require<ManageAccounts>,
    ValidForm(f): ValidForm<CreateUserForm>,
) -> Response {
    let username = match Username::parse(f.username.trim()) {
        Ok(u) => u,
        Err(_) => {
            let msg = format!(
                "L’identifiant « {} » n’est pas valide : de 2 à 64 caractères parmi les lettres minuscules, les chiffres, « . », « _ » et « - ».",
                f.username
            );
            return users_page(&state, &s, StatusCode::BAD_REQUEST, None, Some(msg)).await;
        }
    };
    let Ok(role) = f.role.parse::<Role>() else {
        return WebError::BadRequest(format!("Le rôle « {} » n’existe pas.", f.role))
            .into_response();
    };
    let display_name = f.display_name.trim().to_string();
    if display_name.is_empty() || display_name.chars().count() > 200 {
        let msg = "Le nom affiché doit compter de 1 à 200 caractères.".to_string();
        return users_page(&state, &s, StatusCode::BAD_REQUEST, None, Some(msg)).await;
    }
    let new = NewUser {
        username,
        display_name,
        role,
        password: f.password,
    };
    match state
        .store
        .create_user(&new, &Actor::user(&s.user.username), Timestamp::now())
        .await
    {
        Ok(u) => done("cree", &u.username),
        Err(e) => refused(&state, &s, e).await,
    }
}

#[derive(Deserialize)]
struct RoleForm {
    role: String,
}

async fn change_role(
    State(state): State<AppState>,
    Require(s, ..): Require<ManageAccounts>,
    Path(username): Path<String>,
    ValidForm(f): ValidForm<RoleForm>,
) -> Response {
    let Ok(role) = f.role.parse::<Role>() else {
        return WebError::BadRequest(format!("Le rôle « {} » n’existe pas.", f.role))
            .into_response();
    };
    if username == s.user.username && role != Role::Admin {
        let msg = "Vous ne pouvez pas retirer votre propre rôle d’administrateur : demandez-le à un autre administrateur.".to_string();
        return users_page(&state, &s, StatusCode::BAD_REQUEST, None, Some(msg)).await;
    }
    match state
        .store
        .set_role(
            &username,
            role,
            &Actor::user(&s.user.username),
            Timestamp::now(),
        )
        .await
    {
        Ok(u) => done("role", &u.username),
        Err(e) => refused(&state, &s, e).await,
    }
}

#[derive(Deserialize)]
struct EmptyForm {}

async fn set_disabled(
    state: AppState,
    s: SessionCtx,
    username: String,
    disabled: bool,
) -> Response {
    if disabled && username == s.user.username {
        let msg = "Vous ne pouvez pas désactiver votre propre compte.".to_string();
        return users_page(&state, &s, StatusCode::BAD_REQUEST, None, Some(msg)).await;
    }
    match state
        .store
        .set_disabled(
            &username,
            disabled,
            &Actor::user(&s.user.username),
            Timestamp::now(),
        )
        .await
    {
        Ok(u) => done(if disabled { "desactive" } else { "reactive" }, &u.username),
        Err(e) => refused(&state, &s, e).await,
    }
}

async fn disable(
    State(state): State<AppState>,
    Require(s, ..): Require<ManageAccounts>,
    Path(username): Path<String>,
    ValidForm(_): ValidForm<EmptyForm>,
) -> Response {
    set_disabled(state, s, username, true).await
}

async fn enable(
    State(state): State<AppState>,
    Require(s, ..): Require<ManageAccounts>,
    Path(username): Path<String>,
    ValidForm(_): ValidForm<EmptyForm>,
) -> Response {
    set_disabled(state, s, username, false).await
}

#[derive(Deserialize)]
struct PasswordForm {
    password: String,
}

async fn reset_password(
    State(state): State<AppState>,
    Require(s, ..): Require<ManageAccounts>,
    Path(username): Path<String>,
    ValidForm(f): ValidForm<PasswordForm>,
) -> Response {
    match state
        .store
        .reset_password(
            &username,
            &f.password,
            &Actor::user(&s.user.username),
            Timestamp::now(),
        )
        .await
    {
        Ok(u) => done("mot-de-passe", &u.username),
        Err(e) => refused(&state, &s, e).await,
    }
}
