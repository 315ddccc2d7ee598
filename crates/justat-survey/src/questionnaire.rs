//! A questionnaire: its pages (sequences), questions and controls, and the checker that
//! resolves and type-checks every expression when the file is loaded.

use crate::expr::{self, Dialect, Expr, Ref, Type};
use jiff::civil::Date;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The code of a count table's total row or column, as in SDMX.
pub const TOTAL: &str = "_T";

/// A loaded, checked questionnaire.
#[derive(Debug, Clone, PartialEq)]
pub struct Questionnaire {
    /// Identifier, e.g. `bav-2025`.
    pub id: String,
    /// Version; a changed questionnaire gets a new one.
    pub version: u32,
    /// Title shown to respondents.
    pub title: String,
    /// Introduction shown on the first page.
    pub description: Option<String>,
    /// The pages, in order.
    pub sequences: Vec<Sequence>,
    /// Other names of answers, from an imported Lunatic file (empty for TOML files).
    pub aliases: BTreeMap<String, Alias>,
}

/// Another name of an answer: Lunatic names every table cell and every option of a
/// CheckboxGroup by its own variable, and its expressions use those names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Alias {
    /// A count-table cell's variable, by the cell's path.
    Cell(String),
    /// A multiple choice's option as a boolean variable.
    Option {
        /// The multiple-choice question.
        question: String,
        /// The option's code.
        code: String,
    },
    /// A loop's variable named outside its loop: the list of its values (VTL's array).
    Column {
        /// The loop.
        looped: String,
        /// The inner question.
        question: String,
    },
}

/// A page of the questionnaire.
#[derive(Debug, Clone, PartialEq)]
pub struct Sequence {
    /// Identifier.
    pub id: String,
    /// Title shown as the page heading.
    pub title: String,
    /// Text shown under the title.
    pub intro: Option<String>,
    /// The questions, in order.
    pub questions: Vec<Question>,
}

/// One question.
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    /// Identifier, unique in the questionnaire (in its loop for a loop's questions).
    pub id: String,
    /// The question as the respondent reads it.
    pub label: String,
    /// Help shown under the label.
    pub help: Option<String>,
    /// What is asked.
    pub kind: Kind,
    /// A blank answer blocks the page (unless « ne sait pas » / « refus » was given).
    pub required: bool,
    /// « Ne sait pas » may be answered.
    pub allow_dont_know: bool,
    /// « Refus » may be answered.
    pub allow_refusal: bool,
    /// Shown only when this holds.
    pub show_if: Option<Condition>,
    /// Controls, all evaluated.
    pub controls: Vec<Control>,
    /// Line of the question in its file.
    pub line: usize,
}

/// What a question asks.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// Free text.
    Text {
        /// Longest answer, in characters.
        max_length: usize,
    },
    /// An integer.
    Integer {
        /// Smallest value.
        min: Option<i64>,
        /// Largest value.
        max: Option<i64>,
        /// Unit shown after the field.
        unit: Option<String>,
    },
    /// A decimal number.
    Decimal {
        /// Smallest value.
        min: Option<f64>,
        /// Largest value.
        max: Option<f64>,
        /// Unit shown after the field.
        unit: Option<String>,
        /// Digits allowed after the decimal comma.
        decimals: u8,
    },
    /// A date.
    Date {
        /// Earliest date.
        min: Option<Date>,
        /// Latest date.
        max: Option<Date>,
    },
    /// Oui / non.
    YesNo,
    /// One option.
    SingleChoice {
        /// The options.
        options: Vec<Choice>,
    },
    /// Any number of options.
    MultipleChoice {
        /// The options.
        options: Vec<Choice>,
    },
    /// Rows × columns of counts.
    CountTable(CountTable),
    /// A block of questions repeated per item.
    Loop(LoopBlock),
}

/// A coded option, row or column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// Code, as delivered (a codelist's code for a count table).
    pub code: String,
    /// French label.
    pub label: String,
}

/// A count table: integer cells, row and column totals.
#[derive(Debug, Clone, PartialEq)]
pub struct CountTable {
    /// Rows.
    pub rows: Vec<Choice>,
    /// Columns.
    pub columns: Vec<Choice>,
    /// The respondent types the totals too, and each is checked against its cells (blocking);
    /// otherwise totals are computed and shown.
    pub totals_entered: bool,
    /// Codelist of the rows, for the cube (e.g. `CL_OFFENCE`).
    pub row_codelist: Option<String>,
    /// Codelist of the columns (e.g. `CL_SEX`).
    pub column_codelist: Option<String>,
}

/// A loop: the same questions per item.
#[derive(Debug, Clone, PartialEq)]
pub struct LoopBlock {
    /// How one item is called (« Service », « Lieu de permanence »).
    pub item_label: String,
    /// Fewest items.
    pub min_items: u32,
    /// Most items.
    pub max_items: u32,
    /// The questions asked per item.
    pub questions: Vec<Question>,
}

/// A checked boolean expression with its source.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// As written.
    pub source: String,
    /// Resolved and type-checked.
    pub expr: Expr,
    /// Line of the expression in its file.
    pub line: usize,
}

/// How serious a failed control is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Blocks the page until corrected.
    Error,
    /// Asks « Corriger / Poursuivre »; « Poursuivre » is recorded.
    Warning,
}

/// A control: `must` is expected to hold; when it is false, `message` is shown.
#[derive(Debug, Clone, PartialEq)]
pub struct Control {
    /// Identifier (its path records a kept warning).
    pub id: String,
    /// Error or warning.
    pub severity: Severity,
    /// What must hold.
    pub must: Condition,
    /// French message shown when it does not.
    pub message: String,
}

/// A problem in a questionnaire file, at the line an editor shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file, as given.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// French message.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// Every problem found in a questionnaire file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct LoadError(pub Vec<Diagnostic>);

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

/// A condition not yet parsed: its source and line, as the file gave them.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    pub text: String,
    pub line: usize,
}

impl Condition {
    /// Parses without resolving (the checker resolves); fails with a line-located diagnostic.
    pub(crate) fn parse(
        src: &Source,
        dialect: Dialect,
        file: &str,
    ) -> Result<Condition, Diagnostic> {
        expr::parse(&src.text, dialect)
            .map(|expr| Condition {
                source: src.text.clone(),
                expr,
                line: src.line,
            })
            .map_err(|e| Diagnostic {
                file: file.to_string(),
                line: src.line
                    + src.text[..e.offset.min(src.text.len())]
                        .matches('\n')
                        .count(),
                message: format!("{} (dans « {} »)", e.message, src.text.trim()),
            })
    }
}

impl Sequence {
    /// Whether an answer path belongs to this page.
    pub fn owns(&self, path: &str) -> bool {
        let head = path.split(['.', '[', '!']).next().unwrap_or("");
        self.questions
            .iter()
            .any(|q| q.id == head || q.controls.iter().any(|c| c.id == head))
    }

    /// The paths of this page's warning controls, loops expanded with `items(loop)` items.
    pub fn controls_paths(&self, items: &dyn Fn(&str) -> u32) -> Vec<String> {
        let mut out = Vec::new();
        for q in &self.questions {
            let warning = |c: &&Control| c.severity == Severity::Warning;
            out.extend(q.controls.iter().filter(warning).map(|c| c.id.clone()));
            if let Kind::Loop(b) = &q.kind {
                for i in 1..=items(&q.id) {
                    for inner in &b.questions {
                        out.extend(
                            inner
                                .controls
                                .iter()
                                .filter(warning)
                                .map(|c| format!("{}[{i}].{}", q.id, c.id)),
                        );
                    }
                }
            }
        }
        out
    }
}

/// One cell of a count table's answers, coded for a cube.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCell {
    /// The table's question id.
    pub table: String,
    /// Row code.
    pub row: String,
    /// Column code.
    pub column: String,
    /// The count, `None` when blank.
    pub value: Option<i64>,
}

impl Questionnaire {
    /// Every cell of every count table (not the totals), for a delivery feeding a cube.
    pub fn table_cells(&self, answers: &crate::Answers) -> Vec<TableCell> {
        let mut out = Vec::new();
        for (_, q) in self.questions() {
            let Kind::CountTable(t) = &q.kind else {
                continue;
            };
            for r in &t.rows {
                for c in &t.columns {
                    let value = match answers.get(&format!("{}.{}.{}", q.id, r.code, c.code)) {
                        Some(crate::Answer::Integer(n)) => Some(*n),
                        _ => None,
                    };
                    out.push(TableCell {
                        table: q.id.clone(),
                        row: r.code.clone(),
                        column: c.code.clone(),
                        value,
                    });
                }
            }
        }
        out
    }

    /// Every top-level question with its page index.
    pub fn questions(&self) -> impl Iterator<Item = (usize, &Question)> {
        self.sequences
            .iter()
            .enumerate()
            .flat_map(|(i, s)| s.questions.iter().map(move |q| (i, q)))
    }

    /// A top-level question by id.
    pub fn question(&self, id: &str) -> Option<&Question> {
        self.questions().map(|(_, q)| q).find(|q| q.id == id)
    }

    /// Resolves and type-checks every expression; collects every problem.
    pub(crate) fn check(&mut self, file: &str) -> Result<(), LoadError> {
        let mut diags = Vec::new();
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        let mut pages = BTreeSet::new();
        for s in &self.sequences {
            if !pages.insert(s.id.clone()) {
                diags.push(Diagnostic {
                    file: file.into(),
                    line: 1,
                    message: format!("page « {} » définie deux fois", s.id),
                });
            }
            for q in &s.questions {
                claim(&mut seen, &q.id, q.line, file, &mut diags);
                for c in &q.controls {
                    claim(&mut seen, &c.id, c.must.line, file, &mut diags);
                }
                if let Kind::Loop(b) = &q.kind {
                    let mut inner_seen = BTreeMap::new();
                    for iq in &b.questions {
                        claim(&mut inner_seen, &iq.id, iq.line, file, &mut diags);
                        for c in &iq.controls {
                            claim(&mut inner_seen, &c.id, c.must.line, file, &mut diags);
                        }
                    }
                }
            }
        }
        let symbols = Symbols::of(self);
        for s in &mut self.sequences {
            for q in &mut s.questions {
                check_question(q, &symbols, None, file, &mut diags);
                if let Kind::Loop(b) = &mut q.kind {
                    let id = q.id.clone();
                    for iq in &mut b.questions {
                        check_question(iq, &symbols, Some(&id), file, &mut diags);
                    }
                }
            }
        }
        if diags.is_empty() {
            Ok(())
        } else {
            Err(LoadError(diags))
        }
    }
}

fn claim(
    seen: &mut BTreeMap<String, usize>,
    id: &str,
    line: usize,
    file: &str,
    diags: &mut Vec<Diagnostic>,
) {
    let valid = !id.is_empty()
        && id.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !["and", "or", "not", "if", "then", "else", "true", "false"].contains(&id);
    if !valid {
        diags.push(Diagnostic {
            file: file.into(),
            line,
            message: format!(
                "identifiant « {id} » invalide : une lettre puis lettres, chiffres ou « _ »"
            ),
        });
    }
    if let Some(first) = seen.insert(id.to_string(), line) {
        diags.push(Diagnostic {
            file: file.into(),
            line,
            message: format!("identifiant « {id} » déjà utilisé ligne {first}"),
        });
    }
}

fn check_question(
    q: &mut Question,
    symbols: &Symbols,
    in_loop: Option<&str>,
    file: &str,
    diags: &mut Vec<Diagnostic>,
) {
    let scope = LoopScope { symbols, in_loop };
    let mut run = |c: &mut Condition, what: &str| match expr::check(&mut c.expr, &scope) {
        Ok(Type::Bool) => {}
        Ok(t) => diags.push(Diagnostic {
            file: file.into(),
            line: c.line,
            message: format!(
                "{what} doit être une condition (booléen), c'est un {t} : « {} »",
                c.source.trim()
            ),
        }),
        Err(e) => diags.push(Diagnostic {
            file: file.into(),
            line: c.line
                + c.source[..e.offset.min(c.source.len())]
                    .matches('\n')
                    .count(),
            message: format!("{} (dans « {} »)", e.message, c.source.trim()),
        }),
    };
    if let Some(c) = &mut q.show_if {
        run(c, "show_if");
    }
    for c in &mut q.controls {
        run(&mut c.must, "must");
    }
}

/// What each name designates: built once per questionnaire.
struct Symbols {
    names: BTreeMap<String, (Ref, Type)>,
    loops: BTreeMap<String, BTreeMap<String, Type>>,
}

fn type_of(kind: &Kind) -> Option<Type> {
    Some(match kind {
        Kind::Text { .. } | Kind::SingleChoice { .. } => Type::Text,
        Kind::Integer { .. } | Kind::Decimal { .. } => Type::Number,
        Kind::Date { .. } => Type::Date,
        Kind::YesNo => Type::Bool,
        Kind::MultipleChoice { .. } => Type::Codes,
        Kind::CountTable(_) | Kind::Loop(_) => return None,
    })
}

impl Symbols {
    fn of(q: &Questionnaire) -> Symbols {
        let mut names = BTreeMap::new();
        let mut loops = BTreeMap::new();
        for (_, question) in q.questions() {
            let id = question.id.clone();
            match &question.kind {
                Kind::CountTable(t) => {
                    let rows = t.rows.iter().map(|r| Some(r.code.clone())).chain([None]);
                    for row in rows {
                        for col in t.columns.iter().map(|c| Some(c.code.clone())).chain([None]) {
                            let path = format!(
                                "{id}.{}.{}",
                                row.as_deref().unwrap_or(TOTAL),
                                col.as_deref().unwrap_or(TOTAL)
                            );
                            let r = if (row.is_none() || col.is_none()) && !t.totals_entered {
                                Ref::Total {
                                    table: id.clone(),
                                    row: row.clone(),
                                    column: col.clone(),
                                }
                            } else {
                                Ref::Answer(path.clone())
                            };
                            names.insert(path, (r, Type::Number));
                        }
                    }
                }
                Kind::Loop(b) => {
                    names.insert(id.clone(), (Ref::Items(id.clone()), Type::Items));
                    let mut inner = BTreeMap::new();
                    for iq in &b.questions {
                        if let Some(t) = type_of(&iq.kind) {
                            inner.insert(iq.id.clone(), t);
                            let list = if t == Type::Number {
                                Type::NumberList
                            } else {
                                Type::OtherList
                            };
                            names.insert(
                                format!("{id}.{}", iq.id),
                                (
                                    Ref::Column {
                                        looped: id.clone(),
                                        question: iq.id.clone(),
                                    },
                                    list,
                                ),
                            );
                        }
                    }
                    loops.insert(id, inner);
                }
                k => {
                    if let Some(t) = type_of(k) {
                        names.insert(id.clone(), (Ref::Answer(id), t));
                    }
                }
            }
        }
        for (name, alias) in &q.aliases {
            let resolved = match alias {
                Alias::Cell(path) => (Ref::Answer(path.clone()), Type::Number),
                Alias::Option { question, code } => (
                    Ref::Option {
                        question: question.clone(),
                        code: code.clone(),
                    },
                    Type::Bool,
                ),
                Alias::Column { looped, question } => {
                    let inner = loops
                        .get(looped)
                        .and_then(|m: &BTreeMap<String, Type>| m.get(question))
                        .copied();
                    let list = if inner == Some(Type::Number) {
                        Type::NumberList
                    } else {
                        Type::OtherList
                    };
                    (
                        Ref::Column {
                            looped: looped.clone(),
                            question: question.clone(),
                        },
                        list,
                    )
                }
            };
            names.insert(name.clone(), resolved);
        }
        Symbols { names, loops }
    }
}

struct LoopScope<'a> {
    symbols: &'a Symbols,
    in_loop: Option<&'a str>,
}

impl expr::Scope for LoopScope<'_> {
    fn resolve(&self, name: &str) -> Result<(Ref, Type), String> {
        if let Some(l) = self.in_loop
            && let Some(t) = self.symbols.loops.get(l).and_then(|m| m.get(name))
        {
            return Ok((
                Ref::Item {
                    looped: l.to_string(),
                    question: name.to_string(),
                },
                *t,
            ));
        }
        if let Some(found) = self.symbols.names.get(name) {
            return Ok(found.clone());
        }
        let head = name.split('.').next().unwrap_or(name);
        if self.symbols.loops.contains_key(head) && name.contains('.') {
            return Err(format!(
                "« {name} » : pas de question de ce nom dans la boucle « {head} »"
            ));
        }
        if self
            .symbols
            .names
            .keys()
            .any(|k| k.starts_with(&format!("{head}.")))
        {
            return Err(format!(
                "« {name} » : cellule inconnue du tableau « {head} » (écrire {head}.LIGNE.COLONNE, {TOTAL} pour un total)"
            ));
        }
        Err(format!("question inconnue « {name} »"))
    }
}
