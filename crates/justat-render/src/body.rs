//! The body of a publication: Markdown with directives. Block directives stand on their own
//! lines between `::: kind …` and `:::` — a figure (`::: figure TABLE`), a box
//! (`::: encadre Définitions`), key figures (`::: chiffres-cles`) — and inline directives cite a
//! value of a table: `{{ valeur TABLE ligne=CODE [colonne=CODE] [arrondi=1000] }}`,
//! `{{ part TABLE ligne=CODE sur=CODE [colonne=CODE] [decimales=1] }}` (a share in %),
//! `{{ evolution TABLE ligne=CODE de=COL a=COL [decimales=1] }}` (a change in %).
//! No number is typed by hand: every one resolves to a protected table's published cell.

use crate::BuildError;
use crate::data::{DataTable, Flag};
use justat_model::french;
use std::collections::BTreeMap;

/// A chart type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartKind {
    /// Horizontal bars, ranked (one column).
    Bars,
    /// Vertical bars (one per column, e.g. per year).
    Columns,
    /// Stacked horizontal bars: each row split by the columns, in %.
    StackedBars,
    /// Lines: one per row, across the columns (periods).
    Lines,
    /// No chart: the table alone.
    None,
}

impl ChartKind {
    fn parse(s: &str) -> Option<ChartKind> {
        Some(match s {
            "barres" | "barres-horizontales" => ChartKind::Bars,
            "colonnes" | "barres-verticales" => ChartKind::Columns,
            "barres-empilees" => ChartKind::StackedBars,
            "lignes" | "courbes" => ChartKind::Lines,
            "aucun" | "tableau" => ChartKind::None,
            _ => return None,
        })
    }
}

/// A figure: a table, and the chart drawn from it.
#[derive(Debug, Clone, PartialEq)]
pub struct FigureBlock {
    /// The table's name.
    pub table: String,
    /// The chart.
    pub chart: ChartKind,
    /// Its title (the table's by default).
    pub title: Option<String>,
    /// Its *Lecture* line (may cite values).
    pub lecture: String,
    /// The row codes the chart shows (all but the total by default).
    pub chart_rows: Option<Vec<String>>,
    /// The column a bar chart draws (the first by default).
    pub chart_column: Option<String>,
    /// A note under it (may cite values).
    pub note: Option<String>,
    /// Its line in `publication.md`.
    pub line: usize,
}

/// A piece of the body.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// Markdown text (may cite values), starting at `line`.
    Markdown {
        /// The text.
        text: String,
        /// Its first line.
        line: usize,
    },
    /// A figure.
    Figure(FigureBlock),
    /// A box (*Définitions*, *Méthodologie*, *Pour en savoir plus*…) of Markdown.
    Boxed {
        /// Its title.
        title: String,
        /// Its Markdown.
        text: String,
        /// Its first line.
        line: usize,
    },
    /// Key figures: each a cited value and what it counts.
    KeyFigures {
        /// (value directive, label, line).
        items: Vec<(String, String, usize)>,
    },
}

/// Splits a body (whose first line is `first_line` of `file`) into blocks.
pub fn parse_blocks(file: &str, body: &str, first_line: usize) -> Result<Vec<Block>, BuildError> {
    let err = |line: usize, message: String| BuildError {
        file: file.to_string(),
        line,
        message,
    };
    let mut blocks = Vec::new();
    let mut text = String::new();
    let mut text_line = first_line;
    let mut lines = body.lines().enumerate().map(|(i, l)| (first_line + i, l));
    while let Some((n, line)) = lines.next() {
        let Some(head) = line.trim_end().strip_prefix(":::") else {
            if text.is_empty() {
                text_line = n;
            }
            text.push_str(line);
            text.push('\n');
            continue;
        };
        let head = head.trim();
        if head.is_empty() {
            return Err(err(n, "a `:::` closes no directive".into()));
        }
        if !text.trim().is_empty() {
            blocks.push(Block::Markdown {
                text: std::mem::take(&mut text),
                line: text_line,
            });
        }
        text.clear();
        let mut inner = Vec::new();
        let mut closed = false;
        for (m, l) in lines.by_ref() {
            if l.trim_end() == ":::" {
                closed = true;
                break;
            }
            if l.trim_start().starts_with(":::") {
                return Err(err(
                    m,
                    "directives cannot be nested; close the one above with `:::`".into(),
                ));
            }
            inner.push((m, l));
        }
        if !closed {
            return Err(err(
                n,
                format!("`::: {head}` is not closed by a `:::` line"),
            ));
        }
        let (kind, arg) = head.split_once(' ').unwrap_or((head, ""));
        let arg = arg.trim();
        blocks.push(match kind {
            "figure" => Block::Figure(figure(n, arg, &inner).map_err(|m| err(n, m))?),
            "encadre" => {
                if arg.is_empty() {
                    return Err(err(
                        n,
                        "a box needs a title: `::: encadre Définitions`".into(),
                    ));
                }
                Block::Boxed {
                    title: arg.to_string(),
                    text: inner.iter().map(|(_, l)| format!("{l}\n")).collect(),
                    line: n + 1,
                }
            }
            "chiffres-cles" => {
                let mut items = Vec::new();
                for &(m, l) in inner.iter().filter(|(_, l)| !l.trim().is_empty()) {
                    let (value, label) = l.split_once('|').ok_or_else(|| {
                        err(
                            m,
                            "a key figure is `{{ valeur … }} | what it counts`".into(),
                        )
                    })?;
                    items.push((value.trim().to_string(), label.trim().to_string(), m));
                }
                if items.is_empty() {
                    return Err(err(n, "key figures need at least one line".into()));
                }
                Block::KeyFigures { items }
            }
            other => {
                return Err(err(
                    n,
                    format!("unknown directive `{other}` (figure, encadre, chiffres-cles)"),
                ));
            }
        });
    }
    if !text.trim().is_empty() {
        blocks.push(Block::Markdown {
            text,
            line: text_line,
        });
    }
    Ok(blocks)
}

fn figure(line: usize, table: &str, inner: &[(usize, &str)]) -> Result<FigureBlock, String> {
    if table.is_empty() || table.contains(' ') {
        return Err("a figure names one table: `::: figure TABLE`".into());
    }
    let mut keys: BTreeMap<&str, (usize, String)> = BTreeMap::new();
    for &(m, l) in inner.iter().filter(|(_, l)| !l.trim().is_empty()) {
        let (k, v) = l
            .split_once(':')
            .ok_or_else(|| format!("line {m}: a figure's lines are `key: value`"))?;
        keys.insert(k.trim(), (m, v.trim().to_string()));
    }
    let mut take = |k: &str| keys.remove(k).map(|(_, v)| v);
    let chart = match take("graphique") {
        None => ChartKind::Bars,
        Some(g) => ChartKind::parse(&g).ok_or_else(|| {
            format!("graphique `{g}`: one of barres, colonnes, barres-empilees, lignes, aucun")
        })?,
    };
    let fig = FigureBlock {
        table: table.to_string(),
        chart,
        title: take("titre"),
        lecture: take("lecture").ok_or("a figure needs its `lecture:` line")?,
        chart_rows: take("lignes").map(|l| l.split(',').map(|c| c.trim().to_string()).collect()),
        chart_column: take("colonne"),
        note: take("note"),
        line,
    };
    if let Some((k, (m, _))) = keys.into_iter().next() {
        return Err(format!(
            "line {m}: unknown key `{k}` (graphique, titre, lecture, lignes, colonne, note)"
        ));
    }
    Ok(fig)
}

/// A value a text cites, for traceability: the table and the cells it reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Citation {
    /// The text it became.
    pub text: String,
    /// The table.
    pub table: String,
    /// The cells read, as (row, column).
    pub cells: Vec<(String, Option<String>)>,
}

/// Resolves the inline directives of `text` (at `line` of `file`) against the tables;
/// returns the text with each replaced by its formatted value.
pub fn resolve_inline(
    file: &str,
    line: usize,
    text: &str,
    tables: &BTreeMap<String, DataTable>,
    cited: &mut Vec<Citation>,
) -> Result<String, BuildError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut at_line = line;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        at_line += rest[..start].matches('\n').count();
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or_else(|| BuildError {
            file: file.to_string(),
            line: at_line,
            message: "a `{{` is not closed by `}}`".into(),
        })?;
        let directive = &after[..end];
        let citation = cite(directive, tables).map_err(|message| BuildError {
            file: file.to_string(),
            line: at_line,
            message: format!("{{{{{directive}}}}}: {message}"),
        })?;
        out.push_str(&citation.text);
        cited.push(citation);
        at_line += directive.matches('\n').count();
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn cite(directive: &str, tables: &BTreeMap<String, DataTable>) -> Result<Citation, String> {
    let mut words = directive.split_whitespace();
    let kind = words.next().ok_or("empty directive")?;
    let name = words.next().ok_or("name the table")?;
    let table = tables
        .get(name)
        .ok_or_else(|| format!("no table `{name}` in tables.toml"))?;
    let mut args: BTreeMap<&str, &str> = BTreeMap::new();
    for w in words {
        let (k, v) = w
            .split_once('=')
            .ok_or_else(|| format!("`{w}`: arguments are key=value"))?;
        args.insert(k, v);
    }
    let allowed: &[&str] = match kind {
        "valeur" => &["ligne", "colonne", "arrondi", "decimales"],
        "part" => &["ligne", "colonne", "sur", "sur_colonne", "decimales"],
        "evolution" => &["ligne", "de", "a", "decimales"],
        _ => {
            return Err(format!(
                "unknown directive `{kind}` (valeur, part, evolution)"
            ));
        }
    };
    if let Some(k) = args.keys().find(|k| !allowed.contains(k)) {
        return Err(format!(
            "`{kind}` takes no `{k}` (it takes {})",
            allowed.join(", ")
        ));
    }
    let row = *args.get("ligne").ok_or("name the row: ligne=CODE")?;
    let number = |key: &str, default: u32| -> Result<u32, String> {
        args.get(key).map_or(Ok(default), |v| {
            v.parse()
                .ok()
                .filter(|d| *d <= 6)
                .ok_or_else(|| format!("{key}={v}: a number of decimals from 0 to 6"))
        })
    };
    let mut cells = Vec::new();
    let mut read = |row: &str, col: Option<&str>| -> Result<f64, String> {
        let cell = table.cell(row, col)?;
        cells.push((row.to_string(), col.map(String::from)));
        let at = || match col {
            Some(c) => format!("row `{row}`, column `{c}`"),
            None => format!("row `{row}`"),
        };
        match (cell.flag, cell.value) {
            (Flag::Secret, _) => Err(format!(
                "the cell ({}) of table `{}` is withheld by the secret statistique: it cannot be cited",
                at(),
                table.parts.name
            )),
            (_, Some(v)) => Ok(v),
            (flag, None) => Err(format!(
                "the cell ({}) of table `{}` has no value ({})",
                at(),
                table.parts.name,
                flag.meaning_fr()
            )),
        }
    };
    let col = args.get("colonne").copied();
    let text = match kind {
        "valeur" => {
            let v = read(row, col)?;
            match (args.get("arrondi"), args.get("decimales")) {
                (Some(_), Some(_)) => return Err("give arrondi or decimales, not both".into()),
                (Some(step), None) => {
                    let step: u64 = step
                        .parse()
                        .ok()
                        .filter(|s: &u64| *s > 0 && 10u64.pow(s.ilog10()) == *s)
                        .ok_or_else(|| format!("arrondi={step}: 1, 10, 100, 1000…"))?;
                    french::rounded(v, step)
                }
                (None, _) => french::decimal(v, number("decimales", 0)?),
            }
        }
        "part" => {
            let over = *args.get("sur").ok_or("name the total: sur=CODE")?;
            let over_col = args.get("sur_colonne").copied().or(col);
            let part = read(row, col)?;
            let whole = read(over, over_col)?;
            if whole == 0.0 {
                return Err(format!("the total `{over}` is zero: no share"));
            }
            format!(
                "{}\u{a0}%",
                french::decimal(100.0 * part / whole, number("decimales", 1)?)
            )
        }
        _ => {
            let from = *args.get("de").ok_or("name the first column: de=CODE")?;
            let to = *args.get("a").ok_or("name the last column: a=CODE")?;
            let a = read(row, Some(from))?;
            let b = read(row, Some(to))?;
            if a == 0.0 {
                return Err(format!("the value of `{from}` is zero: no change in %"));
            }
            let pct = 100.0 * (b - a) / a;
            let digits = french::decimal(pct, number("decimales", 1)?);
            let sign =
                if digits.starts_with('-') || digits.trim_start_matches(['0', ',']).is_empty() {
                    ""
                } else {
                    "+"
                };
            format!("{sign}{digits}\u{a0}%")
        }
    };
    Ok(Citation {
        text,
        table: table.parts.name.clone(),
        cells,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{DataCell, Heading, Provenance, TableParts};

    fn heading(code: &str, depth: usize) -> Heading {
        Heading {
            code: code.into(),
            label: code.into(),
            depth,
        }
    }

    pub(crate) fn sample() -> BTreeMap<String, DataTable> {
        let t = DataTable {
            parts: TableParts {
                name: "t".into(),
                title: "Condamnations".into(),
                rows_title: "Infraction".into(),
                columns_title: Some("Année".into()),
                unit: "Nombre".into(),
                champ: "France.".into(),
                source: "Source : SSER.".into(),
                rows: vec![heading("_T", 0), heading("A", 1), heading("B", 1)],
                columns: vec![heading("2023", 0), heading("2024", 0)],
                cells: vec![
                    vec![DataCell::value(540_000.0), DataCell::value(548_712.0)],
                    vec![DataCell::value(3.0), DataCell::secret()],
                    vec![DataCell::value(539_997.0), DataCell::secret()],
                ],
                decimals: 0,
                provenance: Provenance::default(),
            },
        };
        BTreeMap::from([("t".to_string(), t)])
    }

    fn resolve(text: &str) -> Result<String, BuildError> {
        resolve_inline("p.md", 7, text, &sample(), &mut Vec::new())
    }

    #[test]
    fn cited_values_are_formatted_the_french_way() {
        assert_eq!(
            resolve("Près de {{ valeur t ligne=_T colonne=2024 arrondi=1000 }} condamnations")
                .unwrap(),
            "Près de 549\u{a0}000 condamnations"
        );
        assert_eq!(
            resolve("{{valeur t ligne=_T colonne=2023}}").unwrap(),
            "540\u{a0}000"
        );
        assert_eq!(
            resolve("{{ evolution t ligne=_T de=2023 a=2024 }}").unwrap(),
            "+1,6\u{a0}%"
        );
        assert_eq!(
            resolve("{{ part t ligne=A sur=_T colonne=2023 decimales=3 }}").unwrap(),
            "0,001\u{a0}%"
        );
    }

    #[test]
    fn a_suppressed_cell_cannot_be_cited() {
        let e = resolve("ligne\n{{ valeur t ligne=A colonne=2024 }}").unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("p.md", 8));
        assert!(e.message.contains("secret statistique"), "{e}");
        // Nor a share or a change that reads one.
        assert!(resolve("{{ part t ligne=B sur=_T colonne=2024 }}").is_err());
    }

    #[test]
    fn bad_directives_say_why() {
        for (text, says) in [
            ("{{ valeur u ligne=_T }}", "no table `u`"),
            ("{{ valeur t ligne=Z colonne=2024 }}", "no row `Z`"),
            ("{{ valeur t ligne=_T }}", "several columns"),
            ("{{ valeur t ligne=_T colonne=2030 }}", "no column `2030`"),
            ("{{ moyenne t ligne=_T }}", "unknown directive"),
            ("{{ valeur t ligne=_T colonne=2024 arrondi=30 }}", "arrondi"),
            (
                "{{ valeur t ligne=_T colonne=2024 poids=2 }}",
                "takes no `poids`",
            ),
            ("{{ valeur t ligne=_T", "not closed"),
        ] {
            let e = resolve(text).unwrap_err();
            assert!(e.message.contains(says), "{text}: {e}");
        }
    }

    #[test]
    fn blocks_are_split_with_their_lines() {
        let body = "Intro {{ valeur t ligne=_T colonne=2024 }}.\n\n::: figure t\ngraphique: lignes\nlecture: En 2024…\n:::\n\n::: encadre Définitions\nUne *condamnation*…\n:::\n::: chiffres-cles\n{{ valeur t ligne=_T colonne=2024 }} | condamnations\n:::\nFin.\n";
        let blocks = parse_blocks("p.md", body, 10).unwrap();
        assert_eq!(blocks.len(), 5, "{blocks:?}");
        assert!(matches!(&blocks[0], Block::Markdown { line: 10, .. }));
        let Block::Figure(f) = &blocks[1] else {
            panic!("{:?}", blocks[1])
        };
        assert_eq!(
            (f.chart, f.line, f.lecture.as_str()),
            (ChartKind::Lines, 12, "En 2024…")
        );
        assert!(
            matches!(&blocks[2], Block::Boxed { title, line: 18, .. } if title == "Définitions")
        );
        assert!(matches!(&blocks[3], Block::KeyFigures { items } if items[0].2 == 21));
        assert!(matches!(&blocks[4], Block::Markdown { line: 23, .. }));
    }

    #[test]
    fn malformed_blocks_name_their_line() {
        for (body, line, says) in [
            ("a\n::: figure t\nlecture: x\n", 2, "not closed"),
            (
                "::: figure t\ngraphique: camembert\nlecture: x\n:::\n",
                1,
                "camembert",
            ),
            ("::: figure t\ngraphique: barres\n:::\n", 1, "lecture"),
            ("::: carte t\n:::\n", 1, "unknown directive"),
            ("texte\n:::\n", 2, "closes no directive"),
            ("::: encadre A\n::: figure t\n:::\n", 2, "nested"),
        ] {
            let e = parse_blocks("p.md", body, 1).unwrap_err();
            assert_eq!(e.line, line, "{body}: {e}");
            assert!(e.message.contains(says), "{body}: {e}");
        }
    }
}
