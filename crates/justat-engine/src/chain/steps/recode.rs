//! The `recode` step: maps a column's codes to their ancestor at a level of a codelist, or
//! through an explicit table; a row whose code has no image is flagged for quarantine.

use super::{Rows, string_table};
use crate::chain::barrier::Segment;
use crate::chain::file::Severity;
use crate::chain::sql_guard::quote;
use crate::manifest::RuleRecord;
use datafusion::error::DataFusionError;
use datafusion::prelude::DataFrame;
use justat_model::codelist::Codelist;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Each code and its image: its ancestor `level` steps below the root of `codelist`, or its
/// entry in `mapping` (the chain file gives one or the other, checked when parsed).
pub(super) fn images(
    codelists: &BTreeMap<String, Codelist>,
    codelist: &Option<String>,
    level: &Option<usize>,
    mapping: &Option<BTreeMap<String, String>>,
) -> Result<Vec<(String, String)>, DataFusionError> {
    match (codelist, level, mapping) {
        (Some(id), Some(level), _) => {
            let cl = codelists.get(id).ok_or_else(|| {
                DataFusionError::Internal(format!("codelist `{id}` was not loaded with the chain"))
            })?;
            Ok(ancestors_at(cl, *level))
        }
        (_, _, Some(m)) => Ok(m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        _ => Err(DataFusionError::Internal(
            "a recode without codelist nor mapping (checked when the chain was parsed)".into(),
        )),
    }
}

/// Each code of `cl` at depth `level` or below, and its ancestor at depth `level`.
fn ancestors_at(cl: &Codelist, level: usize) -> Vec<(String, String)> {
    cl.codes()
        .iter()
        .filter_map(|c| {
            let ancestors = cl.ancestors(&c.code);
            // ancestors: self first, root last; depth from root = len - 1.
            let depth = ancestors.len() - 1;
            (depth >= level).then(|| (c.code.clone(), ancestors[depth - level].to_string()))
        })
        .collect()
}

/// `rows` with `into` holding the image of `column`, the rows without one flagged and counted
/// against a rule `RECODE_<INTO>` added to `rules`.
pub(super) async fn apply(
    rows: &Rows<'_>,
    column: &str,
    into: &str,
    images: Vec<(String, String)>,
    seg: &mut Segment,
    rules: &mut Vec<RuleRecord>,
) -> Result<DataFrame, DataFusionError> {
    let map = format!("map{}", rows.at);
    rows.ctx.register_table(
        map.as_str(),
        Arc::new(string_table(["code", "image"], images)?),
    )?;
    let rule_at = rules.len();
    rules.push(RuleRecord {
        id: format!("RECODE_{}", into.to_uppercase()),
        severity: Severity::Error,
        message: format!(
            "le code de la colonne {column} n'a pas d'image dans la table de passage vers {into}"
        ),
        failed: 0,
    });
    let flag = rows.flag();
    let before = seg.alive();
    let df = rows
        .sql(format!(
            "SELECT t.*, m.image AS {}, (m.image IS NOT NULL) AS {} FROM {} t LEFT JOIN {map} m ON CAST(t.{} AS VARCHAR) = m.code",
            quote(into),
            quote(&flag),
            rows.table,
            quote(column)
        ))
        .await?;
    seg.require(&flag, &before, Some(rule_at));
    Ok(df)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{rows, session, text};
    use crate::chain::barrier::{Segment, Tally, flush};
    use datafusion::arrow::array::{ArrayRef, Int64Array, StringArray};
    use justat_model::codelist::shipped_codelist;
    use std::collections::BTreeMap;
    use std::sync::Arc;

    #[test]
    fn a_codelist_level_maps_each_code_to_its_ancestor_at_that_depth() {
        let cl = shipped_codelist("CL_AGE_BAND").unwrap();
        let codelists = BTreeMap::from([("CL_AGE_BAND".to_string(), cl)]);
        let images =
            super::images(&codelists, &Some("CL_AGE_BAND".into()), &Some(1), &None).unwrap();
        let image = |code: &str| {
            images
                .iter()
                .find(|(c, _)| c == code)
                .map(|(_, i)| i.as_str())
        };
        assert_eq!(image("Y13T15"), Some("MIN"));
        assert_eq!(image("Y25T29"), Some("MAJ"));
        assert_eq!(
            image("MIN"),
            Some("MIN"),
            "a code at the level is its own image"
        );
        assert_eq!(image("_T"), None, "the root is above level 1");
    }

    #[tokio::test]
    async fn a_code_without_image_goes_to_quarantine_under_the_recode_rule() {
        let line: ArrayRef = Arc::new(Int64Array::from(vec![1, 2, 3]));
        let sex: ArrayRef = Arc::new(StringArray::from(vec!["1", "2", "9"]));
        let (ctx, df) = session(vec![("_line", line), ("sex", sex)]).await;
        let mapping =
            BTreeMap::from([("1".to_string(), "M".to_string()), ("2".into(), "F".into())]);
        let images = super::images(&BTreeMap::new(), &None, &None, &Some(mapping)).unwrap();
        let mut seg = Segment::default();
        let mut tally = Tally::default();
        let flagged = super::apply(
            &rows(&ctx, &df),
            "sex",
            "sex_code",
            images,
            &mut seg,
            &mut tally.rules,
        )
        .await
        .unwrap();
        let kept = flush(&ctx, &mut tally, flagged, &mut seg, 1).await.unwrap();
        assert_eq!(
            text(kept).await,
            ["_line=1;sex=1;sex_code=M", "_line=2;sex=2;sex_code=F"]
        );
        let rule = &tally.rules[0];
        assert_eq!((rule.id.as_str(), rule.failed), ("RECODE_SEX_CODE", 1));
        assert_eq!(
            rule.message,
            "le code de la colonne sex n'a pas d'image dans la table de passage vers sex_code"
        );
        assert_eq!(
            tally.quarantine.iter().map(|b| b.num_rows()).sum::<usize>(),
            1
        );
    }
}
