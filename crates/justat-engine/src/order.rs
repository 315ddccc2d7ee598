//! The longest prefix of a source's key by which a delivery's rows arrive sorted.
//!
//! Management applications usually extract in case order. A staging file that records this
//! (metadata `justat.sorted_by`) lets a chain build its statistical unit as a streaming
//! aggregation over sorted input instead of a hash table over every row: on the penal bench,
//! a third of the time and a third of the memory (see `bench/chain`). The order is observed,
//! never assumed: a single row out of order shortens the recorded prefix.

use datafusion::arrow::array::{DynComparator, RecordBatch, make_comparator};
use datafusion::arrow::compute::SortOptions;
use datafusion::arrow::error::ArrowError;
use std::cmp::Ordering;

/// The Parquet key-value metadata naming the columns a staging file is sorted by (JSON list).
pub const SORTED_BY_KEY: &str = "justat.sorted_by";

/// Watches batches go by and keeps the longest prefix of `columns` they are sorted by,
/// ascending, without nulls (Arrow's order: bytes for strings, values for numbers and dates).
#[derive(Debug)]
pub struct SortTracker {
    columns: Vec<usize>,
    prefix: usize,
    last: Option<RecordBatch>,
}

impl SortTracker {
    /// Tracks the batch columns at these indices, in this order.
    pub fn new(columns: Vec<usize>) -> SortTracker {
        SortTracker {
            prefix: columns.len(),
            columns,
            last: None,
        }
    }

    /// Takes the next batch of the stream into account.
    pub fn observe(&mut self, batch: &RecordBatch) -> Result<(), ArrowError> {
        let n = batch.num_rows();
        if n == 0 {
            return Ok(());
        }
        // A null has no place in the order a chain would rely on.
        if let Some(j) = self.columns[..self.prefix]
            .iter()
            .position(|&c| batch.column(c).null_count() > 0)
        {
            self.prefix = j;
        }
        if self.prefix > 0 {
            if let Some(last) = &self.last {
                let cmp = self.comparators(last, batch)?;
                self.shorten(&cmp, 0, 0);
            }
            let cmp = self.comparators(batch, batch)?;
            for i in 1..n {
                if self.prefix == 0 {
                    break;
                }
                self.shorten(&cmp[..self.prefix], i - 1, i);
            }
        }
        self.last = Some(batch.slice(n - 1, 1));
        Ok(())
    }

    /// The indices of the columns the stream was sorted by, in key order (maybe none).
    pub fn sorted_by(&self) -> &[usize] {
        &self.columns[..self.prefix]
    }

    fn comparators(
        &self,
        left: &RecordBatch,
        right: &RecordBatch,
    ) -> Result<Vec<DynComparator>, ArrowError> {
        self.columns[..self.prefix]
            .iter()
            .map(|&c| make_comparator(left.column(c), right.column(c), SortOptions::default()))
            .collect()
    }

    /// Compares row `a` (earlier) with row `b` column by column: the first difference decides;
    /// a decrease at column `j` means the stream is still sorted by the `j` columns before it.
    fn shorten(&mut self, cmp: &[DynComparator], a: usize, b: usize) {
        for (j, c) in cmp.iter().enumerate().take(self.prefix) {
            match c(a, b) {
                Ordering::Less => return,
                Ordering::Greater => {
                    self.prefix = j;
                    return;
                }
                Ordering::Equal => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{ArrayRef, Int64Array, StringArray};
    use std::sync::Arc;

    fn batch(a: &[Option<&str>], b: &[i64]) -> RecordBatch {
        RecordBatch::try_from_iter([
            ("a", Arc::new(StringArray::from(a.to_vec())) as ArrayRef),
            ("b", Arc::new(Int64Array::from(b.to_vec())) as ArrayRef),
        ])
        .unwrap()
    }

    fn prefix_after(batches: &[RecordBatch]) -> usize {
        let mut t = SortTracker::new(vec![0, 1]);
        for b in batches {
            t.observe(b).unwrap();
        }
        t.sorted_by().len()
    }

    #[test]
    fn fully_sorted_rows_keep_the_whole_key() {
        let b = batch(&[Some("a"), Some("a"), Some("b")], &[1, 2, 1]);
        assert_eq!(prefix_after(&[b]), 2);
    }

    #[test]
    fn equal_keys_are_still_sorted() {
        let b = batch(&[Some("a"), Some("a")], &[1, 1]);
        assert_eq!(prefix_after(&[b]), 2);
    }

    #[test]
    fn a_decrease_in_the_second_column_keeps_the_first() {
        let b = batch(&[Some("a"), Some("a"), Some("b")], &[2, 1, 0]);
        assert_eq!(prefix_after(&[b]), 1);
    }

    #[test]
    fn a_decrease_in_the_first_column_keeps_nothing() {
        let b = batch(&[Some("b"), Some("a")], &[1, 2]);
        assert_eq!(prefix_after(&[b]), 0);
    }

    #[test]
    fn the_order_is_checked_across_batch_boundaries() {
        let first = batch(&[Some("a"), Some("c")], &[1, 1]);
        let second = batch(&[Some("b"), Some("d")], &[1, 1]);
        assert_eq!(prefix_after(&[first.clone(), second]), 0);
        let second = batch(&[Some("c"), Some("d")], &[0, 1]);
        assert_eq!(prefix_after(&[first, second]), 1);
    }

    #[test]
    fn strings_compare_by_bytes_as_arrow_sorts_them() {
        // "Z" (0x5A) sorts before "a" (0x61), and "é" (0xC3…) after both.
        let b = batch(&[Some("Z"), Some("a"), Some("é")], &[1, 1, 1]);
        assert_eq!(prefix_after(&[b]), 2);
        let b = batch(&[Some("a"), Some("Z")], &[1, 1]);
        assert_eq!(prefix_after(&[b]), 0);
    }

    #[test]
    fn a_null_in_a_key_column_ends_the_prefix_there() {
        let b = batch(&[Some("a"), None], &[1, 2]);
        assert_eq!(prefix_after(&[b]), 0);
    }

    #[test]
    fn empty_batches_change_nothing() {
        let empty = batch(&[], &[]);
        let b = batch(&[Some("a"), Some("b")], &[1, 0]);
        assert_eq!(prefix_after(&[empty.clone(), b, empty]), 2);
    }
}
