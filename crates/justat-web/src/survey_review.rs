//! What the back office's survey pages show, as plain functions of what the store and the
//! questionnaire hold (no I/O): the response rates as a chart with its data table, a unit's
//! answers labelled and with their collected, edited and imputed values side by side, the
//! questionnaire's controls run again on the values the statistics use, and a statistician's
//! correction read as the question's kind asks.

use justat_model::french;
use justat_model::survey::{RateRow, ResponseStatus, StatusSource};
use justat_store::{Answer as StoredAnswer, StatusEvent};
use justat_survey::answers::{parse_integer, parse_value};
use justat_survey::questionnaire::{Kind, Question, TOTAL};
use justat_survey::{Answer, Answers, ControlState, Questionnaire, Severity};
use serde::Serialize;
use serde_json::Value;

/// One group's line of a rates' table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RateLine {
    /// The group as people read it.
    pub group: String,
    /// Units in scope.
    pub in_scope: String,
    /// Units that responded.
    pub responded: String,
    /// The rate, in %.
    pub rate: String,
}

/// A chart of response rates with its data table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RateFigure {
    /// The figure's id in the page.
    pub id: String,
    /// Its title (the chart's and the table's caption).
    pub title: String,
    /// The header of the group column.
    pub group_header: String,
    /// The chart, SVG.
    pub svg: String,
    /// The table's lines, in the chart's order.
    pub lines: Vec<RateLine>,
}

/// The rates of `rows` as a chart and its table; `label` names a group for people.
pub fn rate_figure(
    id: &str,
    title: &str,
    group_header: &str,
    rows: &[RateRow],
    label: &dyn Fn(&str) -> String,
) -> RateFigure {
    let items: Vec<(String, f64)> = rows
        .iter()
        .map(|r| (label(&r.group), r.rate * 100.0))
        .collect();
    RateFigure {
        id: id.to_string(),
        title: title.to_string(),
        group_header: group_header.to_string(),
        svg: justat_render::chart::follow_up_bars(id, title, &items, 1),
        lines: rows
            .iter()
            .zip(&items)
            .map(|(r, (group, pct))| RateLine {
                group: group.clone(),
                in_scope: french::integer(r.in_scope as i64),
                responded: french::integer(r.responded as i64),
                rate: format!("{} %", french::decimal(*pct, 1)),
            })
            .collect(),
    }
}

/// Who or what set a status, as the unit's history says it.
pub fn event_author(e: &StatusEvent) -> String {
    match e.source {
        StatusSource::Respondent => "le répondant, sur le portail".into(),
        StatusSource::Statistician => e.set_by.clone(),
        StatusSource::System => "Justat".into(),
    }
}

/// The question an answer path belongs to, and how to label it.
pub struct Leaf<'a> {
    /// The question (the inner question for a loop item's answer).
    pub question: &'a Question,
    /// Its label, with the cell's row and column or the item's number.
    pub label: String,
    /// A count-table cell (an integer count), not a question's own answer.
    pub cell: bool,
    /// A loop's number of items.
    pub items: bool,
}

fn choice_label(choices: &[justat_survey::Choice], code: &str) -> String {
    if code == TOTAL {
        return "Total".into();
    }
    choices
        .iter()
        .find(|c| c.code == code)
        .map_or(code.to_string(), |c| c.label.clone())
}

/// The question of `path` in `q`: a question (`etp`), a count table's cell
/// (`victimes.G_BIENS.F`), a loop's count (`services`) or an item's answer
/// (`services[2].nom`); `None` for a path the questionnaire does not have.
pub fn leaf<'a>(q: &'a Questionnaire, path: &str) -> Option<Leaf<'a>> {
    let top_end = path.find(['.', '[']).unwrap_or(path.len());
    let question = q.question(&path[..top_end])?;
    let rest = &path[top_end..];
    match &question.kind {
        Kind::CountTable(t) => {
            let (row, column) = rest.strip_prefix('.')?.split_once('.')?;
            Some(Leaf {
                question,
                label: format!(
                    "{} — {}, {}",
                    question.label,
                    choice_label(&t.rows, row),
                    choice_label(&t.columns, column)
                ),
                cell: true,
                items: false,
            })
        }
        Kind::Loop(_) if rest.is_empty() => Some(Leaf {
            question,
            label: question.label.clone(),
            cell: false,
            items: true,
        }),
        Kind::Loop(block) => {
            let (n, inner) = rest.strip_prefix('[')?.split_once("].")?;
            let inner = block.questions.iter().find(|i| i.id == inner)?;
            Some(Leaf {
                question: inner,
                label: format!("{} {n} — {}", block.item_label, inner.label),
                cell: false,
                items: false,
            })
        }
        _ if rest.is_empty() => Some(Leaf {
            question,
            label: question.label.clone(),
            cell: false,
            items: false,
        }),
        _ => None,
    }
}

fn stored(v: Option<&Value>) -> Option<Answer> {
    v.and_then(|v| serde_json::from_value(v.clone()).ok())
}

/// An answer as people read it, in French.
pub fn answer_text(leaf: Option<&Leaf<'_>>, v: Option<&Value>) -> String {
    let Some(v) = v else {
        return String::new();
    };
    match (leaf, stored(Some(v))) {
        (Some(l), Some(Answer::Integer(n))) if l.cell || l.items => french::integer(n),
        (Some(l), Some(a)) => crate::survey_form::answer_text(l.question, Some(&a)),
        (None, Some(Answer::Integer(n))) => french::integer(n),
        _ => v.to_string(),
    }
}

/// The value of an answer as typed in the edit field (the statistics' value).
pub fn field_text(v: Option<&Value>) -> String {
    match stored(v) {
        Some(Answer::Text(s) | Answer::Choice(s)) => s,
        Some(Answer::Integer(n)) => n.to_string(),
        Some(Answer::Items(n)) => n.to_string(),
        Some(Answer::Decimal(x)) => x.to_string().replace('.', ","),
        Some(Answer::Date(d)) => d.to_string(),
        Some(Answer::YesNo(b)) => if b { "oui" } else { "non" }.into(),
        Some(Answer::Choices(cs)) => cs.join(";"),
        Some(Answer::DontKnow) => "ne sait pas".into(),
        Some(Answer::Refused) => "refus".into(),
        _ => String::new(),
    }
}

/// Reads a statistician's new value for `path` as its question asks (French conventions:
/// decimal comma, `oui`/`non`, a choice's code, several codes separated by `;`, a date
/// `AAAA-MM-JJ`); « ne sait pas » and « refus » where the question offers them. The error is
/// French, for the form.
pub fn parse_edit(q: &Questionnaire, path: &str, raw: &str) -> Result<Answer, String> {
    let raw = raw.trim();
    let leaf =
        leaf(q, path).ok_or_else(|| format!("le questionnaire n’a pas de question « {path} »"))?;
    if raw.is_empty() {
        return Err("indiquez la nouvelle valeur".into());
    }
    if raw.chars().count() > 2000 {
        return Err("au plus 2 000 caractères".into());
    }
    let lowered = raw.to_lowercase();
    if lowered == "ne sait pas" && leaf.question.allow_dont_know {
        return Ok(Answer::DontKnow);
    }
    if lowered == "refus" && leaf.question.allow_refusal {
        return Ok(Answer::Refused);
    }
    if leaf.cell {
        let n = parse_integer(raw)?;
        if n < 0 {
            return Err("un effectif est un nombre entier positif ou nul".into());
        }
        return Ok(Answer::Integer(n));
    }
    if leaf.items {
        let n = parse_integer(raw)?;
        return u32::try_from(n)
            .map(Answer::Items)
            .map_err(|_| "un nombre d’éléments est un entier positif ou nul".into());
    }
    if let Kind::MultipleChoice { options } = &leaf.question.kind {
        let codes: Vec<String> = raw
            .split(';')
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect();
        if let Some(bad) = codes
            .iter()
            .find(|c| !options.iter().any(|o| &o.code == *c))
        {
            return Err(format!("« {bad} » n’est pas un code de cette question"));
        }
        let ordered = options
            .iter()
            .filter(|o| codes.contains(&o.code))
            .map(|o| o.code.clone())
            .collect();
        return Ok(Answer::Choices(ordered));
    }
    if let Kind::SingleChoice { options } = &leaf.question.kind
        && !options.iter().any(|o| o.code == raw)
    {
        let codes: Vec<&str> = options.iter().map(|o| o.code.as_str()).collect();
        return Err(format!(
            "« {raw} » n’est pas un code de cette question (codes : {})",
            codes.join(", ")
        ));
    }
    parse_value(&leaf.question.kind, raw)
}

/// One answer of a unit, its values side by side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnswerRow {
    /// The path.
    pub path: String,
    /// The question's label.
    pub label: String,
    /// The value collected from the respondent.
    pub collected: String,
    /// The statistician's value, if edited.
    pub edited: Option<String>,
    /// The imputed value, if imputed.
    pub imputed: Option<String>,
    /// The imputation's method, in French.
    pub method: Option<String>,
    /// The statistics' value as typed in the edit field.
    pub field: String,
    /// An HTML id for the row's form.
    pub html_id: String,
}

/// The French name of an imputation method.
pub fn method_label(method: &str) -> String {
    match method {
        "stratum_median" => "médiane de la strate".into(),
        "previous_answer" => "réponse de la campagne précédente".into(),
        other => other.to_string(),
    }
}

/// A unit's answers, labelled, in the questionnaire's order (paths the questionnaire does not
/// know last, by path).
pub fn answer_rows(q: &Questionnaire, answers: &[StoredAnswer]) -> Vec<AnswerRow> {
    let order: Vec<String> = q
        .questions()
        .map(|(_, question)| question.id.clone())
        .collect();
    let mut rows: Vec<(usize, AnswerRow)> = answers
        .iter()
        .map(|a| {
            let l = leaf(q, &a.path);
            let top = a.path.split(['.', '[']).next().unwrap_or("");
            let rank = order.iter().position(|o| o == top).unwrap_or(usize::MAX);
            (
                rank,
                AnswerRow {
                    path: a.path.clone(),
                    label: l.as_ref().map_or(a.path.clone(), |l| l.label.clone()),
                    collected: answer_text(l.as_ref(), a.collected.as_ref()),
                    edited: a.edited.as_ref().map(|v| answer_text(l.as_ref(), Some(v))),
                    imputed: a.imputed.as_ref().map(|v| answer_text(l.as_ref(), Some(v))),
                    method: a.imputation_method.as_deref().map(method_label),
                    field: field_text(a.value()),
                    html_id: crate::survey_form::html_id(&a.path),
                },
            )
        })
        .collect();
    rows.sort_by_key(|r| r.0);
    rows.into_iter().map(|(_, r)| r).collect()
}

/// A control's outcome on the values the statistics use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ControlLine {
    /// The page's title.
    pub page: String,
    /// « Erreur » or « Avertissement ».
    pub severity: &'static str,
    /// The control's message.
    pub message: String,
    /// Whether the respondent kept this warning with « Poursuivre ».
    pub kept: bool,
}

/// The questionnaire's controls run again on a unit's values (edited, else imputed, else
/// collected) with the warnings the respondent kept: every failed control and every kept
/// warning, page by page.
pub fn controls(
    q: &Questionnaire,
    answers: &[StoredAnswer],
    kept_warnings: &[(String, String)],
) -> Vec<ControlLine> {
    let mut values = Answers::new();
    for a in answers {
        if let Some(v) = stored(a.value()) {
            values.set(a.path.clone(), v);
        }
    }
    for (_, control) in kept_warnings {
        values.set(control.clone(), Answer::WarningKept);
    }
    let mut out = Vec::new();
    for page in q.review(&values).pages {
        for o in page.blocking.iter().chain(&page.kept) {
            out.push(ControlLine {
                page: page.title.clone(),
                severity: match o.severity {
                    Severity::Error => "Erreur",
                    Severity::Warning => "Avertissement",
                },
                message: o.message.clone(),
                kept: o.state == ControlState::Kept,
            });
        }
    }
    out
}

/// The statuses a statistician may give a unit now, each with the form's label.
pub fn status_actions(from: ResponseStatus) -> Vec<(&'static str, &'static str)> {
    [
        (ResponseStatus::Validated, "Valider la réponse"),
        (
            ResponseStatus::InProgress,
            "Rouvrir la réponse au répondant",
        ),
        (ResponseStatus::Refused, "Enregistrer un refus de répondre"),
        (ResponseStatus::OutOfScope, "Déclarer l’unité hors champ"),
        (
            ResponseStatus::NotStarted,
            "Annuler le refus ou le hors champ",
        ),
    ]
    .into_iter()
    .filter(|(to, _)| from.transition(*to, StatusSource::Statistician).is_ok())
    .map(|(to, label)| (to.as_str(), label))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bav() -> Questionnaire {
        justat_survey::toml_file::parse(
            "bav-2025.toml",
            include_str!("../../../surveys/bav-2025.toml"),
        )
        .unwrap()
    }

    fn stored(path: &str, collected: Option<Answer>, edited: Option<Answer>) -> StoredAnswer {
        StoredAnswer {
            path: path.into(),
            collected: collected.map(|a| serde_json::to_value(a).unwrap()),
            edited: edited.map(|a| serde_json::to_value(a).unwrap()),
            imputed: None,
            imputation_method: None,
        }
    }

    #[test]
    fn a_cell_an_item_and_a_question_are_labelled_and_unknown_paths_are_none() {
        let q = bav();
        let cell = leaf(&q, "victimes.G_BIENS.F").unwrap();
        assert!(cell.cell && cell.label.contains("—") && cell.label.contains(", "));
        let etp = leaf(&q, "etp").unwrap();
        assert!(!etp.cell && etp.label.starts_with("Effectif affecté"));
        assert!(leaf(&q, "inconnue").is_none());
        assert!(leaf(&q, "etp.x").is_none());
        assert!(leaf(&q, "victimes.G_BIENS").is_none());
    }

    #[test]
    fn an_edit_is_read_as_its_question_asks() {
        let q = bav();
        assert_eq!(
            parse_edit(&q, "victimes.G_BIENS.F", " 12 "),
            Ok(Answer::Integer(12))
        );
        assert!(parse_edit(&q, "victimes.G_BIENS.F", "-3").is_err());
        assert!(parse_edit(&q, "victimes.G_BIENS.F", "douze").is_err());
        assert_eq!(parse_edit(&q, "etp", "1,5"), Ok(Answer::Decimal(1.5)));
        assert!(parse_edit(&q, "etp", "25").is_err(), "above its bound");
        assert_eq!(parse_edit(&q, "bav_actif", "non"), Ok(Answer::YesNo(false)));
        assert!(parse_edit(&q, "motif_inactivite", "PLAGE").is_err());
        assert_eq!(
            parse_edit(&q, "motif_inactivite", "LOCAUX"),
            Ok(Answer::Choice("LOCAUX".into()))
        );
        assert!(parse_edit(&q, "etp", "  ").is_err());
        assert!(parse_edit(&q, "nulle_part", "1").is_err());
    }

    #[test]
    fn rows_keep_the_collected_value_beside_the_edited_one() {
        let q = bav();
        let rows = answer_rows(
            &q,
            &[
                stored(
                    "victimes.G_BIENS.F",
                    Some(Answer::Integer(1200)),
                    Some(Answer::Integer(120)),
                ),
                stored("bav_actif", Some(Answer::YesNo(true)), None),
            ],
        );
        assert_eq!(rows[0].path, "bav_actif", "in the questionnaire's order");
        assert_eq!(rows[0].collected, "Oui");
        assert_eq!(rows[0].edited, None);
        assert_eq!(rows[1].collected, "1\u{a0}200");
        assert_eq!(rows[1].edited.as_deref(), Some("120"));
        assert_eq!(rows[1].field, "120", "the form starts from the value used");
    }

    #[test]
    fn controls_run_on_the_edited_value() {
        let q = bav();
        let blocked = controls(
            &q,
            &[
                stored("bav_actif", Some(Answer::YesNo(true)), None),
                stored("etp", None, None),
            ],
            &[],
        );
        assert!(blocked.iter().any(|c| c.severity == "Erreur" && !c.kept));
        let after_edit = controls(
            &q,
            &[
                stored(
                    "bav_actif",
                    Some(Answer::YesNo(true)),
                    Some(Answer::YesNo(false)),
                ),
                stored(
                    "motif_inactivite",
                    None,
                    Some(Answer::Choice("LOCAUX".into())),
                ),
            ],
            &[],
        );
        assert!(after_edit.is_empty(), "{after_edit:?}");
    }

    #[test]
    fn the_actions_offered_are_the_transitions_allowed() {
        let submitted: Vec<_> = status_actions(ResponseStatus::Submitted)
            .into_iter()
            .map(|a| a.0)
            .collect();
        assert_eq!(submitted, ["validated", "in_progress"]);
        assert_eq!(
            status_actions(ResponseStatus::NotStarted)
                .into_iter()
                .map(|a| a.0)
                .collect::<Vec<_>>(),
            ["refused", "out_of_scope"]
        );
    }

    #[test]
    fn a_rate_figure_has_its_chart_and_one_line_per_group() {
        let rows = [
            RateRow {
                group: "1".into(),
                in_scope: 4,
                responded: 1,
                rate: 0.25,
            },
            RateRow {
                group: "2".into(),
                in_scope: 4,
                responded: 3,
                rate: 0.75,
            },
        ];
        let f = rate_figure("semaines", "Par semaine", "Semaine", &rows, &|g| {
            format!("Semaine {g}")
        });
        assert_eq!(f.lines.len(), 2);
        assert_eq!(f.lines[1].rate, "75,0 %");
        assert_eq!(f.lines[0].group, "Semaine 1");
        assert!(f.svg.contains("semaines-titre"));
    }
}
