//! The `rule` step: a validation rule every row should satisfy; an `error` rule's failures go
//! to quarantine at the next barrier, a `warning` rule's are only counted.

use super::Rows;
use crate::chain::barrier::Segment;
use crate::chain::file::Severity;
use crate::chain::sql_guard::{embed, quote};
use crate::manifest::RuleRecord;
use datafusion::error::DataFusionError;
use datafusion::prelude::DataFrame;

/// Flags the rows of `rows` that fail `expression` (false or NULL) and adds `rule` to `rules`,
/// where the barrier will count its failures.
pub(super) async fn apply(
    rows: &Rows<'_>,
    rule: RuleRecord,
    expression: &str,
    seg: &mut Segment,
    rules: &mut Vec<RuleRecord>,
) -> Result<DataFrame, DataFusionError> {
    let rule_at = rules.len();
    let severity = rule.severity;
    rules.push(rule);
    let before = seg.alive();
    if severity == Severity::Error {
        let flag = rows.flag();
        // COALESCE, not IS TRUE: same meaning (NULL fails), and DataFusion 55 derives the
        // nullability of IS TRUE differently in its logical and physical plans.
        let df = rows
            .sql(format!(
                "SELECT *, COALESCE({}, FALSE) AS {} FROM {}",
                embed(expression),
                quote(&flag),
                rows.table
            ))
            .await?;
        seg.require(&flag, &before, Some(rule_at));
        Ok(df)
    } else {
        let warn = format!("__w{}", rows.at);
        let df = rows
            .sql(format!(
                "SELECT *, NOT COALESCE({}, FALSE) AS {} FROM {}",
                embed(expression),
                quote(&warn),
                rows.table
            ))
            .await?;
        seg.count_failures(&warn, &before, rule_at);
        Ok(df)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{rows, session, text};
    use crate::chain::barrier::{Segment, Tally, flush};
    use crate::chain::file::Severity;
    use crate::manifest::RuleRecord;
    use datafusion::arrow::array::{ArrayRef, Int64Array};
    use datafusion::arrow::util::display::array_value_to_string;
    use std::sync::Arc;

    fn rule(severity: Severity) -> RuleRecord {
        RuleRecord {
            id: "POSITIVE".into(),
            severity,
            message: "x est positif".into(),
            failed: 0,
        }
    }

    /// Applies the rule `x > 0` to the lines 1 to 4 (x = 3, -1, NULL, 4), then the barrier.
    async fn check(severity: Severity) -> (Vec<String>, Tally) {
        let line: ArrayRef = Arc::new(Int64Array::from(vec![1, 2, 3, 4]));
        let x: ArrayRef = Arc::new(Int64Array::from(vec![Some(3), Some(-1), None, Some(4)]));
        let (ctx, df) = session(vec![("_line", line), ("x", x)]).await;
        let mut seg = Segment::default();
        let mut tally = Tally::default();
        let flagged = super::apply(
            &rows(&ctx, &df),
            rule(severity),
            "x > 0",
            &mut seg,
            &mut tally.rules,
        )
        .await
        .unwrap();
        let kept = flush(&ctx, &mut tally, flagged, &mut seg, 1).await.unwrap();
        (text(kept).await, tally)
    }

    #[tokio::test]
    async fn an_error_rule_quarantines_the_rows_that_fail_it_null_included() {
        let (kept, tally) = check(Severity::Error).await;
        assert_eq!(kept, ["_line=1;x=3", "_line=4;x=4"]);
        assert_eq!(tally.rules[0].failed, 2);
        let q = &tally.quarantine;
        let cell = |c: usize, r: usize| array_value_to_string(q[0].column(c), r).unwrap();
        assert_eq!(q.iter().map(|b| b.num_rows()).sum::<usize>(), 2);
        assert_eq!(
            (0..2)
                .map(|r| (cell(0, r), cell(1, r), cell(2, r), cell(3, r)))
                .collect::<Vec<_>>(),
            [
                (
                    "2".into(),
                    "POSITIVE".into(),
                    "x est positif".into(),
                    "_line=2;x=-1".into()
                ),
                (
                    "3".into(),
                    "POSITIVE".into(),
                    "x est positif".into(),
                    "_line=3;x=".into()
                ),
            ]
        );
    }

    #[tokio::test]
    async fn a_warning_rule_counts_its_failures_and_keeps_every_row() {
        let (kept, tally) = check(Severity::Warning).await;
        assert_eq!(kept.len(), 4);
        assert_eq!(
            kept[0], "_line=1;x=3",
            "the warning flag is dropped at the barrier"
        );
        assert_eq!(tally.rules[0].failed, 2);
        assert!(tally.quarantine.is_empty());
    }
}
