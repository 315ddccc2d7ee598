//! Survey mail as a person uses it: `justat mail-sink` receiving what `justat mail-test` sends
//! through the configured server, and the postal invitation letter compiled to PDF.

use crate::harness::{justat_binary, justat_in, output_text};
use std::io::BufRead;
use std::process::{Command, Stdio};

/// Kills the sink process it holds when the test ends, whatever its outcome.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_mail_sink_command_receives_what_mail_test_sends_through_the_configured_server() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("courriels");
    // Without a server, a send says what to configure.
    let refused = justat_in(
        dir.path(),
        &["mail-test", "--to", "bav.lyon@justice.example"],
        None,
    );
    assert!(!refused.status.success());
    assert!(
        output_text(&refused).contains("smtp_host"),
        "{}",
        output_text(&refused)
    );

    let mut child = Command::new(justat_binary())
        .args(["mail-sink", "--listen", "127.0.0.1:0", "--dir"])
        .arg(&inbox)
        .env("JUSTAT_LOG", "warn")
        .env_remove("JUSTAT_CONFIG")
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let sink = Running(child);
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .unwrap();
    let addr: std::net::SocketAddr = line
        .strip_prefix("mail sink listening on ")
        .and_then(|l| l.split(',').next())
        .unwrap_or_else(|| panic!("{line}"))
        .parse()
        .unwrap();

    std::fs::write(
        dir.path().join("justat.toml"),
        format!(
            "smtp_host = \"127.0.0.1\"\nsmtp_port = {}\nmail_from = \"SSER <enquetes@justice.example>\"\n",
            addr.port()
        ),
    )
    .unwrap();
    let sent = justat_in(
        dir.path(),
        &["mail-test", "--to", "bav.lyon@justice.example"],
        None,
    );
    assert!(sent.status.success(), "{}", output_text(&sent));
    let files: Vec<_> = std::fs::read_dir(&inbox)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let eml = std::fs::read_to_string(&files[0]).unwrap();
    assert!(eml.starts_with("Return-Path: <enquetes@justice.example>\r\nDelivered-To: <bav.lyon@justice.example>\r\n"), "{eml}");
    assert!(
        eml.contains("\r\nTo: bav.lyon@justice.example\r\n"),
        "{eml}"
    );
    drop(sink);
}

#[test]
fn the_postal_invitation_compiles_to_a_pdf_with_address_code_portal_and_legal_notice() {
    let letter = justat_render::SurveyLetter {
        address: vec![
            "Tribunal judiciaire de Lyon".into(),
            "Bureau d’aide aux victimes".into(),
            "67 rue Servient".into(),
            "69003 LYON".into(),
        ],
        dated: jiff::civil::date(2026, 1, 12),
        survey_title: "Activité des bureaux d’aide aux victimes".into(),
        period: "2025".into(),
        close_date: jiff::civil::date(2026, 3, 1),
        portal_url: "https://enquetes.justice.example/repondre".into(),
        access_code: "K7QF-2M9X-PL4D".into(),
        legal_notice: vec![
            "Vu l’avis favorable du Conseil national de l’information statistique, cette enquête est reconnue d’intérêt général et de qualité statistique.".into(),
            "Les réponses sont protégées par le secret statistique (loi n° 51-711 du 7 juin 1951).".into(),
        ],
    };
    let doc = justat_render::survey_letter(&letter).unwrap();
    let pdf = justat_pdf::compile(&doc.source, &doc.files).unwrap();
    assert_eq!(justat_pdf::page_count(&pdf).unwrap(), 1);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lettre.pdf");
    std::fs::write(&file, &pdf).unwrap();
    let out = Command::new("pdftotext")
        .arg(&file)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is installed");
    // Words only: line breaks and justification spacing are the layout's.
    let text = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for expected in [
        "Tribunal judiciaire de Lyon",
        "69003 LYON",
        "Paris, le 12 janvier 2026",
        "« Activité des bureaux d’aide aux victimes »",
        "avant le 1er mars 2026",
        "https://enquetes.justice.example/repondre",
        "K7QF-2M9X-PL4D",
        "Mentions légales",
        "loi n° 51-711 du 7 juin 1951",
    ] {
        assert!(text.contains(expected), "{expected} not in: {text}");
    }
    // Every text is shown as itself: no Typst literal's quotes (which Typst would typeset
    // as French quotation marks around each sentence), no markup.
    assert!(
        text.contains(
            "Pour répondre, rendez-vous sur le portail de l’enquête : \
             https://enquetes.justice.example/repondre et saisissez votre code d’accès : K7QF-2M9X-PL4D"
        ),
        "{text}"
    );
    assert!(!text.contains('#'), "{text}");
}
