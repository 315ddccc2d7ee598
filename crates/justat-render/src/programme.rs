//! The PDF of a year's work programme, as Typst source: the layout the Cnis uses (synthesis,
//! new work, permanent operations in annex) and the Cnis's opinions with the service's
//! response to each. Every text reaches Typst as a string literal.

use crate::typst::{TypstDocument, lit};
use justat_model::programme::{OperationView, YearView};
use std::fmt::Write;

/// The name the PDF of a year's programme is served under.
pub fn programme_pdf_name(year: i16) -> String {
    format!("programme-de-travail-{year}.pdf")
}

fn operation(s: &mut String, op: &OperationView) {
    let _ = writeln!(
        s,
        "#block(below: 0.9em, breakable: false, [#text(weight: \"bold\", {}) \\\n#text(size: 9pt, fill: luma(80), {})",
        lit(&op.title),
        lit(&format!("{} — {}", op.kind, op.status))
    );
    if let Some(r) = &op.reason {
        let _ = writeln!(s, "\\\n#text(size: 9pt, {})", lit(&format!("Motif : {r}")));
    }
    if !op.description.is_empty() {
        let _ = writeln!(s, "\\\n#{}", lit(&op.description));
    }
    if let Some(a) = &op.attached {
        let _ = writeln!(s, "\\\n#text(size: 9pt, {})", lit(a));
    }
    if !op.answers.is_empty() {
        let _ = writeln!(
            s,
            "\\\n#text(size: 9pt, {})",
            lit(&format!("Répond à : {}", op.answers.join(" ; ")))
        );
    }
    let _ = writeln!(s, "])");
}

/// The programme's Typst source (no image files).
pub fn programme_pdf(v: &YearView) -> TypstDocument {
    let mut s = String::new();
    let title = format!(
        "Programme de travail {} du service statistique ministériel de la Justice",
        v.year
    );
    let _ = writeln!(s, "#set document(title: {})", lit(&title));
    let _ = writeln!(
        s,
        "#set page(paper: \"a4\", margin: (x: 2cm, y: 1.8cm), numbering: \"1 / 1\")"
    );
    let _ = writeln!(s, "#set text(lang: \"fr\", size: 10.5pt)");
    let _ = writeln!(
        s,
        "#text(size: 9pt, {})\\\n#text(size: 9pt, {})",
        lit("Ministère de la Justice"),
        lit("Service de la statistique, des études et de la recherche (SSER)")
    );
    let _ = writeln!(s, "#v(1em)");
    let _ = writeln!(s, "#text(size: 16pt, weight: \"bold\", {})", lit(&title));
    let _ = writeln!(s, "#v(0.6em)");
    let heading = |s: &mut String, t: &str| {
        let _ = writeln!(
            s,
            "#v(0.8em)\n#text(size: 13pt, weight: \"bold\", {})\n#v(0.3em)",
            lit(t)
        );
    };
    heading(&mut s, "1. Exposé de synthèse");
    if v.synthesis.is_empty() {
        let _ = writeln!(
            s,
            "#par({})",
            lit("La synthèse de l’année n’est pas encore rédigée.")
        );
    }
    for p in &v.synthesis {
        let _ = writeln!(s, "#par(justify: true, {})", lit(p));
    }
    for (i, section) in v.sections.iter().enumerate() {
        if i == 0 {
            heading(&mut s, "2. Travaux nouveaux");
        }
        let _ = writeln!(
            s,
            "#text(size: 11.5pt, weight: \"bold\", {})\n#v(0.2em)",
            lit(section.heading)
        );
        if section.operations.is_empty() {
            let _ = writeln!(s, "#par({})", lit("Aucune opération."));
        }
        for op in &section.operations {
            operation(&mut s, op);
        }
    }
    heading(&mut s, "Avis du Cnis et réponses du service");
    if v.opinions.is_empty() {
        let _ = writeln!(s, "#par({})", lit("Aucun avis pour cette année."));
    }
    for o in &v.opinions {
        let _ = writeln!(
            s,
            "#block(below: 0.9em, breakable: false, [#text(weight: \"bold\", {}) \\\n#{}",
            lit(&format!("{} {} du {}", o.kind, o.reference, o.issued_on)),
            lit(&o.summary)
        );
        let response = o.response.as_deref().unwrap_or("Réponse à venir.");
        let _ = writeln!(
            s,
            "\\\n#text(style: \"italic\", {})",
            lit(&format!("Réponse du service : {response}"))
        );
        if !o.answered_by.is_empty() {
            let titles: Vec<&str> = o.answered_by.iter().map(|(_, t)| t.as_str()).collect();
            let _ = writeln!(
                s,
                "\\\n#text(size: 9pt, {})",
                lit(&format!(
                    "Opérations qui y répondent : {}",
                    titles.join(" ; ")
                ))
            );
        }
        let _ = writeln!(s, "])");
    }
    TypstDocument {
        source: s,
        files: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use justat_model::programme::{OperationForm, OpinionForm, year_view};

    #[test]
    fn every_text_is_a_literal_and_each_section_is_there() {
        let op = OperationForm {
            year: "2026".into(),
            kind: "study".into(),
            novelty: "new".into(),
            title: "Étude #strong[x] \"citée\"".into(),
            status: "postponed".into(),
            status_reason: "Reportée à 2027 faute de données".into(),
            ..Default::default()
        }
        .read()
        .unwrap();
        let opinion = OpinionForm {
            year: "2026".into(),
            kind: "medium_term".into(),
            reference: "Avis n° 3".into(),
            issued_on: "2024-01-30".into(),
            summary: "Suivre les mineurs".into(),
            operations: vec!["1".into()],
            ..Default::default()
        }
        .read()
        .unwrap();
        let v = year_view(2026, "Synthèse.", &[(1, op)], &[(2, opinion)], &[]);
        let doc = programme_pdf(&v);
        assert!(doc.source.contains(&lit("Étude #strong[x] \"citée\"")));
        assert!(!doc.source.contains("#strong[x]\n"));
        for t in [
            "1. Exposé de synthèse",
            "2.1 Enquêtes nouvelles",
            "2.2 Nouvelles exploitations",
            "Annexe : opérations permanentes",
            "Motif : Reportée à 2027 faute de données",
            "Réponse du service : Réponse à venir.",
            "Opérations qui y répondent : Étude",
        ] {
            assert!(doc.source.contains(t), "{t}");
        }
        assert_eq!(programme_pdf_name(2026), "programme-de-travail-2026.pdf");
    }
}
