//! Messages composed and sent with `Sender` to the sink, read back from its `.eml` files.

use crate::sink::{messages, start};
use justat_mail::{
    CampaignMail, MailKind, Outgoing, SendError, Sender, SettingsError, SinkLimits, SmtpSettings,
    UnitMail, compose,
};
use std::time::Duration;

fn settings(port: u16) -> SmtpSettings {
    SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        starttls: false,
        timeout: Duration::from_secs(5),
        from: "SSER enquêtes <enquetes@justice.example>".into(),
        reply_to: Some("assistance-enquetes@justice.example".into()),
    }
}

fn campaign() -> CampaignMail {
    CampaignMail {
        survey_title: "Activité des bureaux d’aide aux victimes".into(),
        period: "2025".into(),
        close_date: jiff::civil::date(2026, 3, 31),
        portal_url: "https://enquetes.justice.example/repondre".into(),
        legal_notice:
            "Vos réponses sont couvertes par le secret statistique (loi n° 51-711 du 7 juin 1951)."
                .into(),
    }
}

fn outgoing(kind: MailKind, to: &str, unit: &str, code: &str) -> Outgoing {
    let unit = UnitMail {
        unit_name: unit.into(),
        access_code: code.into(),
    };
    Outgoing {
        to: to.into(),
        message: compose(kind, &campaign(), &unit).unwrap(),
    }
}

/// The decoded quoted-printable text.
fn unquote(qp: &str) -> String {
    let bytes = qp.replace("=\r\n", "").into_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// The decoded bodies of a message's quoted-printable parts.
fn parts(eml: &str) -> Vec<String> {
    eml.split("\r\n--")
        .filter_map(|part| part.split_once("\r\n\r\n"))
        .filter(|(head, _)| head.contains("Content-Transfer-Encoding: quoted-printable"))
        .map(|(_, body)| unquote(body))
        .collect()
}

/// Base64 decoding, for the RFC 2047 words of a header.
fn unbase64(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes().filter(|c| *c != b'=') {
        bits = (bits << 6) | ALPHABET.iter().position(|a| *a == c).unwrap() as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}

/// A header's value, unfolded, its `=?utf-8?b?…?=` words decoded.
fn header(eml: &str, name: &str) -> Vec<String> {
    let head = eml.split("\r\n\r\n").next().unwrap().replace("\r\n ", " ");
    head.lines()
        .filter_map(|l| l.strip_prefix(&format!("{name}: ")))
        .map(|v| {
            v.split(' ')
                .map(|w| {
                    match w
                        .strip_prefix("=?utf-8?b?")
                        .and_then(|w| w.strip_suffix("?="))
                    {
                        Some(b) => String::from_utf8(unbase64(b)).unwrap(),
                        None => format!(" {w} "),
                    }
                })
                .collect::<String>()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

#[tokio::test]
async fn messages_reach_the_server_with_recipient_subject_code_and_french_text_intact() {
    let dir = tempfile::tempdir().unwrap();
    let addr = start(dir.path(), SinkLimits::default()).await;
    let sender = Sender::new(&settings(addr.port())).unwrap();
    let mails = [
        outgoing(
            MailKind::Invitation,
            "bav.lyon@justice.example",
            "Tribunal judiciaire de Lyon",
            "K7QF-2M9X-PL4D",
        ),
        outgoing(
            MailKind::Reminder(1),
            "bav.evry@justice.example",
            "Tribunal judiciaire d’Évry-Courcouronnes",
            "Z3RT-8WQN-AA01",
        ),
    ];
    let outcomes = sender.send_all(&mails).await;
    assert!(outcomes.iter().all(|o| o.result.is_ok()), "{outcomes:?}");
    let got = messages(dir.path());
    assert_eq!(got.len(), 2);
    for ((_, eml), mail) in got.iter().zip(&mails) {
        assert_eq!(header(eml, "Delivered-To"), [format!("<{}>", mail.to)]);
        assert_eq!(header(eml, "To"), std::slice::from_ref(&mail.to));
        assert_eq!(
            header(eml, "Subject"),
            std::slice::from_ref(&mail.message.subject)
        );
        assert_eq!(
            header(eml, "Reply-To"),
            ["assistance-enquetes@justice.example"]
        );
        assert!(eml.contains("Content-Type: multipart/alternative"));
        // Both parts, decoded, are exactly what was composed (line ends as sent: CRLF).
        let decoded = parts(eml);
        assert_eq!(decoded.len(), 2, "{eml}");
        assert!(
            decoded[0].starts_with(&mail.message.text.replace('\n', "\r\n")),
            "{decoded:?}"
        );
        assert!(
            decoded[1].starts_with(&mail.message.html.replace('\n', "\r\n")),
            "{decoded:?}"
        );
    }
    let evry = parts(&got[1].1).concat();
    assert!(evry.contains("code d’accès : Z3RT-8WQN-AA01"));
    assert!(evry.contains("Tribunal judiciaire d’Évry-Courcouronnes"));
    assert!(
        !evry.contains("K7QF-2M9X-PL4D"),
        "one unit's code in another's message"
    );
}

#[tokio::test]
async fn one_failed_recipient_never_stops_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let limits = SinkLimits {
        max_message_bytes: 4_000,
        ..SinkLimits::default()
    };
    let addr = start(dir.path(), limits).await;
    let sender = Sender::new(&settings(addr.port())).unwrap();
    let mut huge = outgoing(
        MailKind::Invitation,
        "gros@justice.example",
        "TJ de Paris",
        "AAAA",
    );
    huge.message.html = "é".repeat(5_000);
    let mails = [
        outgoing(
            MailKind::Invitation,
            "pas-une-adresse",
            "TJ de Lille",
            "BBBB",
        ),
        huge,
        outgoing(
            MailKind::Invitation,
            "bav.nantes@justice.example",
            "TJ de Nantes",
            "CCCC",
        ),
    ];
    let outcomes = sender.send_all(&mails).await;
    assert_eq!(outcomes.len(), 3);
    assert_eq!(outcomes[0].to, "pas-une-adresse");
    assert!(
        matches!(&outcomes[0].result, Err(SendError::Recipient { address }) if address == "pas-une-adresse")
    );
    match &outcomes[1].result {
        Err(
            e @ SendError::Smtp {
                permanent: true, ..
            },
        ) => {
            assert!(
                e.to_string().contains("gros@justice.example")
                    && e.to_string().contains("refus définitif"),
                "{e}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert!(outcomes[2].result.is_ok());
    let got = messages(dir.path());
    assert_eq!(got.len(), 1);
    assert_eq!(
        header(&got[0].1, "Delivered-To"),
        ["<bav.nantes@justice.example>"]
    );
}

#[tokio::test]
async fn an_unreachable_or_silent_server_fails_each_message_in_bounded_time() {
    // A port nothing listens on: every message fails as a temporary failure, none is lost.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let sender = Sender::new(&settings(port)).unwrap();
    let mails = [
        outgoing(MailKind::Invitation, "a@justice.example", "TJ A", "AAAA"),
        outgoing(MailKind::Invitation, "b@justice.example", "TJ B", "BBBB"),
    ];
    let outcomes = sender.send_all(&mails).await;
    assert!(
        outcomes.iter().all(|o| matches!(
            o.result,
            Err(SendError::Smtp {
                permanent: false,
                ..
            })
        )),
        "{outcomes:?}"
    );

    // A server that accepts and never speaks: the timeout ends the wait.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut kept = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            kept.push(s);
        }
    });
    let mut s = settings(port);
    s.timeout = Duration::from_secs(1);
    let sender = Sender::new(&s).unwrap();
    let started = std::time::Instant::now();
    let outcomes = sender.send_all(&mails[..1]).await;
    assert!(
        matches!(
            outcomes[0].result,
            Err(SendError::Timeout { seconds: 1, .. })
        ),
        "{outcomes:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(4));
    held.abort();
}

#[test]
fn settings_that_send_nowhere_or_cannot_be_honoured_are_refused_clearly() {
    let mut s = settings(25);
    s.host = String::new();
    let e = Sender::new(&s).unwrap_err();
    assert!(matches!(e, SettingsError::NoServer));
    assert!(e.to_string().contains("smtp_host"), "{e}");
    let mut s = settings(25);
    s.starttls = true;
    assert!(matches!(
        Sender::new(&s).unwrap_err(),
        SettingsError::StartTlsUnavailable
    ));
    let mut s = settings(25);
    s.from = "pas une adresse".into();
    assert!(matches!(
        Sender::new(&s).unwrap_err(),
        SettingsError::Address {
            field: "mail_from",
            ..
        }
    ));
    let mut s = settings(25);
    s.reply_to = Some("@".into());
    assert!(matches!(
        Sender::new(&s).unwrap_err(),
        SettingsError::Address {
            field: "mail_reply_to",
            ..
        }
    ));
    let mut s = settings(25);
    s.timeout = Duration::ZERO;
    assert!(matches!(
        Sender::new(&s).unwrap_err(),
        SettingsError::Timeout
    ));
}
