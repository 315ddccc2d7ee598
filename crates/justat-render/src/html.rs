//! The HTML fragment of a publication's body, in the State design system's classes: Markdown
//! (raw HTML in it is shown as text, never passed through), figures with their chart, data
//! table (caption, header cells), notes and downloads, boxes and key figures.

use crate::BuildError;
use crate::body::{Block, ChartKind, Citation, FigureBlock, resolve_inline};
use crate::data::{DataCell, DataTable, Flag};
use crate::{chart, destinations};
use justat_model::french;
use pulldown_cmark::{Event, HeadingLevel, Tag, TagEnd};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

/// The publication's charts as its text may show them (`![…](figure-2.svg)`): each drawn again
/// where the text places it, under ids of its own.
#[derive(Default)]
pub struct ChartImages<'t> {
    /// Figure number → (chart, table, rows drawn, column drawn).
    charts: BTreeMap<usize, (ChartKind, &'t DataTable, Vec<usize>, usize)>,
    /// How many were drawn, to keep their ids unique in the page.
    drawn: std::cell::Cell<usize>,
}

impl<'t> ChartImages<'t> {
    /// The charts of a body's figures, numbered as the page numbers them.
    pub fn of(
        file: &str,
        blocks: &[Block],
        tables: &'t BTreeMap<String, DataTable>,
    ) -> Result<ChartImages<'t>, BuildError> {
        let mut charts = BTreeMap::new();
        let figures = blocks.iter().filter_map(|b| match b {
            Block::Figure(f) => Some(f),
            _ => None,
        });
        for (i, fig) in figures.enumerate() {
            if fig.chart == ChartKind::None {
                continue;
            }
            let at_figure = |message| BuildError {
                file: file.to_string(),
                line: fig.line,
                message,
            };
            let t = figure_table(file, fig, tables)?;
            let rows = chart_rows(fig, t).map_err(at_figure)?;
            let column = chart_column(fig, t).map_err(at_figure)?;
            charts.insert(i + 1, (fig.chart, t, rows, column));
        }
        Ok(ChartImages {
            charts,
            drawn: Default::default(),
        })
    }

    /// The numbers of the figures an image may show.
    pub fn numbers(&self) -> BTreeSet<usize> {
        self.charts.keys().copied().collect()
    }

    fn draw(&self, n: usize, alt: &str) -> String {
        let Some((kind, t, rows, column)) = self.charts.get(&n) else {
            return String::new();
        };
        self.drawn.set(self.drawn.get() + 1);
        let title = if alt.trim().is_empty() {
            format!("Figure {n}")
        } else {
            alt.to_string()
        };
        let id = format!("figure-{n}-image-{}", self.drawn.get());
        chart::svg(*kind, t, rows, *column, &id, &title).unwrap_or_default()
    }
}

/// Markdown to HTML: CommonMark with footnotes and strikethrough; raw HTML escaped; the
/// body's `#` headings become `h2` (the page's `h1` is the title). Every link and image is
/// checked first ([`destinations::vetted`]); an image, one of the publication's charts, is drawn in
/// place. A refused one gives its message and line, counted from the text's first (0).
pub fn markdown(text: &str, charts: &ChartImages) -> Result<String, (usize, String)> {
    let mut events = Vec::new();
    let mut image: Option<(usize, String)> = None;
    for e in destinations::vetted(text, destinations::page_options(), &charts.numbers())? {
        if let Some((n, alt)) = &mut image {
            match e {
                Event::End(TagEnd::Image) => {
                    events.push(Event::InlineHtml(charts.draw(*n, alt).into()));
                    image = None;
                }
                Event::Text(t) | Event::Code(t) => alt.push_str(&t),
                _ => {}
            }
            continue;
        }
        events.push(match e {
            Event::Start(Tag::Image { dest_url, .. }) => {
                // `vetted` let through only the charts' names.
                image = destinations::chart_number(&dest_url).map(|n| (n, String::new()));
                continue;
            }
            Event::Html(h) | Event::InlineHtml(h) => Event::Text(h),
            Event::Start(Tag::Heading {
                level: HeadingLevel::H1,
                id,
                classes,
                attrs,
            }) => Event::Start(Tag::Heading {
                level: HeadingLevel::H2,
                id,
                classes,
                attrs,
            }),
            Event::End(TagEnd::Heading(HeadingLevel::H1)) => {
                Event::End(TagEnd::Heading(HeadingLevel::H2))
            }
            e => e,
        });
    }
    let mut out = String::new();
    pulldown_cmark::html::push_html(&mut out, events.into_iter());
    Ok(out)
}

/// A cell as the page shows it: the value in French format, or its symbol (with its meaning
/// for screen readers and on hover).
pub fn cell_html(c: &DataCell, decimals: u32) -> String {
    let symbol = |f: Flag| {
        f.symbol().map_or(String::new(), |s| {
            format!("<abbr title=\"{}\">{s}</abbr>", f.meaning_fr())
        })
    };
    match c.value {
        Some(v) if c.flag == Flag::Value => french::decimal(v, decimals),
        Some(v) => format!("{}\u{a0}{}", french::decimal(v, decimals), symbol(c.flag)),
        None => symbol(c.flag),
    }
}

/// The data table of a figure: caption, column and row header cells, numbers right-aligned.
pub fn table_html(t: &DataTable, caption: &str) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<div class=\"fr-table justat-table\"><div class=\"fr-table__wrapper\"><div class=\"fr-table__container\"><div class=\"fr-table__content\" tabindex=\"0\"><table><caption>{} <span class=\"fr-text--regular\">({})</span></caption><thead><tr><th scope=\"col\">{}</th>",
        escape(caption),
        escape(&t.parts.unit),
        escape(&t.parts.rows_title)
    );
    for c in &t.parts.columns {
        let _ = write!(
            s,
            "<th scope=\"col\" class=\"justat-nombre\">{}</th>",
            escape(&c.label)
        );
    }
    s.push_str("</tr></thead><tbody>");
    for (r, row) in t.parts.rows.iter().enumerate() {
        let _ = write!(
            s,
            "<tr><th scope=\"row\" class=\"justat-niveau-{}\">{}</th>",
            row.depth.min(4),
            escape(&row.label)
        );
        for c in &t.parts.cells[r] {
            let _ = write!(
                s,
                "<td class=\"justat-nombre\">{}</td>",
                cell_html(c, t.parts.decimals)
            );
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table></div></div></div></div>");
    s
}

/// The files of a table offered under its figure: (suffix, label, detail).
pub const TABLE_FILES: [(&str, &str, &str); 3] = [
    (".csv", "CSV", "séparateur virgule, point décimal, UTF-8"),
    (
        ".fr.csv",
        "CSV pour tableur français",
        "séparateur point-virgule, virgule décimale",
    ),
    (".xlsx", "XLSX", "classeur avec notes et métadonnées"),
];

/// What the body's rendering produced besides its HTML.
#[derive(Debug, Default)]
pub struct BodyParts {
    /// The HTML fragment.
    pub html: String,
    /// The figures: (number, title, table name).
    pub figures: Vec<(usize, String, String)>,
    /// Every cited value.
    pub citations: Vec<Citation>,
}

/// Renders the body's blocks. `data_base` is the address the tables' files are served under
/// (`…/<slug>/v<N>/donnees`); `sizes` the size in bytes of each file, by name.
pub fn render_body(
    file: &str,
    blocks: &[Block],
    tables: &BTreeMap<String, DataTable>,
    data_base: &str,
    sizes: &BTreeMap<String, usize>,
) -> Result<BodyParts, BuildError> {
    let mut parts = BodyParts::default();
    let charts = ChartImages::of(file, blocks, tables)?;
    let markdown = |text: &str, line: usize| {
        markdown(text, &charts).map_err(|(at, message)| BuildError {
            file: file.to_string(),
            line: line + at,
            message,
        })
    };
    for block in blocks {
        match block {
            Block::Markdown { text, line } => {
                let text = resolve_inline(file, *line, text, tables, &mut parts.citations)?;
                parts.html.push_str(&markdown(&text, *line)?);
            }
            Block::Boxed { title, text, line } => {
                let text = resolve_inline(file, *line, text, tables, &mut parts.citations)?;
                let _ = write!(
                    parts.html,
                    "<div class=\"fr-callout justat-encadre\"><h2 class=\"fr-callout__title fr-h6\">{}</h2><div class=\"fr-callout__text\">{}</div></div>",
                    escape(title),
                    markdown(&text, *line)?
                );
            }
            Block::KeyFigures { items } => {
                parts.html.push_str(
                    "<ul class=\"justat-chiffres-cles fr-grid-row fr-grid-row--gutters\">",
                );
                for (value, label, line) in items {
                    let value = resolve_inline(file, *line, value, tables, &mut parts.citations)?;
                    let label = resolve_inline(file, *line, label, tables, &mut parts.citations)?;
                    let _ = write!(
                        parts.html,
                        "<li class=\"fr-col-12 fr-col-md-4\"><p class=\"justat-chiffre\">{}</p><p class=\"justat-chiffre__libelle\">{}</p></li>",
                        escape(&value),
                        escape(&label)
                    );
                }
                parts.html.push_str("</ul>");
            }
            Block::Figure(fig) => {
                let n = parts.figures.len() + 1;
                let t = figure_table(file, fig, tables)?;
                let html = figure_html(
                    file,
                    n,
                    fig,
                    t,
                    tables,
                    data_base,
                    sizes,
                    &mut parts.citations,
                )?;
                parts.html.push_str(&html);
                let title = fig.title.clone().unwrap_or_else(|| t.parts.title.clone());
                parts.figures.push((n, title, t.parts.name.clone()));
            }
        }
    }
    Ok(parts)
}

/// The table a figure shows; an error at the figure's line if the publication defines none.
pub fn figure_table<'t>(
    file: &str,
    fig: &FigureBlock,
    tables: &'t BTreeMap<String, DataTable>,
) -> Result<&'t DataTable, BuildError> {
    tables.get(&fig.table).ok_or_else(|| BuildError {
        file: file.to_string(),
        line: fig.line,
        message: format!(
            "the figure names table `{}`, which tables.toml does not define",
            fig.table
        ),
    })
}

/// The rows a figure's chart draws: those named, or every row but the total when there are
/// others.
pub fn chart_rows(fig: &FigureBlock, t: &DataTable) -> Result<Vec<usize>, String> {
    match &fig.chart_rows {
        Some(codes) => codes
            .iter()
            .map(|c| {
                t.parts
                    .rows
                    .iter()
                    .position(|r| &r.code == c)
                    .ok_or_else(|| format!("lignes: table `{}` has no row `{c}`", t.parts.name))
            })
            .collect(),
        None => {
            let inner: Vec<usize> = (0..t.parts.rows.len())
                .filter(|&r| t.parts.rows[r].depth > 0)
                .collect();
            Ok(if inner.is_empty() {
                (0..t.parts.rows.len()).collect()
            } else {
                inner
            })
        }
    }
}

/// The column a bar chart draws: the one named, or the first.
pub fn chart_column(fig: &FigureBlock, t: &DataTable) -> Result<usize, String> {
    match &fig.chart_column {
        None => Ok(0),
        Some(code) => t
            .parts
            .columns
            .iter()
            .position(|c| &c.code == code)
            .ok_or_else(|| format!("colonne: table `{}` has no column `{code}`", t.parts.name)),
    }
}

/// A size for people: `2 Ko`.
fn size_fr(bytes: usize) -> String {
    if bytes < 1024 * 1024 {
        format!("{}\u{a0}Ko", bytes.div_ceil(1024))
    } else {
        format!("{}\u{a0}Mo", french::decimal(bytes as f64 / 1_048_576.0, 1))
    }
}

#[allow(clippy::too_many_arguments)]
fn figure_html(
    file: &str,
    n: usize,
    fig: &FigureBlock,
    t: &DataTable,
    tables: &BTreeMap<String, DataTable>,
    data_base: &str,
    sizes: &BTreeMap<String, usize>,
    cited: &mut Vec<Citation>,
) -> Result<String, BuildError> {
    let err = |message: String| BuildError {
        file: file.to_string(),
        line: fig.line,
        message,
    };
    let title = fig.title.as_deref().unwrap_or(&t.parts.title);
    let title = resolve_inline(file, fig.line, title, tables, cited)?;
    let caption = format!("Figure {n} – {title}");
    let rows = chart_rows(fig, t).map_err(err)?;
    let id = format!("figure-{n}");
    let mut s = String::new();
    let _ = write!(
        s,
        "<figure class=\"justat-figure fr-my-4w\" id=\"{id}\"><figcaption class=\"fr-h6 justat-figure__titre\">{}</figcaption>",
        escape(&caption)
    );
    let column = match &fig.chart_column {
        None => 0,
        Some(code) => t
            .parts
            .columns
            .iter()
            .position(|c| &c.code == code)
            .ok_or_else(|| {
                err(format!(
                    "colonne: table `{}` has no column `{code}`",
                    t.parts.name
                ))
            })?,
    };
    if let Some(svg) = chart::svg(fig.chart, t, &rows, column, &id, &caption) {
        let _ = write!(s, "<div class=\"justat-graphique\">{svg}</div>");
    }
    s.push_str(&table_html(t, &caption));
    let lecture = resolve_inline(file, fig.line, &fig.lecture, tables, cited)?;
    let _ = write!(
        s,
        "<p class=\"fr-text--sm justat-notes\"><span class=\"justat-note\">Lecture : {}</span><br><span class=\"justat-note\">Champ : {}</span><br><span class=\"justat-note\">{}</span>",
        escape(&lecture),
        escape(&t.parts.champ),
        escape(&t.parts.source)
    );
    if let Some(note) = &fig.note {
        let note = resolve_inline(file, fig.line, note, tables, cited)?;
        let _ = write!(
            s,
            "<br><span class=\"justat-note\">Note : {}</span>",
            escape(&note)
        );
    }
    let flags = t.flags_used();
    if !flags.is_empty() {
        let legend: Vec<String> = flags
            .iter()
            .filter_map(|f| f.symbol().map(|sym| format!("{sym} : {}", f.meaning_fr())))
            .collect();
        let _ = write!(
            s,
            "<br><span class=\"justat-note\">{}.</span>",
            escape(&legend.join(" ; "))
        );
    }
    s.push_str("</p><ul class=\"justat-telechargements fr-links-group\">");
    for (suffix, label, detail) in TABLE_FILES {
        let name = format!("{}{suffix}", t.parts.name);
        let size = sizes
            .get(&name)
            .map(|b| format!(" – {}", size_fr(*b)))
            .unwrap_or_default();
        let _ = write!(
            s,
            "<li><a class=\"fr-link fr-link--download\" download href=\"{}/{}\">Télécharger les données de la figure {n} ({label})<span class=\"fr-link__detail\">{detail}{size}</span></a></li>",
            escape(data_base),
            escape(&name)
        );
    }
    s.push_str("</ul></figure>");
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_html_in_markdown_is_shown_as_text() {
        let html = markdown(
            "# Titre\n\nUn <script>alert(1)</script> **gras**.",
            &ChartImages::default(),
        )
        .unwrap();
        assert!(html.contains("<h2>Titre</h2>"), "{html}");
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(html.contains("<strong>gras</strong>"));
    }

    #[test]
    fn cells_show_french_numbers_and_symbols() {
        assert_eq!(cell_html(&DataCell::value(12345.0), 0), "12\u{a0}345");
        assert_eq!(
            cell_html(&DataCell::secret(), 0),
            "<abbr title=\"secret statistique\">s</abbr>"
        );
        let p = DataCell {
            value: Some(3.0),
            flag: Flag::Provisional,
        };
        assert_eq!(
            cell_html(&p, 0),
            "3\u{a0}<abbr title=\"donnée provisoire\">p</abbr>"
        );
    }
}
