//! The `sql` step: a reviewed read-only query over the table `input`, for what the other
//! steps cannot say.

use super::Rows;
use crate::chain::sql_guard::INPUT_TABLE;
use datafusion::error::DataFusionError;
use datafusion::prelude::DataFrame;

/// The result of `query` with `rows` as the table `input`.
pub(super) async fn apply(rows: &Rows<'_>, query: &str) -> Result<DataFrame, DataFusionError> {
    let _ = rows.ctx.deregister_table(INPUT_TABLE);
    rows.ctx
        .register_table(INPUT_TABLE, rows.df.clone().into_view())?;
    rows.sql(query.to_string()).await
}

#[cfg(test)]
mod tests {
    use super::super::testing::{rows, session, text};
    use datafusion::arrow::array::{ArrayRef, Int64Array};
    use std::sync::Arc;

    #[tokio::test]
    async fn a_query_reads_the_rows_so_far_as_input() {
        let x: ArrayRef = Arc::new(Int64Array::from(vec![1, 2, 3]));
        let (ctx, df) = session(vec![("x", x)]).await;
        let out = super::apply(
            &rows(&ctx, &df),
            "SELECT SUM(x) AS s FROM input WHERE x > 1",
        )
        .await
        .unwrap();
        assert_eq!(text(out).await, ["s=5"]);
    }

    #[tokio::test]
    async fn a_query_that_would_write_is_refused_when_planned() {
        let x: ArrayRef = Arc::new(Int64Array::from(vec![1]));
        let (ctx, df) = session(vec![("x", x)]).await;
        let refused =
            super::apply(&rows(&ctx, &df), "CREATE TABLE copy AS SELECT * FROM input").await;
        assert!(refused.is_err());
        assert!(ctx.table("copy").await.is_err(), "nothing was created");
    }
}
