//! The page engine: which questions a page shows, every control's outcome, whether the
//! respondent may go on, and the whole questionnaire's review.
//!
//! Besides the declared controls, each visible question carries built-in blocking controls,
//! with paths the portal can show beside the field: `<path>!required` (a required question
//! left blank), `<path>!bounds` (a stored value outside the question's bounds, e.g. edited
//! outside the portal), `<table>!total.<ROW>` / `<table>!total._T.<COL>` (an entered total
//! that is not the sum of its cells, checked once every cell of it is filled) and
//! `<loop>!items` (too few or too many items).

use crate::answers::{Answer, Answers};
use crate::expr::{self, Env, Presence, Ref, Value};
use crate::questionnaire::{Condition, CountTable, Kind, Question, Questionnaire, Severity, TOTAL};

/// The outcome of one control.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlState {
    /// The condition holds.
    Passed,
    /// The condition could not be evaluated: something it reads is missing.
    NotApplicable,
    /// The condition fails: an error blocks, a warning waits for « Poursuivre ».
    Failed,
    /// A warning whose « Poursuivre » the respondent recorded.
    Kept,
}

/// One control's outcome on a page.
#[derive(Debug, Clone, PartialEq)]
pub struct ControlOutcome {
    /// The control's path (`c_total`, `services[2].c_eff`, `q3!required`).
    pub path: String,
    /// The path of the question it is shown beside.
    pub question: String,
    /// Error or warning.
    pub severity: Severity,
    /// French message.
    pub message: String,
    /// Its outcome.
    pub state: ControlState,
}

impl ControlOutcome {
    /// Whether this outcome stops the respondent: a failed error, or a failed warning
    /// without a recorded « Poursuivre ».
    pub fn blocks(&self) -> bool {
        self.state == ControlState::Failed
    }
}

/// What a page shows and whether the respondent may leave it forward.
#[derive(Debug, Clone, PartialEq)]
pub struct PageView {
    /// The page's index.
    pub index: usize,
    /// The paths of the visible questions (loop questions per item: `services[1].nom`).
    pub visible: Vec<String>,
    /// The paths of the questions a filter hides.
    pub hidden: Vec<String>,
    /// Every control's outcome, in the page's order — all of them, not only the first.
    pub outcomes: Vec<ControlOutcome>,
    /// No failed error, and every failed warning kept.
    pub may_continue: bool,
}

/// The review of one page before submission.
#[derive(Debug, Clone, PartialEq)]
pub struct PageReview {
    /// The page's index.
    pub index: usize,
    /// Its title.
    pub title: String,
    /// Answered leaf paths (a count table's cells one by one).
    pub answered: Vec<String>,
    /// Visible leaf paths still blank.
    pub missing: Vec<String>,
    /// Controls that stop the submission.
    pub blocking: Vec<ControlOutcome>,
    /// Warnings the respondent kept.
    pub kept: Vec<ControlOutcome>,
}

/// The whole questionnaire's review.
#[derive(Debug, Clone, PartialEq)]
pub struct Review {
    /// Page by page.
    pub pages: Vec<PageReview>,
    /// Nothing blocks on any page.
    pub may_submit: bool,
}

struct AnswerEnv<'a> {
    q: &'a Questionnaire,
    answers: &'a Answers,
    item: Option<u32>,
}

fn value_of(a: Option<&Answer>) -> Value {
    match a {
        Some(Answer::Text(s) | Answer::Choice(s)) => Value::Text(s.clone()),
        Some(Answer::Integer(n)) => Value::Number(*n as f64),
        Some(Answer::Decimal(x)) => Value::Number(*x),
        Some(Answer::Date(d)) => Value::Date(*d),
        Some(Answer::YesNo(b)) => Value::Bool(*b),
        Some(Answer::Choices(c)) => Value::Codes(c.clone()),
        Some(Answer::Items(n)) => Value::Number(f64::from(*n)),
        None | Some(Answer::DontKnow | Answer::Refused | Answer::WarningKept) => Value::Missing,
    }
}

fn presence_of(a: Option<&Answer>) -> Presence {
    match a {
        None => Presence::Blank,
        Some(Answer::DontKnow) => Presence::DontKnow,
        Some(Answer::Refused) => Presence::Refused,
        Some(_) => Presence::Given,
    }
}

impl AnswerEnv<'_> {
    fn path(&self, r: &Ref) -> Option<String> {
        match r {
            Ref::Answer(p) | Ref::Option { question: p, .. } => Some(p.clone()),
            Ref::Item { looped, question } => {
                self.item.map(|i| format!("{looped}[{i}].{question}"))
            }
            _ => None,
        }
    }
}

impl Env for AnswerEnv<'_> {
    fn value(&self, r: &Ref) -> Value {
        match r {
            Ref::Answer(_) | Ref::Item { .. } => {
                value_of(self.path(r).and_then(|p| self.answers.get(&p)))
            }
            Ref::Items(l) => Value::Number(f64::from(self.answers.items(l))),
            Ref::Column { looped, question } => Value::List(
                (1..=self.answers.items(looped))
                    .map(|i| value_of(self.answers.get(&format!("{looped}[{i}].{question}"))))
                    .collect(),
            ),
            Ref::Total { table, row, column } => {
                let Some(Kind::CountTable(t)) = self.q.question(table).map(|q| &q.kind) else {
                    return Value::Missing;
                };
                let mut sum = 0.0;
                for r in t
                    .rows
                    .iter()
                    .filter(|r| row.as_ref().is_none_or(|x| *x == r.code))
                {
                    for c in t
                        .columns
                        .iter()
                        .filter(|c| column.as_ref().is_none_or(|x| *x == c.code))
                    {
                        match self.answers.get(&format!("{table}.{}.{}", r.code, c.code)) {
                            Some(Answer::Integer(n)) => sum += *n as f64,
                            _ => return Value::Missing,
                        }
                    }
                }
                Value::Number(sum)
            }
            Ref::Option { question, code } => match self.answers.get(question) {
                Some(Answer::Choices(c)) => Value::Bool(c.contains(code)),
                _ => Value::Missing,
            },
            Ref::Name(_) => Value::Missing,
        }
    }
    fn presence(&self, r: &Ref) -> Presence {
        presence_of(self.path(r).and_then(|p| self.answers.get(&p)))
    }
}

fn holds(c: &Condition, env: &AnswerEnv) -> Value {
    expr::eval(&c.expr, env)
}

impl Questionnaire {
    /// Evaluates page `index` over `answers`; `None` if there is no such page.
    pub fn page_view(&self, index: usize, answers: &Answers) -> Option<PageView> {
        let seq = self.sequences.get(index)?;
        let mut view = PageView {
            index,
            visible: Vec::new(),
            hidden: Vec::new(),
            outcomes: Vec::new(),
            may_continue: true,
        };
        for q in &seq.questions {
            self.visit(q, answers, None, &mut view);
        }
        view.may_continue = !view.outcomes.iter().any(ControlOutcome::blocks);
        Some(view)
    }

    /// Whether a top-level question is shown with these answers.
    pub fn is_visible(&self, question: &Question, answers: &Answers) -> bool {
        let env = AnswerEnv {
            q: self,
            answers,
            item: None,
        };
        question
            .show_if
            .as_ref()
            .is_none_or(|c| holds(c, &env) == Value::Bool(true))
    }

    fn visit(
        &self,
        q: &Question,
        answers: &Answers,
        item: Option<(&str, u32)>,
        view: &mut PageView,
    ) {
        let env = AnswerEnv {
            q: self,
            answers,
            item: item.map(|(_, i)| i),
        };
        let path = match item {
            Some((l, i)) => format!("{l}[{i}].{}", q.id),
            None => q.id.clone(),
        };
        let shown = q
            .show_if
            .as_ref()
            .is_none_or(|c| holds(c, &env) == Value::Bool(true));
        if !shown {
            view.hidden.push(path);
            return;
        }
        view.visible.push(path.clone());
        let mut builtin = |suffix: &str, message: String, failed: bool| {
            view.outcomes.push(ControlOutcome {
                path: format!("{path}!{suffix}"),
                question: path.clone(),
                severity: Severity::Error,
                message,
                state: if failed {
                    ControlState::Failed
                } else {
                    ControlState::Passed
                },
            });
        };
        match &q.kind {
            Kind::CountTable(t) => {
                if q.required {
                    let any = cells(&q.id, t).iter().any(|c| answers.get(c).is_some());
                    builtin(
                        "required",
                        "Ce tableau est obligatoire : saisir 0 dans les cases sans effectif."
                            .into(),
                        !any,
                    );
                }
                if t.totals_entered {
                    for (suffix, message, total, parts) in total_checks(&q.id, t) {
                        let Some(Answer::Integer(entered)) = answers.get(&total) else {
                            continue;
                        };
                        let mut sum = 0;
                        let mut complete = true;
                        for p in &parts {
                            match answers.get(p) {
                                Some(Answer::Integer(n)) => sum += n,
                                _ => complete = false,
                            }
                        }
                        if complete {
                            builtin(
                                &suffix,
                                format!(
                                    "{message} : {} saisi, {} d'après le détail.",
                                    fr(*entered),
                                    fr(sum)
                                ),
                                sum != *entered,
                            );
                        }
                    }
                }
            }
            Kind::Loop(b) => {
                let n = answers.items(&q.id);
                if n < b.min_items || n > b.max_items {
                    builtin(
                        "items",
                        format!(
                            "Indiquer entre {} et {} élément(s) « {} ».",
                            b.min_items, b.max_items, b.item_label
                        ),
                        true,
                    );
                }
                for i in 1..=n {
                    for inner in &b.questions {
                        self.visit(inner, answers, Some((&q.id, i)), view);
                    }
                }
            }
            kind => {
                let a = answers.get(&path);
                if q.required {
                    builtin(
                        "required",
                        "Cette question est obligatoire.".into(),
                        a.is_none(),
                    );
                }
                let offered = match a {
                    Some(Answer::DontKnow) => q.allow_dont_know,
                    Some(Answer::Refused) => q.allow_refusal,
                    _ => true,
                };
                if !offered {
                    let message =
                        "« Ne sait pas » ou « refus » n'est pas proposé pour cette question.";
                    builtin("bounds", message.into(), true);
                } else if let Some(a) = a
                    && let Some(message) = out_of_bounds(kind, a)
                {
                    builtin("bounds", message, true);
                }
            }
        }
        for c in &q.controls {
            let cpath = match item {
                Some((l, i)) => format!("{l}[{i}].{}", c.id),
                None => c.id.clone(),
            };
            let state = match holds(&c.must, &env) {
                Value::Bool(true) => ControlState::Passed,
                Value::Bool(false)
                    if c.severity == Severity::Warning
                        && answers.get(&cpath) == Some(&Answer::WarningKept) =>
                {
                    ControlState::Kept
                }
                Value::Bool(false) => ControlState::Failed,
                _ => ControlState::NotApplicable,
            };
            view.outcomes.push(ControlOutcome {
                path: cpath,
                question: path.clone(),
                severity: c.severity,
                message: c.message.clone(),
                state,
            });
        }
    }

    /// Reviews every page: what is answered, what is missing, what still blocks.
    pub fn review(&self, answers: &Answers) -> Review {
        let mut pages = Vec::new();
        for (index, seq) in self.sequences.iter().enumerate() {
            let Some(view) = self.page_view(index, answers) else {
                continue;
            };
            let mut answered = Vec::new();
            let mut missing = Vec::new();
            for path in &view.visible {
                let top = path.split(['[', '.']).next().unwrap_or(path);
                let q = seq.questions.iter().find(|q| q.id == top);
                let leaves = match q.map(|q| &q.kind) {
                    Some(Kind::CountTable(t)) => cells(q.map_or("", |q| &q.id), t),
                    // The loop itself; its items' questions come as their own paths.
                    Some(Kind::Loop(_)) if path == top => continue,
                    _ => vec![path.clone()],
                };
                for leaf in leaves {
                    if answers.get(&leaf).is_some() {
                        answered.push(leaf)
                    } else {
                        missing.push(leaf)
                    }
                }
            }
            let blocking = view
                .outcomes
                .iter()
                .filter(|o| o.blocks())
                .cloned()
                .collect();
            let kept = view
                .outcomes
                .iter()
                .filter(|o| o.state == ControlState::Kept)
                .cloned()
                .collect();
            pages.push(PageReview {
                index,
                title: seq.title.clone(),
                answered,
                missing,
                blocking,
                kept,
            });
        }
        let may_submit = pages.iter().all(|p| p.blocking.is_empty());
        Review { pages, may_submit }
    }

    /// Removes the answers a filter now hides and the items beyond a loop's count (Lunatic's
    /// « cleaning »), returning the paths removed, so that what is delivered was asked.
    pub fn clean(&self, answers: &mut Answers) -> Vec<String> {
        let mut hidden = Vec::new();
        for i in 0..self.sequences.len() {
            if let Some(v) = self.page_view(i, answers) {
                hidden.extend(v.hidden);
            }
        }
        let items: Vec<(String, u32)> = self
            .questions()
            .filter(|(_, q)| matches!(q.kind, Kind::Loop(_)))
            .map(|(_, q)| (q.id.clone(), answers.items(&q.id)))
            .collect();
        let doomed: Vec<String> = answers
            .iter()
            .map(|(p, _)| p.to_string())
            .filter(|p| {
                hidden.iter().any(|h| {
                    p == h || p.starts_with(&format!("{h}.")) || p.starts_with(&format!("{h}["))
                }) || items.iter().any(|(l, n)| {
                    p.strip_prefix(&format!("{l}["))
                        .and_then(|r| r.split(']').next())
                        .and_then(|i| i.parse::<u32>().ok())
                        .is_some_and(|i| i > *n)
                })
            })
            .collect();
        for p in &doomed {
            answers.remove(p);
        }
        doomed
    }
}

fn fr(n: i64) -> String {
    justat_model::french::integer(n)
}

fn cells(id: &str, t: &CountTable) -> Vec<String> {
    let mut out = Vec::new();
    for r in &t.rows {
        for c in &t.columns {
            out.push(format!("{id}.{}.{}", r.code, c.code));
        }
        if t.totals_entered {
            out.push(format!("{id}.{}.{TOTAL}", r.code));
        }
    }
    if t.totals_entered {
        for c in t.columns.iter().map(|c| c.code.as_str()).chain([TOTAL]) {
            out.push(format!("{id}.{TOTAL}.{c}"));
        }
    }
    out
}

/// Each entered total with the cells it must equal: (suffix, message, total path, parts).
fn total_checks(id: &str, t: &CountTable) -> Vec<(String, String, String, Vec<String>)> {
    let mut out = Vec::new();
    for r in &t.rows {
        out.push((
            format!("total.{}", r.code),
            format!(
                "Le total de la ligne « {} » n'est pas la somme de ses cases",
                r.label
            ),
            format!("{id}.{}.{TOTAL}", r.code),
            t.columns
                .iter()
                .map(|c| format!("{id}.{}.{}", r.code, c.code))
                .collect(),
        ));
    }
    for c in &t.columns {
        out.push((
            format!("total.{TOTAL}.{}", c.code),
            format!(
                "Le total de la colonne « {} » n'est pas la somme de ses cases",
                c.label
            ),
            format!("{id}.{TOTAL}.{}", c.code),
            t.rows
                .iter()
                .map(|r| format!("{id}.{}.{}", r.code, c.code))
                .collect(),
        ));
    }
    out.push((
        format!("total.{TOTAL}.{TOTAL}"),
        "Le total général n'est pas la somme des totaux des lignes".into(),
        format!("{id}.{TOTAL}.{TOTAL}"),
        t.rows
            .iter()
            .map(|r| format!("{id}.{}.{TOTAL}", r.code))
            .collect(),
    ));
    out
}

fn out_of_bounds(kind: &Kind, a: &Answer) -> Option<String> {
    let raw = match (kind, a) {
        (Kind::Integer { .. }, Answer::Integer(n)) => n.to_string(),
        (Kind::Decimal { decimals, .. }, Answer::Decimal(x)) => {
            format!("{x:.*}", *decimals as usize)
        }
        (Kind::Date { .. }, Answer::Date(d)) => d.to_string(),
        (Kind::SingleChoice { .. }, Answer::Choice(c)) => c.clone(),
        (Kind::Text { .. }, Answer::Text(t)) => t.clone(),
        (Kind::YesNo, Answer::YesNo(_)) | (Kind::MultipleChoice { .. }, Answer::Choices(_)) => {
            return None;
        }
        (_, Answer::DontKnow | Answer::Refused) => return None,
        _ => return Some("réponse d'un type inattendu pour cette question".into()),
    };
    crate::answers::parse_value(kind, &raw).err()
}
