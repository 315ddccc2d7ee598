//! What a publication's Markdown may point at. A link goes to an `http`, `https` or `mailto`
//! address, or is relative; an image is one of the publication's own charts, named as the build
//! names them (`figure-2.svg`). Anything else is refused — never rewritten nor dropped — with
//! its line, when the source is read (import, the editor's preview and save) and again by each
//! renderer, so no page, PDF or preview can carry it.
//!
//! Browsers are lenient with addresses: they drop tabs and newlines inside one, trim control
//! characters and spaces at its ends, and compare schemes without case; Markdown decodes
//! character references (`jav&#x61;script:`). A destination is therefore refused if it holds a
//! control character, and its scheme is judged on every form it decodes to (character
//! references, percent-escapes, repeatedly): any `:` before the first `/`, `?` or `#` makes
//! what precedes it a scheme, which must be one of those allowed.

use crate::BuildError;
use crate::body::{Block, ChartKind};
use pulldown_cmark::{Event, Options, Parser, Tag};
use std::collections::BTreeSet;

/// The schemes a link may use.
pub const LINK_SCHEMES: [&str; 3] = ["http", "https", "mailto"];

/// The Markdown options the page renders with (the PDF uses a subset): the check reads the
/// text as the page does.
pub fn page_options() -> Options {
    let mut opts = Options::empty();
    opts.insert(Options::ENABLE_FOOTNOTES);
    opts.insert(Options::ENABLE_STRIKETHROUGH);
    opts.insert(Options::ENABLE_SMART_PUNCTUATION);
    opts
}

/// The name the build gives the chart of figure `n`: the only image a text may show.
pub fn chart_file(n: usize) -> String {
    format!("figure-{n}.svg")
}

/// The figure number `dest` names, if it is exactly a chart's file name (`figure-2.svg`).
pub fn chart_number(dest: &str) -> Option<usize> {
    let n = dest.strip_prefix("figure-")?.strip_suffix(".svg")?;
    if n.is_empty() || n.starts_with('0') || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse().ok()
}

/// The numbers of the figures that draw a chart, as the build numbers them (in order, from 1).
pub fn chart_figures(blocks: &[Block]) -> BTreeSet<usize> {
    blocks
        .iter()
        .filter_map(|b| match b {
            Block::Figure(f) => Some(f.chart),
            _ => None,
        })
        .enumerate()
        .filter(|(_, chart)| *chart != ChartKind::None)
        .map(|(i, _)| i + 1)
        .collect()
}

/// Whether a link may go to `dest`; the reason, in French, if not.
pub fn check_link(dest: &str) -> Result<(), String> {
    if dest.chars().any(char::is_control) {
        return Err(
            "l’adresse contient un caractère de contrôle (tabulation, saut de ligne…), \
                    qu’un navigateur efface avant de la lire"
                .into(),
        );
    }
    for form in decoded_forms(dest) {
        if let Some(scheme) = scheme(&form)
            && !LINK_SCHEMES.contains(&scheme.as_str())
        {
            return Err(format!(
                "un lien mène à une adresse http ou https, mailto ou relative à ce site, pas « {}: »",
                shown(&scheme)
            ));
        }
    }
    Ok(())
}

/// Whether an image may show `dest`, given the figures that draw a chart; its figure number if
/// so, the reason in French if not.
pub fn check_image(dest: &str, charts: &BTreeSet<usize>) -> Result<usize, String> {
    if let Some(n) = chart_number(dest).filter(|n| charts.contains(n)) {
        return Ok(n);
    }
    let allowed = if charts.is_empty() {
        "cette publication n’en dessine aucun".to_string()
    } else {
        charts
            .iter()
            .map(|n| chart_file(*n))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Err(format!(
        "une image ne peut montrer qu’un graphique de cette publication ({allowed}), \
         ni une adresse extérieure ni un autre chemin du site"
    ))
}

/// Reads `text` as Markdown and checks each link and image. Returns its events, or the first
/// refused destination's message and line, counted from the text's first line (0).
pub fn vetted<'a>(
    text: &'a str,
    options: Options,
    charts: &BTreeSet<usize>,
) -> Result<Vec<Event<'a>>, (usize, String)> {
    let mut events = Vec::new();
    for (event, range) in Parser::new_ext(text, options).into_offset_iter() {
        let refused = match &event {
            Event::Start(Tag::Link { dest_url, .. }) => check_link(dest_url)
                .err()
                .map(|why| format!("lien refusé vers « {} » : {why}", shown(dest_url))),
            Event::Start(Tag::Image { dest_url, .. }) => check_image(dest_url, charts)
                .err()
                .map(|why| format!("image refusée « {} » : {why}", shown(dest_url))),
            _ => None,
        };
        if let Some(message) = refused {
            return Err((text[..range.start].matches('\n').count(), message));
        }
        events.push(event);
    }
    Ok(events)
}

/// Checks every link and image of a body's Markdown (its text blocks and boxes), as read from
/// `file`: the first refused is an error at its line.
pub fn check_blocks(file: &str, blocks: &[Block]) -> Result<(), BuildError> {
    let charts = chart_figures(blocks);
    for block in blocks {
        if let Block::Markdown { text, line } | Block::Boxed { text, line, .. } = block {
            vetted(text, page_options(), &charts).map_err(|(at, message)| BuildError {
                file: file.to_string(),
                line: line + at,
                message,
            })?;
        }
    }
    Ok(())
}

/// A destination as a message shows it: control characters written out (`\t`), long ones cut.
fn shown(dest: &str) -> String {
    let mut s: String = dest.chars().flat_map(char::escape_debug).take(80).collect();
    if s.chars().count() == 80 {
        s.push('…');
    }
    s
}

/// The scheme of an address (lower-cased), if a `:` comes before any `/`, `?` or `#`: a
/// relative reference cannot hold one there (RFC 3986, 4.2), so whatever precedes it is taken
/// for a scheme, however odd.
fn scheme(address: &str) -> Option<String> {
    let address = address.trim_start_matches(|c: char| c.is_whitespace() || c.is_control());
    let end = address.find([':', '/', '?', '#'])?;
    address[end..]
        .starts_with(':')
        .then(|| address[..end].to_lowercase())
}

/// The address as given, then as each round of decoding (character references, then
/// percent-escapes) leaves it, without the whitespace and control characters a browser would
/// drop or trim; up to a few rounds, enough for any sane address.
fn decoded_forms(dest: &str) -> Vec<String> {
    let squeeze = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_control() && !c.is_whitespace())
            .collect()
    };
    let mut forms = vec![dest.to_string(), squeeze(dest)];
    let mut current = dest.to_string();
    for _ in 0..4 {
        let next = percent_decode(&decode_references(&current));
        if next == current {
            break;
        }
        forms.push(squeeze(&next));
        forms.push(next.clone());
        current = next;
    }
    forms
}

/// Decodes HTML character references: numeric ones, and the named ones that spell the
/// characters an address needs to hide a scheme.
fn decode_references(s: &str) -> String {
    const NAMED: [(&str, char); 12] = [
        ("colon", ':'),
        ("Tab", '\t'),
        ("NewLine", '\n'),
        ("sol", '/'),
        ("quest", '?'),
        ("num", '#'),
        ("amp", '&'),
        ("percnt", '%'),
        ("lpar", '('),
        ("rpar", ')'),
        ("period", '.'),
        ("nbsp", '\u{a0}'),
    ];
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        // (the character, the length of its reference after `&`, without a final `;`)
        let decoded = if let Some(num) = after.strip_prefix('#') {
            let (hex, digits) = match num.strip_prefix(['x', 'X']) {
                Some(h) => (true, h),
                None => (false, num),
            };
            let len = digits
                .find(|c: char| {
                    !(if hex {
                        c.is_ascii_hexdigit()
                    } else {
                        c.is_ascii_digit()
                    })
                })
                .unwrap_or(digits.len());
            u32::from_str_radix(&digits[..len], if hex { 16 } else { 10 })
                .ok()
                .and_then(char::from_u32)
                .map(|c| (c, 1 + usize::from(hex) + len))
        } else {
            NAMED
                .iter()
                .find(|(n, _)| after.starts_with(n))
                .map(|(n, c)| (*c, n.len()))
        };
        match decoded {
            Some((c, len)) => {
                out.push(c);
                // A reference ends with `;` or, leniently, without.
                rest = after[len..].strip_prefix(';').unwrap_or(&after[len..]);
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Decodes `%XX` escapes (invalid UTF-8 is replaced, not trusted).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_go_to_the_web_to_mail_or_within_the_site() {
        for ok in [
            "https://www.justice.gouv.fr/statistiques",
            "HTTP://insee.fr",
            "mailto:sser@justice.gouv.fr",
            "/publications/infostat",
            "../v1",
            "#figure-1",
            "?page=2",
            "",
            "//www.insee.fr/fr/statistiques",
            "https://x.fr/a:b?c=d&e=f",
            "/a/b:c",
        ] {
            assert_eq!(check_link(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn hidden_schemes_are_found_under_their_encodings() {
        for bad in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            " javascript:alert(1)",
            "java\tscript:alert(1)",
            "java\nscript:alert(1)",
            "\u{1}javascript:alert(1)",
            "javascript&colon;alert(1)",
            "jav&#x61;script:alert(1)",
            "jav&#97script:alert(1)",
            "java&Tab;script:alert(1)",
            "jav%61script:alert(1)",
            "javascript%3Aalert(1)",
            "%6a%61%76%61%73%63%72%69%70%74%3aalert(1)",
            "jav%2561script:alert(1)",
            "jav&amp;#x61;script:alert(1)",
            "data:text/html;base64,PHNjcmlwdD4=",
            "vbscript:msgbox(1)",
            "file:///etc/passwd",
            "\u{200b}javascript:alert(1)",
            "javascript\u{a0}:alert(1)",
            "jav ascript:alert(1)",
        ] {
            assert!(check_link(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn images_are_the_publications_own_charts() {
        let charts = BTreeSet::from([1, 3]);
        assert_eq!(check_image("figure-1.svg", &charts), Ok(1));
        assert_eq!(check_image("figure-3.svg", &charts), Ok(3));
        for bad in [
            "figure-2.svg",
            "figure-01.svg",
            "./figure-1.svg",
            "FIGURE-1.SVG",
            "figure-1.svg?x",
            "figure-1.svg/../../x",
            "../figure-1.svg",
            "/admin/embargo/1/fichiers/t.csv",
            "https://example.org/pixel.png",
            "//example.org/pixel.png",
            "data:image/svg+xml;base64,PHN2Zz4=",
            "donnees/t.csv",
        ] {
            let e = check_image(bad, &charts).unwrap_err();
            assert!(e.contains("figure-1.svg, figure-3.svg"), "{bad}: {e}");
        }
        let e = check_image("figure-1.svg", &BTreeSet::new()).unwrap_err();
        assert!(e.contains("n’en dessine aucun"), "{e}");
    }

    #[test]
    fn a_refused_destination_is_found_at_its_line() {
        let text = "Un.\n\nDeux [ici](https://insee.fr)\net [là](jav&#x61;script:x).\n";
        let (line, message) = vetted(text, page_options(), &BTreeSet::new()).unwrap_err();
        assert_eq!(line, 3);
        assert!(
            message.starts_with("lien refusé vers « javascript:x »"),
            "{message}"
        );
        let (_, message) =
            vetted("[a](<java\tscript:x>)", page_options(), &BTreeSet::new()).unwrap_err();
        assert!(message.contains("java\\tscript:x"), "{message}");
    }
}
