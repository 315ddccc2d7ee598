//! Charts as SVG written by hand: bars, columns, stacked bars and lines, in the colours of the
//! State design system. Each chart is an image with a title and a description pointing to its
//! data table, which always follows it; a withheld cell is never drawn.

use crate::body::ChartKind;
use crate::data::DataTable;
use crate::html::escape;
use justat_model::french;
use std::fmt::Write;

/// The DSFR's illustrative colours, in the order series take them (high contrast first).
pub const PALETTE: [&str; 8] = [
    "#000091", "#009081", "#C3992A", "#A558A0", "#CE614A", "#417DC4", "#716043", "#6A6AF4",
];

const WIDTH: f64 = 720.0;
const FONT: &str = "font-family=\"Marianne, Arial, sans-serif\" font-size=\"13\"";
/// A rough width of one character at 13 px, to size the label margin.
const CHAR: f64 = 6.6;

/// One series of a chart: a name and a value per point (`None` when withheld or missing).
struct Series {
    name: String,
    values: Vec<Option<f64>>,
}

/// The SVG of a figure's chart, or `None` for a table alone. `id` makes its title and
/// description ids unique in the page; `rows` are the row indexes drawn.
pub fn svg(
    kind: ChartKind,
    table: &DataTable,
    rows: &[usize],
    column: usize,
    id: &str,
    title: &str,
) -> Option<String> {
    let mut out = String::new();
    let (height, body) = match kind {
        ChartKind::None => return None,
        ChartKind::Bars => bars(table, rows, column),
        ChartKind::Columns => columns(table, rows),
        ChartKind::StackedBars => stacked(table, rows),
        ChartKind::Lines => lines(table, rows),
    };
    let what = match kind {
        ChartKind::Bars => "Graphique en barres horizontales",
        ChartKind::Columns => "Graphique en colonnes",
        ChartKind::StackedBars => "Graphique en barres empilées (répartition en %)",
        ChartKind::Lines => "Graphique en courbes",
        ChartKind::None => "",
    };
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"justat-chart\" role=\"img\" viewBox=\"0 0 {WIDTH} {height:.0}\" width=\"100%\" aria-labelledby=\"{id}-titre {id}-desc\" {FONT}>\
<title id=\"{id}-titre\">{}</title><desc id=\"{id}-desc\">{what}. Les données, y compris les valeurs couvertes par le secret statistique, figurent dans le tableau qui suit.</desc>{body}</svg>",
        escape(title)
    );
    Some(out)
}

/// A round upper bound of the axis and its step (1, 2 or 5 times a power of ten).
fn nice(max: f64) -> (f64, f64) {
    if max <= 0.0 {
        return (1.0, 0.25);
    }
    let raw = max / 4.0;
    let pow = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * pow)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * pow);
    ((max / step).ceil() * step, step)
}

fn label_of(value: f64, step: f64) -> String {
    if step >= 1.0 {
        french::integer(value.round() as i64)
    } else {
        french::decimal(value, 1)
    }
}

fn truncate(s: &str, chars: usize) -> String {
    if s.chars().count() <= chars {
        s.to_string()
    } else {
        let cut: String = s.chars().take(chars.saturating_sub(1)).collect();
        format!("{}…", cut.trim_end())
    }
}

fn label_margin(labels: &[&str]) -> (f64, usize) {
    let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let chars = longest.min(40);
    ((chars as f64) * CHAR + 16.0, chars)
}

/// Horizontal bars of one column, ranked from the largest.
fn bars(t: &DataTable, rows: &[usize], column: usize) -> (f64, String) {
    let mut items: Vec<(&str, Option<f64>)> = rows
        .iter()
        .map(|&r| {
            (
                t.parts.rows[r].label.as_str(),
                t.parts.cells[r][column].value,
            )
        })
        .collect();
    items.sort_by(|a, b| b.1.unwrap_or(-1.0).total_cmp(&a.1.unwrap_or(-1.0)));
    bars_of(&items, t.parts.decimals)
}

/// A back-office chart of figures that are not a publication's cells (a survey's response
/// rates, shown to the statisticians following its collection): horizontal bars, one per
/// item in the order given, with the same title and description as a publication's chart,
/// pointing to the data table the page shows after it. Never for a published statistic,
/// which goes through [`svg`] and its audited [`DataTable`].
pub fn follow_up_bars(id: &str, title: &str, items: &[(String, f64)], decimals: u32) -> String {
    let items: Vec<(&str, Option<f64>)> =
        items.iter().map(|(l, v)| (l.as_str(), Some(*v))).collect();
    let (height, body) = bars_of(&items, decimals);
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"justat-chart\" role=\"img\" viewBox=\"0 0 {WIDTH} {height:.0}\" width=\"100%\" aria-labelledby=\"{id}-titre {id}-desc\" {FONT}>\
<title id=\"{id}-titre\">{}</title><desc id=\"{id}-desc\">Graphique en barres horizontales. Les données figurent dans le tableau qui suit.</desc>{body}</svg>",
        escape(title)
    )
}

fn bars_of(items: &[(&str, Option<f64>)], decimals: u32) -> (f64, String) {
    let labels: Vec<&str> = items.iter().map(|i| i.0).collect();
    let (left, chars) = label_margin(&labels);
    let right = 70.0;
    let bar = 22.0;
    let gap = 10.0;
    let top = 24.0;
    let max = items.iter().filter_map(|i| i.1).fold(0.0, f64::max);
    let (axis_max, step) = nice(max);
    let plot = WIDTH - left - right;
    let height = top + items.len() as f64 * (bar + gap) + 10.0;
    let mut s = String::new();
    grid_vertical(&mut s, left, plot, top, height - 10.0, axis_max, step);
    for (i, (label, value)) in items.iter().enumerate() {
        let y = top + i as f64 * (bar + gap);
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#161616\">{}</text>",
            left - 8.0,
            y + bar * 0.7,
            escape(&truncate(label, chars))
        );
        match value {
            Some(v) => {
                // At least a hairline, so that a zero is seen as a value and not a gap.
                let w = (plot * v / axis_max).max(0.5);
                let _ = write!(
                    s,
                    "<rect x=\"{left:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{bar}\" fill=\"{}\"/><text x=\"{:.1}\" y=\"{:.1}\" fill=\"#161616\">{}</text>",
                    PALETTE[0],
                    left + w + 6.0,
                    y + bar * 0.7,
                    french::decimal(*v, decimals)
                );
            }
            None => {
                let _ = write!(
                    s,
                    "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"#3a3a3a\">s</text>",
                    left + 6.0,
                    y + bar * 0.7
                );
            }
        }
    }
    (height, s)
}

fn grid_vertical(s: &mut String, left: f64, plot: f64, top: f64, bottom: f64, max: f64, step: f64) {
    let mut v = 0.0;
    while v <= max + step / 2.0 {
        let x = left + plot * v / max;
        let _ = write!(
            s,
            "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{bottom:.1}\" stroke=\"#dddddd\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#3a3a3a\" font-size=\"11\">{}</text>",
            top - 4.0,
            top - 8.0,
            label_of(v, step)
        );
        v += step;
    }
}

fn series_of(t: &DataTable, rows: &[usize]) -> Vec<Series> {
    rows.iter()
        .map(|&r| Series {
            name: t.parts.rows[r].label.clone(),
            values: t.parts.cells[r].iter().map(|c| c.value).collect(),
        })
        .collect()
}

/// A plot with a vertical value axis and the columns' labels below; returns the layout.
struct Frame {
    left: f64,
    top: f64,
    plot_w: f64,
    plot_h: f64,
    max: f64,
}

impl Frame {
    fn new(max_value: f64, legend_rows: usize) -> (Frame, String) {
        let (max, step) = nice(max_value);
        let left = 70.0;
        let top = 16.0 + legend_rows as f64 * 20.0;
        let frame = Frame {
            left,
            top,
            plot_w: WIDTH - left - 20.0,
            plot_h: 260.0,
            max,
        };
        let mut s = String::new();
        let mut v = 0.0;
        while v <= max + step / 2.0 {
            let y = frame.y(v);
            let _ = write!(
                s,
                "<line x1=\"{left:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#dddddd\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#3a3a3a\" font-size=\"11\">{}</text>",
                left + frame.plot_w,
                left - 6.0,
                y + 4.0,
                label_of(v, step)
            );
            v += step;
        }
        (frame, s)
    }

    fn y(&self, v: f64) -> f64 {
        self.top + self.plot_h * (1.0 - v / self.max)
    }

    fn bottom(&self) -> f64 {
        self.top + self.plot_h
    }

    fn x_labels(&self, s: &mut String, labels: &[&str], slot: f64) {
        for (i, l) in labels.iter().enumerate() {
            let _ = write!(
                s,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#161616\">{}</text>",
                self.left + slot * (i as f64 + 0.5),
                self.bottom() + 18.0,
                escape(&truncate(l, (slot / CHAR) as usize))
            );
        }
    }
}

fn legend(s: &mut String, names: &[&str]) -> usize {
    if names.len() <= 1 {
        return 0;
    }
    let mut x = 70.0;
    let mut row = 0usize;
    for (i, n) in names.iter().enumerate() {
        let n = truncate(n, 40);
        let w = n.chars().count() as f64 * CHAR + 34.0;
        if x + w > WIDTH && x > 70.0 {
            x = 70.0;
            row += 1;
        }
        let y = 8.0 + row as f64 * 20.0;
        let _ = write!(
            s,
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"14\" height=\"14\" fill=\"{}\"/><text x=\"{:.1}\" y=\"{:.1}\" fill=\"#161616\">{}</text>",
            PALETTE[i % PALETTE.len()],
            x + 20.0,
            y + 11.0,
            escape(&n)
        );
        x += w;
    }
    row + 1
}

/// The rows drawn as series, their legend and a frame scaled to their largest value: the
/// series, the frame, the SVG so far, and the width of one column's slot.
fn series_in_frame(t: &DataTable, rows: &[usize]) -> (Vec<Series>, Frame, String, f64) {
    let series = series_of(t, rows);
    let mut head = String::new();
    let names: Vec<&str> = series.iter().map(|s| s.name.as_str()).collect();
    let legend_rows = legend(&mut head, &names);
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().flatten())
        .fold(0.0, |a: f64, &b| a.max(b));
    let (frame, s) = Frame::new(max, legend_rows);
    let slot = frame.plot_w / t.parts.columns.len().max(1) as f64;
    (series, frame, head + &s, slot)
}

/// Vertical columns, one group per column of the table, one bar per row drawn.
fn columns(t: &DataTable, rows: &[usize]) -> (f64, String) {
    let (series, frame, mut s, slot) = series_in_frame(t, rows);
    let bar = (slot * 0.7) / series.len().max(1) as f64;
    for (k, se) in series.iter().enumerate() {
        for (i, v) in se.values.iter().enumerate() {
            let x = frame.left + slot * i as f64 + slot * 0.15 + bar * k as f64;
            match v {
                Some(v) => {
                    let y = frame.y(*v);
                    let _ = write!(
                        s,
                        "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"/>",
                        bar.max(1.0),
                        (frame.bottom() - y).max(0.5),
                        PALETTE[k % PALETTE.len()]
                    );
                }
                None => {
                    let _ = write!(
                        s,
                        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#3a3a3a\">s</text>",
                        x + bar / 2.0,
                        frame.bottom() - 4.0
                    );
                }
            }
        }
    }
    let labels: Vec<&str> = t.parts.columns.iter().map(|c| c.label.as_str()).collect();
    frame.x_labels(&mut s, &labels, slot);
    (frame.bottom() + 30.0, s)
}

/// Lines across the columns (periods), one per row drawn; a withheld point breaks the line.
fn lines(t: &DataTable, rows: &[usize]) -> (f64, String) {
    let (series, frame, mut s, slot) = series_in_frame(t, rows);
    for (k, se) in series.iter().enumerate() {
        let colour = PALETTE[k % PALETTE.len()];
        let mut path = String::new();
        let mut pen_down = false;
        for (i, v) in se.values.iter().enumerate() {
            let x = frame.left + slot * (i as f64 + 0.5);
            match v {
                Some(v) => {
                    let y = frame.y(*v);
                    let _ = write!(path, "{}{x:.1},{y:.1} ", if pen_down { "L" } else { "M" });
                    let _ = write!(
                        s,
                        "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3.5\" fill=\"{colour}\"/>"
                    );
                    pen_down = true;
                }
                None => pen_down = false,
            }
        }
        let _ = write!(
            s,
            "<path d=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2.5\"/>",
            path.trim_end()
        );
    }
    let labels: Vec<&str> = t.parts.columns.iter().map(|c| c.label.as_str()).collect();
    frame.x_labels(&mut s, &labels, slot);
    (frame.bottom() + 30.0, s)
}

/// Each row as a 100 % bar split by its columns (but the first when it is their total); a
/// row with a withheld part is drawn with a hatched remainder, so no part can be read off by
/// difference.
fn stacked(t: &DataTable, rows: &[usize]) -> (f64, String) {
    let first_is_total = t.parts.columns.len() > 1
        && t.parts.columns[1..]
            .iter()
            .all(|c| c.depth > t.parts.columns[0].depth);
    let parts: Vec<usize> = (usize::from(first_is_total)..t.parts.columns.len()).collect();
    let mut s = String::new();
    let names: Vec<&str> = parts
        .iter()
        .map(|&c| t.parts.columns[c].label.as_str())
        .collect();
    let legend_rows = legend(&mut s, &names);
    let labels: Vec<&str> = rows
        .iter()
        .map(|&r| t.parts.rows[r].label.as_str())
        .collect();
    let (left, chars) = label_margin(&labels);
    let plot = WIDTH - left - 20.0;
    let top = 20.0 + legend_rows as f64 * 20.0;
    let bar = 22.0;
    let gap = 10.0;
    let _ = write!(
        s,
        "<defs><pattern id=\"justat-hachures\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#ffffff\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#929292\" stroke-width=\"2\"/></pattern></defs>"
    );
    for (i, &r) in rows.iter().enumerate() {
        let y = top + i as f64 * (bar + gap);
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#161616\">{}</text>",
            left - 8.0,
            y + bar * 0.7,
            escape(&truncate(&t.parts.rows[r].label, chars))
        );
        let values: Vec<Option<f64>> = parts.iter().map(|&c| t.parts.cells[r][c].value).collect();
        let total: f64 = values.iter().flatten().sum();
        let whole = if values.iter().all(Option::is_some) {
            total
        } else {
            // With a part withheld the bar's length is the row total, known from the table.
            (if first_is_total {
                t.parts.cells[r][0].value
            } else {
                None
            })
            .unwrap_or(total)
        };
        if whole <= 0.0 {
            continue;
        }
        let mut x = left;
        for (k, v) in values.iter().enumerate() {
            // A part of no width draws nothing (renderers refuse empty rectangles).
            if let Some(v) = v.filter(|v| *v > 0.0) {
                let w = plot * v / whole;
                let _ = write!(
                    s,
                    "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{bar}\" fill=\"{}\"/>",
                    PALETTE[k % PALETTE.len()]
                );
                x += w;
            }
        }
        if x < left + plot - 0.5 {
            let _ = write!(
                s,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{bar}\" fill=\"url(#justat-hachures)\"/>",
                left + plot - x
            );
        }
    }
    (top + rows.len() as f64 * (bar + gap) + 10.0, s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{DataCell, Heading, Provenance, TableParts};

    fn table() -> DataTable {
        let h = |code: &str, depth| Heading {
            code: code.into(),
            label: format!("Libellé <{code}>"),
            depth,
        };
        DataTable {
            parts: TableParts {
                name: "t".into(),
                title: "T".into(),
                rows_title: "R".into(),
                columns_title: Some("C".into()),
                unit: "u".into(),
                champ: String::new(),
                source: String::new(),
                rows: vec![h("A", 1), h("B", 1)],
                columns: vec![h("_T", 0), h("F", 1), h("M", 1)],
                cells: vec![
                    vec![
                        DataCell::value(10.0),
                        DataCell::value(4.0),
                        DataCell::value(6.0),
                    ],
                    vec![DataCell::value(7.0), DataCell::secret(), DataCell::secret()],
                ],
                decimals: 0,
                provenance: Provenance::default(),
            },
        }
    }

    #[test]
    fn every_chart_is_an_image_with_a_title_and_escaped_labels() {
        for kind in [
            ChartKind::Bars,
            ChartKind::Columns,
            ChartKind::Lines,
            ChartKind::StackedBars,
        ] {
            let svg = svg(kind, &table(), &[0, 1], 0, "fig-1", "Titre & co").unwrap();
            assert!(
                svg.starts_with("<svg") && svg.ends_with("</svg>"),
                "{kind:?}"
            );
            assert!(svg.contains("role=\"img\""));
            assert!(svg.contains("<title id=\"fig-1-titre\">Titre &amp; co</title>"));
            assert!(
                !svg.contains("<A>") && !svg.contains("Libellé <"),
                "{kind:?}: {svg}"
            );
        }
        assert!(svg(ChartKind::None, &table(), &[0], 0, "f", "t").is_none());
    }

    #[test]
    fn a_withheld_cell_is_never_drawn() {
        // Row B's parts are both withheld: its stacked bar is hatched whole, no coloured part.
        let svg = svg(ChartKind::StackedBars, &table(), &[1], 0, "f", "t").unwrap();
        // The legend's swatches are the only coloured shapes.
        assert_eq!(svg.matches(PALETTE[0]).count(), 1, "{svg}");
        assert_eq!(svg.matches(PALETTE[1]).count(), 1, "{svg}");
        assert!(svg.contains("url(#justat-hachures)"));
    }

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(nice(548_712.0), (600_000.0, 200_000.0));
        assert_eq!(nice(7.0), (8.0, 2.0));
        assert_eq!(nice(0.0), (1.0, 0.25));
    }

    #[test]
    fn follow_up_bars_keep_their_order_and_name_their_table() {
        let svg = follow_up_bars(
            "taux-semaine",
            "Taux de réponse <cumulé>",
            &[("Semaine 1".into(), 12.5), ("Semaine 2".into(), 40.0)],
            1,
        );
        assert!(svg.contains("aria-labelledby=\"taux-semaine-titre taux-semaine-desc\""));
        assert!(svg.contains("Taux de réponse &lt;cumulé&gt;"));
        assert!(svg.contains("le tableau qui suit"));
        let first = svg.find("Semaine 1").unwrap();
        assert!(first < svg.find("Semaine 2").unwrap(), "in the order given");
        assert!(svg.contains("12,5") && svg.contains("40,0"));
    }
}
