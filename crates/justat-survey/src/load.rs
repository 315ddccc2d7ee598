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
