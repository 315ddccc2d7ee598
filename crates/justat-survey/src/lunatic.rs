//! Import of INSEE's Lunatic JSON questionnaires (the output of Pogues/Eno), so that a
//! questionnaire designed in INSEE's tools runs in Justat.
//!
//! Supported component kinds: `Sequence` (starts a page; its `conditionFilter` applies to each
//! of its questions), `Subsequence` (no page break), `Input` and `Textarea` (text),
//! `InputNumber` (integer, or decimal when `decimals` > 0; `min`, `max`, `unit`),
//! `Datepicker`, `CheckboxBoolean` (yes/no), `Radio`, `Dropdown` and `CheckboxOne` (single
//! choice), `CheckboxGroup` (multiple choice: each option's boolean variable stays usable in
//! expressions), `Table` (a count table of `InputNumber` cells: row codes from the first
//! cell's `value` of each body row, column codes from the header cells' `value`, else `R1…`,
//! `C1…`; each cell's variable stays usable), `Loop` and `RosterForLoop` (a loop; `lines.min`
//! / `lines.max` must be integer literals). Any other kind is refused by name, and so is any
//! VTL operator outside the subset of [`crate::expr`] (`=`, `<>`, `<`, `<=`, `>`, `>=`, `+`,
//! `-`, `*`, `/`, `and`, `or`, `not`, `if then else`, `nvl`, `isnull`, `sum`, `count`). A loop's
//! variable named outside its loop is the list of its values, as in VTL (`sum(PERM_JOURS)`).
//!
//! Questions take the name of their response variable (what VTL expressions name), so
//! answers are keyed by Lunatic's variable names. Controls: `criticality` `ERROR` or
//! `typeOfControl` `FORMAT` block (Eno's rule), `WARN` and `INFO` are warnings; a control
//! fires when its expression is false, as in Lunatic. A `missingResponse` allows « ne sait
//! pas » and « refus ». JSON carries no positions: a diagnostic gives the line where the
//! component's `id` first appears in the file.

use crate::expr::Dialect;
use crate::questionnaire::{
    Alias, Choice, Condition, Control, CountTable, Diagnostic, Kind, LoadError, LoopBlock,
    Question, Questionnaire, Sequence, Severity, Source,
};
use crate::toml_file::{MAX_FILE_LEN, line_of};
use serde_json::Value;
use std::collections::BTreeMap;

/// Imports a Lunatic questionnaire from its JSON text; `file` names it in the diagnostics.
pub fn import(file: &str, text: &str) -> Result<Questionnaire, LoadError> {
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
    let root: Value = serde_json::from_str(text)
        .map_err(|e| one(e.line().max(1), format!("JSON invalide : {e}")))?;
    let Some(components) = root.get("components").and_then(Value::as_array) else {
        return Err(one(1, "questionnaire Lunatic sans « components »".into()));
    };
    let id = root
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or("lunatic")
        .to_string();
    let title = root.get("label").map(label).unwrap_or_else(|| id.clone());
    let mut im = Importer {
        file,
        text,
        diags: Vec::new(),
        aliases: BTreeMap::new(),
    };
    let mut sequences: Vec<Sequence> = Vec::new();
    let mut page_filter: Option<Source> = None;
    for c in components {
        let kind = c.get("componentType").and_then(Value::as_str).unwrap_or("");
        match kind {
            "Sequence" => {
                let cid = str_of(c, "id");
                sequences.push(Sequence {
                    id: cid.to_string(),
                    title: c.get("label").map(label).unwrap_or_default(),
                    intro: None,
                    questions: Vec::new(),
                });
                page_filter = im.filter(c);
            }
            "Subsequence" => {}
            _ => {
                if sequences.is_empty() {
                    sequences.push(Sequence {
                        id: "page1".into(),
                        title: title.clone(),
                        intro: None,
                        questions: Vec::new(),
                    });
                }
                if let Some(q) = im.question(c, page_filter.as_ref(), None)
                    && let Some(page) = sequences.last_mut()
                {
                    page.questions.push(q);
                }
            }
        }
    }
    if !im.diags.is_empty() {
        return Err(LoadError(im.diags));
    }
    let mut q = Questionnaire {
        id,
        version: 1,
        title,
        description: None,
        sequences,
        aliases: im.aliases,
    };
    q.check(file)?;
    Ok(q)
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// A Lunatic label: `{"value": "\"Texte\"", "type": "VTL|MD"}`; a VTL string literal loses its
/// quotes, anything else is kept as written.
fn label(v: &Value) -> String {
    let raw = v
        .get("value")
        .and_then(Value::as_str)
        .or_else(|| v.as_str())
        .unwrap_or("");
    let t = raw.trim();
    if t.len() >= 2 && t.starts_with('"') && t.ends_with('"') && !t[1..t.len() - 1].contains('"') {
        t[1..t.len() - 1].to_string()
    } else {
        t.to_string()
    }
}

struct Importer<'a> {
    file: &'a str,
    text: &'a str,
    diags: Vec<Diagnostic>,
    aliases: BTreeMap<String, Alias>,
}

impl Importer<'_> {
    fn line(&self, id: &str) -> usize {
        if id.is_empty() {
            return 1;
        }
        self.text
            .find(&format!("\"{id}\""))
            .map_or(1, |o| line_of(self.text, o))
    }
    fn diag(&mut self, id: &str, message: String) {
        let line = self.line(id);
        self.diags.push(Diagnostic {
            file: self.file.into(),
            line,
            message,
        });
    }
    fn filter(&mut self, c: &Value) -> Option<Source> {
        let v = c.get("conditionFilter")?.get("value")?.as_str()?;
        Some(Source {
            text: v.to_string(),
            line: self.line(str_of(c, "id")),
        })
    }
    fn condition(&mut self, src: &Source) -> Option<Condition> {
        match Condition::parse(src, Dialect::Vtl, self.file) {
            Ok(c) => Some(c),
            Err(d) => {
                self.diags.push(d);
                None
            }
        }
    }
    fn number(&mut self, c: &Value, key: &str) -> Option<f64> {
        c.get(key).and_then(Value::as_f64)
    }
    fn options(&mut self, c: &Value, cid: &str) -> Vec<Choice> {
        let list: Vec<Choice> = c
            .get("options")
            .and_then(Value::as_array)
            .map(|o| {
                o.iter()
                    .map(|o| Choice {
                        code: o
                            .get("value")
                            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                            .unwrap_or_default(),
                        label: o.get("label").map(label).unwrap_or_default(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        if list.is_empty() {
            self.diag(cid, format!("composant « {cid} » : aucune option"));
        }
        list
    }

    fn question(
        &mut self,
        c: &Value,
        page_filter: Option<&Source>,
        in_loop: Option<&str>,
    ) -> Option<Question> {
        let kind_name = str_of(c, "componentType");
        let cid = str_of(c, "id").to_string();
        let line = self.line(&cid);
        let response = c
            .get("response")
            .and_then(|r| r.get("name"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let needs_response = |im: &mut Self| {
            if response.is_none() {
                im.diag(
                    &cid,
                    format!("composant « {cid} » sans variable de réponse (response.name)"),
                );
            }
        };
        let kind = match kind_name {
            "Input" | "Textarea" => {
                needs_response(self);
                Kind::Text {
                    max_length: c
                        .get("maxLength")
                        .and_then(Value::as_u64)
                        .map_or(2_000, |m| m.min(10_000) as usize),
                }
            }
            "InputNumber" => {
                needs_response(self);
                let decimals = c.get("decimals").and_then(Value::as_u64).unwrap_or(0);
                let unit = c
                    .get("unit")
                    .map(|u| u.as_str().map_or_else(|| label(u), str::to_string));
                let (min, max) = (self.number(c, "min"), self.number(c, "max"));
                if decimals == 0 {
                    Kind::Integer {
                        min: min.map(|m| m as i64),
                        max: max.map(|m| m as i64),
                        unit,
                    }
                } else {
                    Kind::Decimal {
                        min,
                        max,
                        unit,
                        decimals: decimals.min(6) as u8,
                    }
                }
            }
            "Datepicker" => {
                needs_response(self);
                let date = |k: &str| {
                    c.get(k)
                        .and_then(Value::as_str)
                        .and_then(|s| s.get(..10))
                        .and_then(|s| s.parse().ok())
                };
                Kind::Date {
                    min: date("min"),
                    max: date("max"),
                }
            }
            "CheckboxBoolean" => {
                needs_response(self);
                Kind::YesNo
            }
            "Radio" | "Dropdown" | "CheckboxOne" => {
                needs_response(self);
                Kind::SingleChoice {
                    options: self.options(c, &cid),
                }
            }
            "CheckboxGroup" => {
                let mut options = Vec::new();
                for r in c
                    .get("responses")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let Some(var) = r
                        .get("response")
                        .and_then(|x| x.get("name"))
                        .and_then(Value::as_str)
                    else {
                        continue;
                    };
                    options.push(Choice {
                        code: var.to_string(),
                        label: r.get("label").map(label).unwrap_or_default(),
                    });
                    self.aliases.insert(
                        var.to_string(),
                        Alias::Option {
                            question: cid.clone(),
                            code: var.to_string(),
                        },
                    );
                }
                if options.is_empty() {
                    self.diag(&cid, format!("composant « {cid} » : aucune réponse"));
                }
                Kind::MultipleChoice { options }
            }
            "Table" => Kind::CountTable(self.table(c, &cid)?),
            "Loop" | "RosterForLoop" => {
                if in_loop.is_some() {
                    self.diag(&cid, "boucle dans une boucle non prise en charge".into());
                    return None;
                }
                let bound = |im: &mut Self, k: &str| -> Option<u32> {
                    let v = c.get("lines")?.get(k)?;
                    let s = v.get("value").map_or_else(
                        || v.to_string(),
                        |x| x.as_str().map_or_else(|| x.to_string(), str::to_string),
                    );
                    match s.trim().trim_matches('"').parse::<u32>() {
                        Ok(n) => Some(n),
                        Err(_) => {
                            im.diag(&cid, format!("boucle « {cid} » : taille calculée « {s} » non prise en charge (un entier attendu)"));
                            None
                        }
                    }
                };
                let min_items = bound(self, "min").unwrap_or(0);
                let max_items = bound(self, "max").unwrap_or(20).clamp(1, 1_000);
                let inner: Vec<&Value> = c
                    .get("components")
                    .and_then(Value::as_array)
                    .map(|v| v.iter().collect())
                    .unwrap_or_default();
                let mut questions = Vec::new();
                for ic in inner {
                    if let Some(q) = self.question(ic, None, Some(&cid)) {
                        self.aliases.insert(
                            q.id.clone(),
                            Alias::Column {
                                looped: cid.clone(),
                                question: q.id.clone(),
                            },
                        );
                        questions.push(q);
                    }
                }
                Kind::Loop(LoopBlock {
                    item_label: c
                        .get("label")
                        .map(label)
                        .filter(|l| !l.is_empty())
                        .unwrap_or_else(|| "Élément".into()),
                    min_items: min_items.min(max_items),
                    max_items,
                    questions,
                })
            }
            other => {
                self.diag(
                    &cid,
                    format!("type de composant « {other} » non pris en charge"),
                );
                return None;
            }
        };
        let id = match (&kind, response) {
            (Kind::CountTable(_) | Kind::Loop(_) | Kind::MultipleChoice { .. }, _) | (_, None) => {
                cid.clone()
            }
            (_, Some(r)) => r,
        };
        let own = self.filter(c);
        let show_if = match (page_filter, own) {
            (Some(p), Some(o)) => Some(Source {
                text: format!("({}) and ({})", p.text, o.text),
                line: o.line,
            }),
            (p, o) => o.or_else(|| p.cloned()),
        }
        .and_then(|s| self.condition(&s));
        let mut controls = Vec::new();
        for (i, ctl) in c
            .get("controls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let ctl_type = str_of(ctl, "type");
            if !matches!(ctl_type, "" | "simple" | "ROW") {
                self.diag(
                    &cid,
                    format!("contrôle de type « {ctl_type} » non pris en charge"),
                );
                continue;
            }
            let severity = if str_of(ctl, "criticality") == "ERROR"
                || str_of(ctl, "typeOfControl") == "FORMAT"
            {
                Severity::Error
            } else {
                Severity::Warning
            };
            let Some(expr) = ctl
                .get("control")
                .and_then(|x| x.get("value"))
                .and_then(Value::as_str)
            else {
                self.diag(
                    &cid,
                    format!("composant « {cid} » : contrôle sans expression"),
                );
                continue;
            };
            let ctl_id = ctl
                .get("id")
                .and_then(Value::as_str)
                .map_or_else(|| format!("{id}_c{}", i + 1), |s| s.replace('-', "_"));
            let src = Source {
                text: expr.to_string(),
                line: self.line(ctl.get("id").and_then(Value::as_str).unwrap_or(&cid)),
            };
            if let Some(must) = self.condition(&src) {
                controls.push(Control {
                    id: ctl_id,
                    severity,
                    must,
                    message: ctl.get("errorMessage").map(label).unwrap_or_default(),
                });
            }
        }
        let missing = c.get("missingResponse").is_some();
        Some(Question {
            id,
            label: c.get("label").map(label).unwrap_or_default(),
            help: None,
            kind,
            required: c
                .get("isMandatory")
                .or_else(|| c.get("mandatory"))
                .and_then(Value::as_bool)
                .unwrap_or(false),
            allow_dont_know: missing,
            allow_refusal: missing,
            show_if,
            controls,
            line,
        })
    }

    fn table(&mut self, c: &Value, cid: &str) -> Option<CountTable> {
        let header: Vec<&Value> = c
            .get("header")
            .and_then(Value::as_array)
            .map(|h| h.iter().collect())
            .unwrap_or_default();
        let body: Vec<&Vec<Value>> = c
            .get("body")
            .and_then(Value::as_array)
            .map(|b| b.iter().filter_map(Value::as_array).collect())
            .unwrap_or_default();
        if body.is_empty() {
            self.diag(cid, format!("tableau « {cid} » sans lignes (body)"));
            return None;
        }
        let ncols = body[0].len().saturating_sub(1);
        let code = |v: Option<&Value>, fallback: String| {
            v.and_then(|v| v.get("value"))
                .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                .filter(|s| !s.is_empty())
                .unwrap_or(fallback)
        };
        let columns: Vec<Choice> = (1..=ncols)
            .map(|j| Choice {
                code: code(header.get(j).copied(), format!("C{j}")),
                label: header
                    .get(j)
                    .and_then(|h| h.get("label"))
                    .map(label)
                    .unwrap_or_default(),
            })
            .collect();
        let mut rows = Vec::new();
        for (i, row) in body.iter().enumerate() {
            let r = Choice {
                code: code(row.first(), format!("R{}", i + 1)),
                label: row
                    .first()
                    .and_then(|h| h.get("label"))
                    .map(label)
                    .unwrap_or_default(),
            };
            if row.len() != ncols + 1 {
                self.diag(
                    cid,
                    format!(
                        "tableau « {cid} » : la ligne {} n'a pas {} cellules",
                        i + 1,
                        ncols + 1
                    ),
                );
                return None;
            }
            for (j, cell) in row.iter().skip(1).enumerate() {
                let kind = str_of(cell, "componentType");
                if kind != "InputNumber"
                    || cell.get("decimals").and_then(Value::as_u64).unwrap_or(0) > 0
                {
                    self.diag(cid, format!("tableau « {cid} » : seules les cellules InputNumber entières sont prises en charge (trouvé « {kind} »)"));
                    return None;
                }
                if let Some(var) = cell
                    .get("response")
                    .and_then(|x| x.get("name"))
                    .and_then(Value::as_str)
                {
                    self.aliases.insert(
                        var.to_string(),
                        Alias::Cell(format!("{cid}.{}.{}", r.code, columns[j].code)),
                    );
                }
            }
            rows.push(r);
        }
        Some(CountTable {
            rows,
            columns,
            totals_entered: false,
            row_codelist: None,
            column_codelist: None,
        })
    }
}
