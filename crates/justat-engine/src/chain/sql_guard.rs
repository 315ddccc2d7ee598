//! What SQL a chain file may carry, checked with DataFusion's parser when the chain is loaded,
//! and planned read-only when it runs.
//!
//! The SQL a chain file may carry: a `sql` step's query is one read-only query (`SELECT`,
//! `WITH … SELECT`, `VALUES`) over the table `input` and its own `WITH` tables; a filter's
//! condition, a rule's or a derivation's expression and a unit's aggregates are each one
//! expression, without subquery or alias. Anything else — DDL (`CREATE EXTERNAL TABLE …
//! LOCATION '/etc/…'`), DML, `COPY`, settings, `EXPLAIN`, several statements, table functions,
//! file paths or other tables read as tables, `SELECT … INTO` — is refused when the chain is
//! loaded, by reading the text with DataFusion's own parser. The run then plans every
//! statement under [`read_only`], so a chain changed after its check still cannot write.

use datafusion::prelude::SQLOptions;
use datafusion::sql::parser::{DFParser, Statement as DfStatement};
use datafusion::sql::sqlparser::ast::{
    Ident, ObjectName, ObjectNamePart, Query, Select, SetExpr, Statement, TableFactor, Visit,
    Visitor,
};
use std::collections::BTreeSet;
use std::ops::ControlFlow;

/// The table a `sql` step reads.
pub const INPUT_TABLE: &str = "input";

/// How every statement of a run is planned: no DDL, no DML (nor `COPY`), no other statement
/// (`SET`, transactions…).
pub fn read_only() -> SQLOptions {
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
}

/// Checks a `sql` step's query; the reason, in French, if refused.
pub fn check_query(sql: &str) -> Result<(), String> {
    let mut statements =
        DFParser::parse_sql(sql).map_err(|e| format!("requête SQL illisible : {e}"))?;
    if statements.len() != 1 {
        return Err(format!(
            "une étape sql est une seule requête, et celle-ci compte {} instructions",
            statements.len()
        ));
    }
    let query = match statements.pop_front() {
        Some(DfStatement::Statement(s)) => match *s {
            Statement::Query(q) => q,
            other => return Err(not_a_query(&other.to_string())),
        },
        Some(other) => return Err(not_a_query(&other.to_string())),
        None => return Err("la requête est vide".into()),
    };
    walk(&*query, false)
}

/// Checks an expression (a condition, a derived column, an aggregate); the reason, in French,
/// if refused.
pub fn check_expression(sql: &str) -> Result<(), String> {
    let parsed = DFParser::parse_sql_into_expr(sql).map_err(|e| {
        format!("expression SQL illisible (une seule expression est attendue) : {e}")
    })?;
    if let Some(alias) = parsed.alias {
        return Err(format!(
            "une expression ne se nomme pas (`AS {alias}`) : son nom est donné par le fichier"
        ));
    }
    walk(&parsed.expr, true)
}

/// Writes an expression checked by [`check_expression`] into a statement: in parentheses, and
/// followed by a line break so that a trailing `--` comment cannot swallow the statement's end.
pub fn embed(expression: &str) -> String {
    format!("({expression}\n)")
}

/// Writes a column or table name into a statement: double-quoted, so that its case and any
/// character survive, with an inner `"` doubled.
pub fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

fn not_a_query(statement: &str) -> String {
    let head: Vec<&str> = statement.split_whitespace().take(3).collect();
    format!(
        "seule une requête de lecture (SELECT, WITH … SELECT, VALUES) est permise, pas « {} … »",
        head.join(" ")
    )
}

fn walk<T: Visit + ?Sized>(node: &T, expression: bool) -> Result<(), String> {
    let mut check = ReadOnly {
        expression,
        ctes: BTreeSet::new(),
    };
    match node.visit(&mut check) {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(reason) => Err(reason),
    }
}

/// Walks a query or an expression and stops at the first thing a read-only chain step may not
/// hold.
struct ReadOnly {
    /// Whether the text is an expression (which holds no query at all).
    expression: bool,
    /// The `WITH` tables the query defines, which it may read.
    ctes: BTreeSet<String>,
}

/// A name as DataFusion resolves it: unquoted identifiers are lower-cased.
fn normalised(ident: &Ident) -> String {
    if ident.quote_style.is_some() {
        ident.value.clone()
    } else {
        ident.value.to_lowercase()
    }
}

fn name_of(name: &ObjectName) -> Option<String> {
    match name.0.as_slice() {
        [ObjectNamePart::Identifier(ident)] => Some(normalised(ident)),
        _ => None,
    }
}

/// Whether a query's body is made only of selects, values and set operations.
fn reads_only(body: &SetExpr) -> bool {
    match body {
        SetExpr::Select(_) | SetExpr::Values(_) | SetExpr::Query(_) => true,
        SetExpr::SetOperation { left, right, .. } => reads_only(left) && reads_only(right),
        _ => false,
    }
}

impl Visitor for ReadOnly {
    type Break = String;

    fn pre_visit_statement(&mut self, statement: &Statement) -> ControlFlow<String> {
        ControlFlow::Break(not_a_query(&statement.to_string()))
    }

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<String> {
        if self.expression {
            return ControlFlow::Break(
                "une expression ne contient pas de requête (SELECT) : elle se calcule sur la ligne"
                    .into(),
            );
        }
        if !reads_only(&query.body) {
            return ControlFlow::Break(not_a_query(&query.body.to_string()));
        }
        if let Some(with) = &query.with {
            self.ctes
                .extend(with.cte_tables.iter().map(|c| normalised(&c.alias.name)));
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, select: &Select) -> ControlFlow<String> {
        if select.into.is_some() {
            return ControlFlow::Break(
                "SELECT … INTO crée une table : une étape ne fait que lire".into(),
            );
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, table: &TableFactor) -> ControlFlow<String> {
        match table {
            TableFactor::Table {
                name, args: None, ..
            } => match name_of(name) {
                Some(n) if n == INPUT_TABLE || self.ctes.contains(&n) => ControlFlow::Continue(()),
                _ => ControlFlow::Break(format!(
                    "la requête lit « {name} » : elle ne lit que la table `{INPUT_TABLE}` et ses propres tables WITH"
                )),
            },
            TableFactor::Table { name, .. } | TableFactor::Function { name, .. } => {
                ControlFlow::Break(format!(
                    "la fonction de table « {name} » n’est pas permise : la requête ne lit que la table `{INPUT_TABLE}`"
                ))
            }
            TableFactor::Derived { .. }
            | TableFactor::NestedJoin { .. }
            | TableFactor::UNNEST { .. } => ControlFlow::Continue(()),
            other => ControlFlow::Break(format!(
                "« {} » n’est pas permis : la requête ne lit que la table `{INPUT_TABLE}`",
                other.to_string().chars().take(40).collect::<String>()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_one_read_only_query_over_input_passes() {
        for ok in [
            "SELECT * FROM input",
            "select *, 1 as y from INPUT where a > 1",
            "WITH x AS (SELECT * FROM input) SELECT * FROM x",
            "SELECT a FROM input UNION ALL SELECT b FROM input",
            "SELECT * FROM (SELECT a FROM input) s",
            "VALUES (1, 'a'), (2, 'b')",
            "SELECT * FROM input i JOIN input j ON i.a = j.a",
        ] {
            assert_eq!(check_query(ok), Ok(()), "{ok}");
        }
        for bad in [
            "CREATE EXTERNAL TABLE x STORED AS CSV LOCATION '/etc/passwd'",
            "COPY input TO '/tmp/x.csv'",
            "SELECT 1; SELECT 2",
            "SELECT * FROM \"input\".\"x\"",
            "SELECT * FROM \"INPUT\"",
            "SELECT * FROM range(10)",
            "SELECT * INTO t FROM input",
            "SELECT * FROM input, LATERAL (SELECT * FROM '/etc/passwd') f",
            "",
        ] {
            assert!(check_query(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn expressions_are_one_row_expression() {
        for ok in [
            "a > 1 AND b IS NOT NULL",
            "CAST(date_part('year', d) AS BIGINT)",
            "sum(x)",
            "a -- commentaire",
        ] {
            assert_eq!(check_expression(ok), Ok(()), "{ok}");
        }
        for bad in [
            "a) FROM t0; DROP TABLE t0; SELECT (a",
            "a IN (SELECT b FROM input)",
            "(SELECT 1)",
            "a AS b",
            "a, b",
            "",
        ] {
            assert!(check_expression(bad).is_err(), "{bad}");
        }
    }
}
