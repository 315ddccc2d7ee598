//! The tables a publication shows, as the build hands them over: already protected by the
//! secret statistique, each cell with its value and its symbol. Nothing here can unmask a
//! suppressed cell: its value is not kept.

use justat_sdc::audit::Clean;
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

/// Where a table's figures come from, for traceability (recorded in the version's
/// provenance as it is).
pub use justat_model::provenance::TableOrigin as Provenance;

/// What a protected table shows, handed to [`DataTable::new`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableParts {
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

/// A protected table, ready to show.
///
/// "No number reaches a page that is not a published cell of a protected table" is kept by
/// the types: what it shows is private outside this crate, and the only constructor,
/// [`DataTable::new`], asks for a [`Clean`], the proof of a clean audit that only
/// `justat_sdc::audit::certify` gives (for an `Audited` table). `justat-publish` is the crate
/// that reads a cube's cells into a table, protects and certifies it, and makes the
/// `DataTable`s a publication cites from it; render cannot depend on it (it sits above
/// render), so the seal is the audit's, one crate down, and the architecture test checks
/// that no other crate calls the constructor.
///
/// ```compile_fail
/// // Its fields cannot be set from outside: a table is only made from an audited pattern.
/// fn forge(parts: justat_render::TableParts) -> justat_render::DataTable {
///     justat_render::DataTable { parts }
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct DataTable {
    pub(crate) parts: TableParts,
}

impl DataTable {
    /// A protected table, from what it shows and the proof that the pattern its cells come
    /// from passed its audit.
    pub fn new(parts: TableParts, _audited: Clean) -> DataTable {
        DataTable { parts }
    }

    /// Its name in the publication.
    pub fn name(&self) -> &str {
        &self.parts.name
    }

    /// Its title.
    pub fn title(&self) -> &str {
        &self.parts.title
    }

    /// The *Champ* line.
    pub fn champ(&self) -> &str {
        &self.parts.champ
    }

    /// The *Source* line.
    pub fn source(&self) -> &str {
        &self.parts.source
    }

    /// The rows.
    pub fn rows(&self) -> &[Heading] {
        &self.parts.rows
    }

    /// The columns.
    pub fn columns(&self) -> &[Heading] {
        &self.parts.columns
    }

    /// Where it comes from.
    pub fn provenance(&self) -> &Provenance {
        &self.parts.provenance
    }

    /// The cell at the row and column codes; the column may be omitted when there is one.
    pub fn cell(&self, row: &str, column: Option<&str>) -> Result<DataCell, String> {
        let r = self
            .parts
            .rows
            .iter()
            .position(|h| h.code == row)
            .ok_or_else(|| {
                format!(
                    "table `{}` has no row `{row}` (rows: {})",
                    self.parts.name,
                    codes(&self.parts.rows)
                )
            })?;
        let c = match column {
            Some(col) => self
                .parts
                .columns
                .iter()
                .position(|h| h.code == col)
                .ok_or_else(|| {
                    format!(
                        "table `{}` has no column `{col}` (columns: {})",
                        self.parts.name,
                        codes(&self.parts.columns)
                    )
                })?,
            None if self.parts.columns.len() == 1 => 0,
            None => {
                return Err(format!(
                    "table `{}` has several columns: name one (colonne=…; columns: {})",
                    self.parts.name,
                    codes(&self.parts.columns)
                ));
            }
        };
        Ok(self.parts.cells[r][c])
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
        .filter(|f| self.parts.cells.iter().flatten().any(|c| c.flag == *f))
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
