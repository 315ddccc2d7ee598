//! The Typst source of a publication's PDF, in its collection's layout: the same blocks as
//! the page (text, figures with their chart, table and notes kept together, boxes, key
//! figures), page numbers, and the publication's name and version on every page. Text is
//! always written as Typst string literals, so nothing in it is read as markup.

use crate::BuildError;
use crate::body::{Block, Citation, resolve_inline};
use crate::chart;
use crate::data::{DataTable, Flag};
use crate::destinations;
use crate::html::{chart_column, chart_rows, figure_table};
use justat_model::Collection;
use justat_model::french;
use pulldown_cmark::{Event, LinkType, Options, Tag, TagEnd};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// A Typst string literal: `"…"` with `\` and `"` escaped.
pub fn lit(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The name under which [`stamped`] expects the PDF it stamps.
pub const STAMPED_ORIGINAL: &str = "original.pdf";

/// The Typst source of a PDF of `pages` A4 pages (given as [`STAMPED_ORIGINAL`]) with `banner`
/// at the top of every page: a recipient's copy under embargo.
pub fn stamped(pages: usize, banner: &str) -> String {
    format!(
        "#set page(paper: \"a4\", margin: 0pt)\n\
         #for n in range(1, {pages} + 1) {{\n\
         \x20 place(image({original}, page: n, width: 100%, height: 100%))\n\
         \x20 place(top + center, dy: 2.5mm, box(fill: rgb(\"#fff4e5\"), stroke: 0.6pt + rgb(\"#b34000\"), inset: 4pt, text(size: 8pt, fill: rgb(\"#b34000\"), weight: \"bold\", {banner})))\n\
         \x20 if n < {pages} {{ pagebreak() }}\n\
         }}\n",
        original = lit(STAMPED_ORIGINAL),
        banner = lit(banner),
    )
}

/// Markdown as Typst content: headings, paragraphs, emphasis, lists, links, and the
/// publication's charts its text shows (`![…](figure-2.svg)`, `charts` being the figures that
/// draw one). Every link and image is checked first ([`destinations::vetted`]); a refused one gives its
/// message and line, counted from the text's first (0).
pub fn markdown(text: &str, charts: &BTreeSet<usize>) -> Result<String, (usize, String)> {
    let mut out = String::new();
    let mut list_depth = 0usize;
    let mut image: Option<(usize, String)> = None;
    for e in destinations::vetted(text, Options::ENABLE_SMART_PUNCTUATION, charts)? {
        if let Some((n, alt)) = &mut image {
            match e {
                Event::End(TagEnd::Image) => {
                    let _ = write!(
                        out,
                        "\n#image({}, width: 100%, alt: {})\n",
                        lit(&destinations::chart_file(*n)),
                        lit(alt)
                    );
                    image = None;
                }
                Event::Text(t) | Event::Code(t) => alt.push_str(&t),
                _ => {}
            }
            continue;
        }
        match e {
            Event::Start(Tag::Heading { level, .. }) => {
                let level = (level as usize).max(2);
                let _ = write!(out, "\n#heading(level: {})[", level - 1);
            }
            Event::End(TagEnd::Heading(_)) => out.push_str("]\n"),
            Event::Start(Tag::Paragraph) => {}
            Event::End(TagEnd::Paragraph) => out.push_str("\n\n"),
            Event::Start(Tag::Strong) => out.push_str("#strong["),
            Event::Start(Tag::Emphasis) => out.push_str("#emph["),
            Event::End(TagEnd::Strong | TagEnd::Emphasis | TagEnd::Link) => out.push(']'),
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                ..
            }) => {
                // An address in angle brackets (`<sser@justice.gouv.fr>`) is a mail address.
                let dest = if link_type == LinkType::Email {
                    format!("mailto:{dest_url}")
                } else {
                    dest_url.to_string()
                };
                let _ = write!(out, "#link({})[", lit(&dest));
            }
            Event::Start(Tag::Image { dest_url, .. }) => {
                // `vetted` let through only the charts' names.
                image = destinations::chart_number(&dest_url).map(|n| (n, String::new()));
            }
            Event::Start(Tag::List(_)) => list_depth += 1,
            Event::End(TagEnd::List(_)) => {
                list_depth = list_depth.saturating_sub(1);
                out.push('\n');
            }
            Event::Start(Tag::Item) => {
                let _ = write!(out, "\n{}- ", "  ".repeat(list_depth.saturating_sub(1)));
            }
            Event::Text(t) | Event::Code(t) | Event::Html(t) | Event::InlineHtml(t) => {
                let _ = write!(out, "#{}", lit(&t));
            }
            Event::SoftBreak => out.push(' '),
            Event::HardBreak => out.push_str(" \\\n"),
            _ => {}
        }
    }
    Ok(out)
}

/// The collection's accent colour and banner.
fn layout(c: Collection) -> (&'static str, &'static str) {
    match c {
        Collection::ChiffresCles => ("#000091", "Chiffres clés de la justice"),
        Collection::ReferencesStatistiques => ("#009081", "Références statistiques justice"),
        Collection::Infostat => ("#A558A0", "Infostat justice"),
        Collection::InfosRapides => ("#CE614A", "Infos rapides justice"),
    }
}

fn cell_text(t: &DataTable, r: usize, c: usize) -> String {
    let cell = &t.parts.cells[r][c];
    match (cell.value, cell.flag.symbol()) {
        (Some(v), None) => french::decimal(v, t.parts.decimals),
        (Some(v), Some(s)) => format!("{} {s}", french::decimal(v, t.parts.decimals)),
        (None, s) => s.unwrap_or("").to_string(),
    }
}

/// A table as Typst, header row repeated on each page.
fn table(t: &DataTable, caption: &str) -> String {
    let mut s = format!(
        "#text(size: 8.5pt)[#table(columns: (auto, {}), align: (left, {}), stroke: 0.4pt + luma(200), fill: (x, y) => if y == 0 {{ luma(235) }}, table.header(strong({})",
        vec!["1fr"; t.parts.columns.len()].join(", "),
        vec!["right"; t.parts.columns.len()].join(", "),
        lit(&t.parts.rows_title)
    );
    for c in &t.parts.columns {
        let _ = write!(s, ", strong({})", lit(&c.label));
    }
    s.push(')');
    for (r, row) in t.parts.rows.iter().enumerate() {
        let label = format!("{}{}", "    ".repeat(row.depth.min(4)), row.label);
        let _ = if row.depth == 0 {
            write!(s, ", strong({})", lit(&label))
        } else {
            write!(s, ", {}", lit(&label))
        };
        for c in 0..t.parts.columns.len() {
            let _ = write!(s, ", {}", lit(&cell_text(t, r, c)));
        }
    }
    let _ = write!(
        s,
        ")]\n#text(size: 7.5pt, fill: luma(90))[#{} (#{})]\n\n",
        lit(caption),
        lit(&t.parts.unit)
    );
    s
}

/// The PDF's source and the files it reads (one SVG per chart).
#[derive(Debug, Clone)]
pub struct TypstDocument {
    /// `main.typ`.
    pub source: String,
    /// (name, bytes) of the images.
    pub files: Vec<(String, Vec<u8>)>,
}

/// What the PDF says of the publication on its first page and in its footer.
#[derive(Debug, Clone)]
pub struct Cover<'a> {
    /// Its collection.
    pub collection: Collection,
    /// Its number, as written in the collection (`n° 1`).
    pub number: String,
    /// Its title.
    pub title: &'a str,
    /// Its summary.
    pub summary: &'a str,
    /// Its authors.
    pub authors: &'a [String],
    /// Its version.
    pub version: u32,
    /// Its public address.
    pub address: &'a str,
    /// Its erratum, if a correction.
    pub erratum: Option<&'a str>,
}

/// The PDF of the body's blocks.
pub fn document(
    file: &str,
    cover: &Cover,
    blocks: &[Block],
    tables: &BTreeMap<String, DataTable>,
) -> Result<TypstDocument, BuildError> {
    let (accent, banner) = layout(cover.collection);
    let mut s = String::new();
    let footer = format!("{banner} {} – version {}", cover.number, cover.version);
    let _ = write!(
        s,
        "#set document(title: {title}, author: ({authors}))\n#set text(lang: \"fr\", size: 10pt, font: \"Libertinus Serif\")\n#set par(justify: true)\n#set page(paper: \"a4\", margin: (x: 2cm, top: 2cm, bottom: 2.2cm), footer: context [#set text(size: 8pt, fill: luma(90)); #{footer} #h(1fr) #counter(page).display(\"1 / 1\", both: true)])\n#show heading: set text(fill: rgb(\"{accent}\"))\n#block(fill: rgb(\"{accent}\"), inset: 8pt, width: 100%)[#text(fill: white, weight: \"bold\", size: 11pt)[#{banner_n}]]\n#v(6pt)\n#text(size: 20pt, weight: \"bold\")[#{title}]\n\n#text(size: 9pt, fill: luma(70))[#{byline}]\n\n",
        title = lit(cover.title),
        authors = cover
            .authors
            .iter()
            .map(|a| lit(a))
            .collect::<Vec<_>>()
            .join(", ")
            + if cover.authors.len() == 1 { "," } else { "" },
        footer = lit(&footer),
        banner_n = lit(&format!("{banner} {}", cover.number)),
        byline = lit(&format!(
            "{} · version {} · {}",
            cover.authors.join(", "),
            cover.version,
            cover.address
        )),
    );
    if let Some(e) = cover.erratum {
        let _ = write!(
            s,
            "#block(stroke: 1pt + rgb(\"#CE614A\"), inset: 8pt, width: 100%)[#strong[Erratum] #linebreak() #{}]\n\n",
            lit(e)
        );
    }
    if !cover.summary.is_empty() {
        let _ = write!(
            s,
            "#block(fill: luma(242), inset: 10pt, width: 100%)[#text(size: 11pt)[#{}]]\n\n",
            lit(cover.summary)
        );
    }
    let mut files = Vec::new();
    let mut cited: Vec<Citation> = Vec::new();
    let mut figure = 0;
    let charts = destinations::chart_figures(blocks);
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
                s.push_str(&markdown(
                    &resolve_inline(file, *line, text, tables, &mut cited)?,
                    *line,
                )?);
            }
            Block::Boxed { title, text, line } => {
                let body = markdown(
                    &resolve_inline(file, *line, text, tables, &mut cited)?,
                    *line,
                )?;
                let _ = write!(
                    s,
                    "#block(fill: luma(242), inset: 10pt, width: 100%, breakable: false)[#text(weight: \"bold\", fill: rgb(\"{accent}\"))[#{}]\n\n{body}]\n\n",
                    lit(title)
                );
            }
            Block::KeyFigures { items } => {
                s.push_str("#grid(columns: (1fr, 1fr, 1fr), gutter: 10pt");
                for (value, label, line) in items {
                    let value = resolve_inline(file, *line, value, tables, &mut cited)?;
                    let label = resolve_inline(file, *line, label, tables, &mut cited)?;
                    let _ = write!(
                        s,
                        ", [#text(size: 18pt, weight: \"bold\", fill: rgb(\"{accent}\"))[#{}] \\ #text(size: 9pt)[#{}]]",
                        lit(&value),
                        lit(&label)
                    );
                }
                s.push_str(")\n\n");
            }
            Block::Figure(fig) => {
                figure += 1;
                let t = figure_table(file, fig, tables)?;
                let title = resolve_inline(
                    file,
                    fig.line,
                    fig.title.as_deref().unwrap_or(&t.parts.title),
                    tables,
                    &mut cited,
                )?;
                let caption = format!("Figure {figure} – {title}");
                let at_figure = |message| BuildError {
                    file: file.to_string(),
                    line: fig.line,
                    message,
                };
                let rows = chart_rows(fig, t).map_err(at_figure)?;
                let column = chart_column(fig, t).map_err(at_figure)?;
                // Small figures stay on one page with their notes; long tables may break.
                let breakable = t.parts.rows.len() > 25;
                let _ = write!(
                    s,
                    "#block(breakable: {breakable}, width: 100%)[#text(weight: \"bold\")[#{}]\n\n",
                    lit(&caption)
                );
                if let Some(svg) =
                    chart::svg(fig.chart, t, &rows, column, &format!("f{figure}"), &caption)
                {
                    let name = format!("figure-{figure}.svg");
                    let _ = write!(s, "#image({}, width: 100%)\n\n", lit(&name));
                    files.push((name, svg.into_bytes()));
                }
                s.push_str(&table(t, &caption));
                let lecture = resolve_inline(file, fig.line, &fig.lecture, tables, &mut cited)?;
                let mut notes = vec![
                    format!("Lecture : {lecture}"),
                    format!("Champ : {}", t.parts.champ),
                    t.parts.source.clone(),
                ];
                if let Some(n) = &fig.note {
                    notes.push(format!(
                        "Note : {}",
                        resolve_inline(file, fig.line, n, tables, &mut cited)?
                    ));
                }
                let legend: Vec<String> = t
                    .flags_used()
                    .iter()
                    .filter_map(|f: &Flag| {
                        f.symbol().map(|sym| format!("{sym} : {}", f.meaning_fr()))
                    })
                    .collect();
                if !legend.is_empty() {
                    notes.push(format!("{}.", legend.join(" ; ")));
                }
                s.push_str("#text(size: 8pt, fill: luma(70))[");
                for n in notes {
                    let _ = write!(s, "#{} \\ ", lit(&n));
                }
                s.push_str("]]\n#v(8pt)\n\n");
            }
        }
    }
    Ok(TypstDocument { source: s, files })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_never_read_as_markup() {
        assert_eq!(lit("a \"b\" \\ #c *d*"), "\"a \\\"b\\\" \\\\ #c *d*\"");
        let t = markdown(
            "# Titre\n\nUn *mot* et #code [x] $y$ = z.\n\n- un\n- deux\n",
            &BTreeSet::new(),
        )
        .unwrap();
        assert!(t.contains("#heading(level: 1)[#\"Titre\"]"), "{t}");
        assert!(t.contains("#emph[#\"mot\"]"), "{t}");
        assert!(t.contains("#\" et #code \"#\"[\""), "{t}");
        assert!(t.contains("#\" $y$ = z.\""), "{t}");
        assert!(t.contains("\n- #\"un\""), "{t}");
        let t = markdown(
            "[site](https://insee.fr), <sser@justice.gouv.fr>, ![Carte](figure-2.svg)",
            &BTreeSet::from([2]),
        )
        .unwrap();
        assert!(t.contains("#link(\"https://insee.fr\")[#\"site\"]"), "{t}");
        assert!(t.contains("#link(\"mailto:sser@justice.gouv.fr\")"), "{t}");
        assert!(
            t.contains("#image(\"figure-2.svg\", width: 100%, alt: \"Carte\")"),
            "{t}"
        );
        let (line, why) = markdown("a\n\n[x](data:text/html,y)", &BTreeSet::new()).unwrap_err();
        assert_eq!(line, 2);
        assert!(why.starts_with("lien refusé"), "{why}");
    }
}
