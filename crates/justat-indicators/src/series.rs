//! An indicator's series over cube cells: the months' measures gathered into the periods of a
//! granularity (summed for flows, the last month's for stocks), then the formula on each.

use crate::definition::{Granularity, Indicator, TimeAggregation};
use std::collections::BTreeMap;

/// One cube cell: an area's measures for one month.
#[derive(Debug, Clone, PartialEq)]
pub struct MonthCell {
    /// The area's code in the cube's geographic dimension (`_T` for France).
    pub area: String,
    /// The month, `YYYY-MM` (the cube's period).
    pub month: String,
    /// The measures' values.
    pub values: BTreeMap<String, f64>,
}

/// One value of a series.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// The period (`2024-03`, `2024-T1`, `2024`).
    pub period: String,
    /// The formula's value; `None` when it has none (a zero denominator).
    pub value: Option<f64>,
    /// The indicator's `count` measure for the period: the cases behind the value.
    pub count: f64,
    /// The months the period holds in the cube (a quarter or year still under way has fewer).
    pub months: usize,
}

/// The series of `indicator` for `area` by `granularity`, in period order, from `cells` (cells
/// of other areas are ignored; a month that is not `YYYY-MM` is left out).
pub fn series(
    indicator: &Indicator,
    cells: &[MonthCell],
    area: &str,
    granularity: Granularity,
) -> Vec<Point> {
    let mut groups: BTreeMap<String, Vec<&MonthCell>> = BTreeMap::new();
    for c in cells.iter().filter(|c| c.area == area) {
        if let Some(p) = granularity.period_of(&c.month) {
            groups.entry(p).or_default().push(c);
        }
    }
    groups
        .into_iter()
        .map(|(period, mut months)| {
            months.sort_by(|a, b| a.month.cmp(&b.month));
            let values = match indicator.time_aggregation {
                TimeAggregation::Sum => {
                    let mut sum: BTreeMap<String, f64> = BTreeMap::new();
                    for m in &months {
                        for (k, v) in &m.values {
                            *sum.entry(k.clone()).or_default() += v;
                        }
                    }
                    sum
                }
                TimeAggregation::EndOfPeriod => {
                    months.last().map(|m| m.values.clone()).unwrap_or_default()
                }
            };
            Point {
                value: indicator.formula.evaluate(&values),
                count: values.get(&indicator.count).copied().unwrap_or(0.0),
                months: months.len(),
                period,
            }
        })
        .collect()
}

/// How the latest value compares with the one before it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Trend {
    /// Higher than the previous period's.
    Up(f64),
    /// Lower.
    Down(f64),
    /// Equal.
    Stable,
}

/// The trend from `previous` to `latest`, as the difference in the indicator's unit.
pub fn trend(previous: f64, latest: f64) -> Trend {
    let d = latest - previous;
    if d > 0.0 {
        Trend::Up(d)
    } else if d < 0.0 {
        Trend::Down(-d)
    } else {
        Trend::Stable
    }
}
