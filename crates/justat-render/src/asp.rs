//! The transmission to the Autorité de la statistique publique (ASP) of a release's embargo
//! list: a CSV file (RFC 4180, UTF-8) and a letter typeset by `justat-pdf`, both listing each
//! recipient with their function, organisation, category and justification, the list's
//! approval, and — when asked — every access to the embargo room — and the latest signed
//! checkpoint of the audit log, so that the ASP holds, out of our reach, the head of a log a
//! later rewrite cannot reproduce. Pure: the caller gives the instant of the export.

use crate::typst::{TypstDocument, lit};
use jiff::Timestamp;
use justat_model::french;
use std::fmt::Write;

/// A recipient as the ASP receives it.
#[derive(Debug, Clone, PartialEq)]
pub struct AspRecipient {
    /// Name.
    pub name: String,
    /// Function.
    pub function: String,
    /// Organisation.
    pub organisation: String,
    /// E-mail address.
    pub email: String,
    /// Information or quality assurance, in French.
    pub category: String,
    /// Why they need early access.
    pub justification: String,
    /// Who proposed them, and when.
    pub proposed: (String, Timestamp),
}

/// An access to the embargo room.
#[derive(Debug, Clone, PartialEq)]
pub struct AspAccess {
    /// When.
    pub at: Timestamp,
    /// Who (account).
    pub who: String,
    /// The page or the file.
    pub file: String,
    /// The version.
    pub version: i64,
    /// Address.
    pub ip: String,
    /// Browser.
    pub user_agent: String,
}

/// The latest signed checkpoint of the audit log, as transmitted.
#[derive(Debug, Clone, PartialEq)]
pub struct AspCheckpoint {
    /// The sequence number of the last entry covered.
    pub seq: i64,
    /// That entry's hash.
    pub hash: String,
    /// When it was signed.
    pub at: Timestamp,
    /// The Ed25519 signature, in hexadecimal.
    pub signature: String,
    /// The fingerprint of the signing key.
    pub fingerprint: String,
    /// The whole signed line, as in the checkpoint file (`justat audit verify --checkpoints`
    /// reads it back).
    pub line: String,
}

/// What is transmitted for one release.
#[derive(Debug, Clone, PartialEq)]
pub struct AspExport {
    /// The release's title, collection and instant, in French.
    pub release: String,
    /// The release instant.
    pub release_at: Option<Timestamp>,
    /// The window's length in hours.
    pub window_hours: i64,
    /// Who approved the list, and when.
    pub approved: Option<(String, Timestamp)>,
    /// The recipients.
    pub recipients: Vec<AspRecipient>,
    /// The accesses, when asked for.
    pub accesses: Option<Vec<AspAccess>>,
    /// When the export is made.
    pub generated_at: Timestamp,
    /// The audit log's latest signed checkpoint, when checkpoints are configured.
    pub checkpoint: Option<AspCheckpoint>,
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn csv_line(fields: &[&str]) -> String {
    let mut line = fields
        .iter()
        .map(|f| csv_field(f))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

/// The list as CSV: one row per recipient.
pub fn recipients_csv(e: &AspExport) -> Vec<u8> {
    let mut out = csv_line(&[
        "nom",
        "fonction",
        "organisation",
        "courriel",
        "categorie",
        "justification",
        "propose_par",
        "propose_le",
        "approuve_par",
        "approuve_le",
        "parution",
        "journal_sequence",
        "journal_empreinte",
        "journal_instant",
        "journal_signature",
        "journal_cle",
        "journal_ligne_signee",
    ]);
    let (by, on) = e
        .approved
        .as_ref()
        .map_or((String::new(), String::new()), |(w, t)| {
            (w.clone(), t.to_string())
        });
    let release = e.release_at.map(|t| t.to_string()).unwrap_or_default();
    // The checkpoint is repeated on each row, so that the file stays one table.
    let journal = e.checkpoint.as_ref().map_or_else(
        || vec![String::new(); 6],
        |c| {
            vec![
                c.seq.to_string(),
                c.hash.clone(),
                c.at.to_string(),
                c.signature.clone(),
                c.fingerprint.clone(),
                c.line.clone(),
            ]
        },
    );
    for r in &e.recipients {
        out.push_str(&csv_line(&[
            &r.name,
            &r.function,
            &r.organisation,
            &r.email,
            &r.category,
            &r.justification,
            &r.proposed.0,
            &r.proposed.1.to_string(),
            &by,
            &on,
            &release,
            &journal[0],
            &journal[1],
            &journal[2],
            &journal[3],
            &journal[4],
            &journal[5],
        ]));
    }
    out.into_bytes()
}

/// The accesses as CSV: one row per view or download.
pub fn accesses_csv(accesses: &[AspAccess]) -> Vec<u8> {
    let mut out = csv_line(&[
        "instant",
        "compte",
        "fichier",
        "version",
        "adresse",
        "navigateur",
    ]);
    for a in accesses {
        out.push_str(&csv_line(&[
            &a.at.to_string(),
            &a.who,
            &a.file,
            &a.version.to_string(),
            &a.ip,
            &a.user_agent,
        ]));
    }
    out.into_bytes()
}

/// The letter to the ASP, as Typst source.
pub fn letter(e: &AspExport) -> TypstDocument {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "#set document(title: {})",
        lit("Accès anticipés — transmission à l’Autorité de la statistique publique")
    );
    let _ = writeln!(
        s,
        "#set page(paper: \"a4\", margin: 2.2cm, footer: context align(center, text(size: 8pt, counter(page).display(\"1 / 1\", both: true))))"
    );
    let _ = writeln!(s, "#set text(lang: \"fr\", size: 10pt)");
    let _ = writeln!(
        s,
        "#text(size: 9pt, {})\\\n#text(size: 9pt, {})",
        lit("Ministère de la Justice — Service statistique ministériel (SSER)"),
        lit(&format!("Paris, le {}", french::date(e.generated_at)))
    );
    let _ = writeln!(s, "#v(1em)");
    let _ = writeln!(
        s,
        "#align(right, text({}))",
        lit("À l’attention de l’Autorité de la statistique publique")
    );
    let _ = writeln!(s, "#v(1em)");
    let _ = writeln!(
        s,
        "#text(weight: \"bold\", {})",
        lit(&format!(
            "Objet : accès anticipés à la parution « {} »",
            e.release
        ))
    );
    let _ = writeln!(s, "#v(0.5em)");
    let intro = format!(
        "Conformément au code de bonnes pratiques de la statistique européenne (indicateur 6.7), nous vous transmettons la liste nominative des personnes ayant un accès anticipé à cette parution{}. La fenêtre d’accès s’ouvre {} heures avant la parution et se ferme à l’instant de celle-ci ; chaque consultation est enregistrée. {}",
        e.release_at
            .map(|t| format!(", prévue le {}", french::date_time(t)))
            .unwrap_or_default(),
        e.window_hours,
        match &e.approved {
            Some((by, at)) => format!(
                "La liste a été approuvée par {by} le {}.",
                french::date_time(*at)
            ),
            None => "La liste n’est pas encore approuvée.".to_string(),
        }
    );
    let _ = writeln!(s, "#par({})", lit(&intro));
    let _ = writeln!(s, "#v(0.5em)");
    // The recipients: a header row, then one row per recipient.
    let head: Vec<String> = [
        "Nom",
        "Fonction",
        "Organisation",
        "Catégorie",
        "Justification",
    ]
    .iter()
    .map(|h| format!("text(weight: \"bold\", {})", lit(h)))
    .collect();
    let mut rows = String::new();
    for r in &e.recipients {
        let _ = writeln!(
            rows,
            "  {}, {}, {}, {}, {},",
            lit(&r.name),
            lit(&r.function),
            lit(&r.organisation),
            lit(&r.category),
            lit(&r.justification)
        );
    }
    let _ = writeln!(
        s,
        "#table(columns: (1fr, 1.2fr, 1.2fr, auto, 1.6fr), inset: 4pt, stroke: 0.4pt, table.header({}),\n{rows})",
        head.join(", ")
    );
    if let Some(accesses) = &e.accesses {
        let _ = writeln!(s, "#v(1em)");
        let _ = writeln!(
            s,
            "#text(weight: \"bold\", {})",
            lit("Journal des accès à la salle d’embargo")
        );
        if accesses.is_empty() {
            let _ = writeln!(s, "#par({})", lit("Aucun accès n’a été enregistré."));
        } else {
            let mut rows = String::new();
            for a in accesses {
                let _ = writeln!(
                    rows,
                    "  {}, {}, {}, {}, {},",
                    lit(&french::date_time(a.at)),
                    lit(&a.who),
                    lit(&format!("{} (v{})", a.file, a.version)),
                    lit(&a.ip),
                    lit(&a.user_agent)
                );
            }
            let head: Vec<String> = ["Instant", "Compte", "Fichier", "Adresse", "Navigateur"]
                .iter()
                .map(|h| format!("text(weight: \"bold\", {})", lit(h)))
                .collect();
            let _ = writeln!(
                s,
                "#table(columns: (auto, auto, auto, auto, 1fr), inset: 3pt, stroke: 0.4pt, table.header({}),\n{rows})",
                head.join(", ")
            );
        }
    }
    let _ = writeln!(s, "#v(1em)");
    let _ = writeln!(
        s,
        "#text(weight: \"bold\", {})",
        lit("Point de contrôle du journal d’audit")
    );
    match &e.checkpoint {
        Some(c) => {
            let _ = writeln!(
                s,
                "#par({})",
                lit(&format!(
                    "Le {}, le journal d’audit de Justat comptait {} entrées ; la dernière a pour empreinte (SHA-256) la valeur ci-dessous. Ce point de contrôle est signé par la clé Ed25519 {}. Conservez cette transmission : elle permet de vérifier plus tard que le journal n’a pas été réécrit (commande « justat audit verify --checkpoints » avec la ligne signée du fichier CSV).",
                    french::date_time(c.at),
                    french::integer(c.seq),
                    c.fingerprint
                ))
            );
            // Hexadecimal has no break points: the signature is shown in two halves.
            let (sig1, sig2) = c.signature.split_at(c.signature.len() / 2);
            let _ = writeln!(
                s,
                "#text(size: 8pt, {})\\\n#text(size: 8pt, {})\\\n#text(size: 8pt, {})",
                lit(&format!("Empreinte : {}", c.hash)),
                lit(&format!("Signature : {sig1}")),
                lit(sig2)
            );
        }
        None => {
            let _ = writeln!(
                s,
                "#par({})",
                lit(
                    "Aucune clé de signature du journal d’audit n’est configurée : cette transmission ne comporte pas de point de contrôle."
                )
            );
        }
    }
    let _ = writeln!(s, "#v(1.5em)");
    let _ = writeln!(
        s,
        "#par({})",
        lit(&format!(
            "Document produit par Justat le {}.",
            french::date_time(e.generated_at)
        ))
    );
    TypstDocument {
        source: s,
        files: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn export() -> AspExport {
        let t: Timestamp = "2027-03-09T10:00:00Z".parse().unwrap();
        AspExport {
            release: "Condamnations (2025), Infos rapides justice n° 2".into(),
            release_at: Some("2027-03-10T11:00:00Z".parse().unwrap()),
            window_hours: 24,
            approved: Some(("chef".into(), t)),
            recipients: vec![AspRecipient {
                name: "Claire Dubois".into(),
                function: "Conseillère, \"statistiques\"".into(),
                organisation: "Cabinet du garde des Sceaux".into(),
                email: "claire.dubois@justice.gouv.fr".into(),
                category: "Information".into(),
                justification: "Préparer la réponse du ministère".into(),
                proposed: ("statisticienne".into(), t),
            }],
            accesses: Some(vec![AspAccess {
                at: t,
                who: "destinataire".into(),
                file: "page".into(),
                version: 1,
                ip: "127.0.0.1".into(),
                user_agent: "Mozilla".into(),
            }]),
            generated_at: t,
            checkpoint: Some(AspCheckpoint {
                seq: 42,
                hash: "ab".repeat(32),
                at: t,
                signature: "cd".repeat(64),
                fingerprint: "ed25519:0123456789abcdef".into(),
                line: "justat-audit-checkpoint-v1 seq=42".into(),
            }),
        }
    }

    #[test]
    fn the_csv_quotes_what_needs_it() {
        let csv = String::from_utf8(recipients_csv(&export())).unwrap();
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert!(lines[0].starts_with("nom,fonction,organisation"));
        assert!(
            lines[1].contains("\"Conseillère, \"\"statistiques\"\"\""),
            "{csv}"
        );
        assert!(lines[0].ends_with(",journal_ligne_signee"), "{csv}");
        assert!(
            lines[1].contains(&format!(
                "2027-03-10T11:00:00Z,42,{},2027-03-09T10:00:00Z,{},ed25519:0123456789abcdef,justat-audit-checkpoint-v1 seq=42",
                "ab".repeat(32),
                "cd".repeat(64)
            )),
            "{csv}"
        );
        let log = String::from_utf8(accesses_csv(&export().accesses.unwrap())).unwrap();
        assert!(log.contains("destinataire,page,1,127.0.0.1,Mozilla"));
    }

    #[test]
    fn the_letter_lists_recipients_and_accesses_as_literals() {
        let doc = letter(&export());
        assert!(doc.source.contains("\"Claire Dubois\""));
        assert!(
            doc.source.contains("\\\"statistiques\\\""),
            "quotes escaped"
        );
        assert!(doc.source.contains("Journal des accès"));
        assert!(doc.source.contains("approuvée par chef"));
        let without = AspExport {
            accesses: None,
            ..export()
        };
        assert!(!letter(&without).source.contains("Journal des accès"));
        assert!(doc.source.contains("comptait 42 entrées"), "{}", doc.source);
        assert!(doc.source.contains("ed25519:0123456789abcdef"));
        assert!(doc.source.contains(&"ab".repeat(32)));
        let unsigned = AspExport {
            checkpoint: None,
            ..export()
        };
        assert!(
            letter(&unsigned)
                .source
                .contains("ne comporte pas de point de contrôle")
        );
    }
}
