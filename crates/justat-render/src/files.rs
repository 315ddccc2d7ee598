//! A table's downloads: CSV (RFC 4180, UTF-8, `.` decimal), CSV for French spreadsheets (`;`,
//! decimal comma, UTF-8 with a byte-order mark), XLSX (formatted as displayed, with its notes
//! and a metadata sheet), and the zip of all of a publication's data. Every file names its
//! publication and version; the bytes depend only on the content (no clock), so a rebuild of
//! the same content gives the same files.

use crate::data::{DataCell, DataTable, Flag};
use rust_xlsxwriter::{Format, FormatAlign, Workbook, XlsxError};
use std::io::Write;

/// What every file says of the publication it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct FileMeta {
    /// The publication's title.
    pub publication: String,
    /// Its collection and number (`Infos rapides justice n° 42`).
    pub collection_number: String,
    /// Its version.
    pub version: u32,
    /// Its public address.
    pub address: String,
    /// When it is (or was) released, in French, if known when built.
    pub release: Option<String>,
    /// When the next edition is expected.
    pub next_release: Option<String>,
}

/// The licence of every file.
pub const LICENCE: &str = "Licence Ouverte / Open Licence version 2.0 (Etalab)";
/// Who answers questions about the data.
pub const CONTACT: &str =
    "Service statistique ministériel de la justice (SSER) – sser@justice.gouv.fr";

fn csv_field(s: &str, sep: char) -> String {
    if s.contains([sep, '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// A value for a machine: plain digits, `.` or `,` decimal, no grouping; symbols as in the page.
fn machine_value(c: &DataCell, decimals: u32, comma: bool) -> String {
    match c.value {
        Some(v) => {
            let s = if v.fract() == 0.0 {
                format!("{v:.0}")
            } else {
                format!("{v:.*}", decimals.max(1) as usize)
            };
            if comma { s.replace('.', ",") } else { s }
        }
        None => c.flag.symbol().unwrap_or("").to_string(),
    }
}

/// The table as CSV: a header row (codes and labels of the rows, then one column per column
/// heading), one row per row heading. With `french`, `;`-separated with decimal commas and a
/// byte-order mark, as French spreadsheets open it.
pub fn csv(t: &DataTable, french: bool) -> Vec<u8> {
    let sep = if french { ';' } else { ',' };
    let mut out = String::new();
    if french {
        out.push('\u{feff}');
    }
    let mut header = vec!["code".to_string(), t.parts.rows_title.clone()];
    header.extend(t.parts.columns.iter().map(|c| {
        if t.parts.columns.len() == 1 && t.parts.columns_title.is_none() {
            t.parts.unit.clone()
        } else {
            c.label.clone()
        }
    }));
    let line = |fields: Vec<String>| -> String {
        let mut l = fields
            .iter()
            .map(|f| csv_field(f, sep))
            .collect::<Vec<_>>()
            .join(&sep.to_string());
        l.push_str("\r\n");
        l
    };
    out.push_str(&line(header));
    for (r, row) in t.parts.rows.iter().enumerate() {
        let mut fields = vec![row.code.clone(), row.label.clone()];
        fields.extend(
            t.parts.cells[r]
                .iter()
                .map(|c| machine_value(c, t.parts.decimals, french)),
        );
        out.push_str(&line(fields));
    }
    out.into_bytes()
}

/// The notes printed under a table, in every file that can hold them.
pub fn notes(t: &DataTable) -> Vec<String> {
    let mut n = vec![format!("Champ : {}", t.parts.champ), t.parts.source.clone()];
    for f in t.flags_used() {
        if let Some(sym) = f.symbol() {
            n.push(format!("{sym} : {}", f.meaning_fr()));
        }
    }
    n
}

/// The table as an XLSX workbook: a sheet of the table as displayed (title, header cells,
/// numbers with digit grouping, symbols right-aligned, notes under it) and a metadata sheet.
pub fn xlsx(t: &DataTable, meta: &FileMeta) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let title = Format::new().set_bold().set_font_size(13);
    let header = Format::new()
        .set_bold()
        .set_text_wrap()
        .set_background_color("#E3E3FD")
        .set_border_bottom(rust_xlsxwriter::FormatBorder::Thin);
    let number = Format::new().set_num_format(if t.parts.decimals == 0 {
        "#,##0".to_string()
    } else {
        format!("#,##0.{}", "0".repeat(t.parts.decimals as usize))
    });
    let symbol = Format::new().set_align(FormatAlign::Right);
    let indent = |depth: usize| Format::new().set_indent(depth.min(6) as u8);
    let data = wb.add_worksheet();
    data.set_name("Données")?;
    data.write_string_with_format(0, 0, &t.parts.title, &title)?;
    data.write_string(
        1,
        0,
        format!("{} – unité : {}", meta.collection_number, t.parts.unit),
    )?;
    let top = 3u32;
    data.write_string_with_format(top, 0, &t.parts.rows_title, &header)?;
    for (j, c) in t.parts.columns.iter().enumerate() {
        let label = if t.parts.columns.len() == 1 && t.parts.columns_title.is_none() {
            &t.parts.unit
        } else {
            &c.label
        };
        data.write_string_with_format(top, 1 + j as u16, label, &header)?;
    }
    for (i, row) in t.parts.rows.iter().enumerate() {
        let r = top + 1 + i as u32;
        data.write_string_with_format(r, 0, &row.label, &indent(row.depth))?;
        for (j, c) in t.parts.cells[i].iter().enumerate() {
            let col = 1 + j as u16;
            match (c.value, c.flag) {
                (Some(v), Flag::Value) => data.write_number_with_format(r, col, v, &number)?,
                (Some(v), f) => data.write_string_with_format(
                    r,
                    col,
                    format!(
                        "{} {}",
                        justat_model::french::decimal(v, t.parts.decimals),
                        f.symbol().unwrap_or("")
                    ),
                    &symbol,
                )?,
                (None, f) => {
                    data.write_string_with_format(r, col, f.symbol().unwrap_or(""), &symbol)?
                }
            };
        }
    }
    let below = top + 2 + t.parts.rows.len() as u32;
    for (r, n) in (below..).zip(notes(t)) {
        data.write_string(r, 0, n)?;
    }
    data.set_column_width(0, 48)?;
    for j in 0..t.parts.columns.len() {
        data.set_column_width(1 + j as u16, 14)?;
    }
    data.set_freeze_panes(top + 1, 1)?;

    let m = wb.add_worksheet();
    m.set_name("Métadonnées")?;
    let rows = metadata_rows(t, meta);
    for (i, (k, v)) in rows.iter().enumerate() {
        m.write_string_with_format(i as u32, 0, *k, &bold)?;
        m.write_string(i as u32, 1, v)?;
    }
    m.set_column_width(0, 26)?;
    m.set_column_width(1, 100)?;
    let props = rust_xlsxwriter::DocProperties::new()
        .set_title(&t.parts.title)
        .set_author("SSER – ministère de la Justice")
        .set_company("Ministère de la Justice")
        .set_creation_datetime(&rust_xlsxwriter::ExcelDateTime::from_ymd(2000, 1, 1)?);
    wb.set_properties(&props);
    wb.save_to_buffer()
}

/// The metadata of a table's files: (key, value), in French.
pub fn metadata_rows(t: &DataTable, meta: &FileMeta) -> Vec<(&'static str, String)> {
    vec![
        ("Publication", meta.publication.clone()),
        ("Collection", meta.collection_number.clone()),
        ("Version", meta.version.to_string()),
        ("Adresse", meta.address.clone()),
        ("Tableau", t.parts.title.clone()),
        ("Unité", t.parts.unit.clone()),
        ("Champ", t.parts.champ.clone()),
        ("Source", t.parts.source.clone()),
        (
            "Date de parution",
            meta.release.clone().unwrap_or_else(|| "voir la page de la publication".into()),
        ),
        (
            "Prochaine parution",
            meta.next_release.clone().unwrap_or_else(|| "non annoncée".into()),
        ),
        ("Licence", LICENCE.to_string()),
        ("Contact", CONTACT.to_string()),
        (
            "Secret statistique",
            "Les cases « s » sont couvertes par le secret statistique (loi n° 51-711 du 7 juin 1951) : elles ne peuvent être ni diffusées ni recalculées à partir des autres cases.".into(),
        ),
    ]
}

/// A zip of `files` (name, bytes) under the folder `root`, stored with a fixed date so that the
/// same content always gives the same archive.
pub fn zip(root: &str, files: &[(String, Vec<u8>)]) -> std::io::Result<Vec<u8>> {
    use zip::write::SimpleFileOptions;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    for (name, bytes) in files {
        w.start_file(format!("{root}/{name}"), opts)
            .map_err(std::io::Error::other)?;
        w.write_all(bytes)?;
    }
    Ok(w.finish().map_err(std::io::Error::other)?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Heading, Provenance, TableParts};

    pub(crate) fn table() -> DataTable {
        let h = |code: &str, label: &str, depth| Heading {
            code: code.into(),
            label: label.into(),
            depth,
        };
        DataTable {
            parts: TableParts {
                name: "t".into(),
                title: "Condamnations".into(),
                rows_title: "Groupe d'infractions".into(),
                columns_title: Some("Sexe".into()),
                unit: "Nombre de condamnations".into(),
                champ: "France entière.".into(),
                source: "Source : SSER.".into(),
                rows: vec![h("_T", "Ensemble", 0), h("A", "Vols; \"recels\"", 1)],
                columns: vec![h("_T", "Ensemble", 0), h("F", "Femmes", 1)],
                cells: vec![
                    vec![DataCell::value(1234.0), DataCell::value(12.5)],
                    vec![DataCell::value(3.0), DataCell::secret()],
                ],
                decimals: 0,
                provenance: Provenance::default(),
            },
        }
    }

    #[test]
    fn csv_follows_rfc_4180() {
        let text = String::from_utf8(csv(&table(), false)).unwrap();
        assert_eq!(
            text,
            "code,Groupe d'infractions,Ensemble,Femmes\r\n_T,Ensemble,1234,12.5\r\nA,\"Vols; \"\"recels\"\"\",3,s\r\n"
        );
    }

    #[test]
    fn french_csv_has_a_bom_semicolons_and_decimal_commas() {
        let text = String::from_utf8(csv(&table(), true)).unwrap();
        assert!(text.starts_with('\u{feff}'));
        assert!(text.contains("_T;Ensemble;1234;12,5\r\n"), "{text}");
        assert!(
            text.contains("A;\"Vols; \"\"recels\"\"\";3;s\r\n"),
            "{text}"
        );
    }

    #[test]
    fn the_same_files_give_the_same_zip() {
        let files = vec![("a.csv".to_string(), b"x,y\r\n".to_vec())];
        assert_eq!(zip("p", &files).unwrap(), zip("p", &files).unwrap());
    }
}
