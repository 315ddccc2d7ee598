//! Justat's outputs for publications: a publication's source (front matter, Markdown with
//! directives, table definitions) turned, with its protected tables, into the HTML fragment
//! of its page, SVG charts, and the downloads of each table (CSV, CSV for French
//! spreadsheets, XLSX) and of all its data (zip).
//!
//! Pure of I/O but for reading a source folder: the build in the binary reads the cubes,
//! protects the tables (`justat-sdc`) and stores what this crate returns.

pub mod asp;
pub mod body;
pub mod chart;
pub mod data;
pub mod destinations;
pub mod feeds;
pub mod files;
pub mod html;
pub mod links;
pub mod programme;
pub mod source;
pub mod survey_letter;
pub mod survey_receipt;
pub mod typst;

pub use data::{DataCell, DataTable, Flag, Heading, Provenance, TableParts};
pub use source::{FrontMatter, PublicationSource, TableDef};
pub use survey_letter::{LetterError, SurveyLetter, survey_letter};
pub use survey_receipt::{ReceiptError, ReceiptLine, SurveyReceipt, survey_receipt};

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Why a publication cannot be built: the file, the line (0 when it is about the whole file)
/// and the reason. Nothing of a failed build is stored or served.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct BuildError {
    /// The file.
    pub file: String,
    /// The line, 1-based.
    pub line: usize,
    /// The reason.
    pub message: String,
}

/// Which version is built, and where it will be served.
#[derive(Debug, Clone, PartialEq)]
pub struct Edition {
    /// The version number (1 for the first).
    pub version: u32,
    /// The address of the version's page (`/publications/<collection>/<slug>/v<N>`).
    pub address: String,
    /// Its planned release, in French, if known.
    pub release: Option<String>,
}

/// A file of the publication.
#[derive(Debug, Clone, PartialEq)]
pub struct OutFile {
    /// Its name under the version's `donnees/` (or `donnees.zip`).
    pub name: String,
    /// Its media type.
    pub media_type: &'static str,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// What a build produced.
#[derive(Debug, Clone)]
pub struct Built {
    /// The title, its cited values resolved.
    pub title: String,
    /// The summary, resolved.
    pub summary: String,
    /// The body's HTML fragment.
    pub html: String,
    /// The figures: (number, title, table).
    pub figures: Vec<(usize, String, String)>,
    /// The cited values: (text, table, cells as `row/column`).
    pub citations: Vec<(String, String, Vec<String>)>,
    /// The files: per table `<name>.csv`, `<name>.fr.csv`, `<name>.xlsx`, and `donnees.zip`.
    pub files: Vec<OutFile>,
    /// SHA-256 of the content (source files and the protected tables): what approval freezes.
    pub content_hash: justat_model::Sha256Hex,
    /// The PDF's Typst source and images, for `justat-pdf` to compile.
    pub pdf: typst::TypstDocument,
}

/// The name of a version's PDF among its files.
pub const PDF_NAME: &str = "publication.pdf";

/// The name of the archive of all the data of a version.
pub const ZIP_NAME: &str = "donnees.zip";

/// The name a version's PDF has in its public addresses, `<slug>.pdf`: the latest version's
/// `/publications/<collection>/<slug>.pdf` and a version's `…/<slug>/v<N>/<slug>.pdf`.
pub fn pdf_public_name(slug: &str) -> String {
    format!("{slug}.pdf")
}

/// The slug a PDF's public name (`<slug>.pdf`) names, if it is one.
pub fn slug_of_pdf_public_name(name: &str) -> Option<&str> {
    name.strip_suffix(".pdf")
}

/// What a version's files are prefixed with when they leave it, `<slug>-v<N>`: the names inside
/// its zip, and the names its files are saved under.
pub fn version_stem(slug: &str, version: i64) -> String {
    format!("{slug}-v{version}")
}

/// The name a version's file `name` is saved under when downloaded: `<slug>-v<N>.pdf` for its
/// PDF, `<slug>-v<N>-<name>` for the others (as inside its zip).
pub fn download_name(slug: &str, version: i64, name: &str) -> String {
    let stem = version_stem(slug, version);
    if name == PDF_NAME {
        format!("{stem}.pdf")
    } else {
        format!("{stem}-{name}")
    }
}

/// The name an embargo recipient's stamped copy of a version's PDF is saved under:
/// `<slug>-v<N>-embargo-<username>.pdf`.
pub fn stamped_copy_name(slug: &str, version: i64, username: &str) -> String {
    format!("{}-embargo-{username}.pdf", version_stem(slug, version))
}

/// The address prefix of a version's data files.
pub fn data_base(edition: &Edition) -> String {
    format!("{}/donnees", edition.address)
}

/// Builds a publication from its source and its protected tables (every table it defines).
pub fn build(
    source: &PublicationSource,
    tables: &BTreeMap<String, DataTable>,
    edition: &Edition,
) -> Result<Built, BuildError> {
    let pub_file = source.publication_file();
    for def in &source.tables {
        if !tables.contains_key(&def.name) {
            return Err(BuildError {
                file: source.tables_file(),
                line: def.line,
                message: format!("table `{}` was not built", def.name),
            });
        }
    }
    let mut citations = Vec::new();
    let title = body::resolve_inline(&pub_file, 2, &source.front.title, tables, &mut citations)?;
    let summary =
        body::resolve_inline(&pub_file, 2, &source.front.summary, tables, &mut citations)?;
    let blocks = body::parse_blocks(&pub_file, &source.body, source.body_line)?;

    let front = &source.front;
    let meta = files::FileMeta {
        publication: title.clone(),
        collection_number: format!(
            "{} {}",
            front.collection.label_fr(),
            front.collection.number_label(&front.number)
        ),
        version: edition.version,
        address: edition.address.clone(),
        release: edition.release.clone(),
        next_release: front.next_release.clone(),
    };
    let mut out = Vec::new();
    for def in &source.tables {
        let t = &tables[&def.name];
        out.push(OutFile {
            name: format!("{}.csv", t.parts.name),
            media_type: "text/csv; charset=utf-8",
            bytes: files::csv(t, false),
        });
        out.push(OutFile {
            name: format!("{}.fr.csv", t.parts.name),
            media_type: "text/csv; charset=utf-8",
            bytes: files::csv(t, true),
        });
        let xlsx = files::xlsx(t, &meta).map_err(|e| BuildError {
            file: source.tables_file(),
            line: def.line,
            message: format!("cannot write the XLSX of table `{}`: {e}", t.parts.name),
        })?;
        out.push(OutFile {
            name: format!("{}.xlsx", t.parts.name),
            media_type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            bytes: xlsx,
        });
    }
    let root = version_stem(&front.slug, i64::from(edition.version));
    let mut archived: Vec<(String, Vec<u8>)> = vec![(
        "LISEZMOI.txt".into(),
        readme(source, &title, &meta, tables).into_bytes(),
    )];
    archived.extend(
        out.iter()
            .map(|f| (format!("{root}-{}", f.name), f.bytes.clone())),
    );
    let zip = files::zip(&root, &archived).map_err(|e| BuildError {
        file: pub_file.clone(),
        line: 0,
        message: format!("cannot write the archive of the data: {e}"),
    })?;
    out.push(OutFile {
        name: ZIP_NAME.into(),
        media_type: "application/zip",
        bytes: zip,
    });
    let sizes: BTreeMap<String, usize> = out
        .iter()
        .map(|f| (f.name.clone(), f.bytes.len()))
        .collect();
    let parts = html::render_body(&pub_file, &blocks, tables, &data_base(edition), &sizes)?;
    let cover = typst::Cover {
        collection: front.collection,
        number: front.collection.number_label(&front.number),
        title: &title,
        summary: &summary,
        authors: &front.authors,
        version: edition.version,
        address: &edition.address,
        erratum: front.erratum.as_deref(),
    };
    let pdf = typst::document(&pub_file, &cover, &blocks, tables)?;
    citations.extend(parts.citations);
    Ok(Built {
        title,
        summary,
        html: parts.html,
        figures: parts.figures,
        citations: citations
            .into_iter()
            .map(|c| {
                let cells = c
                    .cells
                    .iter()
                    .map(|(r, col)| match col {
                        Some(col) => format!("{r}/{col}"),
                        None => r.clone(),
                    })
                    .collect();
                (c.text, c.table, cells)
            })
            .collect(),
        files: out,
        content_hash: content_hash(source, tables),
        pdf,
    })
}

/// SHA-256 over the source files and the protected tables, in a fixed order.
pub fn content_hash(
    source: &PublicationSource,
    tables: &BTreeMap<String, DataTable>,
) -> justat_model::Sha256Hex {
    let mut h = Sha256::new();
    for (name, text) in &source.files {
        h.update(name.as_bytes());
        h.update([0]);
        h.update(text.as_bytes());
        h.update([0]);
    }
    for (name, t) in tables {
        h.update(name.as_bytes());
        h.update([0]);
        for (r, row) in t.parts.rows.iter().enumerate() {
            for (c, col) in t.parts.columns.iter().enumerate() {
                let cell = t.parts.cells[r][c];
                h.update(format!(
                    "{}|{}|{:?}|{:?}\n",
                    row.code, col.code, cell.value, cell.flag
                ));
            }
        }
        h.update(t.parts.provenance.cube.as_bytes());
    }
    justat_model::Sha256Hex::from_hasher(h)
}

fn readme(
    source: &PublicationSource,
    title: &str,
    meta: &files::FileMeta,
    tables: &BTreeMap<String, DataTable>,
) -> String {
    let mut s = format!(
        "{title}\r\n{} – version {}\r\n{}\r\n\r\nFichiers de chaque tableau : CSV (séparateur virgule, point décimal, UTF-8), CSV pour tableur français (point-virgule, virgule décimale, UTF-8 avec BOM), XLSX (avec notes et métadonnées).\r\n\r\n",
        meta.collection_number, meta.version, meta.address
    );
    for def in &source.tables {
        let t = &tables[&def.name];
        s.push_str(&format!("{} : {}\r\n", t.parts.name, t.parts.title));
        for n in files::notes(t) {
            s.push_str(&format!("  {n}\r\n"));
        }
    }
    s.push_str(&format!(
        "\r\nLicence : {}\r\nContact : {}\r\n",
        files::LICENCE,
        files::CONTACT
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_versions_files_are_named_after_its_slug_and_version() {
        assert_eq!(pdf_public_name("detention-2026"), "detention-2026.pdf");
        assert_eq!(
            slug_of_pdf_public_name("detention-2026.pdf"),
            Some("detention-2026")
        );
        assert_eq!(slug_of_pdf_public_name("detention-2026"), None);
        assert_eq!(
            download_name("detention-2026", 2, PDF_NAME),
            "detention-2026-v2.pdf"
        );
        assert_eq!(
            download_name("detention-2026", 2, ZIP_NAME),
            "detention-2026-v2-donnees.zip"
        );
        assert_eq!(
            download_name("detention-2026", 2, "stock.fr.csv"),
            "detention-2026-v2-stock.fr.csv"
        );
        assert_eq!(
            stamped_copy_name("detention-2026", 2, "claire"),
            "detention-2026-v2-embargo-claire.pdf"
        );
    }
}
