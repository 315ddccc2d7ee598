//! The French messages of a survey: the invitation and each reminder, as a subject, a plain
//! text and an HTML alternative. Pure functions of their inputs, so each wording is tested on
//! its exact text.

use jiff::civil::Date;
use justat_model::french;
use std::fmt::Write;

/// The longest survey title, period or unit name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// The longest short legal notice accepted, in characters.
pub const MAX_NOTICE_CHARS: usize = 2_000;
/// The longest portal address accepted, in characters.
pub const MAX_URL_CHARS: usize = 500;
/// The longest access code accepted, in characters.
pub const MAX_CODE_CHARS: usize = 128;
/// The highest reminder number: beyond it a plan is surely wrong.
pub const MAX_REMINDER: u32 = 20;

/// Who signs every message.
pub const SIGNATURE: &str = "Le service statistique ministériel de la Justice (SSER)";

/// What every message of one campaign says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignMail {
    /// The survey's title, as the respondents know it: `Activité des bureaux d’aide aux victimes`.
    pub survey_title: String,
    /// The period the answers cover: `2025`.
    pub period: String,
    /// The last day answers are accepted (Paris calendar).
    pub close_date: Date,
    /// The respondent portal's address (`https://…`), where the access code is entered.
    pub portal_url: String,
    /// The legal notice's short form (Cnis opinion, visa, obligation, secret), one paragraph.
    pub legal_notice: String,
}

/// The unit a message is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitMail {
    /// The unit's name: `Tribunal judiciaire de Lyon`.
    pub unit_name: String,
    /// The unit's access code to the portal, in clear (only its hash is stored).
    pub access_code: String,
}

/// A unit known by its name and identifier only: the sender of a reminder has no access code
/// in clear (the store keeps only their hashes), so the message points at the invitation
/// letter that carried it, and at how to get a new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitIdentity {
    /// The unit's name: `Tribunal judiciaire de Lyon`.
    pub unit_name: String,
    /// The unit's identifier in the register: `1/167`.
    pub unit_code: String,
}

/// How a message tells the unit to open the portal.
enum Access<'a> {
    /// With its access code, in clear.
    Code(&'a str),
    /// By its identifier, the code being on the invitation letter.
    Letter { unit_code: &'a str },
}

/// Which message of a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MailKind {
    /// The first message: the invitation to answer.
    Invitation,
    /// Reminder number `n` (1 for the first), sent to units that have not answered.
    Reminder(u32),
}

/// A message ready to send: subject, plain text and its HTML alternative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composed {
    /// The subject line.
    pub subject: String,
    /// The plain-text body (lines end with `\n`).
    pub text: String,
    /// The same content as an HTML document.
    pub html: String,
}

/// Why a message cannot be composed: an input out of its limits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComposeError {
    /// A field is empty.
    #[error("le champ « {field} » est vide")]
    Empty {
        /// The field's name.
        field: &'static str,
    },
    /// A field is longer than its limit.
    #[error("le champ « {field} » dépasse {max} caractères ({found})")]
    TooLong {
        /// The field's name.
        field: &'static str,
        /// Its limit.
        max: usize,
        /// Its length.
        found: usize,
    },
    /// A one-line field holds a line break or another control character.
    #[error("le champ « {field} » contient un caractère de contrôle (retour à la ligne…)")]
    ControlCharacter {
        /// The field's name.
        field: &'static str,
    },
    /// The portal's address is not an http(s) address.
    #[error("l’adresse du portail « {url} » ne commence pas par https:// ou http://")]
    PortalUrl {
        /// The address given.
        url: String,
    },
    /// The access code holds something other than visible ASCII characters.
    #[error("le code d’accès ne doit contenir que des caractères ASCII visibles")]
    AccessCode,
    /// A reminder number out of 1..=MAX_REMINDER.
    #[error("relance n° {number} : le numéro d’une relance va de 1 à {MAX_REMINDER}")]
    ReminderNumber {
        /// The number given.
        number: u32,
    },
}

/// The invitation or reminder `kind` of `campaign` for `unit`, with its access code.
pub fn compose(
    kind: MailKind,
    campaign: &CampaignMail,
    unit: &UnitMail,
) -> Result<Composed, ComposeError> {
    check(campaign, &unit.unit_name)?;
    one_line("code d’accès", &unit.access_code, MAX_CODE_CHARS)?;
    if !unit.access_code.chars().all(|c| c.is_ascii_graphic()) {
        return Err(ComposeError::AccessCode);
    }
    render(
        kind,
        campaign,
        &unit.unit_name,
        Access::Code(&unit.access_code),
    )
}

/// Reminder `number` of `campaign` for a unit known by its identifier: the message names the
/// identifier and the portal, says the access code is on the invitation letter, and that the
/// service sends a new one to whoever replies with the identifier (the old one then stops
/// working). What a reminder sent by the server says: it never holds a code in clear.
pub fn compose_reminder_by_identifier(
    number: u32,
    campaign: &CampaignMail,
    unit: &UnitIdentity,
) -> Result<Composed, ComposeError> {
    check(campaign, &unit.unit_name)?;
    one_line("identifiant de l’unité", &unit.unit_code, MAX_CODE_CHARS)?;
    render(
        MailKind::Reminder(number),
        campaign,
        &unit.unit_name,
        Access::Letter {
            unit_code: &unit.unit_code,
        },
    )
}

fn render(
    kind: MailKind,
    campaign: &CampaignMail,
    unit_name: &str,
    access: Access<'_>,
) -> Result<Composed, ComposeError> {
    if let MailKind::Reminder(n) = kind
        && !(1..=MAX_REMINDER).contains(&n)
    {
        return Err(ComposeError::ReminderNumber { number: n });
    }
    let close = french::day_of(campaign.close_date);
    let survey = format!("« {} » ({})", campaign.survey_title, campaign.period);
    let subject = match kind {
        MailKind::Invitation => format!("Enquête {survey} : invitation à répondre"),
        MailKind::Reminder(n) => {
            format!("Relance n° {n} — Enquête {survey} : réponse attendue avant le {close}")
        }
    };
    let opening = match kind {
        MailKind::Invitation => format!(
            "Le service statistique ministériel de la Justice réalise l’enquête {survey}. \
             Nous vous remercions d’y répondre pour {unit_name} avant le {close}."
        ),
        MailKind::Reminder(n) => format!(
            "Sauf erreur de notre part, nous n’avons pas encore reçu la réponse de {unit_name} à \
             l’enquête {survey} (relance n° {n}). Votre réponse est attendue avant le {close}."
        ),
    };
    // The access lines: the introduction, the portal, then how to get in (its part in bold in
    // HTML, as written after `lead`), then a last sentence.
    let (lead, key, last) = match access {
        Access::Code(code) => (
            "et saisissez votre code d’accès : ".to_string(),
            code.to_string(),
            format!("Ce code est personnel : il ne donne accès qu’aux réponses de {unit_name}."),
        ),
        Access::Letter { unit_code } => (
            format!(
                "et saisissez le code d’accès indiqué sur le courrier d’invitation adressé à {unit_name}, identifiant "
            ),
            unit_code.to_string(),
            format!(
                "Code perdu : répondez à ce message en indiquant l’identifiant {unit_code} ; le service vous adressera un nouveau code (l’ancien cessera alors de fonctionner)."
            ),
        ),
    };
    let access = [
        "Pour répondre, rendez-vous sur le portail de l’enquête :".to_string(),
        campaign.portal_url.clone(),
        format!("{lead}{key}"),
        last,
    ];
    let closing = match kind {
        MailKind::Invitation => None,
        MailKind::Reminder(_) => Some(
            "Si votre réponse nous est parvenue entre-temps, ne tenez pas compte de ce message.",
        ),
    };

    let mut text = String::new();
    let _ = writeln!(text, "Madame, Monsieur,\n\n{opening}\n");
    for line in &access {
        let _ = writeln!(text, "{line}");
    }
    let _ = writeln!(text, "\n{}", campaign.legal_notice);
    if let Some(c) = closing {
        let _ = writeln!(text, "\n{c}");
    }
    let _ = writeln!(text, "\n{SIGNATURE}");

    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"fr\">\n<head><meta charset=\"utf-8\"><title>{}</title></head>\n<body>\n",
        escape(&subject)
    );
    let _ = writeln!(
        html,
        "<p>Madame, Monsieur,</p>\n<p>{}</p>",
        escape(&opening)
    );
    let _ = writeln!(
        html,
        "<p>{}<br>\n<a href=\"{url}\">{url}</a><br>\n{}<strong>{}</strong><br>\n{}</p>",
        escape(&access[0]),
        escape(&lead),
        escape(&key),
        escape(&access[3]),
        url = escape(&campaign.portal_url),
    );
    let _ = writeln!(
        html,
        "<p><small>{}</small></p>",
        escape(&campaign.legal_notice)
    );
    if let Some(c) = closing {
        let _ = writeln!(html, "<p>{}</p>", escape(c));
    }
    let _ = writeln!(html, "<p>{}</p>\n</body>\n</html>", escape(SIGNATURE));
    Ok(Composed {
        subject,
        text,
        html,
    })
}

/// A message that only tries the configuration (`justat mail-test`): it names no survey.
pub fn trial() -> Composed {
    let body = "Ce message d’essai vérifie que Justat peut envoyer les invitations et les relances des enquêtes par ce serveur de messagerie. Il n’appelle aucune action.";
    Composed {
        subject: "Justat : message d’essai".to_string(),
        text: format!("{body}\n\n{SIGNATURE}\n"),
        html: format!(
            "<!DOCTYPE html>\n<html lang=\"fr\">\n<head><meta charset=\"utf-8\"><title>{}</title></head>\n<body>\n<p>{}</p>\n<p>{}</p>\n</body>\n</html>\n",
            escape("Justat : message d’essai"),
            escape(body),
            escape(SIGNATURE)
        ),
    }
}

/// Text made safe inside HTML elements and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn check(campaign: &CampaignMail, unit_name: &str) -> Result<(), ComposeError> {
    one_line("titre de l’enquête", &campaign.survey_title, MAX_NAME_CHARS)?;
    one_line("période", &campaign.period, MAX_NAME_CHARS)?;
    one_line("nom de l’unité", unit_name, MAX_NAME_CHARS)?;
    one_line("adresse du portail", &campaign.portal_url, MAX_URL_CHARS)?;
    one_line("mentions légales", &campaign.legal_notice, MAX_NOTICE_CHARS)?;
    if !(campaign.portal_url.starts_with("https://") || campaign.portal_url.starts_with("http://"))
    {
        return Err(ComposeError::PortalUrl {
            url: campaign.portal_url.clone(),
        });
    }
    Ok(())
}

fn one_line(field: &'static str, value: &str, max: usize) -> Result<(), ComposeError> {
    if value.trim().is_empty() {
        return Err(ComposeError::Empty { field });
    }
    let found = value.chars().count();
    if found > max {
        return Err(ComposeError::TooLong { field, max, found });
    }
    if value.chars().any(char::is_control) {
        return Err(ComposeError::ControlCharacter { field });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn campaign() -> CampaignMail {
        CampaignMail {
            survey_title: "Activité des bureaux d’aide aux victimes".into(),
            period: "2025".into(),
            close_date: Date::constant(2026, 3, 1),
            portal_url: "https://enquetes.justice.example/repondre".into(),
            legal_notice: "Enquête reconnue d’intérêt général et de qualité statistique, visa n° 2026A001JU. Réponses couvertes par le secret statistique.".into(),
        }
    }

    fn unit() -> UnitMail {
        UnitMail {
            unit_name: "Tribunal judiciaire de Lyon".into(),
            access_code: "K7QF-2M9X-PL4D".into(),
        }
    }

    #[test]
    fn the_invitation_says_title_period_close_date_portal_code_and_notice() {
        let m = compose(MailKind::Invitation, &campaign(), &unit()).unwrap();
        assert_eq!(
            m.subject,
            "Enquête « Activité des bureaux d’aide aux victimes » (2025) : invitation à répondre"
        );
        assert_eq!(
            m.text,
            "Madame, Monsieur,\n\n\
             Le service statistique ministériel de la Justice réalise l’enquête « Activité des bureaux d’aide aux victimes » (2025). Nous vous remercions d’y répondre pour Tribunal judiciaire de Lyon avant le 1er mars 2026.\n\n\
             Pour répondre, rendez-vous sur le portail de l’enquête :\n\
             https://enquetes.justice.example/repondre\n\
             et saisissez votre code d’accès : K7QF-2M9X-PL4D\n\
             Ce code est personnel : il ne donne accès qu’aux réponses de Tribunal judiciaire de Lyon.\n\n\
             Enquête reconnue d’intérêt général et de qualité statistique, visa n° 2026A001JU. Réponses couvertes par le secret statistique.\n\n\
             Le service statistique ministériel de la Justice (SSER)\n"
        );
        assert_eq!(
            m.html,
            "<!DOCTYPE html>\n<html lang=\"fr\">\n<head><meta charset=\"utf-8\"><title>Enquête « Activité des bureaux d’aide aux victimes » (2025) : invitation à répondre</title></head>\n<body>\n\
             <p>Madame, Monsieur,</p>\n\
             <p>Le service statistique ministériel de la Justice réalise l’enquête « Activité des bureaux d’aide aux victimes » (2025). Nous vous remercions d’y répondre pour Tribunal judiciaire de Lyon avant le 1er mars 2026.</p>\n\
             <p>Pour répondre, rendez-vous sur le portail de l’enquête :<br>\n\
             <a href=\"https://enquetes.justice.example/repondre\">https://enquetes.justice.example/repondre</a><br>\n\
             et saisissez votre code d’accès : <strong>K7QF-2M9X-PL4D</strong><br>\n\
             Ce code est personnel : il ne donne accès qu’aux réponses de Tribunal judiciaire de Lyon.</p>\n\
             <p><small>Enquête reconnue d’intérêt général et de qualité statistique, visa n° 2026A001JU. Réponses couvertes par le secret statistique.</small></p>\n\
             <p>Le service statistique ministériel de la Justice (SSER)</p>\n</body>\n</html>\n"
        );
    }

    #[test]
    fn a_reminder_carries_its_number_and_the_already_answered_sentence() {
        let m = compose(MailKind::Reminder(2), &campaign(), &unit()).unwrap();
        assert_eq!(
            m.subject,
            "Relance n° 2 — Enquête « Activité des bureaux d’aide aux victimes » (2025) : réponse attendue avant le 1er mars 2026"
        );
        assert!(m.text.starts_with(
            "Madame, Monsieur,\n\nSauf erreur de notre part, nous n’avons pas encore reçu la réponse de Tribunal judiciaire de Lyon à l’enquête « Activité des bureaux d’aide aux victimes » (2025) (relance n° 2). Votre réponse est attendue avant le 1er mars 2026.\n\n"
        ));
        assert!(m.text.ends_with(
            "\n\nSi votre réponse nous est parvenue entre-temps, ne tenez pas compte de ce message.\n\nLe service statistique ministériel de la Justice (SSER)\n"
        ));
        assert!(m.text.contains("code d’accès : K7QF-2M9X-PL4D\n"));
        assert!(m.html.contains(
            "<p>Si votre réponse nous est parvenue entre-temps, ne tenez pas compte de ce message.</p>"
        ));
        let invitation = compose(MailKind::Invitation, &campaign(), &unit()).unwrap();
        assert!(!invitation.text.contains("entre-temps"));
    }

    #[test]
    fn html_escapes_what_the_inputs_hold() {
        let mut c = campaign();
        c.survey_title = "Tribunaux <b>& \"cours\"</b>".into();
        c.portal_url = "https://x.example/?a=1&b=\"2\"".into();
        let m = compose(MailKind::Invitation, &c, &unit()).unwrap();
        assert!(
            m.html
                .contains("« Tribunaux &lt;b&gt;&amp; &quot;cours&quot;&lt;/b&gt; »")
        );
        assert!(
            m.html
                .contains("href=\"https://x.example/?a=1&amp;b=&quot;2&quot;\"")
        );
        assert!(!m.html.contains("<b>"));
        // The plain text keeps them as written.
        assert!(m.text.contains("« Tribunaux <b>& \"cours\"</b> »"));
    }

    #[test]
    fn inputs_out_of_their_limits_are_refused_by_name() {
        let ok = |c: &CampaignMail, u: &UnitMail| compose(MailKind::Invitation, c, u);
        let mut c = campaign();
        c.survey_title = " ".into();
        assert_eq!(
            ok(&c, &unit()),
            Err(ComposeError::Empty {
                field: "titre de l’enquête"
            })
        );
        let mut c = campaign();
        c.period = "x".repeat(MAX_NAME_CHARS);
        assert!(ok(&c, &unit()).is_ok());
        c.period = "é".repeat(MAX_NAME_CHARS + 1);
        assert_eq!(
            ok(&c, &unit()),
            Err(ComposeError::TooLong {
                field: "période",
                max: MAX_NAME_CHARS,
                found: MAX_NAME_CHARS + 1
            })
        );
        let mut u = unit();
        u.unit_name = "TJ\r\nBcc: x@example.org".into();
        assert_eq!(
            ok(&campaign(), &u),
            Err(ComposeError::ControlCharacter {
                field: "nom de l’unité"
            })
        );
        let mut c = campaign();
        c.portal_url = "javascript:alert(1)".into();
        assert!(matches!(
            ok(&c, &unit()),
            Err(ComposeError::PortalUrl { .. })
        ));
        let mut u = unit();
        u.access_code = "code avec espace".into();
        assert_eq!(ok(&campaign(), &u), Err(ComposeError::AccessCode));
        u.access_code = "A".repeat(MAX_CODE_CHARS + 1);
        assert!(matches!(
            ok(&campaign(), &u),
            Err(ComposeError::TooLong { .. })
        ));
        for (n, fine) in [
            (0, false),
            (1, true),
            (MAX_REMINDER, true),
            (MAX_REMINDER + 1, false),
        ] {
            let r = compose(MailKind::Reminder(n), &campaign(), &unit());
            assert_eq!(r.is_ok(), fine, "reminder {n}");
        }
    }

    #[test]
    fn a_reminder_by_identifier_holds_no_code_and_says_where_it_is_and_how_to_get_a_new_one() {
        let unit = UnitIdentity {
            unit_name: "Tribunal judiciaire de Lyon".into(),
            unit_code: "1/167".into(),
        };
        let m = compose_reminder_by_identifier(1, &campaign(), &unit).unwrap();
        assert_eq!(
            m.subject,
            "Relance n° 1 — Enquête « Activité des bureaux d’aide aux victimes » (2025) : réponse attendue avant le 1er mars 2026"
        );
        assert!(
            m.text.contains(
                "Pour répondre, rendez-vous sur le portail de l’enquête :\n\
                 https://enquetes.justice.example/repondre\n\
                 et saisissez le code d’accès indiqué sur le courrier d’invitation adressé à Tribunal judiciaire de Lyon, identifiant 1/167\n\
                 Code perdu : répondez à ce message en indiquant l’identifiant 1/167 ; le service vous adressera un nouveau code (l’ancien cessera alors de fonctionner).\n"
            ),
            "{}",
            m.text
        );
        assert!(!m.text.contains("votre code d’accès :"), "{}", m.text);
        assert!(
            m.html.contains("identifiant <strong>1/167</strong><br>"),
            "{}",
            m.html
        );
        let mut bad = unit.clone();
        bad.unit_code = "1/167\r\nBcc: x@example.org".into();
        assert_eq!(
            compose_reminder_by_identifier(1, &campaign(), &bad),
            Err(ComposeError::ControlCharacter {
                field: "identifiant de l’unité"
            })
        );
        assert!(compose_reminder_by_identifier(0, &campaign(), &unit).is_err());
    }
}
