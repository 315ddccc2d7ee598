//! The crate's one I/O: reading a questionnaire file whose path is given.

use crate::questionnaire::{Diagnostic, LoadError, Questionnaire};
use std::path::Path;

/// Reads a questionnaire: TOML (`.toml`) or Lunatic JSON (`.json`). Diagnostics name the file
/// as given.
pub fn load(path: &Path) -> Result<Questionnaire, LoadError> {
    let file = path.display().to_string();
    let fail = |message: String| {
        LoadError(vec![Diagnostic {
            file: file.clone(),
            line: 1,
            message,
        }])
    };
    let meta = std::fs::metadata(path).map_err(|e| fail(format!("lecture impossible : {e}")))?;
    if meta.len() > crate::toml_file::MAX_FILE_LEN as u64 {
        return Err(fail(format!(
            "fichier trop grand (plus de {} octets)",
            crate::toml_file::MAX_FILE_LEN
        )));
    }
    let text =
        std::fs::read_to_string(path).map_err(|e| fail(format!("lecture impossible : {e}")))?;
    match path.extension().and_then(|e| e.to_str()) {
        Some("toml") => crate::toml_file::parse(&file, &text),
        Some("json") => crate::lunatic::import(&file, &text),
        _ => Err(fail(
            "extension attendue : .toml (questionnaire Justat) ou .json (Lunatic)".into(),
        )),
    }
}

/// Why a campaign's questionnaire cannot be read from the questionnaires' folder, in French.
#[derive(Debug, thiserror::Error)]
pub enum CampaignFileError {
    /// The survey identifier cannot name a file.
    #[error("l’identifiant d’enquête « {0} » ne désigne aucun fichier de questionnaire")]
    BadId(String),
    /// Neither `<dir>/<id>.toml` nor `<dir>/lunatic/<id>.json` exists.
    #[error("le fichier du questionnaire « {0} » est introuvable")]
    Missing(String),
    /// The file cannot be read.
    #[error("le fichier {path} est illisible ({reason})")]
    Unreadable {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The file is not the one the campaign was created with.
    #[error(
        "le fichier {0} n’est pas celui de la campagne (empreinte SHA-256 différente de celle enregistrée à sa création)"
    )]
    OtherFile(String),
    /// The file does not load.
    #[error("le fichier est invalide ({0})")]
    Invalid(LoadError),
    /// The file is another version of the questionnaire.
    #[error(
        "le fichier {path} est la version {found} du questionnaire, la campagne attend la version {expected}"
    )]
    OtherVersion {
        /// The file.
        path: String,
        /// Its version.
        found: u32,
        /// The campaign's.
        expected: String,
    },
}

/// Reads a campaign's questionnaire from `dir` by its survey identifier (`<id>.toml`, else
/// `lunatic/<id>.json`), checked against the SHA-256 and version the campaign recorded, so
/// that what is shown, controlled and imputed is exactly the questionnaire it was created with.
pub fn load_for_campaign(
    dir: &Path,
    survey_id: &str,
    sha256: &justat_model::Sha256Hex,
    version: &str,
) -> Result<Questionnaire, CampaignFileError> {
    let safe = !survey_id.is_empty()
        && survey_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !safe {
        return Err(CampaignFileError::BadId(survey_id.to_string()));
    }
    let candidates = [
        dir.join(format!("{survey_id}.toml")),
        dir.join("lunatic").join(format!("{survey_id}.json")),
    ];
    let path = candidates
        .iter()
        .find(|p| p.is_file())
        .ok_or_else(|| CampaignFileError::Missing(survey_id.to_string()))?;
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| CampaignFileError::Unreadable {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    if justat_model::Sha256Hex::of(&bytes) != *sha256 {
        return Err(CampaignFileError::OtherFile(shown));
    }
    let q = load(path).map_err(CampaignFileError::Invalid)?;
    if q.version.to_string() != version {
        return Err(CampaignFileError::OtherVersion {
            path: shown,
            found: q.version,
            expected: version.to_string(),
        });
    }
    Ok(q)
}
