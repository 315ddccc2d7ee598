//! Questionnaire files in TOML (`surveys/*.toml`, documented in `surveys/README.md`).

use crate::expr::Dialect;
use crate::questionnaire::{
    Choice, Condition, Control, CountTable, Diagnostic, Kind, LoadError, LoopBlock, Question,
    Questionnaire, Sequence, Severity, Source,
};
use jiff::civil::Date;
use serde::Deserialize;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    id: Spanned<String>,
    version: u32,
    title: String,
    description: Option<String>,
    #[serde(default)]
    sequence: Vec<RawSequence>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSequence {
    id: Spanned<String>,
    title: String,
    intro: Option<String>,
    #[serde(default)]
    question: Vec<RawQuestion>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOption {
    code: String,
    label: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuestion {
    id: Spanned<String>,
    kind: Spanned<String>,
    label: String,
    help: Option<String>,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    dont_know: bool,
    #[serde(default)]
    refusal: bool,
    show_if: Option<Spanned<String>>,
    min: Option<Spanned<toml::Value>>,
    max: Option<Spanned<toml::Value>>,
    unit: Option<String>,
    decimals: Option<u8>,
    max_length: Option<usize>,
    options: Option<Spanned<Vec<RawOption>>>,
    rows: Option<Spanned<Vec<RawOption>>>,
    columns: Option<Spanned<Vec<RawOption>>>,
    row_codelist: Option<String>,
    column_codelist: Option<String>,
    totals: Option<Spanned<String>>,
    item_label: Option<String>,
    min_items: Option<u32>,
    max_items: Option<Spanned<u32>>,
    #[serde(default)]
    question: Vec<RawQuestion>,
    #[serde(default)]
    control: Vec<RawControl>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawControl {
    id: Spanned<String>,
    severity: Spanned<String>,
    must: Spanned<String>,
    message: String,
}

/// Longest questionnaire file accepted.
pub const MAX_FILE_LEN: usize = 2_000_000;
/// Most options, rows, columns or loop items.
pub const MAX_ITEMS: usize = 1_000;

/// The 1-based line of a byte offset, as an editor shows it.
pub fn line_of(text: &str, offset: usize) -> usize {
    1 + text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
}

/// Reads a questionnaire from TOML text; `file` names it in the diagnostics.
pub fn parse(file: &str, text: &str) -> Result<Questionnaire, LoadError> {
    let one = |line, message: String| {
        LoadError(vec![Diagnostic {
            file: file.into(),
            line,
            message,
        }])
    };
    if text.len() > MAX_FILE_LEN {
        return Err(one(
            1,
            format!("fichier trop grand (plus de {MAX_FILE_LEN} octets)"),
        ));
    }
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(1, |s| line_of(text, s.start));
        one(line, e.message().trim().to_string())
    })?;
    let mut b = Builder {
        file,
        text,
        diags: Vec::new(),
    };
    let mut sequences = Vec::new();
    for s in raw.sequence {
        let questions = s
            .question
            .into_iter()
            .filter_map(|q| b.question(q, false))
            .collect();
        sequences.push(Sequence {
            id: s.id.into_inner(),
            title: s.title,
            intro: s.intro,
            questions,
        });
    }
    if sequences.is_empty() {
        b.diag(1, "le questionnaire n'a aucune page ([[sequence]])".into());
    }
    let mut q = Questionnaire {
        id: raw.id.get_ref().clone(),
        version: raw.version,
        title: raw.title,
        description: raw.description,
        sequences,
        aliases: Default::default(),
    };
    if !b.diags.is_empty() {
        return Err(LoadError(b.diags));
    }
    q.check(file)?;
    Ok(q)
}

struct Builder<'a> {
    file: &'a str,
    text: &'a str,
    diags: Vec<Diagnostic>,
}

impl Builder<'_> {
    fn diag(&mut self, line: usize, message: String) {
        self.diags.push(Diagnostic {
            file: self.file.into(),
            line,
            message,
        });
    }
    fn line<T>(&self, s: &Spanned<T>) -> usize {
        line_of(self.text, s.span().start)
    }
    /// The line of a string value's first character (after its opening quotes).
    fn source(&self, s: &Spanned<String>) -> Source {
        let start = s.span().start;
        let quote = self.text[start..]
            .find(|c: char| c != '"' && c != '\'')
            .unwrap_or(0);
        let mut line = line_of(self.text, start + quote);
        // A multi-line string's content starts after the newline that follows its opening quotes.
        if self.text[start + quote..].starts_with('\n') {
            line += 1;
        }
        Source {
            text: s.get_ref().clone(),
            line,
        }
    }
    fn condition(&mut self, s: &Spanned<String>) -> Option<Condition> {
        match Condition::parse(&self.source(s), Dialect::Justat, self.file) {
            Ok(c) => Some(c),
            Err(d) => {
                self.diags.push(d);
                None
            }
        }
    }
    fn options(
        &mut self,
        o: Option<Spanned<Vec<RawOption>>>,
        line: usize,
        what: &str,
    ) -> Vec<Choice> {
        let Some(o) = o else {
            self.diag(line, format!("il manque « {what} »"));
            return Vec::new();
        };
        let l = self.line(&o);
        let list: Vec<Choice> = o
            .into_inner()
            .into_iter()
            .map(|r| Choice {
                code: r.code,
                label: r.label,
            })
            .collect();
        if list.is_empty() || list.len() > MAX_ITEMS {
            self.diag(
                l,
                format!("« {what} » doit avoir entre 1 et {MAX_ITEMS} éléments"),
            );
        }
        let mut codes = std::collections::BTreeSet::new();
        for c in &list {
            if c.code.is_empty()
                || !c
                    .code
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
            {
                self.diag(
                    l,
                    format!(
                        "code « {} » invalide dans « {what} » : lettres, chiffres ou « _ »",
                        c.code
                    ),
                );
            }
            if !codes.insert(c.code.clone()) {
                self.diag(l, format!("code « {} » en double dans « {what} »", c.code));
            }
        }
        list
    }
    fn int(&mut self, v: &Option<Spanned<toml::Value>>) -> Option<i64> {
        let v = v.as_ref()?;
        match v.get_ref() {
            toml::Value::Integer(i) => Some(*i),
            _ => {
                let l = self.line(v);
                self.diag(l, "borne entière attendue".into());
                None
            }
        }
    }
    fn float(&mut self, v: &Option<Spanned<toml::Value>>) -> Option<f64> {
        let v = v.as_ref()?;
        match v.get_ref() {
            toml::Value::Integer(i) => Some(*i as f64),
            toml::Value::Float(f) => Some(*f),
            _ => {
                let l = self.line(v);
                self.diag(l, "borne numérique attendue".into());
                None
            }
        }
    }
    fn date(&mut self, v: &Option<Spanned<toml::Value>>) -> Option<Date> {
        let v = v.as_ref()?;
        let parsed = match v.get_ref() {
            toml::Value::String(s) => s.parse::<Date>().ok(),
            toml::Value::Datetime(d) => d.to_string().parse::<Date>().ok(),
            _ => None,
        };
        if parsed.is_none() {
            let l = self.line(v);
            self.diag(l, "date attendue, au format AAAA-MM-JJ".into());
        }
        parsed
    }

    fn question(&mut self, mut q: RawQuestion, in_loop: bool) -> Option<Question> {
        let line = self.line(&q.id);
        let kind_line = self.line(&q.kind);
        if q.kind.get_ref() != "loop"
            && let Some(first) = q.question.first()
        {
            let l = self.line(&first.id);
            self.diag(
                l,
                "seule une boucle (kind = \"loop\") contient des questions".into(),
            );
        }
        let unexpected = |b: &mut Self, present: bool, key: &str| {
            if present {
                b.diag(
                    line,
                    format!(
                        "« {key} » ne s'applique pas à une question de type « {} »",
                        q.kind.get_ref()
                    ),
                );
            }
        };
        let kind = match q.kind.get_ref().as_str() {
            "text" => Kind::Text {
                max_length: q
                    .max_length
                    .unwrap_or(2_000)
                    .min(crate::answers::MAX_FIELD_LEN),
            },
            "integer" => {
                let (min, max) = (self.int(&q.min), self.int(&q.max));
                if let (Some(a), Some(b)) = (min, max)
                    && a > b
                {
                    self.diag(line, format!("min ({a}) supérieur à max ({b})"));
                }
                Kind::Integer {
                    min,
                    max,
                    unit: q.unit.clone(),
                }
            }
            "decimal" => {
                let (min, max) = (self.float(&q.min), self.float(&q.max));
                if let (Some(a), Some(b)) = (min, max)
                    && a > b
                {
                    self.diag(line, format!("min ({a}) supérieur à max ({b})"));
                }
                Kind::Decimal {
                    min,
                    max,
                    unit: q.unit.clone(),
                    decimals: q.decimals.unwrap_or(2).min(6),
                }
            }
            "date" => Kind::Date {
                min: self.date(&q.min),
                max: self.date(&q.max),
            },
            "yes_no" => Kind::YesNo,
            "single_choice" => Kind::SingleChoice {
                options: self.options(q.options, line, "options"),
            },
            "multiple_choice" => Kind::MultipleChoice {
                options: self.options(q.options, line, "options"),
            },
            "count_table" => {
                let totals_entered = match q.totals.as_ref().map(|t| t.get_ref().as_str()) {
                    None | Some("computed") => false,
                    Some("entered") => true,
                    Some(other) => {
                        let l = q.totals.as_ref().map_or(line, |t| self.line(t));
                        self.diag(
                            l,
                            format!("totals = « {other} » : « computed » ou « entered » attendu"),
                        );
                        false
                    }
                };
                let rows = self.options(q.rows, line, "rows");
                let columns = self.options(q.columns, line, "columns");
                for (list, codelist) in [(&rows, &q.row_codelist), (&columns, &q.column_codelist)] {
                    let Some(id) = codelist else { continue };
                    match justat_model::codelist::shipped_codelist(id) {
                        None => self.diag(line, format!("nomenclature « {id} » inconnue (voir crates/justat-model/codelists/)")),
                        Some(cl) => {
                            for c in list.iter().filter(|c| !cl.contains(&c.code)) {
                                self.diag(line, format!("code « {} » absent de la nomenclature {id}", c.code));
                            }
                        }
                    }
                }
                Kind::CountTable(CountTable {
                    rows,
                    columns,
                    totals_entered,
                    row_codelist: q.row_codelist.clone(),
                    column_codelist: q.column_codelist.clone(),
                })
            }
            "loop" => {
                if in_loop {
                    self.diag(
                        kind_line,
                        "une boucle ne peut pas contenir de boucle".into(),
                    );
                }
                let min_items = q.min_items.unwrap_or(0);
                let max_items = q.max_items.as_ref().map_or(20, |m| *m.get_ref());
                if max_items == 0 || max_items as usize > MAX_ITEMS || min_items > max_items {
                    let l = q.max_items.as_ref().map_or(line, |m| self.line(m));
                    self.diag(
                        l,
                        format!("il faut 0 ≤ min_items ≤ max_items, 1 ≤ max_items ≤ {MAX_ITEMS}"),
                    );
                }
                let questions: Vec<Question> = std::mem::take(&mut q.question)
                    .into_iter()
                    .filter_map(|iq| self.question(iq, true))
                    .collect();
                if questions.is_empty() {
                    self.diag(
                        line,
                        "une boucle doit contenir au moins une question ([[…question]])".into(),
                    );
                }
                Kind::Loop(LoopBlock {
                    item_label: q.item_label.clone().unwrap_or_else(|| "Élément".into()),
                    min_items,
                    max_items,
                    questions,
                })
            }
            other => {
                self.diag(kind_line, format!("type de question « {other} » inconnu (text, integer, decimal, date, yes_no, single_choice, multiple_choice, count_table, loop)"));
                return None;
            }
        };
        let is = |k: &str| q.kind.get_ref() == k;
        unexpected(
            self,
            q.unit.is_some() && !is("integer") && !is("decimal"),
            "unit",
        );
        unexpected(
            self,
            (q.min.is_some() || q.max.is_some()) && !(is("integer") || is("decimal") || is("date")),
            "min/max",
        );
        unexpected(self, q.decimals.is_some() && !is("decimal"), "decimals");
        unexpected(self, q.max_length.is_some() && !is("text"), "max_length");
        unexpected(
            self,
            (q.dont_know || q.refusal) && (is("count_table") || is("loop")),
            "dont_know/refusal",
        );
        let show_if = q.show_if.as_ref().and_then(|s| self.condition(s));
        let mut controls = Vec::new();
        for c in &q.control {
            let severity = match c.severity.get_ref().as_str() {
                "error" => Severity::Error,
                "warning" => Severity::Warning,
                other => {
                    let l = self.line(&c.severity);
                    self.diag(
                        l,
                        format!("severity = « {other} » : « error » ou « warning » attendu"),
                    );
                    continue;
                }
            };
            if c.message.trim().is_empty() {
                let l = self.line(&c.id);
                self.diag(l, "un contrôle doit avoir un message".into());
            }
            if let Some(must) = self.condition(&c.must) {
                controls.push(Control {
                    id: c.id.get_ref().clone(),
                    severity,
                    must,
                    message: c.message.clone(),
                });
            }
        }
        Some(Question {
            id: q.id.into_inner(),
            label: q.label,
            help: q.help,
            kind,
            required: q.required,
            allow_dont_know: q.dont_know,
            allow_refusal: q.refusal,
            show_if,
            controls,
            line,
        })
    }
}
