//! Imputation of unit non-response, by a documented method: a unit that did not answer takes
//! its own answer of the previous campaign when there is one (`Previous`), else the median of
//! the units of its stratum that answered this campaign (`StratumMedian`; with an even count
//! the lower of the two middle values, so that an imputed count is a count someone reported).
//! Every value carries its flag, so that imputed figures stay marked through to the cube.

use crate::answers::{Answer, Answers};
use crate::questionnaire::Questionnaire;
use justat_model::survey::{ImputedValues, ResponseStatus, UnitValues};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How an imputed value was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The unit's answer to the previous campaign.
    Previous,
    /// The median of the respondents of its stratum.
    StratumMedian,
}

/// Where a value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "flag", content = "method", rename_all = "snake_case")]
pub enum Flag {
    /// Answered by the unit.
    Reported,
    /// Imputed by this method.
    Imputed(Method),
    /// Neither answered nor imputable (no previous answer, no respondent in the stratum).
    Missing,
}

/// One unit's answers to this campaign and the previous one.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitAnswers {
    /// Unit identifier.
    pub unit: String,
    /// Its stratum.
    pub stratum: String,
    /// This campaign's answers, `None` for unit non-response.
    pub current: Option<Answers>,
    /// The previous campaign's answers, if any.
    pub previous: Option<Answers>,
}

/// One unit's value of a variable after imputation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImputedValue {
    /// Unit identifier.
    pub unit: String,
    /// The value (`None` when missing).
    pub value: Option<Answer>,
    /// Reported or imputed, and how.
    pub flag: Flag,
}

fn numeric(a: Option<&Answer>) -> Option<f64> {
    match a {
        Some(Answer::Integer(n)) => Some(*n as f64),
        Some(Answer::Decimal(x)) => Some(*x),
        _ => None,
    }
}

/// Imputes the numeric answer at `path` (an integer, a decimal or a count-table cell) for
/// every unit that did not answer the campaign; respondents keep what they reported.
pub fn impute(path: &str, units: &[UnitAnswers]) -> Vec<ImputedValue> {
    let mut by_stratum: BTreeMap<&str, Vec<&Answer>> = BTreeMap::new();
    for u in units {
        if let Some(a) = u.current.as_ref().and_then(|c| c.get(path))
            && numeric(Some(a)).is_some()
        {
            by_stratum.entry(u.stratum.as_str()).or_default().push(a);
        }
    }
    let medians: BTreeMap<&str, Answer> = by_stratum
        .into_iter()
        .filter_map(|(s, mut v)| {
            v.sort_by(|a, b| {
                numeric(Some(a))
                    .partial_cmp(&numeric(Some(b)))
                    .unwrap_or(std::cmp::Ordering::Equal)
            });
            let lower = v.get((v.len().max(1) - 1) / 2).map(|a| (*a).clone())?;
            Some((s, lower))
        })
        .collect();
    units
        .iter()
        .map(|u| {
            let (value, flag) = match &u.current {
                Some(c) => (
                    c.get(path).cloned(),
                    if c.get(path).is_some() {
                        Flag::Reported
                    } else {
                        Flag::Missing
                    },
                ),
                None => match u
                    .previous
                    .as_ref()
                    .and_then(|p| p.get(path))
                    .filter(|a| numeric(Some(a)).is_some())
                {
                    Some(a) => (Some(a.clone()), Flag::Imputed(Method::Previous)),
                    None => match medians.get(u.stratum.as_str()) {
                        Some(m) => (Some(m.clone()), Flag::Imputed(Method::StratumMedian)),
                        None => (None, Flag::Missing),
                    },
                },
            };
            ImputedValue {
                unit: u.unit.clone(),
                value,
                flag,
            }
        })
        .collect()
}

impl Method {
    /// The name stored beside an imputed value (`previous_answer`, `stratum_median`).
    pub fn stored_name(self) -> &'static str {
        match self {
            Method::Previous => "previous_answer",
            Method::StratumMedian => "stratum_median",
        }
    }
}

/// A stored value that is not an answer: the store holds something this core did not write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unit {unit}, {path}: the stored value is not an answer ({reason})")]
pub struct StoredValueError {
    /// The unit's code.
    pub unit: String,
    /// The answer's path.
    pub path: String,
    /// Why it cannot be read.
    pub reason: String,
}

fn answers_of(
    unit: &str,
    values: &BTreeMap<String, serde_json::Value>,
) -> Result<Answers, StoredValueError> {
    let mut answers = Answers::new();
    for (path, value) in values {
        if value.is_null() {
            continue;
        }
        let a: Answer = serde_json::from_value(value.clone()).map_err(|e| StoredValueError {
            unit: unit.to_string(),
            path: path.clone(),
            reason: e.to_string(),
        })?;
        answers.set(path.clone(), a);
    }
    Ok(answers)
}

/// The documented imputation of a campaign's unit non-response, as the store records it:
/// every count-table cell of `q` (what a delivery carries) of every unit that has not
/// responded (not started, in progress or refused; an out-of-scope unit is left out of
/// everything) is imputed by [`impute`] — its previous answer, else its stratum's median —
/// each value with its method's [`Method::stored_name`]. Respondents' values are their
/// edits, else what they reported.
pub fn impute_non_response(
    q: &Questionnaire,
    units: &[UnitValues],
) -> Result<ImputedValues, StoredValueError> {
    let mut frame = Vec::with_capacity(units.len());
    for u in units
        .iter()
        .filter(|u| u.status != ResponseStatus::OutOfScope)
    {
        frame.push(UnitAnswers {
            unit: u.unit_code.clone(),
            stratum: u.stratum.clone(),
            current: if u.status.has_responded() {
                Some(answers_of(&u.unit_code, &u.current)?)
            } else {
                None
            },
            previous: u
                .previous
                .as_ref()
                .map(|p| answers_of(&u.unit_code, p))
                .transpose()?,
        });
    }
    let mut out = ImputedValues::new();
    for cell in q.table_cells(&Answers::new()) {
        let path = format!("{}.{}.{}", cell.table, cell.row, cell.column);
        for v in impute(&path, &frame) {
            if let (Flag::Imputed(method), Some(a)) = (v.flag, v.value) {
                let value = serde_json::to_value(&a).map_err(|e| StoredValueError {
                    unit: v.unit.clone(),
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
                out.entry(v.unit)
                    .or_default()
                    .insert(path.clone(), (value, method.stored_name().to_string()));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(
        id: &str,
        stratum: &str,
        current: Option<i64>,
        previous: Option<i64>,
        responded: bool,
    ) -> UnitAnswers {
        let answers = |v: Option<i64>| {
            let mut a = Answers::new();
            if let Some(v) = v {
                a.set("q", Answer::Integer(v));
            }
            a
        };
        UnitAnswers {
            unit: id.into(),
            stratum: stratum.into(),
            current: responded.then(|| answers(current)),
            previous: previous.map(|p| answers(Some(p))),
        }
    }

    #[test]
    fn a_non_respondent_takes_its_previous_answer_else_its_stratum_median() {
        let units = [
            unit("a", "s1", Some(10), None, true),
            unit("b", "s1", Some(30), None, true),
            unit("c", "s1", Some(20), None, true),
            unit("d", "s1", Some(40), None, true),
            unit("e", "s1", None, Some(7), false),
            unit("f", "s1", None, None, false),
            unit("g", "s2", None, None, false),
            unit("h", "s2", None, None, true),
        ];
        let r = impute("q", &units);
        assert_eq!(
            r[0],
            ImputedValue {
                unit: "a".into(),
                value: Some(Answer::Integer(10)),
                flag: Flag::Reported
            }
        );
        assert_eq!(
            r[4],
            ImputedValue {
                unit: "e".into(),
                value: Some(Answer::Integer(7)),
                flag: Flag::Imputed(Method::Previous)
            }
        );
        // Median of 10, 20, 30, 40: the lower middle, 20.
        assert_eq!(
            r[5],
            ImputedValue {
                unit: "f".into(),
                value: Some(Answer::Integer(20)),
                flag: Flag::Imputed(Method::StratumMedian)
            }
        );
        // s2 has no respondent with a value: nothing to impute from.
        assert_eq!(r[6].flag, Flag::Missing);
        assert_eq!(r[6].value, None);
        // A respondent who left the question blank is item non-response, not imputed here.
        assert_eq!(r[7].flag, Flag::Missing);
    }

    #[test]
    fn an_odd_stratum_takes_its_middle_value() {
        let units = [
            unit("a", "s", Some(5), None, true),
            unit("b", "s", Some(1), None, true),
            unit("c", "s", Some(3), None, true),
            unit("x", "s", None, None, false),
        ];
        assert_eq!(impute("q", &units)[3].value, Some(Answer::Integer(3)));
        let one = [
            unit("a", "s", Some(5), None, true),
            unit("x", "s", None, None, false),
        ];
        assert_eq!(impute("q", &one)[1].value, Some(Answer::Integer(5)));
    }

    #[test]
    fn the_campaign_imputation_fills_every_cell_of_non_respondents_only() {
        let q = crate::toml_file::parse(
            "bav-2025.toml",
            include_str!("../../../../surveys/bav-2025.toml"),
        )
        .unwrap();
        let cells: Vec<String> = q
            .table_cells(&Answers::new())
            .iter()
            .map(|c| format!("{}.{}.{}", c.table, c.row, c.column))
            .collect();
        let values = |n: i64| -> BTreeMap<String, serde_json::Value> {
            cells
                .iter()
                .map(|p| (p.clone(), serde_json::to_value(Answer::Integer(n)).unwrap()))
                .collect()
        };
        let unit = |code: &str, status, current, previous| UnitValues {
            unit_code: code.into(),
            stratum: "tj".into(),
            status,
            current,
            previous,
        };
        let units = [
            unit("a", ResponseStatus::Submitted, values(4), None),
            unit("b", ResponseStatus::Validated, values(8), None),
            unit("c", ResponseStatus::NotStarted, BTreeMap::new(), None),
            unit(
                "d",
                ResponseStatus::InProgress,
                values(100),
                Some(values(3)),
            ),
            unit("e", ResponseStatus::OutOfScope, BTreeMap::new(), None),
            unit("f", ResponseStatus::Refused, BTreeMap::new(), None),
        ];
        let r = impute_non_response(&q, &units).unwrap();
        assert_eq!(r.keys().collect::<Vec<_>>(), ["c", "d", "f"]);
        let median = serde_json::to_value(Answer::Integer(4)).unwrap();
        for unit in ["c", "f"] {
            assert_eq!(r[unit].len(), cells.len());
            assert!(
                r[unit]
                    .values()
                    .all(|(v, m)| *v == median && m == "stratum_median")
            );
        }
        // An unsubmitted draft is not a response: its previous answer is used.
        let three = serde_json::to_value(Answer::Integer(3)).unwrap();
        assert!(
            r["d"]
                .values()
                .all(|(v, m)| *v == three && m == "previous_answer")
        );
        let mut bad = units.to_vec();
        bad[0]
            .current
            .insert(cells[0].clone(), serde_json::json!("x"));
        assert_eq!(impute_non_response(&q, &bad).unwrap_err().unit, "a");
    }
}
