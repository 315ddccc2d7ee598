//! What one page of a questionnaire shows to a respondent, as the templates read it: the
//! visible questions (filters applied on the server, so the page works without JavaScript),
//! each with its field names from [`justat_survey::Answers::from_form`]'s scheme, the values
//! given (or typed, when they did not parse), and every control's message beside its
//! question. Also the text of an answer as the review and the acknowledgement show it.
//!
//! Pure: no request, no store; the handlers in `routes::survey` call it.

use justat_model::french;
use justat_survey::questionnaire::TOTAL;
use justat_survey::{
    Answer, Answers, ControlState, FieldError, Kind, PageView, Question, Questionnaire, Severity,
};
use serde::Serialize;
use std::collections::BTreeMap;

/// A message shown beside a question: a failed control, a kept warning, or a field that did
/// not parse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    /// The HTML id of the message (`aria-describedby` of the field, the errors block's link).
    pub id: String,
    /// The field it is about (its HTML id), for the errors block's link.
    pub field_id: String,
    /// `error` or `warning`.
    pub severity: &'static str,
    /// The French text.
    pub text: String,
    /// For a warning: the field recording « Poursuivre » (`<control path>!continue`).
    pub continue_field: Option<String>,
    /// For a warning: the respondent chose « Poursuivre ».
    pub kept: bool,
    /// It stops the respondent (a failed error, or a warning not kept).
    pub blocks: bool,
}

/// One option of a choice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OptionView {
    /// Its code (the value posted).
    pub code: String,
    /// Its label.
    pub label: String,
    /// Its HTML id.
    pub id: String,
    /// Ticked.
    pub checked: bool,
}

/// One cell of a count table: an input, or a computed total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CellView {
    /// The field's name (its answer path); empty for a computed total.
    pub name: String,
    /// Its HTML id.
    pub id: String,
    /// The value shown.
    pub value: String,
    /// The cell's accessible name: « Row, Column ».
    pub label: String,
    /// The cell is a total.
    pub total: bool,
}

/// One row of a count table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowView {
    /// Its label (a row header).
    pub label: String,
    /// Its cells, the total last.
    pub cells: Vec<CellView>,
}

/// A count table, as a real table: caption, column headers, row headers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableView {
    /// The column headers, « Total » last.
    pub columns: Vec<String>,
    /// The rows, the totals' row last.
    pub rows: Vec<RowView>,
    /// The totals are typed by the respondent (else computed).
    pub totals_entered: bool,
}

/// One item of a loop.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemView {
    /// Its number, from 1.
    pub number: u32,
    /// Its heading: « Lieu de permanence 2 ».
    pub heading: String,
    /// Its visible questions.
    pub questions: Vec<QuestionView>,
}

/// A loop: the number of items, then the items.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoopView {
    /// The field of the number of items (`<loop>!items`).
    pub items_field: String,
    /// Its HTML id.
    pub items_id: String,
    /// The number of items now.
    pub count: String,
    /// Fewest items.
    pub min: u32,
    /// Most items.
    pub max: u32,
    /// How an item is called.
    pub item_label: String,
    /// The items.
    pub items: Vec<ItemView>,
}

/// One visible question.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuestionView {
    /// Its answer path, the field's name.
    pub path: String,
    /// Its HTML id.
    pub id: String,
    /// `text`, `integer`, `decimal`, `date`, `yes_no`, `single`, `multiple`, `table`, `loop`.
    pub kind: &'static str,
    /// The question.
    pub label: String,
    /// Help under it.
    pub help: Option<String>,
    /// A blank answer blocks the page.
    pub required: bool,
    /// The unit after a number.
    pub unit: Option<String>,
    /// The value shown in a text, number or date field.
    pub value: String,
    /// Longest text.
    pub max_length: Option<usize>,
    /// Options of a choice (yes/no: `oui`, `non`).
    pub options: Vec<OptionView>,
    /// A count table.
    pub table: Option<TableView>,
    /// A loop.
    pub looped: Option<LoopView>,
    /// « Ne sait pas » may be answered.
    pub allow_dont_know: bool,
    /// « Refus » may be answered.
    pub allow_refusal: bool,
    /// The field of « ne sait pas » / « refus » (`<path>!missing`).
    pub missing_field: String,
    /// `dk`, `refused` or empty.
    pub missing: String,
    /// Its messages, in the page's order.
    pub messages: Vec<Message>,
    /// Some message stops the respondent (the field is marked invalid).
    pub invalid: bool,
    /// The HTML ids of its messages, for `aria-describedby`.
    pub described_by: String,
}

/// A whole page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PageModel {
    /// Its number, from 1.
    pub number: usize,
    /// How many pages.
    pub pages: usize,
    /// Its identifier.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its introduction.
    pub intro: Option<String>,
    /// The visible questions.
    pub questions: Vec<QuestionView>,
    /// Every message that stops the respondent, for the errors block at the top.
    pub blocking: Vec<Message>,
    /// Every warning waiting for « Corriger / Poursuivre » or kept.
    pub warnings: usize,
    /// The paths shown, so that the handler sees when a filter reveals new questions.
    pub shown: String,
}

/// An HTML id for an answer path.
pub fn html_id(path: &str) -> String {
    let mut id = String::from("q-");
    for c in path.chars() {
        id.push(if c.is_ascii_alphanumeric() || c == '_' {
            c
        } else {
            '-'
        });
    }
    id
}

/// The value of an answer as typed in a field (numbers without grouping, decimal comma,
/// dates `AAAA-MM-JJ` for `<input type="date">`).
fn field_value(a: Option<&Answer>) -> String {
    match a {
        Some(Answer::Text(s) | Answer::Choice(s)) => s.clone(),
        Some(Answer::Integer(n)) => n.to_string(),
        Some(Answer::Decimal(x)) => x.to_string().replace('.', ","),
        Some(Answer::Date(d)) => d.to_string(),
        Some(Answer::YesNo(true)) => "oui".into(),
        Some(Answer::YesNo(false)) => "non".into(),
        Some(Answer::Items(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// An answer as the review and the acknowledgement show it, in French.
pub fn answer_text(q: &Question, a: Option<&Answer>) -> String {
    let label_of = |options: &[justat_survey::Choice], code: &str| {
        options
            .iter()
            .find(|o| o.code == code)
            .map_or(code.to_string(), |o| o.label.clone())
    };
    match (a, &q.kind) {
        (None, _) => String::new(),
        (Some(Answer::DontKnow), _) => "Ne sait pas".into(),
        (Some(Answer::Refused), _) => "Refus".into(),
        (Some(Answer::Choice(c)), Kind::SingleChoice { options }) => label_of(options, c),
        (Some(Answer::Choices(cs)), Kind::MultipleChoice { options }) => cs
            .iter()
            .map(|c| label_of(options, c))
            .collect::<Vec<_>>()
            .join(" ; "),
        (Some(Answer::YesNo(b)), _) => if *b { "Oui" } else { "Non" }.into(),
        (Some(Answer::Integer(n)), Kind::Integer { unit, .. }) => {
            with_unit(french::integer(*n), unit)
        }
        (Some(Answer::Integer(n)), _) => french::integer(*n),
        (Some(Answer::Decimal(x)), Kind::Decimal { unit, decimals, .. }) => {
            with_unit(french::decimal(*x, u32::from(*decimals)), unit)
        }
        (Some(Answer::Date(d)), _) => justat_survey::french_date(*d),
        (Some(a), _) => field_value(Some(a)),
    }
}

fn with_unit(n: String, unit: &Option<String>) -> String {
    match unit {
        Some(u) => format!("{n} {u}"),
        None => n,
    }
}

/// What a page shows: `view` is [`Questionnaire::page_view`] of `answers`; `errors` are the
/// fields that did not parse, whose typed text is shown again.
pub fn page_model(
    q: &Questionnaire,
    view: &PageView,
    answers: &Answers,
    errors: &[FieldError],
) -> Option<PageModel> {
    let seq = q.sequences.get(view.index)?;
    let raw: BTreeMap<&str, &str> = errors
        .iter()
        .map(|e| (e.field.as_str(), e.raw.as_str()))
        .collect();
    let ctx = Ctx {
        view,
        answers,
        errors,
        raw,
    };
    let questions: Vec<QuestionView> = seq
        .questions
        .iter()
        .filter(|question| view.visible.contains(&question.id))
        .map(|question| ctx.question(question, ""))
        .collect();
    let mut blocking = Vec::new();
    let mut warnings = 0;
    for qv in &questions {
        collect(qv, &mut blocking, &mut warnings);
    }
    Some(PageModel {
        number: view.index + 1,
        pages: q.sequences.len(),
        id: seq.id.clone(),
        title: seq.title.clone(),
        intro: seq.intro.clone(),
        questions,
        blocking,
        warnings,
        shown: view.visible.join(" "),
    })
}

fn collect(qv: &QuestionView, blocking: &mut Vec<Message>, warnings: &mut usize) {
    for m in &qv.messages {
        if m.blocks && m.severity == "error" {
            blocking.push(m.clone());
        }
        if m.severity == "warning" {
            *warnings += 1;
            if m.blocks {
                blocking.push(m.clone());
            }
        }
    }
    if let Some(l) = &qv.looped {
        for item in &l.items {
            for inner in &item.questions {
                collect(inner, blocking, warnings);
            }
        }
    }
}

struct Ctx<'a> {
    view: &'a PageView,
    answers: &'a Answers,
    errors: &'a [FieldError],
    raw: BTreeMap<&'a str, &'a str>,
}

impl Ctx<'_> {
    /// The text a field shows: what was typed if it did not parse, else the answer.
    fn value(&self, path: &str) -> String {
        match self.raw.get(path) {
            Some(r) => (*r).to_string(),
            None => field_value(self.answers.get(path)),
        }
    }

    fn question(&self, question: &Question, prefix: &str) -> QuestionView {
        let path = format!("{prefix}{}", question.id);
        let id = html_id(&path);
        let mut qv = QuestionView {
            path: path.clone(),
            id: id.clone(),
            kind: "text",
            label: question.label.clone(),
            help: question.help.clone(),
            required: question.required,
            unit: None,
            value: self.value(&path),
            max_length: None,
            options: Vec::new(),
            table: None,
            looped: None,
            allow_dont_know: question.allow_dont_know,
            allow_refusal: question.allow_refusal,
            missing_field: format!("{path}!missing"),
            missing: match self.answers.get(&path) {
                Some(Answer::DontKnow) => "dk".into(),
                Some(Answer::Refused) => "refused".into(),
                _ => self
                    .raw
                    .get(format!("{path}!missing").as_str())
                    .map(|s| s.to_string())
                    .unwrap_or_default(),
            },
            messages: Vec::new(),
            invalid: false,
            described_by: String::new(),
        };
        let options = |opts: &[justat_survey::Choice], ticked: &dyn Fn(&str) -> bool| {
            opts.iter()
                .enumerate()
                .map(|(i, o)| OptionView {
                    code: o.code.clone(),
                    label: o.label.clone(),
                    id: format!("{id}-{i}"),
                    checked: ticked(&o.code),
                })
                .collect::<Vec<_>>()
        };
        match &question.kind {
            Kind::Text { max_length } => qv.max_length = Some(*max_length),
            Kind::Integer { unit, .. } => {
                qv.kind = "integer";
                qv.unit = unit.clone();
            }
            Kind::Decimal { unit, .. } => {
                qv.kind = "decimal";
                qv.unit = unit.clone();
            }
            Kind::Date { .. } => qv.kind = "date",
            Kind::YesNo => {
                qv.kind = "yes_no";
                let v = qv.value.clone();
                qv.options = options(
                    &[
                        justat_survey::Choice {
                            code: "oui".into(),
                            label: "Oui".into(),
                        },
                        justat_survey::Choice {
                            code: "non".into(),
                            label: "Non".into(),
                        },
                    ],
                    &|c| c == v,
                );
            }
            Kind::SingleChoice { options: opts } => {
                qv.kind = "single";
                let v = qv.value.clone();
                qv.options = options(opts, &|c| c == v);
            }
            Kind::MultipleChoice { options: opts } => {
                qv.kind = "multiple";
                let ticked: Vec<String> = match self.answers.get(&path) {
                    Some(Answer::Choices(cs)) => cs.clone(),
                    _ => Vec::new(),
                };
                qv.options = options(opts, &|c| ticked.iter().any(|t| t == c));
            }
            Kind::CountTable(t) => {
                qv.kind = "table";
                let cell = |row: &str, col: &str, row_label: &str, col_label: &str| {
                    let name = format!("{path}.{row}.{col}");
                    CellView {
                        id: html_id(&name),
                        value: self.value(&name),
                        label: format!("{row_label}, {col_label}"),
                        total: row == TOTAL || col == TOTAL,
                        name,
                    }
                };
                let number = |p: &str| match self.answers.get(p) {
                    Some(Answer::Integer(n)) => Some(*n),
                    _ => None,
                };
                let computed = |cells: Vec<String>, label: String| {
                    let values: Vec<Option<i64>> = cells.iter().map(|c| number(c)).collect();
                    let value = if values.iter().all(Option::is_some) {
                        french::integer(values.iter().flatten().sum())
                    } else {
                        String::new()
                    };
                    CellView {
                        name: String::new(),
                        id: String::new(),
                        value,
                        label,
                        total: true,
                    }
                };
                let mut rows = Vec::new();
                for r in &t.rows {
                    let mut cells: Vec<CellView> = t
                        .columns
                        .iter()
                        .map(|c| cell(&r.code, &c.code, &r.label, &c.label))
                        .collect();
                    cells.push(if t.totals_entered {
                        cell(&r.code, TOTAL, &r.label, "Total")
                    } else {
                        computed(
                            t.columns
                                .iter()
                                .map(|c| format!("{path}.{}.{}", r.code, c.code))
                                .collect(),
                            format!("{}, Total", r.label),
                        )
                    });
                    rows.push(RowView {
                        label: r.label.clone(),
                        cells,
                    });
                }
                let mut totals: Vec<CellView> = t
                    .columns
                    .iter()
                    .map(|c| {
                        if t.totals_entered {
                            cell(TOTAL, &c.code, "Total", &c.label)
                        } else {
                            computed(
                                t.rows
                                    .iter()
                                    .map(|r| format!("{path}.{}.{}", r.code, c.code))
                                    .collect(),
                                format!("Total, {}", c.label),
                            )
                        }
                    })
                    .collect();
                totals.push(if t.totals_entered {
                    cell(TOTAL, TOTAL, "Total", "Total")
                } else {
                    computed(
                        t.rows
                            .iter()
                            .flat_map(|r| {
                                let path = &path;
                                t.columns
                                    .iter()
                                    .map(move |c| format!("{path}.{}.{}", r.code, c.code))
                            })
                            .collect(),
                        "Total, Total".into(),
                    )
                });
                rows.push(RowView {
                    label: "Total".into(),
                    cells: totals,
                });
                qv.table = Some(TableView {
                    columns: t
                        .columns
                        .iter()
                        .map(|c| c.label.clone())
                        .chain(["Total".to_string()])
                        .collect(),
                    rows,
                    totals_entered: t.totals_entered,
                });
            }
            Kind::Loop(block) => {
                qv.kind = "loop";
                let items_field = format!("{path}!items");
                let count = self.answers.items(&path);
                let items = (1..=count)
                    .map(|i| ItemView {
                        number: i,
                        heading: format!("{} {i}", block.item_label),
                        questions: block
                            .questions
                            .iter()
                            .filter(|inner| {
                                self.view
                                    .visible
                                    .contains(&format!("{path}[{i}].{}", inner.id))
                            })
                            .map(|inner| self.question(inner, &format!("{path}[{i}].")))
                            .collect(),
                    })
                    .collect();
                qv.looped = Some(LoopView {
                    items_id: html_id(&items_field),
                    count: match self.raw.get(items_field.as_str()) {
                        Some(r) => (*r).to_string(),
                        None if count > 0 => count.to_string(),
                        None => String::new(),
                    },
                    items_field,
                    min: block.min_items,
                    max: block.max_items,
                    item_label: block.item_label.clone(),
                    items,
                });
            }
        }
        self.messages(&mut qv, question);
        qv
    }

    /// The controls shown beside this question, and its fields that did not parse.
    fn messages(&self, qv: &mut QuestionView, question: &Question) {
        let path = qv.path.as_str();
        let is_loop = matches!(question.kind, Kind::Loop(_));
        let mine = |p: &str| {
            p == path
                || p.strip_prefix(path).is_some_and(|rest| {
                    rest.starts_with('!') || (rest.starts_with('.') && !is_loop)
                })
        };
        for (n, e) in self
            .errors
            .iter()
            .enumerate()
            .filter(|(_, e)| mine(&e.field))
        {
            let field_id = if e.field.ends_with("!missing") {
                format!("{}-missing", qv.id)
            } else {
                html_id(&e.field)
            };
            qv.messages.push(Message {
                id: format!("{}-saisie-{n}", qv.id),
                field_id,
                severity: "error",
                text: e.message.clone(),
                continue_field: None,
                kept: false,
                blocks: true,
            });
        }
        for (n, o) in self
            .view
            .outcomes
            .iter()
            .enumerate()
            .filter(|(_, o)| o.question == path)
        {
            if !matches!(o.state, ControlState::Failed | ControlState::Kept) {
                continue;
            }
            let warning = o.severity == Severity::Warning;
            qv.messages.push(Message {
                id: format!("{}-controle-{n}", qv.id),
                field_id: match &qv.table {
                    Some(t) => t
                        .rows
                        .first()
                        .and_then(|r| r.cells.first())
                        .map_or(qv.id.clone(), |c| c.id.clone()),
                    None if qv.kind == "loop" => html_id(&format!("{path}!items")),
                    None if !qv.options.is_empty() => format!("{}-0", qv.id),
                    None => qv.id.clone(),
                },
                severity: if warning { "warning" } else { "error" },
                text: o.message.clone(),
                continue_field: warning.then(|| format!("{}!continue", o.path)),
                kept: o.state == ControlState::Kept,
                blocks: o.blocks(),
            });
        }
        qv.invalid = qv.messages.iter().any(|m| m.blocks);
        qv.described_by = qv
            .messages
            .iter()
            .map(|m| m.id.as_str())
            .collect::<Vec<_>>()
            .join(" ");
    }
}

/// The acknowledgement's and the review's lines: every page, and every visible question with
/// its answer (a count table's cells one by one, a loop's items one by one).
pub fn answer_lines(q: &Questionnaire, answers: &Answers) -> Vec<(String, Vec<(String, String)>)> {
    let mut pages = Vec::new();
    for (index, seq) in q.sequences.iter().enumerate() {
        let Some(view) = q.page_view(index, answers) else {
            continue;
        };
        let mut lines = Vec::new();
        for question in &seq.questions {
            if !view.visible.contains(&question.id) {
                continue;
            }
            lines_of(question, &question.id, &view, answers, &mut lines);
        }
        pages.push((seq.title.clone(), lines));
    }
    pages
}

fn lines_of(
    question: &Question,
    path: &str,
    view: &PageView,
    answers: &Answers,
    out: &mut Vec<(String, String)>,
) {
    match &question.kind {
        Kind::CountTable(t) => {
            for r in &t.rows {
                for c in &t.columns {
                    let cell = format!("{path}.{}.{}", r.code, c.code);
                    let value = match answers.get(&cell) {
                        Some(Answer::Integer(n)) => french::integer(*n),
                        _ => String::new(),
                    };
                    out.push((
                        format!("{} — {}, {}", question.label, r.label, c.label),
                        value,
                    ));
                }
            }
        }
        Kind::Loop(block) => {
            let n = answers.items(path);
            out.push((
                question.label.clone(),
                format!("{n} {}", block.item_label.to_lowercase()),
            ));
            for i in 1..=n {
                for inner in &block.questions {
                    let p = format!("{path}[{i}].{}", inner.id);
                    if view.visible.contains(&p) {
                        let mut line = Vec::new();
                        lines_of(inner, &p, view, answers, &mut line);
                        out.extend(line.into_iter().map(|(label, value)| {
                            (format!("{} {i} — {label}", block.item_label), value)
                        }));
                    }
                }
            }
        }
        _ => out.push((
            question.label.clone(),
            answer_text(question, answers.get(path)),
        )),
    }
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

    fn answers(pairs: &[(&str, Answer)]) -> Answers {
        let mut a = Answers::new();
        for (p, v) in pairs {
            a.set(*p, v.clone());
        }
        a
    }

    #[test]
    fn a_filter_hides_its_questions_on_the_server() {
        let q = bav();
        let no = answers(&[("bav_actif", Answer::YesNo(false))]);
        let view = q.page_view(0, &no).unwrap();
        let m = page_model(&q, &view, &no, &[]).unwrap();
        let paths: Vec<&str> = m.questions.iter().map(|q| q.path.as_str()).collect();
        assert_eq!(paths, ["bav_actif", "motif_inactivite"]);
        assert!(m.questions[0].options[1].checked);
        let yes = answers(&[("bav_actif", Answer::YesNo(true))]);
        let view = q.page_view(0, &yes).unwrap();
        let m = page_model(&q, &view, &yes, &[]).unwrap();
        let paths: Vec<&str> = m.questions.iter().map(|q| q.path.as_str()).collect();
        assert_eq!(
            paths,
            ["bav_actif", "date_convention", "etp", "demi_journees"]
        );
        // Required and blank: both blocking messages are listed, each beside its field.
        let required: Vec<&str> = m.blocking.iter().map(|b| b.field_id.as_str()).collect();
        assert_eq!(required, ["q-etp", "q-demi_journees"]);
        assert_eq!(m.number, 1);
        assert_eq!(m.pages, 3);
    }

    #[test]
    fn a_warning_asks_then_is_kept_and_an_unparsed_value_is_shown_again() {
        let q = bav();
        let mut a = answers(&[
            ("bav_actif", Answer::YesNo(true)),
            ("etp", Answer::Decimal(0.2)),
            ("demi_journees", Answer::Integer(9)),
        ]);
        let view = q.page_view(0, &a).unwrap();
        let m = page_model(&q, &view, &a, &[]).unwrap();
        let w = &m.questions[3].messages[0];
        assert_eq!((w.severity, w.kept, w.blocks), ("warning", false, true));
        assert_eq!(
            w.continue_field.as_deref(),
            Some("c_ouverture_effectif!continue")
        );
        assert_eq!(m.questions[2].value, "0,2");
        a.set("c_ouverture_effectif", Answer::WarningKept);
        let view = q.page_view(0, &a).unwrap();
        let errors = [FieldError {
            field: "date_convention".into(),
            raw: "32/13/2020".into(),
            message: "date invalide".into(),
        }];
        let m = page_model(&q, &view, &a, &errors).unwrap();
        let w = &m.questions[3].messages[0];
        assert_eq!((w.kept, w.blocks), (true, false));
        assert_eq!(m.questions[1].value, "32/13/2020");
        assert_eq!(m.questions[1].messages[0].text, "date invalide");
        assert!(m.questions[1].invalid);
        assert_eq!(m.blocking.len(), 1);
    }

    #[test]
    fn a_count_table_has_headers_totals_and_a_loop_its_items() {
        let q = bav();
        let a = answers(&[
            ("bav_actif", Answer::YesNo(true)),
            ("victimes.G_BIENS.F", Answer::Integer(1200)),
            ("victimes.G_BIENS.M", Answer::Integer(34)),
            ("lieux", Answer::Items(2)),
        ]);
        let view = q.page_view(1, &a).unwrap();
        let m = page_model(&q, &view, &a, &[]).unwrap();
        let t = m.questions[0].table.as_ref().unwrap();
        assert_eq!(t.columns, ["Femmes", "Hommes", "Total"]);
        assert_eq!(t.rows.len(), 8);
        assert_eq!(t.rows[1].cells[0].name, "victimes.G_BIENS.F");
        assert_eq!(t.rows[1].cells[0].label, "Atteintes aux biens, Femmes");
        assert_eq!(t.rows[1].cells[2].value, french::integer(1234));
        assert!(t.rows[1].cells[2].total && t.rows[1].cells[2].name.is_empty());
        // A column total is computed only once every cell of it is filled.
        assert_eq!(t.rows[7].cells[0].value, "");
        let view = q.page_view(2, &a).unwrap();
        let m = page_model(&q, &view, &a, &[]).unwrap();
        let l = m.questions[1].looped.as_ref().unwrap();
        assert_eq!(l.items.len(), 2);
        assert_eq!(l.items[1].questions[0].path, "lieux[2].lieu");
        assert_eq!(l.items_field, "lieux!items");
        assert_eq!(l.count, "2");
    }

    #[test]
    fn answers_read_in_french() {
        let q = bav();
        let a = answers(&[
            ("bav_actif", Answer::YesNo(true)),
            ("etp", Answer::Decimal(1.5)),
            ("date_convention", Answer::DontKnow),
            (
                "services",
                Answer::Choices(vec!["INFO".into(), "PSY".into()]),
            ),
        ]);
        let pages = answer_lines(&q, &a);
        assert_eq!(pages.len(), 3);
        let first = &pages[0].1;
        assert_eq!(first[0].1, "Oui");
        assert_eq!(first[1].1, "Ne sait pas");
        assert_eq!(first[2].1, "1,5 ETP");
        let third = &pages[2].1;
        assert_eq!(
            third[0].1,
            "Information sur les droits et la procédure ; Orientation vers un soutien psychologique"
        );
        assert_eq!(html_id("lieux[2].lieu"), "q-lieux-2--lieu");
    }
}
