//! The `filter` step: keeps the rows where its condition is true; a row where it is false or
//! NULL is flagged, and dropped at the next barrier.

use super::Rows;
use crate::chain::barrier::Segment;
use crate::chain::sql_guard::{embed, quote};
use datafusion::error::DataFusionError;
use datafusion::prelude::DataFrame;

/// Flags the rows of `rows` that `condition` keeps, in the segment `seg`.
pub(super) async fn apply(
    rows: &Rows<'_>,
    condition: &str,
    seg: &mut Segment,
) -> Result<DataFrame, DataFusionError> {
    let flag = rows.flag();
    let before = seg.alive();
    let df = rows
        .sql(format!(
            "SELECT *, COALESCE({}, FALSE) AS {} FROM {}",
            embed(condition),
            quote(&flag),
            rows.table
        ))
        .await?;
    seg.require(&flag, &before, None);
    Ok(df)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{rows, session, text};
    use crate::chain::barrier::{Segment, Tally, flush};
    use crate::manifest::StepRecord;
    use datafusion::arrow::array::{ArrayRef, Int64Array};
    use std::sync::Arc;

    #[tokio::test]
    async fn a_filter_keeps_the_rows_where_its_condition_is_true_and_counts_them() {
        let x: ArrayRef = Arc::new(Int64Array::from(vec![Some(1), Some(5), None, Some(7)]));
        let (ctx, df) = session(vec![("x", x)]).await;
        let mut seg = Segment::default();
        let flagged = super::apply(&rows(&ctx, &df), "x > 2", &mut seg)
            .await
            .unwrap();
        // Nothing is dropped yet: a NULL condition flags the row like a false one.
        assert_eq!(
            text(flagged.clone()).await,
            [
                "x=1;__k0=false",
                "x=5;__k0=true",
                "x=7;__k0=true",
                "x=;__k0=false"
            ]
        );
        seg.count_rows_after(0);
        let mut tally = Tally {
            steps: vec![StepRecord {
                index: 1,
                kind: "filter".into(),
                name: None,
                rows_after: 0,
            }],
            ..Tally::default()
        };
        let kept = flush(&ctx, &mut tally, flagged, &mut seg, 1).await.unwrap();
        assert_eq!(text(kept).await, ["x=5", "x=7"]);
        assert_eq!(tally.steps[0].rows_after, 2);
        assert!(tally.quarantine.is_empty(), "a filter quarantines nothing");
    }
}
