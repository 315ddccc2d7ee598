//! The `derive` step: adds a column computed by an SQL expression, or replaces the column of
//! that name.

use super::Rows;
use crate::chain::sql_guard::{embed, quote};
use datafusion::error::DataFusionError;
use datafusion::prelude::DataFrame;

/// `rows` with `column` set to `expression`, in place of a column of that name if there is one.
pub(super) async fn apply(
    rows: &Rows<'_>,
    column: &str,
    expression: &str,
) -> Result<DataFrame, DataFusionError> {
    let exists = rows.df.schema().has_column_with_unqualified_name(column);
    let select = if exists {
        format!("* EXCLUDE ({})", quote(column))
    } else {
        "*".to_string()
    };
    rows.sql(format!(
        "SELECT {select}, {} AS {} FROM {}",
        embed(expression),
        quote(column),
        rows.table
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::super::testing::{rows, session, text};
    use datafusion::arrow::array::{ArrayRef, Int64Array, StringArray};
    use std::sync::Arc;

    async fn two_rows() -> (
        datafusion::prelude::SessionContext,
        datafusion::prelude::DataFrame,
    ) {
        let x: ArrayRef = Arc::new(Int64Array::from(vec![1, 2]));
        let code: ArrayRef = Arc::new(StringArray::from(vec!["a", "b"]));
        session(vec![("x", x), ("code", code)]).await
    }

    #[tokio::test]
    async fn a_derived_column_is_added_after_the_others() {
        let (ctx, df) = two_rows().await;
        let out = super::apply(&rows(&ctx, &df), "double", "x * 2")
            .await
            .unwrap();
        assert_eq!(
            text(out).await,
            ["x=1;code=a;double=2", "x=2;code=b;double=4"]
        );
    }

    #[tokio::test]
    async fn deriving_an_existing_column_replaces_it() {
        let (ctx, df) = two_rows().await;
        let out = super::apply(&rows(&ctx, &df), "code", "upper(code)")
            .await
            .unwrap();
        assert_eq!(out.schema().fields().len(), 2, "no second `code` column");
        assert_eq!(text(out).await, ["x=1;code=A", "x=2;code=B"]);
    }
}
