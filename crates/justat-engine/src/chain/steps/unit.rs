//! The `unit` step: builds the statistical unit, one row per key with the other columns
//! aggregated, written once to a scratch file when the run has a scratch folder.

use super::Rows;
use crate::chain::sql_guard::{embed, quote};
use datafusion::error::DataFusionError;
use datafusion::prelude::{DataFrame, ParquetReadOptions};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

/// Numbers the scratch files of the process, so that concurrent runs never share one.
static SCRATCH: AtomicU64 = AtomicU64::new(0);

/// Where a run writes its units, and what it wrote there (deleted at the end of the run).
pub(in crate::chain) struct Scratch {
    /// The folder, if the run has one; without it, units stay in memory.
    pub dir: Option<PathBuf>,
    /// What was written into it.
    pub written: Vec<PathBuf>,
}

impl Scratch {
    /// Deletes what the run wrote.
    pub fn clean(self) {
        for path in self.written {
            let _ = std::fs::remove_dir_all(&path).or_else(|_| std::fs::remove_file(&path));
        }
    }
}

/// One row per distinct `key` of `rows`, with each of `columns` (name → SQL aggregate).
pub(super) async fn apply(
    rows: &Rows<'_>,
    key: &[String],
    columns: &BTreeMap<String, String>,
    scratch: &mut Scratch,
) -> Result<DataFrame, DataFusionError> {
    let keys = key.iter().map(|k| quote(k)).collect::<Vec<_>>().join(", ");
    let mut select = keys.clone();
    for (name, agg) in columns {
        select.push_str(&format!(", {} AS {}", embed(agg), quote(name)));
    }
    let grouped = rows
        .sql(format!(
            "SELECT {select} FROM {} GROUP BY {keys}",
            rows.table
        ))
        .await?;
    // The unit is the costliest step (a group by over every row): computed once into a
    // scratch file, then counted and read by the next steps.
    let Some(dir) = &scratch.dir else {
        return Ok(grouped);
    };
    let path = dir.join(format!(
        "unit-{}-{}-{}",
        std::process::id(),
        rows.at,
        SCRATCH.fetch_add(1, Ordering::Relaxed)
    ));
    grouped
        .write_parquet(
            &path.display().to_string(),
            datafusion::dataframe::DataFrameWriteOptions::new(),
            None,
        )
        .await?;
    scratch.written.push(path.clone());
    rows.ctx
        .read_parquet(path.display().to_string(), ParquetReadOptions::default())
        .await
}

#[cfg(test)]
mod tests {
    use super::super::testing::{rows, session, text};
    use super::Scratch;
    use datafusion::arrow::array::{ArrayRef, Int64Array, StringArray};
    use std::collections::BTreeMap;
    use std::sync::Arc;

    /// Three rows of two cases, aggregated per case, with or without a scratch folder.
    async fn units(scratch: &mut Scratch) -> Vec<String> {
        let case: ArrayRef = Arc::new(StringArray::from(vec!["A", "B", "A"]));
        let amount: ArrayRef = Arc::new(Int64Array::from(vec![1, 10, 2]));
        let (ctx, df) = session(vec![("case", case), ("amount", amount)]).await;
        let columns = BTreeMap::from([
            ("rows".to_string(), "COUNT(*)".to_string()),
            ("total".to_string(), "SUM(amount)".to_string()),
        ]);
        let out = super::apply(&rows(&ctx, &df), &["case".to_string()], &columns, scratch)
            .await
            .unwrap();
        text(out).await
    }

    #[tokio::test]
    async fn a_unit_is_one_row_per_key_with_its_columns_aggregated() {
        let mut scratch = Scratch {
            dir: None,
            written: Vec::new(),
        };
        assert_eq!(
            units(&mut scratch).await,
            ["case=A;rows=2;total=3", "case=B;rows=1;total=10"]
        );
        assert!(scratch.written.is_empty());
    }

    #[tokio::test]
    async fn a_unit_goes_through_a_scratch_file_deleted_by_clean() {
        let dir = tempfile::tempdir().unwrap();
        let mut scratch = Scratch {
            dir: Some(dir.path().to_path_buf()),
            written: Vec::new(),
        };
        assert_eq!(
            units(&mut scratch).await,
            ["case=A;rows=2;total=3", "case=B;rows=1;total=10"]
        );
        assert_eq!(scratch.written.len(), 1);
        let written = scratch.written[0].clone();
        assert!(written.exists());
        scratch.clean();
        assert!(!written.exists());
    }
}
