//! A validated survey campaign as a delivery of its source `survey_<survey>`: every count-table
//! cell of every sampled unit in scope, with the value the statistics use (edited, else
//! imputed, else collected) and a flag saying whether it was imputed, written as a CSV in the
//! source's format, then received like any management application's extract
//! ([`justat_engine::ingest::add_delivery`]: the same checks, quarantine, lake and record).
//! The flag travels with each row, so a chain can count imputed units into its cube.

use justat_engine::ingest::add_delivery;
use justat_engine::source::Source;
use justat_model::survey::{CampaignState, ResponseStatus};
use justat_store::surveys::Answer as StoredAnswer;
use justat_store::{Actor, Delivery, Lake, Store, StoreError};
use justat_survey::{Answer, Questionnaire};
use std::io::Write;

/// The columns of a survey source, in header order.
pub const SURVEY_COLUMNS: [&str; 8] = [
    "period",
    "unit",
    "question",
    "row_code",
    "column_code",
    "value",
    "imputed",
    "imputation_method",
];

/// Why a campaign could not be delivered.
#[derive(Debug, thiserror::Error)]
pub enum SurveyDeliveryError {
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The delivery was refused (already delivered, unreadable…).
    #[error(transparent)]
    Engine(#[from] justat_engine::EngineError),
    /// The CSV could not be written.
    #[error("écriture de la livraison {path} : {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Only a validated campaign becomes a delivery.
    #[error(
        "la campagne n° {id} ({survey} {period}) est « {state} » : seule une campagne validée devient une livraison (justat survey validate)"
    )]
    NotValidated {
        /// The campaign.
        id: i64,
        /// Its survey.
        survey: String,
        /// Its period.
        period: String,
        /// Its state, in French.
        state: String,
    },
    /// The campaign's period is not a year.
    #[error(
        "la campagne n° {id} porte sur la période « {period} », qui n'est pas une année : une livraison d'enquête est annuelle"
    )]
    PeriodNotAYear {
        /// The campaign.
        id: i64,
        /// Its period.
        period: String,
    },
    /// The questionnaire given is not the campaign's.
    #[error(
        "le questionnaire « {given} » n'est pas celui de la campagne n° {id} (« {expected} ») : donnez le fichier de la campagne"
    )]
    WrongQuestionnaire {
        /// The campaign.
        id: i64,
        /// Its survey's questionnaire.
        expected: String,
        /// The one given.
        given: String,
    },
    /// The source does not have the survey columns.
    #[error(
        "la source « {source_id} » n'a pas les colonnes d'une source d'enquête ({expected}) : elle a {found}"
    )]
    NotASurveySource {
        /// The source.
        source_id: String,
        /// The expected header.
        expected: String,
        /// Its header.
        found: String,
    },
    /// A stored answer is not a value of its question's kind.
    #[error("réponse illisible de l'unité {unit} à « {path} » : {value}")]
    UnreadableAnswer {
        /// The unit.
        unit: String,
        /// The path.
        path: String,
        /// The stored JSON.
        value: String,
    },
}

/// One row of a survey delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellRow {
    /// The unit's code.
    pub unit: String,
    /// The count table's question id.
    pub question: String,
    /// The row's code.
    pub row: String,
    /// The column's code.
    pub column: String,
    /// The count.
    pub value: i64,
    /// The imputation's method when the value was imputed (and not corrected since).
    pub imputation_method: Option<String>,
}

/// A stored answer as the questionnaire's value: the form the portal saves (a serialized
/// [`Answer`]), or a bare JSON integer.
fn as_answer(v: &serde_json::Value) -> Option<Answer> {
    serde_json::from_value::<Answer>(v.clone())
        .ok()
        .or_else(|| v.as_i64().map(Answer::Integer))
}

/// Every answered count-table cell of one unit, with the value the statistics use and its
/// imputation flag. Cells left blank (a table hidden by a filter, a unit without an answer
/// nor an imputation) give no row; « ne sait pas » and « refus » give none either.
pub fn cell_rows(
    questionnaire: &Questionnaire,
    unit: &str,
    stored: &[StoredAnswer],
) -> Result<Vec<CellRow>, SurveyDeliveryError> {
    let mut answers = justat_survey::Answers::new();
    let mut methods = std::collections::BTreeMap::new();
    for a in stored {
        let Some(v) = a.value() else { continue };
        let answer = as_answer(v).ok_or_else(|| SurveyDeliveryError::UnreadableAnswer {
            unit: unit.to_string(),
            path: a.path.clone(),
            value: v.to_string(),
        })?;
        answers.set(a.path.clone(), answer);
        // An edit wins over an imputation: the value is then the statistician's.
        if a.edited.is_none() && a.imputed.is_some() {
            methods.insert(
                a.path.clone(),
                a.imputation_method
                    .clone()
                    .unwrap_or_else(|| "imputation".to_string()),
            );
        }
    }
    Ok(questionnaire
        .table_cells(&answers)
        .into_iter()
        .filter_map(|c| {
            let value = c.value?;
            let path = format!("{}.{}.{}", c.table, c.row, c.column);
            Some(CellRow {
                unit: unit.to_string(),
                imputation_method: methods.get(&path).cloned(),
                question: c.table,
                row: c.row,
                column: c.column,
                value,
            })
        })
        .collect())
}

/// The CSV of a survey delivery, header first, with `separator`.
pub fn write_csv(
    out: &mut impl Write,
    period: i64,
    rows: &[CellRow],
    separator: u8,
) -> std::io::Result<()> {
    let sep = char::from(separator);
    let field = |s: &str| -> String {
        if s.contains([sep, '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    writeln!(out, "{}", SURVEY_COLUMNS.join(&sep.to_string()))?;
    for r in rows {
        writeln!(
            out,
            "{period}{sep}{}{sep}{}{sep}{}{sep}{}{sep}{}{sep}{}{sep}{}",
            field(&r.unit),
            field(&r.question),
            field(&r.row),
            field(&r.column),
            r.value,
            r.imputation_method.is_some(),
            field(r.imputation_method.as_deref().unwrap_or("")),
        )?;
    }
    Ok(())
}

/// Checks that `source` has the survey columns, in order.
pub fn check_survey_source(source: &Source) -> Result<(), SurveyDeliveryError> {
    let found: Vec<&str> = source.columns.iter().map(|c| c.name.as_str()).collect();
    if found != SURVEY_COLUMNS {
        return Err(SurveyDeliveryError::NotASurveySource {
            source_id: source.id.clone(),
            expected: SURVEY_COLUMNS.join(", "),
            found: found.join(", "),
        });
    }
    Ok(())
}

/// The source a survey's campaigns are delivered as: `survey_` and the survey's name before
/// its period (`bav-2025` → `survey_bav`).
pub fn survey_source_id(survey_id: &str) -> String {
    let family = survey_id.split('-').next().unwrap_or(survey_id);
    format!("survey_{}", family.to_lowercase().replace('-', "_"))
}

/// Writes the answers of validated campaign `campaign` as a CSV of `source` and receives it
/// as a delivery. A campaign delivered twice is refused by the delivery's own check (same
/// SHA-256); units out of scope are left out.
pub async fn deliver_campaign(
    store: &Store,
    lake: &Lake,
    campaign: i64,
    questionnaire: &Questionnaire,
    source: &Source,
    actor: &Actor,
) -> Result<Delivery, SurveyDeliveryError> {
    let c = store.campaign(campaign).await?;
    if c.state != CampaignState::Validated {
        return Err(SurveyDeliveryError::NotValidated {
            id: c.id,
            survey: c.survey_id,
            period: c.period,
            state: c.state.label().to_string(),
        });
    }
    if questionnaire.id != c.survey_id {
        return Err(SurveyDeliveryError::WrongQuestionnaire {
            id: c.id,
            expected: c.survey_id,
            given: questionnaire.id.clone(),
        });
    }
    let period: i64 = c
        .period
        .trim()
        .parse()
        .ok()
        .filter(|y| (1900..=2999).contains(y))
        .ok_or_else(|| SurveyDeliveryError::PeriodNotAYear {
            id: c.id,
            period: c.period.clone(),
        })?;
    check_survey_source(source)?;
    let mut rows = Vec::new();
    for u in store.unit_progress(campaign).await? {
        if u.status == ResponseStatus::OutOfScope {
            continue;
        }
        let stored = store.unit_answers(campaign, &u.unit_code).await?;
        rows.extend(cell_rows(questionnaire, &u.unit_code, &stored)?);
    }
    let dir = lake.scratch().map_err(|e| SurveyDeliveryError::Io {
        path: "lake/tmp".into(),
        source: e,
    })?;
    let path = dir.join(format!(
        "{}-campagne-{}.csv",
        source
            .id
            .replace(|ch: char| !ch.is_ascii_alphanumeric(), "_"),
        c.id
    ));
    let io = |e| SurveyDeliveryError::Io {
        path: path.display().to_string(),
        source: e,
    };
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).map_err(io)?);
    write_csv(&mut file, period, &rows, source.separator).map_err(io)?;
    file.flush().map_err(io)?;
    drop(file);
    let delivered = add_delivery(store, lake, source, &path, actor, &mut |_| {}).await;
    // The original is now in the lake under its SHA-256 (or refused): the scratch copy goes.
    let _ = std::fs::remove_file(&path);
    Ok(delivered?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn questionnaire() -> Questionnaire {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../surveys/bav-2025.toml");
        justat_survey::load(std::path::Path::new(path)).unwrap()
    }

    fn stored(path: &str, collected: Option<serde_json::Value>) -> StoredAnswer {
        StoredAnswer {
            path: path.into(),
            collected,
            edited: None,
            imputed: None,
            imputation_method: None,
        }
    }

    #[test]
    fn cells_take_edited_then_imputed_then_collected_and_flag_only_imputed() {
        let q = questionnaire();
        let mut edited_over_imputed = stored("victimes.G_BIENS.F", None);
        edited_over_imputed.imputed = Some(json!({"kind": "integer", "value": 9}));
        edited_over_imputed.imputation_method = Some("stratum_median".into());
        edited_over_imputed.edited = Some(json!({"kind": "integer", "value": 4}));
        let mut imputed = stored("victimes.G_BIENS.M", None);
        imputed.imputed = Some(json!({"kind": "integer", "value": 7}));
        imputed.imputation_method = Some("stratum_median".into());
        let answers = vec![
            stored(
                "victimes.G_PERSONNE.F",
                Some(json!({"kind": "integer", "value": 12})),
            ),
            stored("victimes.G_PERSONNE.M", Some(json!(3))),
            stored("victimes.G_ECOFI.F", Some(json!({"kind": "dont_know"}))),
            edited_over_imputed,
            imputed,
            stored("etp", Some(json!({"kind": "decimal", "value": 1.5}))),
        ];
        let rows = cell_rows(&q, "1/119", &answers).unwrap();
        let got: Vec<(&str, &str, i64, Option<&str>)> = rows
            .iter()
            .map(|r| {
                (
                    r.row.as_str(),
                    r.column.as_str(),
                    r.value,
                    r.imputation_method.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("G_PERSONNE", "F", 12, None),
                ("G_PERSONNE", "M", 3, None),
                ("G_BIENS", "F", 4, None),
                ("G_BIENS", "M", 7, Some("stratum_median")),
            ]
        );
        assert!(
            rows.iter()
                .all(|r| r.unit == "1/119" && r.question == "victimes")
        );
    }

    #[test]
    fn an_unreadable_stored_value_is_named_with_its_unit_and_path() {
        let q = questionnaire();
        let e = cell_rows(
            &q,
            "1/93",
            &[stored("victimes.G_BIENS.F", Some(json!("douze")))],
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("1/93") && e.contains("victimes.G_BIENS.F"),
            "{e}"
        );
    }

    #[test]
    fn the_csv_has_the_source_header_and_quotes_what_needs_it() {
        let rows = vec![
            CellRow {
                unit: "1/119".into(),
                question: "victimes".into(),
                row: "G_PERSONNE".into(),
                column: "F".into(),
                value: 12,
                imputation_method: None,
            },
            CellRow {
                unit: "a;b".into(),
                question: "victimes".into(),
                row: "G_BIENS".into(),
                column: "M".into(),
                value: 0,
                imputation_method: Some("previous".into()),
            },
        ];
        let mut out = Vec::new();
        write_csv(&mut out, 2025, &rows, b';').unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "period;unit;question;row_code;column_code;value;imputed;imputation_method\n\
             2025;1/119;victimes;G_PERSONNE;F;12;false;\n\
             2025;\"a;b\";victimes;G_BIENS;M;0;true;previous\n"
        );
    }

    #[test]
    fn the_shipped_survey_source_has_the_survey_columns_and_others_do_not() {
        check_survey_source(&Source::load("survey_bav").unwrap()).unwrap();
        let e = check_survey_source(&Source::load("penal").unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("penal"), "{e}");
        assert_eq!(survey_source_id("bav-2025"), "survey_bav");
        assert_eq!(survey_source_id("BAV"), "survey_bav");
    }
}
