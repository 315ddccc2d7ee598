//! Aligned text columns, as the command line prints its lists: each column as wide as its
//! widest cell (counted in characters, so accented titles align), two spaces apart, the last
//! column unpadded.

/// A list to print: a header and rows of cells.
#[derive(Debug, Clone, Default)]
pub struct Columns {
    header: Vec<String>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Columns {
    /// A list with these column titles, every column left-aligned.
    pub fn new(header: &[&str]) -> Columns {
        Columns {
            header: header.iter().map(|h| h.to_string()).collect(),
            right: vec![false; header.len()],
            rows: Vec::new(),
        }
    }

    /// Aligns column `i` (from 0) to the right, as numbers are.
    pub fn right(mut self, i: usize) -> Columns {
        if let Some(r) = self.right.get_mut(i) {
            *r = true;
        }
        self
    }

    /// Adds a row; missing cells are empty, extra cells ignored.
    pub fn row<S: ToString>(&mut self, cells: impl IntoIterator<Item = S>) {
        let mut cells: Vec<String> = cells.into_iter().map(|c| c.to_string()).collect();
        cells.resize(self.header.len(), String::new());
        self.rows.push(cells);
    }

    /// The header and the rows, one line each, every line ending with a newline.
    pub fn render(&self) -> String {
        let n = self.header.len();
        let width = |i: usize| {
            std::iter::once(&self.header[i])
                .chain(self.rows.iter().map(|r| &r[i]))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        };
        let widths: Vec<usize> = (0..n).map(width).collect();
        let mut out = String::new();
        for cells in std::iter::once(&self.header).chain(&self.rows) {
            let mut line = String::new();
            for (i, cell) in cells.iter().enumerate() {
                let pad = widths[i] - cell.chars().count();
                if i > 0 {
                    line.push_str("  ");
                }
                if self.right[i] {
                    line.push_str(&" ".repeat(pad));
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    if i + 1 < n {
                        line.push_str(&" ".repeat(pad));
                    }
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Columns;

    #[test]
    fn columns_are_as_wide_as_their_widest_cell() {
        let mut c = Columns::new(&["SLUG", "V", "TITLE"]).right(1);
        c.row([
            "a-very-long-slug-that-used-to-break-the-columns",
            "12",
            "Été",
        ]);
        c.row(["court", "3", "Les condamnations"]);
        let text = c.render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        let title_at = |l: &str| l.chars().count() - l.split("  ").last().unwrap().chars().count();
        assert_eq!(title_at(lines[0]), title_at(lines[1]));
        assert_eq!(title_at(lines[1]), title_at(lines[2]));
        assert!(lines[2].contains("   3  Les"), "{text}");
        assert!(lines[1].ends_with("Été"));
    }

    #[test]
    fn accented_cells_count_as_characters() {
        let mut c = Columns::new(&["A", "B"]);
        c.row(["é", "x"]);
        c.row(["ee", "y"]);
        assert_eq!(c.render(), "A   B\né   x\nee  y\n");
    }
}
