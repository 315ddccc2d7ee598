//! A publication's source, as a statistician writes it in a folder under version control:
//! `publication.md` (TOML front matter between `+++` lines, then Markdown with directives) and
//! `tables.toml` (the definitions of the tables its figures and cited values pull from).

use crate::BuildError;
use justat_model::Collection;
use justat_model::publication::is_valid_slug;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The text file of a publication.
pub const PUBLICATION_FILE: &str = "publication.md";
/// The table definitions of a publication.
pub const TABLES_FILE: &str = "tables.toml";

/// The dimension name that puts periods in a table's columns.
pub const PERIOD_DIMENSION: &str = "TIME_PERIOD";

/// The front matter of `publication.md`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrontMatter {
    /// Its collection (`infos-rapides`, …).
    pub collection: Collection,
    /// Its number in the collection (`42`, `6.1`, the edition year of the *Chiffres clés*).
    pub number: String,
    /// Its address in the collection (`/publications/<collection>/<slug>`).
    pub slug: String,
    /// Its title; may cite values (`{{ valeur … }}`), as the *Infos rapides* titles do.
    pub title: String,
    /// Its summary, shown under the title; may cite values.
    #[serde(default)]
    pub summary: String,
    /// Its authors.
    pub authors: Vec<String>,
    /// The period it covers (`2024`).
    pub period: String,
    /// Its theme, for the list of publications (`Condamnations`).
    pub theme: String,
    /// Its keywords.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// The erratum of a corrected version: what changed, for the public.
    #[serde(default)]
    pub erratum: Option<String>,
    /// When the next edition is expected (`juin 2026`), for its metadata.
    #[serde(default)]
    pub next_release: Option<String>,
}

/// A table a publication pulls from a cube: rows and columns are dimensions of the cube (or
/// periods, with `columns = "TIME_PERIOD"`), every other dimension held at one code.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableDef {
    /// Its name, cited by the directives (letters, digits, `_`).
    pub name: String,
    /// Its title.
    pub title: String,
    /// The cube: the name of the chain's cube (the latest one is taken and frozen at approval).
    pub cube: String,
    /// The count measure.
    pub measure: String,
    /// The period, when the columns are not periods.
    #[serde(default)]
    pub period: Option<String>,
    /// The periods, in column order, when `columns = "TIME_PERIOD"`.
    #[serde(default)]
    pub periods: Vec<String>,
    /// The dimension in rows.
    pub rows: String,
    /// The dimension in columns, if any.
    #[serde(default)]
    pub columns: Option<String>,
    /// The row codes shown, in order; every code of the dimension (all levels) by default.
    #[serde(default)]
    pub row_codes: Option<Vec<String>>,
    /// The column codes shown, in order; every code by default.
    #[serde(default)]
    pub column_codes: Option<Vec<String>>,
    /// The depths of the row codes shown when `row_codes` is not given (`[0, 1]`: the total
    /// and the first level); every depth by default.
    #[serde(default)]
    pub row_depths: Option<Vec<usize>>,
    /// The same for the columns.
    #[serde(default)]
    pub column_depths: Option<Vec<usize>>,
    /// Show each cell as a share (%) of the cell of this column in its row (e.g. the row's
    /// total `_T`); a share whose part or whole is withheld is withheld.
    #[serde(default)]
    pub shares_of: Option<String>,
    /// The decimals shown (0 for counts, 1 for shares by default).
    #[serde(default)]
    pub decimals: Option<u32>,
    /// The other dimensions, each at one code (`{ sex = "_T" }`); unnamed ones are at `_T`.
    #[serde(default)]
    pub filters: BTreeMap<String, String>,
    /// The title of the rows' heading column (the codelist's name by default).
    #[serde(default)]
    pub rows_title: Option<String>,
    /// The title of the columns (the codelist's name, or « Année », by default).
    #[serde(default)]
    pub columns_title: Option<String>,
    /// The *Champ* line.
    pub champ: String,
    /// The unit, shown in the table's header (`Nombre de condamnations`).
    pub unit: String,
    /// Periods whose figures are provisional (flagged `p`).
    #[serde(default)]
    pub provisional: Vec<String>,
    /// The line of its `[[table]]` header in `tables.toml` (set when read).
    #[serde(skip)]
    pub line: usize,
}

impl TableDef {
    /// The periods the table needs from its cube.
    pub fn needed_periods(&self) -> Vec<String> {
        match &self.period {
            Some(p) => vec![p.clone()],
            None => self.periods.clone(),
        }
    }

    /// Whether its columns are periods.
    pub fn periods_in_columns(&self) -> bool {
        self.columns.as_deref() == Some(PERIOD_DIMENSION)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TablesFile {
    #[serde(default)]
    table: Vec<TableDef>,
}

/// A publication's source, parsed and checked on its own (the cubes are checked when built).
#[derive(Debug, Clone, PartialEq)]
pub struct PublicationSource {
    /// The folder's name, for messages.
    pub dir: String,
    /// The front matter.
    pub front: FrontMatter,
    /// The Markdown body.
    pub body: String,
    /// The line of `publication.md` the body starts at.
    pub body_line: usize,
    /// The tables.
    pub tables: Vec<TableDef>,
    /// The files as read, for the content hash and the archive of the version.
    pub files: BTreeMap<String, String>,
}

impl PublicationSource {
    /// Reads a publication folder.
    pub fn read_dir(dir: &Path) -> Result<PublicationSource, BuildError> {
        let name = dir.display().to_string();
        let read = |file: &str| {
            std::fs::read_to_string(dir.join(file)).map_err(|e| BuildError {
                file: format!("{name}/{file}"),
                line: 0,
                message: format!("cannot read it: {e}"),
            })
        };
        let text = read(PUBLICATION_FILE)?;
        let tables = if dir.join(TABLES_FILE).exists() {
            read(TABLES_FILE)?
        } else {
            String::new()
        };
        PublicationSource::parse(&name, &text, &tables)
    }

    /// Parses the texts of `publication.md` and `tables.toml` of the folder `dir` (empty for a
    /// source that has no folder: its messages then name the files alone).
    pub fn parse(
        dir: &str,
        publication: &str,
        tables: &str,
    ) -> Result<PublicationSource, BuildError> {
        let pub_file = in_dir(dir, PUBLICATION_FILE);
        let err = |line: usize, message: String| BuildError {
            file: pub_file.clone(),
            line,
            message,
        };
        let mut lines = publication.lines();
        if lines.next().map(str::trim_end) != Some("+++") {
            return Err(err(
                1,
                "the file must start with a `+++` line, then the front matter (TOML), then `+++`"
                    .into(),
            ));
        }
        let mut front_text = String::new();
        let mut closed_at = None;
        for (i, line) in lines.by_ref().enumerate() {
            if line.trim_end() == "+++" {
                closed_at = Some(i + 2);
                break;
            }
            front_text.push_str(line);
            front_text.push('\n');
        }
        let closed_at = closed_at
            .ok_or_else(|| err(1, "the front matter is not closed by a `+++` line".into()))?;
        let front: FrontMatter = toml::from_str(&front_text)
            .map_err(|e| err(1 + line_of(&front_text, e.span()), toml_message(&e)))?;
        check_front(&front).map_err(|message| err(2, message))?;
        let body: String = lines.map(|l| format!("{l}\n")).collect();
        // Links and images are refused here, at their line, not only when a page is drawn.
        let blocks = crate::body::parse_blocks(&pub_file, &body, closed_at + 1)?;
        crate::destinations::check_blocks(&pub_file, &blocks)?;

        let tables_file = in_dir(dir, TABLES_FILE);
        let parsed: TablesFile = toml::from_str(tables).map_err(|e| BuildError {
            file: tables_file.clone(),
            line: line_of(tables, e.span()),
            message: toml_message(&e),
        })?;
        let headers = table_header_lines(tables);
        let mut defs = parsed.table;
        let mut names = BTreeSet::new();
        for (i, def) in defs.iter_mut().enumerate() {
            def.line = headers.get(i).copied().unwrap_or(1);
            check_table(def).map_err(|message| BuildError {
                file: tables_file.clone(),
                line: def.line,
                message: format!("table `{}`: {message}", def.name),
            })?;
            if !names.insert(def.name.clone()) {
                return Err(BuildError {
                    file: tables_file.clone(),
                    line: def.line,
                    message: format!("a table named `{}` is defined twice", def.name),
                });
            }
        }
        let mut files = BTreeMap::new();
        files.insert(PUBLICATION_FILE.to_string(), publication.to_string());
        if !tables.is_empty() {
            files.insert(TABLES_FILE.to_string(), tables.to_string());
        }
        Ok(PublicationSource {
            dir: dir.to_string(),
            front,
            body,
            body_line: closed_at + 1,
            tables: defs,
            files,
        })
    }

    /// The table named `name`.
    pub fn table(&self, name: &str) -> Option<&TableDef> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// The name of `publication.md`, for messages.
    pub fn publication_file(&self) -> String {
        in_dir(&self.dir, PUBLICATION_FILE)
    }

    /// The name of `tables.toml`, for messages.
    pub fn tables_file(&self) -> String {
        in_dir(&self.dir, TABLES_FILE)
    }
}

/// A file's name for messages: under its folder, or alone for a source written in the back
/// office's editor, which has no folder.
fn in_dir(dir: &str, file: &str) -> String {
    if dir.is_empty() {
        file.to_string()
    } else {
        format!("{dir}/{file}")
    }
}

fn toml_message(e: &toml::de::Error) -> String {
    // The message toml gives starts with a location and a source excerpt; keep its reason.
    e.message().to_string()
}

/// The 1-based line of a byte span's start.
fn line_of(text: &str, span: Option<std::ops::Range<usize>>) -> usize {
    let at = span.map_or(0, |s| s.start.min(text.len()));
    text[..at].matches('\n').count() + 1
}

fn table_header_lines(text: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.trim() == "[[table]]")
        .map(|(i, _)| i + 1)
        .collect()
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && s.as_bytes()[0].is_ascii_lowercase()
}

fn check_front(f: &FrontMatter) -> Result<(), String> {
    if !is_valid_slug(&f.slug) {
        return Err(format!(
            "slug `{}`: use lower-case letters, digits and single hyphens (e.g. condamnations-2024)",
            f.slug
        ));
    }
    if f.title.trim().is_empty() {
        return Err("the title is empty".into());
    }
    if f.number.trim().is_empty() {
        return Err("the number is empty".into());
    }
    if f.authors.is_empty() {
        return Err("give at least one author (authors = [\"…\"])".into());
    }
    Ok(())
}

fn check_table(t: &TableDef) -> Result<(), String> {
    if !is_identifier(&t.name) {
        return Err(
            "the name must be lower-case letters, digits and `_`, starting with a letter".into(),
        );
    }
    match (&t.period, t.periods_in_columns()) {
        (Some(_), true) => {
            return Err(format!(
                "with columns = \"{PERIOD_DIMENSION}\", give `periods = [...]`, not `period`"
            ));
        }
        (None, false) => return Err("give its `period` (e.g. period = \"2024\")".into()),
        (None, true) if t.periods.is_empty() => {
            return Err("give the periods of its columns (periods = [\"2023\", \"2024\"])".into());
        }
        (Some(_), false) if !t.periods.is_empty() => {
            return Err(format!(
                "`periods` is only for columns = \"{PERIOD_DIMENSION}\"; give one `period`"
            ));
        }
        _ => {}
    }
    if t.rows == PERIOD_DIMENSION {
        return Err(format!(
            "periods go in columns (columns = \"{PERIOD_DIMENSION}\")"
        ));
    }
    if t.columns.as_deref() == Some(t.rows.as_str()) {
        return Err(format!("`{}` cannot be both rows and columns", t.rows));
    }
    for dim in [Some(&t.rows), t.columns.as_ref()].into_iter().flatten() {
        if t.filters.contains_key(dim) {
            return Err(format!(
                "`{dim}` is in the rows or columns and cannot also be a filter"
            ));
        }
    }
    if t.decimals.is_some_and(|d| d > 6) {
        return Err("decimals: from 0 to 6".into());
    }
    if t.shares_of.is_some() && t.columns.is_none() {
        return Err("shares_of needs a column dimension".into());
    }
    for p in &t.provisional {
        if !t.needed_periods().contains(p) {
            return Err(format!(
                "provisional period `{p}` is not one of the table's periods"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUBLICATION: &str = "+++
collection = \"infos-rapides\"
number = \"42\"
slug = \"condamnations-2024\"
title = \"Près de {{ valeur t ligne=_T arrondi=1000 }} condamnations en 2024\"
authors = [\"Sophie Bernard\"]
period = \"2024\"
theme = \"Condamnations\"
+++
Texte.
";

    const TABLES: &str = "
[[table]]
name = \"t\"
title = \"Condamnations\"
cube = \"cjn_convictions\"
measure = \"condamnations\"
period = \"2024\"
rows = \"offence_group\"
champ = \"France entière.\"
unit = \"Nombre de condamnations\"
";

    #[test]
    fn a_publication_folder_parses() {
        let s = PublicationSource::parse("d", PUBLICATION, TABLES).unwrap();
        assert_eq!(s.front.collection, Collection::InfosRapides);
        assert_eq!(s.body, "Texte.\n");
        assert_eq!(s.body_line, 10);
        assert_eq!(s.tables[0].line, 2);
        assert_eq!(s.table("t").unwrap().needed_periods(), ["2024"]);
    }

    #[test]
    fn malformed_front_matter_names_the_file_and_line() {
        let bad = PUBLICATION.replace("number = \"42\"", "number = 42");
        let e = PublicationSource::parse("d", &bad, TABLES).unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("d/publication.md", 3), "{e}");
        let bad = PUBLICATION.replace("collection = \"infos-rapides\"", "collection = \"infos\"");
        let e = PublicationSource::parse("d", &bad, TABLES).unwrap_err();
        assert!(e.to_string().contains("infos"), "{e}");
        let e = PublicationSource::parse("d", "no front matter", TABLES).unwrap_err();
        assert_eq!(e.line, 1);
        let unclosed = PUBLICATION.replacen("+++\nTexte", "Texte", 1);
        assert!(PublicationSource::parse("d", &unclosed, TABLES).is_err());
        let bad = PUBLICATION.replace("condamnations-2024", "Condamnations 2024");
        let e = PublicationSource::parse("d", &bad, TABLES).unwrap_err();
        assert!(e.message.contains("slug"), "{e}");
    }

    #[test]
    fn bad_tables_name_the_line_of_their_header() {
        let two = format!("{TABLES}\n{TABLES}");
        let e = PublicationSource::parse("d", PUBLICATION, &two).unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("d/tables.toml", 13), "{e}");
        assert!(e.message.contains("twice"));
        let no_period = TABLES.replace("period = \"2024\"\n", "");
        let e = PublicationSource::parse("d", PUBLICATION, &no_period).unwrap_err();
        assert!(e.message.contains("period"), "{e}");
        let unknown = TABLES.replace("rows =", "lignes =");
        let e = PublicationSource::parse("d", PUBLICATION, &unknown).unwrap_err();
        assert!(e.message.contains("lignes"), "{e}");
        let same = TABLES.replace(
            "rows = \"offence_group\"",
            "rows = \"sex\"\ncolumns = \"sex\"",
        );
        assert!(PublicationSource::parse("d", PUBLICATION, &same).is_err());
    }

    #[test]
    fn a_source_without_a_folder_names_its_files_alone() {
        let bad = PUBLICATION.replace("number = \"42\"", "number = 42");
        let e = PublicationSource::parse("", &bad, TABLES).unwrap_err();
        assert_eq!(e.to_string(), format!("publication.md:3: {}", e.message));
        let s = PublicationSource::parse("", PUBLICATION, TABLES).unwrap();
        assert_eq!(
            (s.publication_file(), s.tables_file()),
            ("publication.md".into(), "tables.toml".into())
        );
    }
}
