//! A publication's PDF: its Typst source (written by `justat-render`) and the files it shows
//! (the charts' SVG) compiled by Typst embedded as a library, with the fonts compiled into the
//! binary — nothing is read from the machine or downloaded. Kept in its own crate because
//! Typst is the heaviest dependency after DataFusion.

use std::collections::HashMap;
use std::sync::OnceLock;
use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};

/// The number of pages of a PDF (to place each of them again, stamped).
pub fn page_count(pdf: &[u8]) -> Result<usize, PdfError> {
    hayro_syntax::Pdf::new(std::sync::Arc::new(pdf.to_vec()))
        .map(|p| p.pages().len())
        .map_err(|e| PdfError(format!("not a readable PDF: {e:?}")))
}

/// Why a PDF could not be made: Typst's messages, for the build's error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("cannot typeset the PDF: {0}")]
pub struct PdfError(pub String);

/// The fonts, parsed once per process.
fn fonts() -> &'static (LazyHash<FontBook>, Vec<Font>) {
    static FONTS: OnceLock<(LazyHash<FontBook>, Vec<Font>)> = OnceLock::new();
    FONTS.get_or_init(|| {
        let fonts: Vec<Font> = typst_assets::fonts()
            .flat_map(|data| Font::iter(Bytes::new(data)))
            .collect();
        (LazyHash::new(FontBook::from_fonts(&fonts)), fonts)
    })
}

fn library() -> &'static LazyHash<Library> {
    static LIBRARY: OnceLock<LazyHash<Library>> = OnceLock::new();
    LIBRARY.get_or_init(|| LazyHash::new(Library::default()))
}

/// The world one compilation sees: the main source and the named files, nothing else.
struct PublicationWorld {
    main: Source,
    files: HashMap<FileId, Bytes>,
}

fn file_id(name: &str) -> Result<FileId, PdfError> {
    let path = VirtualPath::new(name).map_err(|e| PdfError(format!("file name {name}: {e:?}")))?;
    Ok(FileId::new(RootedPath::new(VirtualRoot::Project, path)))
}

impl World for PublicationWorld {
    fn library(&self) -> &LazyHash<Library> {
        library()
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &fonts().0
    }

    fn main(&self) -> FileId {
        self.main.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            Ok(self.main.clone())
        } else {
            Err(FileError::NotSource)
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        self.files.get(&id).cloned().ok_or_else(|| {
            FileError::NotFound(std::path::PathBuf::from(
                id.get().vpath().get_without_slash(),
            ))
        })
    }

    fn font(&self, index: usize) -> Option<Font> {
        fonts().1.get(index).cloned()
    }

    fn today(&self, _offset: Option<typst::foundations::Duration>) -> Option<Datetime> {
        // A PDF depends on its content only: no clock.
        None
    }
}

/// Compiles a Typst source, with the files it may read (name, bytes), into a PDF.
pub fn compile(source: &str, files: &[(String, Vec<u8>)]) -> Result<Vec<u8>, PdfError> {
    let main = Source::new(file_id("main.typ")?, source.to_string());
    let mut map = HashMap::new();
    for (name, bytes) in files {
        map.insert(file_id(name)?, Bytes::new(bytes.clone()));
    }
    let world = PublicationWorld { main, files: map };
    let messages = |diags: &[typst::diag::SourceDiagnostic]| {
        diags
            .iter()
            .map(|d| d.message.to_string())
            .collect::<Vec<_>>()
            .join("; ")
    };
    let doc = typst::compile::<typst_layout::PagedDocument>(&world)
        .output
        .map_err(|e| PdfError(messages(&e)))?;
    typst_pdf::pdf(&doc, &typst_pdf::PdfOptions::default()).map_err(|e| PdfError(messages(&e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_with_an_svg_becomes_a_pdf() {
        let svg = br##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10" fill="#000091"/></svg>"##;
        let pdf = compile(
            "#set text(lang: \"fr\")\n= Titre\n\nPrès de 5 500 condamnations.\n\n#image(\"f.svg\", width: 2cm)\n",
            &[("f.svg".into(), svg.to_vec())],
        )
        .unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        // A chart a publication's text shows, as `justat_render::typst::markdown` writes it.
        let shown = compile(
            "#\"Voir le graphique : \"\n#image(\"f.svg\", width: 100%, alt: \"Répartition\")\n\n",
            &[("f.svg".into(), svg.to_vec())],
        )
        .unwrap();
        assert!(shown.starts_with(b"%PDF-"));
    }

    #[test]
    fn a_pdf_placed_page_by_page_under_a_banner_keeps_its_pages() {
        let original = compile("Page un\n#pagebreak()\nPage deux\n", &[]).unwrap();
        assert_eq!(page_count(&original).unwrap(), 2);
        let stamped = compile(
            "#set page(margin: 0pt)\n#for n in range(1, 3) { place(image(\"o.pdf\", page: n)); place(top, text(\"Sous embargo\")); if n < 2 { pagebreak() } }\n",
            &[("o.pdf".into(), original)],
        )
        .unwrap();
        assert_eq!(page_count(&stamped).unwrap(), 2);
        assert!(page_count(b"not a pdf").is_err());
    }

    #[test]
    fn an_error_says_what_typst_found() {
        let e = compile("#image(\"absent.svg\")", &[]).unwrap_err();
        assert!(e.0.contains("not found") || e.0.contains("absent"), "{e}");
    }
}
