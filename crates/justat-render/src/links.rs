//! A version's page read somewhere else than at its public address: the embargo room shows the
//! body built for the public site, whose links to the version's files (a figure's CSV and XLSX,
//! the zip, the PDF) and to its page answer 404 until the release instant. Every such link is
//! moved to the room's own address, so that nothing in the room points out of it.

/// Where a version's public addresses go in another place.
#[derive(Debug, Clone, PartialEq)]
pub struct Relocation<'a> {
    /// The publication's public address, `/publications/<collection>/<slug>`.
    pub public: &'a str,
    /// The version shown (`/v<N>` of another version is left as it is: it is public already).
    pub version: i64,
    /// The page's new address; its files are served under `<page>/fichiers/<name>`.
    pub page: &'a str,
}

impl Relocation<'_> {
    /// The new address of `url`, if it is one of the version's public addresses.
    fn map(&self, url: &str) -> Option<String> {
        let (path, fragment) = match url.find('#') {
            Some(i) => url.split_at(i),
            None => (url, ""),
        };
        let rest = path.strip_prefix(self.public)?;
        if !(rest.is_empty() || rest.starts_with('/') || rest.starts_with('.')) {
            // Another publication whose slug starts with this one's.
            return None;
        }
        // `/v<N>` of this version, or none (the latest, which is this one here).
        let rest = match rest.strip_prefix("/v") {
            Some(after) => {
                let digits =
                    after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
                if digits == 0 {
                    return None;
                }
                if after[..digits].parse::<i64>().ok()? != self.version {
                    return None;
                }
                &after[digits..]
            }
            None => rest,
        };
        let file = |name: &str| format!("{}/fichiers/{name}{fragment}", self.page);
        Some(match rest {
            "" | "/" => format!("{}{fragment}", self.page),
            ".pdf" => file(crate::PDF_NAME),
            _ => match rest.strip_prefix('/') {
                Some(name) if name == crate::ZIP_NAME => file(crate::ZIP_NAME),
                Some(name) if name.ends_with(".pdf") && !name.contains('/') => {
                    file(crate::PDF_NAME)
                }
                Some(name) => match name.strip_prefix("donnees/") {
                    Some(f) if !f.is_empty() && !f.contains('/') => file(f),
                    _ => return None,
                },
                None => return None,
            },
        })
    }
}

/// `html` with every `href` and `src` naming one of the version's public addresses moved by
/// `to`; anything else is left byte for byte.
pub fn relocate(html: &str, to: &Relocation<'_>) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    loop {
        let next = ["href=\"", "src=\""]
            .iter()
            .filter_map(|a| rest.find(a).map(|i| (i, a.len())))
            .min();
        let Some((at, len)) = next else {
            out.push_str(rest);
            return out;
        };
        let start = at + len;
        let Some(end) = rest[start..].find('"').map(|e| start + e) else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..start]);
        let value = &rest[start..end];
        match to.map(value) {
            Some(moved) => out.push_str(&moved),
            None => out.push_str(value),
        }
        rest = &rest[end..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TO: Relocation<'static> = Relocation {
        public: "/publications/infostat/detention-2026",
        version: 2,
        page: "/admin/embargo/infostat/detention-2026",
    };

    #[test]
    fn the_versions_files_and_page_move_to_the_room() {
        let html = concat!(
            r#"<a download href="/publications/infostat/detention-2026/v2/donnees/stock.csv">CSV</a>"#,
            r#"<a href="/publications/infostat/detention-2026/donnees/stock.fr.csv">CSV</a>"#,
            r#"<a href="/publications/infostat/detention-2026/v2/donnees.zip">zip</a>"#,
            r#"<a href="/publications/infostat/detention-2026.pdf">PDF</a>"#,
            r#"<a href="/publications/infostat/detention-2026/v2/detention-2026.pdf">PDF</a>"#,
            r#"<a href="/publications/infostat/detention-2026#figure-1">page</a>"#,
            r#"<img src="/publications/infostat/detention-2026/v2/donnees/carte.png" alt="">"#,
        );
        let room = "/admin/embargo/infostat/detention-2026";
        assert_eq!(
            relocate(html, &TO),
            format!(
                concat!(
                    r#"<a download href="{r}/fichiers/stock.csv">CSV</a>"#,
                    r#"<a href="{r}/fichiers/stock.fr.csv">CSV</a>"#,
                    r#"<a href="{r}/fichiers/donnees.zip">zip</a>"#,
                    r#"<a href="{r}/fichiers/publication.pdf">PDF</a>"#,
                    r#"<a href="{r}/fichiers/publication.pdf">PDF</a>"#,
                    r#"<a href="{r}#figure-1">page</a>"#,
                    r#"<img src="{r}/fichiers/carte.png" alt="">"#,
                ),
                r = room
            )
        );
    }

    #[test]
    fn other_addresses_stay_as_they_are() {
        let html = concat!(
            r#"<a href="/publications/infostat/detention-2026/v1">version 1, public</a>"#,
            r#"<a href="/publications/infostat/detention-2026-bis">another</a>"#,
            r#"<a href="https://www.insee.fr/publications/infostat/detention-2026">outside</a>"#,
            r#"<a href="/calendrier">calendar</a>"#,
            r#"<a href="/publications/infostat/detention-2026/v2/donnees/a/b.csv">nested</a>"#,
        );
        let out = relocate(html, &TO);
        assert!(out.starts_with(
            r#"<a href="/publications/infostat/detention-2026/v1">version 1, public</a><a href="/publications/infostat/detention-2026-bis">"#
        ));
        assert!(
            out.contains(r#"href="https://www.insee.fr/publications/infostat/detention-2026""#)
        );
        assert!(out.contains(r#"<a href="/calendrier">"#));
        assert!(out.contains(r#"/v2/donnees/a/b.csv"#));
    }

    #[test]
    fn an_unterminated_attribute_is_left_alone() {
        let html = r#"<a href="/publications/infostat/detention-2026"#;
        assert_eq!(relocate(html, &TO), html);
    }
}
