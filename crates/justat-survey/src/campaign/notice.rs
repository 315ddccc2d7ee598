//! The legal notice every respondent sees, generated from the campaign's legal standing, in
//! the order of the official model (Cnis opinion; loi n° 51-711; visa and year; obligation
//! and penalty where mandatory; statistical secrecy and recipient; retention; RGPD rights and
//! the data protection officer).

use crate::french_date;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// The Cnis's avis d'opportunité.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CnisOpinion {
    /// Date of the opinion.
    pub date: Date,
    /// Its reference, e.g. `n° 2024-12/SPSP`.
    pub reference: String,
}

/// The visa granted on the Comité du label's proposal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visa {
    /// Visa number, e.g. `2026X004JU`.
    pub number: String,
    /// Year of validity.
    pub year: i16,
    /// Minister(s) granting it, e.g. « du ministre de la Justice ».
    pub minister: String,
    /// Date of the arrêté listing the year's surveys, when published.
    pub arrete: Option<Date>,
}

/// A campaign's legal standing, from which its notice is generated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegalStanding {
    /// The survey's name as in the notice, e.g. « Enquête sur l'activité des bureaux d'aide
    /// aux victimes en 2025 ».
    pub survey_name: String,
    /// The producer, e.g. « le service statistique ministériel de la Justice (SSER) ».
    pub producer: String,
    /// The Cnis's opinion.
    pub cnis: CnisOpinion,
    /// The label (« conformité » granted), if any.
    pub label: bool,
    /// The visa, if any.
    pub visa: Option<Visa>,
    /// Answering is compulsory (only with a visa).
    pub mandatory: bool,
    /// Who receives the answers, e.g. « le SSER, service statistique ministériel de la Justice ».
    pub recipient: String,
    /// Years the answers are kept before being archived.
    pub answers_retention_years: u32,
    /// Years identification data (contacts) are kept.
    pub identification_retention_years: u32,
    /// Where to exercise the rights (postal or e-mail address).
    pub rights_contact: String,
    /// The data protection officer's contact.
    pub dpo_contact: String,
}

/// One paragraph of the notice: a heading and its text (French).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoticeParagraph {
    /// Which part of the official model it is.
    pub part: NoticePart,
    /// Heading.
    pub heading: String,
    /// Text.
    pub text: String,
}

/// The parts of the notice, in the official order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticePart {
    /// Cnis opinion and general interest.
    Cnis,
    /// Loi n° 51-711.
    Law,
    /// Visa number and year (and label).
    Visa,
    /// Obligation and penalty (mandatory surveys only).
    Obligation,
    /// Statistical secrecy and recipient.
    Secrecy,
    /// Retention periods.
    Retention,
    /// RGPD and loi 78-17, rights and the DPO.
    Rights,
}

/// Why a legal standing cannot give a lawful notice.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoticeError {
    /// A survey cannot be compulsory without a visa.
    #[error("une enquête ne peut être obligatoire sans visa")]
    MandatoryWithoutVisa,
    /// A required text is empty.
    #[error("le champ « {0} » de la situation juridique est vide")]
    Empty(&'static str),
}

/// The legal notice, paragraph by paragraph, in the official model's order.
pub fn legal_notice(s: &LegalStanding) -> Result<Vec<NoticeParagraph>, NoticeError> {
    for (name, v) in [
        ("survey_name", &s.survey_name),
        ("producer", &s.producer),
        ("recipient", &s.recipient),
        ("rights_contact", &s.rights_contact),
        ("dpo_contact", &s.dpo_contact),
        ("cnis.reference", &s.cnis.reference),
    ] {
        if v.trim().is_empty() {
            return Err(NoticeError::Empty(name));
        }
    }
    if s.mandatory && s.visa.is_none() {
        return Err(NoticeError::MandatoryWithoutVisa);
    }
    let p = |part, heading: &str, text: String| NoticeParagraph {
        part,
        heading: heading.to_string(),
        text,
    };
    let mut out = vec![
        p(
            NoticePart::Cnis,
            "Avis du Conseil national de l'information statistique",
            format!(
                "{} a reçu un avis d'opportunité favorable du Conseil national de l'information statistique (Cnis) le {} (avis {}), qui en a reconnu l'intérêt général.",
                s.survey_name,
                french_date(s.cnis.date),
                s.cnis.reference
            ),
        ),
        p(
            NoticePart::Law,
            "Cadre légal",
            "En application de la loi n° 51-711 du 7 juin 1951 sur l'obligation, la coordination et le secret en matière de statistiques."
                .to_string(),
        ),
    ];
    if let Some(v) = &s.visa {
        let label = if s.label {
            "Cette enquête a reçu le label d'intérêt général et de qualité statistique. "
        } else {
            ""
        };
        let arrete = v.arrete.map_or(String::new(), |d| {
            format!(", en vertu de l'arrêté du {}", french_date(d))
        });
        out.push(p(
            NoticePart::Visa,
            "Visa",
            format!(
                "{label}Visa n° {} {}, valable pour l'année {}{arrete}.",
                v.number, v.minister, v.year
            ),
        ));
    }
    if s.mandatory {
        out.push(p(
            NoticePart::Obligation,
            "Obligation de réponse",
            "Cette enquête est obligatoire. En cas de défaut de réponse après mise en demeure, ou de réponse sciemment inexacte, une amende peut être prononcée en application de l'article 7 de la loi n° 51-711 du 7 juin 1951 (amende prévue à l'article 131-13 du code pénal pour les contraventions de 1re classe, portée à la 5e classe en cas de récidive)."
                .to_string(),
        ));
    } else {
        out.push(p(
            NoticePart::Obligation,
            "Réponse facultative",
            "La réponse à cette enquête est facultative ; elle est néanmoins essentielle à la qualité des résultats.".to_string(),
        ));
    }
    out.push(p(
        NoticePart::Secrecy,
        "Secret statistique",
        format!(
            "Les réponses sont protégées par le secret statistique : elles ne peuvent en aucun cas être utilisées à des fins de contrôle. Elles sont destinées à {}, {}, qui ne diffuse que des résultats agrégés ne permettant pas d'identifier un répondant.",
            s.recipient, s.producer
        ),
    ));
    out.push(p(
        NoticePart::Retention,
        "Durée de conservation",
        format!(
            "Les réponses sont conservées {} puis archivées ; les données d'identification des personnes à contacter sont conservées {}.",
            years(s.answers_retention_years),
            years(s.identification_retention_years)
        ),
    ));
    out.push(p(
        NoticePart::Rights,
        "Vos droits",
        format!(
            "En application du règlement général sur la protection des données (RGPD) et de la loi n° 78-17 du 6 janvier 1978 relative à l'informatique, aux fichiers et aux libertés, vous disposez d'un droit d'accès, de rectification et de limitation du traitement des données vous concernant, à exercer auprès de {}. Vous pouvez contacter le délégué à la protection des données : {}. Vous pouvez introduire une réclamation auprès de la Commission nationale de l'informatique et des libertés (Cnil).",
            s.rights_contact, s.dpo_contact
        ),
    ));
    Ok(out)
}

fn years(n: u32) -> String {
    if n == 1 {
        "1 an".into()
    } else {
        format!("{n} ans")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standing(mandatory: bool) -> LegalStanding {
        LegalStanding {
            survey_name: "L'enquête sur les bureaux d'aide aux victimes".into(),
            producer: "le service statistique ministériel de la Justice (SSER)".into(),
            cnis: CnisOpinion {
                date: jiff::civil::date(2024, 11, 21),
                reference: "n° 2024-117/SPSP".into(),
            },
            label: true,
            visa: Some(Visa {
                number: "2026X004JU".into(),
                year: 2026,
                minister: "du ministre de la Justice".into(),
                arrete: Some(jiff::civil::date(2025, 11, 25)),
            }),
            mandatory,
            recipient: "le SSER".into(),
            answers_retention_years: 10,
            identification_retention_years: 2,
            rights_contact: "sser-enquetes@justice.gouv.fr".into(),
            dpo_contact: "dpd@justice.gouv.fr".into(),
        }
    }

    #[test]
    fn the_notice_follows_the_official_order_with_every_element() {
        let n = legal_notice(&standing(true)).unwrap();
        let parts: Vec<NoticePart> = n.iter().map(|p| p.part).collect();
        assert_eq!(
            parts,
            [
                NoticePart::Cnis,
                NoticePart::Law,
                NoticePart::Visa,
                NoticePart::Obligation,
                NoticePart::Secrecy,
                NoticePart::Retention,
                NoticePart::Rights
            ]
        );
        assert!(n[0].text.contains("21 novembre 2024") && n[0].text.contains("n° 2024-117/SPSP"));
        assert!(n[1].text.contains("loi n° 51-711 du 7 juin 1951"));
        assert!(
            n[2].text.contains("2026X004JU")
                && n[2].text.contains("l'année 2026")
                && n[2].text.contains("25 novembre 2025")
                && n[2].text.contains("label")
        );
        assert!(n[3].text.contains("obligatoire") && n[3].text.contains("131-13"));
        assert!(n[4].text.contains("secret statistique") && n[4].text.contains("le SSER"));
        assert!(n[5].text.contains("10 ans") && n[5].text.contains("2 ans"));
        assert!(
            n[6].text.contains("RGPD")
                && n[6].text.contains("dpd@justice.gouv.fr")
                && n[6].text.contains("sser-enquetes@")
        );
    }

    #[test]
    fn an_optional_survey_states_no_penalty() {
        let n = legal_notice(&standing(false)).unwrap();
        let ob = n.iter().find(|p| p.part == NoticePart::Obligation).unwrap();
        assert!(ob.text.contains("facultative") && !ob.text.contains("amende"));
        let mut s = standing(false);
        s.visa = None;
        s.label = false;
        let n = legal_notice(&s).unwrap();
        assert!(!n.iter().any(|p| p.part == NoticePart::Visa));
        assert_eq!(n.len(), 6);
    }

    #[test]
    fn unlawful_standings_are_refused() {
        let mut s = standing(true);
        s.visa = None;
        assert_eq!(legal_notice(&s), Err(NoticeError::MandatoryWithoutVisa));
        let mut s = standing(true);
        s.dpo_contact = " ".into();
        assert_eq!(legal_notice(&s), Err(NoticeError::Empty("dpo_contact")));
        let mut s = standing(false);
        s.answers_retention_years = 1;
        assert!(
            legal_notice(&s)
                .unwrap()
                .iter()
                .any(|p| p.part == NoticePart::Retention && p.text.contains("conservées 1 an "))
        );
    }
}
