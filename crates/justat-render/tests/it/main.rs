//! A publication built end to end from its source and protected tables: the page, the
//! downloads, and the XLSX read back with the numbers the page shows.

use calamine::{Data, Reader, Xlsx};
use justat_render::{
    DataCell, DataTable, Edition, Heading, Provenance, PublicationSource, TableParts, build,
};
use std::collections::BTreeMap;
use std::io::Cursor;

const PUBLICATION: &str = "+++
collection = \"infos-rapides\"
number = \"7\"
slug = \"condamnations-2024\"
title = \"Près de {{ valeur t ligne=_T colonne=_T arrondi=100 }} condamnations en 2024\"
authors = [\"Sophie Bernard\"]
period = \"2024\"
theme = \"Condamnations\"
+++
Les femmes représentent {{ part t ligne=_T colonne=F sur=_T sur_colonne=_T }} des condamnés.

::: figure t
graphique: barres-empilees
lecture: En 2024, {{ valeur t ligne=_T colonne=M }} hommes ont été condamnés.
:::
";

const TABLES: &str = "[[table]]
name = \"t\"
title = \"Condamnations selon l'infraction et le sexe\"
cube = \"cjn_convictions\"
measure = \"condamnations\"
period = \"2024\"
rows = \"offence_group\"
columns = \"sex\"
champ = \"France entière.\"
unit = \"nombre de condamnations\"
";

fn heading(code: &str, label: &str, depth: usize) -> Heading {
    Heading {
        code: code.into(),
        label: label.into(),
        depth,
    }
}

/// The proof of a clean audit, from a table without a primary cell (a `DataTable` needs one).
fn clean_audit() -> justat_sdc::audit::Clean {
    let codes = ["A".to_string(), "B".to_string()];
    let dims = vec![(
        "d".to_string(),
        justat_sdc::Hierarchy::flat("d", &codes).unwrap(),
    )];
    let cells = [("_T", 100), ("A", 50), ("B", 50)].map(|(c, n)| (vec![c.to_string()], n));
    let table =
        justat_sdc::Table::from_aggregates(dims, cells, &justat_sdc::PrimaryRules::default())
            .unwrap();
    justat_sdc::audit::certify(table, &[]).unwrap().proof()
}

fn tables() -> BTreeMap<String, DataTable> {
    let v = DataCell::value;
    let t = TableParts {
        name: "t".into(),
        title: "Condamnations selon l'infraction et le sexe".into(),
        rows_title: "Infraction".into(),
        columns_title: Some("Sexe".into()),
        unit: "nombre de condamnations".into(),
        champ: "France entière.".into(),
        source: "Source : SSER.".into(),
        rows: vec![
            heading("_T", "Ensemble", 0),
            heading("A", "Vols", 1),
            heading("B", "Violences", 1),
        ],
        columns: vec![
            heading("_T", "Ensemble", 0),
            heading("F", "Femmes", 1),
            heading("M", "Hommes", 1),
        ],
        cells: vec![
            vec![v(5487.0), v(1096.0), v(4391.0)],
            vec![v(3021.0), DataCell::secret(), DataCell::secret()],
            vec![v(2466.0), DataCell::secret(), DataCell::secret()],
        ],
        decimals: 0,
        provenance: Provenance::default(),
    };
    BTreeMap::from([("t".to_string(), DataTable::new(t, clean_audit()))])
}

fn edition() -> Edition {
    Edition {
        version: 2,
        address: "/publications/infos-rapides/condamnations-2024/v2".into(),
        release: None,
    }
}

#[test]
fn the_xlsx_reads_back_with_the_numbers_of_the_page() {
    let source = PublicationSource::parse("ir", PUBLICATION, TABLES).unwrap();
    let built = build(&source, &tables(), &edition()).unwrap();
    assert_eq!(built.title, "Près de 5\u{a0}500 condamnations en 2024");
    assert!(
        built.html.contains("20,0\u{a0}% des condamnés"),
        "{}",
        built.html
    );
    let xlsx = built.files.iter().find(|f| f.name == "t.xlsx").unwrap();
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(xlsx.bytes.clone())).unwrap();
    let sheet = book.worksheet_range("Données").unwrap();
    let mut numbers = Vec::new();
    let mut symbols = 0;
    for row in sheet.rows() {
        for cell in row.iter().skip(1) {
            match cell {
                Data::Float(f) => numbers.push(*f),
                Data::Int(i) => numbers.push(*i as f64),
                Data::String(s) if s == "s" => symbols += 1,
                _ => {}
            }
        }
    }
    assert_eq!(numbers, [5487.0, 1096.0, 4391.0, 3021.0, 2466.0]);
    assert_eq!(symbols, 4, "the four withheld cells");
    // Each number the XLSX holds is shown on the page, in French format.
    for n in numbers {
        let shown = justat_model::french::decimal(n, 0);
        assert!(
            built.html.contains(&format!(">{shown}<")),
            "{shown} on the page"
        );
    }
    let meta = book.worksheet_range("Métadonnées").unwrap();
    let text: Vec<String> = meta
        .rows()
        .flat_map(|r| r.iter().map(|c| c.to_string()))
        .collect();
    assert!(
        text.iter().any(|t| t.contains("Licence Ouverte")),
        "{text:?}"
    );
    assert!(text.iter().any(|t| t == "2"), "the version: {text:?}");
    assert!(
        text.iter().any(|t| t.contains("v2")),
        "the address: {text:?}"
    );
}

#[test]
fn the_page_links_every_download_and_the_zip_holds_them_all() {
    let source = PublicationSource::parse("ir", PUBLICATION, TABLES).unwrap();
    let built = build(&source, &tables(), &edition()).unwrap();
    let names: Vec<&str> = built.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["t.csv", "t.fr.csv", "t.xlsx", "donnees.zip"]);
    for n in &names[..3] {
        assert!(
            built.html.contains(&format!(
                "/publications/infos-rapides/condamnations-2024/v2/donnees/{n}\""
            )),
            "{n}"
        );
    }
    let zip = &built.files[3].bytes;
    let text = String::from_utf8_lossy(zip);
    for n in [
        "LISEZMOI.txt",
        "condamnations-2024-v2-t.csv",
        "condamnations-2024-v2-t.xlsx",
    ] {
        assert!(text.contains(n), "{n} in the archive");
    }
    // The same content gives the same files and hash.
    let again = build(&source, &tables(), &edition()).unwrap();
    assert_eq!(again.content_hash, built.content_hash);
    assert!(
        again
            .files
            .iter()
            .zip(&built.files)
            .all(|(a, b)| a.bytes == b.bytes)
    );
}

#[test]
fn a_figure_of_an_undefined_table_stops_the_build_at_its_line() {
    let text = PUBLICATION.replace("::: figure t", "::: figure u");
    let source = PublicationSource::parse("ir", &text, TABLES).unwrap();
    let e = build(&source, &tables(), &edition()).unwrap_err();
    assert_eq!((e.file.as_str(), e.line), ("ir/publication.md", 12), "{e}");
    assert!(e.message.contains("`u`"), "{e}");
    // A cited value that is a withheld cell.
    let text = PUBLICATION.replace("ligne=_T colonne=M", "ligne=A colonne=F");
    let source = PublicationSource::parse("ir", &text, TABLES).unwrap();
    let e = build(&source, &tables(), &edition()).unwrap_err();
    assert!(e.message.contains("secret statistique"), "{e}");
}

/// Links and images a publication's text must not carry: (Markdown, why it is hostile).
const HOSTILE: &[(&str, &str)] = &[
    ("[ici](javascript:alert(1))", "a script"),
    ("[ici](JavaScript:alert(1))", "a script, in mixed case"),
    ("[ici](<java\tscript:alert(1)>)", "a tab a browser drops"),
    (
        "[ici](<\u{1}javascript:alert(1)>)",
        "a control character a browser trims",
    ),
    ("[ici](< javascript:alert(1)>)", "a space a browser trims"),
    ("[ici](jav&#x61;script:alert(1))", "a character reference"),
    ("[ici](&#106;avascript:alert(1))", "a decimal reference"),
    ("[ici](javascript&colon;alert(1))", "a named reference"),
    ("[ici](java&Tab;script:alert(1))", "a tab as a reference"),
    ("[ici](jav%61script:alert(1))", "a percent-escape"),
    ("[ici](javascript%3Aalert(1))", "an escaped colon"),
    ("[ici](jav%2561script:alert(1))", "a double escape"),
    ("[ici](data:text/html;base64,PHNjcmlwdD4=)", "a data URL"),
    ("[ici](vbscript:msgbox(1))", "another script"),
    ("[ici](file:///etc/passwd)", "a local file"),
    ("<javascript:alert(1)>", "an autolink"),
    (
        "[ici][r]\n\n[r]: javascript:alert(1)",
        "a reference definition",
    ),
    (
        "[^1]: [ici](javascript:alert(1))\n\nNote[^1].",
        "a footnote",
    ),
    ("![x](https://example.org/pixel.png)", "an outside image"),
    ("![x](//example.org/pixel.png)", "a scheme-relative image"),
    (
        "![x](/admin/embargo/1/fichiers/t.csv)",
        "a same-origin image",
    ),
    ("![x](donnees/t.csv)", "a relative image"),
    ("![x](../v1/figure-1.svg)", "an image up the tree"),
    (
        "![x](figure-1.svg/../../../admin)",
        "a chart's name, then up",
    ),
    ("![x](figure-2.svg)", "a figure that does not exist"),
    ("![x](data:image/svg+xml;base64,PHN2Zz4=)", "a data image"),
    (
        "[![x](https://example.org/p.png)](https://insee.fr)",
        "an image in a link",
    ),
];

#[test]
fn hostile_links_and_images_are_refused_at_their_line() {
    for (markdown, why) in HOSTILE {
        // The figure ends at line 15; the hostile text is at line 19.
        let text = format!("{PUBLICATION}\nSuite.\n\n{markdown}\n");
        let e = PublicationSource::parse("ir", &text, TABLES).unwrap_err();
        assert_eq!(
            (e.file.as_str(), e.line),
            ("ir/publication.md", 19),
            "{why}: {e}"
        );
        assert!(e.message.contains("refusé"), "{why}: a French reason: {e}");
        // As the editor saves it (no folder), and in a box.
        let boxed =
            format!("{PUBLICATION}\n::: encadre Pour en savoir plus\nVoir :\n{markdown}\n:::\n");
        let e = PublicationSource::parse("", &boxed, TABLES).unwrap_err();
        assert_eq!(
            (e.file.as_str(), e.line),
            ("publication.md", 19),
            "{why}: {e}"
        );
        // Each renderer refuses it too, should a source reach it unchecked.
        let mut source = PublicationSource::parse("ir", PUBLICATION, TABLES).unwrap();
        source.body = format!("{}\nSuite.\n\n{markdown}\n", source.body);
        let e = build(&source, &tables(), &edition()).unwrap_err();
        assert_eq!(e.line, 19, "{why}: {e}");
        let blocks =
            justat_render::body::parse_blocks("p.md", &source.body, source.body_line).unwrap();
        let cover = justat_render::typst::Cover {
            collection: justat_model::Collection::InfosRapides,
            number: "n° 7".into(),
            title: "T",
            summary: "",
            authors: &[],
            version: 1,
            address: "/p",
            erratum: None,
        };
        let e = justat_render::typst::document("p.md", &cover, &blocks, &tables()).unwrap_err();
        // (The PDF reads no footnotes: there, `[^1]: …` defines a link, refused where used.)
        assert!(
            e.message.contains("refusé") && (19..=21).contains(&e.line),
            "the PDF, {why}: {e}"
        );
    }
}

#[test]
fn web_mail_and_relative_links_and_the_charts_stay_allowed() {
    let text = format!(
        "{PUBLICATION}\nVoir [le site](https://www.justice.gouv.fr/statistiques), \
         [l’Insee](HTTP://insee.fr), [écrire](mailto:sser@justice.gouv.fr), \
         [les autres](/publications/infostat), [la figure](#figure-1), <https://insee.fr>.\n\n\
         ![La répartition par sexe](figure-1.svg)\n"
    );
    let source = PublicationSource::parse("ir", &text, TABLES).unwrap();
    let built = build(&source, &tables(), &edition()).unwrap();
    for href in [
        "href=\"https://www.justice.gouv.fr/statistiques\"",
        "href=\"mailto:sser@justice.gouv.fr\"",
        "href=\"/publications/infostat\"",
        "href=\"#figure-1\"",
    ] {
        assert!(built.html.contains(href), "{href}: {}", built.html);
    }
    // The chart is drawn again where the text shows it, under ids of its own; no address.
    assert!(!built.html.contains("<img"), "{}", built.html);
    assert!(
        built
            .html
            .contains("<title id=\"figure-1-image-1-titre\">La répartition par sexe</title>"),
        "{}",
        built.html
    );
    assert!(
        built
            .pdf
            .source
            .contains("#image(\"figure-1.svg\", width: 100%, alt: \"La répartition par sexe\")"),
        "{}",
        built.pdf.source
    );
    assert!(built.pdf.files.iter().any(|(n, _)| n == "figure-1.svg"));
}
