//! The tables a publication shows, as the build hands them over: already protected by the
//! secret statistique, each cell with its value and its symbol. Nothing here can unmask a
//! suppressed cell: its value is not kept.

use serde::Serialize;

/// What a cell shows besides (or instead of) its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Flag {
    /// A published value.
    Value,
    /// A provisional value (`p`).
    Provisional,
    /// A revised value (`r`).
    Revised,
    /// Withheld by the secret statistique (`s`).
    Secret,
    /// Not applicable (`///`).
    NotApplicable,
    /// Not available (`nd`).
    NotAvailable,
}

impl Flag {
    /// The symbol shown in tables and files, if any.
    pub fn symbol(self) -> Option<&'static str> {
        match self {
            Flag::Value => None,
            Flag::Provisional => Some("p"),
            Flag::Revised => Some("r"),
            Flag::Secret => Some("s"),
            Flag::NotApplicable => Some("///"),
            Flag::NotAvailable => Some("nd"),
        }
    }

    /// What the symbol means, in French (the tables' legend).
    pub fn meaning_fr(self) -> &'static str {
        match self {
            Flag::Value => "valeur",
            Flag::Provisional => "donnée provisoire",
            Flag::Revised => "donnée révisée",
            Flag::Secret => "secret statistique",
            Flag::NotApplicable => "absence de résultat due à la nature des choses",
            Flag::NotAvailable => "donnée non disponible",
        }
    }
}

/// One cell of a shown table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DataCell {
    /// Its value, when it may be shown.
    pub value: Option<f64>,
    /// Its symbol.
    pub flag: Flag,
}

impl DataCell {
    /// A published value.
    pub fn value(v: f64) -> DataCell {
        DataCell {
            value: Some(v),
            flag: Flag::Value,
        }
    }

    /// A cell withheld by the secret statistique.
    pub fn secret() -> DataCell {
        DataCell {
            value: None,
            flag: Flag::Secret,
        }
    }

    /// A cell with no data for its period.
    pub fn not_available() -> DataCell {
        DataCell {
            value: None,
            flag: Flag::NotAvailable,
        }
    }
}

/// A row or column heading.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Heading {
    /// The code (a dimension code or a period).
    pub code: String,
    /// Its French label.
    pub label: String,
    /// Its depth in the hierarchy (0 for the total), for indentation.
    pub depth: usize,
}

/// Where a table's figures come from, for traceability.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Provenance {
    /// The cube (SHA-256 of its file).
    pub cube: String,
    /// The chain that built it, and its version.
    pub chain: String,
    /// The run that built it.
    pub run: i64,
    /// The input deliveries: number, file name, SHA-256.
    pub deliveries: Vec<(i64, String, String)>,
    /// The suppression pattern applied, per period: (period, pattern number).
    pub patterns: Vec<(String, i64)>,
}

/// A protected table, ready to show.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataTable {
    /// Its name in the publication.
    pub name: String,
    /// Its title.
    pub title: String,
    /// The title of the rows' dimension.
    pub rows_title: String,
    /// The title of the columns' dimension, if the table has one.
    pub columns_title: Option<String>,
    /// The unit.
    pub unit: String,
    /// The *Champ* line.
    pub champ: String,
    /// The *Source* line.
    pub source: String,
    /// The rows.
    pub rows: Vec<Heading>,
    /// The columns (one, titled by the unit, when the table has no column dimension).
    pub columns: Vec<Heading>,
    /// The cells, by row then column.
    pub cells: Vec<Vec<DataCell>>,
    /// The decimals its values are shown with.
    pub decimals: u32,
    /// Where it comes from.
    pub provenance: Provenance,
}

impl DataTable {
    /// The cell at the row and column codes; the column may be omitted when there is one.
    pub fn cell(&self, row: &str, column: Option<&str>) -> Result<DataCell, String> {
        let r = self
            .rows
            .iter()
            .position(|h| h.code == row)
            .ok_or_else(|| {
                format!(
                    "table `{}` has no row `{row}` (rows: {})",
                    self.name,
                    codes(&self.rows)
                )
            })?;
        let c = match column {
            Some(col) => self
                .columns
                .iter()
                .position(|h| h.code == col)
                .ok_or_else(|| {
                    format!(
                        "table `{}` has no column `{col}` (columns: {})",
                        self.name,
                        codes(&self.columns)
                    )
                })?,
            None if self.columns.len() == 1 => 0,
            None => {
                return Err(format!(
                    "table `{}` has several columns: name one (colonne=…; columns: {})",
                    self.name,
                    codes(&self.columns)
                ));
            }
        };
        Ok(self.cells[r][c])
    }

    /// The symbols its cells use, in a fixed order (for its legend).
    pub fn flags_used(&self) -> Vec<Flag> {
        [
            Flag::Provisional,
            Flag::Revised,
            Flag::Secret,
            Flag::NotApplicable,
            Flag::NotAvailable,
        ]
        .into_iter()
        .filter(|f| self.cells.iter().flatten().any(|c| c.flag == *f))
        .collect()
    }
}

fn codes(h: &[Heading]) -> String {
    let all: Vec<&str> = h.iter().map(|h| h.code.as_str()).collect();
    if all.len() > 12 {
        format!("{}, …", all[..12].join(", "))
    } else {
        all.join(", ")
    }
}
