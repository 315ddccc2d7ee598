//! Issue 23, item 13: every rule and every error names the line a text editor shows, whatever
//! the line endings (LF, CRLF, old Mac CR), with quoted fields holding line breaks and empty
//! lines in between.

use crate::env::{Env, PENAL_HEADER, column, json, penal_row};
use justat_model::DeliveryStatus;
use justat_model::text_encoding::{Encoding, encode};
use justat_store::{Delivery, LakeKind};

const ENDINGS: [(&str, &str); 3] = [("LF", "\n"), ("CRLF", "\r\n"), ("CR", "\r")];

/// A penal extract (CP850) whose lines are `lines` joined by `eol`; line 1 is the header.
fn penal_file(lines: &[String], eol: &str) -> Vec<u8> {
    let mut text = format!("{PENAL_HEADER}{eol}");
    for l in lines {
        text.push_str(l);
        text.push_str(eol);
    }
    encode(&text, Encoding::Cp850).unwrap()
}

/// A fault found: its line and its rule.
type Fault = (i64, String);

/// (line, rule) of every quarantined row, and of every example in the report.
fn faults(env: &Env, d: &Delivery) -> (Vec<Fault>, Vec<Fault>) {
    let q = env.read(
        LakeKind::Quarantine,
        d.quarantine_sha256.as_ref().expect("a quarantine"),
    );
    let mut quarantined: Vec<Fault> = column(&q, "line")
        .iter()
        .map(|l| l.parse().unwrap())
        .zip(column(&q, "rule"))
        .collect();
    quarantined.sort();
    let mut examples = Vec::new();
    for rule in json(&d.report)["rules"].as_array().unwrap() {
        for ex in rule["examples"].as_array().unwrap() {
            examples.push((
                ex["line"].as_i64().unwrap(),
                rule["rule"].as_str().unwrap().to_string(),
            ));
        }
    }
    examples.sort();
    (quarantined, examples)
}

fn expected(pairs: &[(i64, &str)]) -> Vec<Fault> {
    let mut v: Vec<Fault> = pairs.iter().map(|(l, r)| (*l, r.to_string())).collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread")]
async fn every_rule_names_the_editor_line_with_lf_crlf_and_cr_endings() {
    for (name, eol) in ENDINGS {
        let env = Env::new().await;
        // Data row i is at line i + 2.
        let mut rows: Vec<String> = (0..200).map(penal_row).collect();
        rows[8] = rows[8].rsplit_once(';').unwrap().0.to_string(); // line 10: ragged
        rows[18] = rows[18].replace("02/01/2024", "2024-01-02"); // line 20: not a date
        rows[28] = rows[28].replacen("A28;", ";", 1); // line 30: no case id
        rows[38] = rows[38].replacen(";D;", ";Z;", 1); // line 40: unknown legal class
        rows[48] = rows[48].replace("15/02/2024", "01/01/2024"); // line 50: dates reversed
        rows[58] = rows[0].clone(); // line 60: duplicate of line 2
        let d = env
            .deliver("penal", "penal.csv", &penal_file(&rows, eol))
            .await;
        assert_eq!(
            (d.rows_read, d.rows_rejected),
            (200, 6),
            "{name}: {}",
            json(&d.report)
        );
        let want = expected(&[
            (10, "COLUMN_COUNT"),
            (20, "TYPE"),
            (30, "REQUIRED"),
            (40, "CODELIST"),
            (50, "R_DATE_ORDER"),
            (60, "DUPLICATE_KEY"),
        ]);
        let (quarantined, examples) = faults(&env, &d);
        assert_eq!(quarantined, want, "{name}: quarantine");
        assert_eq!(examples, want, "{name}: report");
        let q = env.read(LakeKind::Quarantine, d.quarantine_sha256.as_ref().unwrap());
        assert!(
            column(&q, "message")
                .iter()
                .any(|m| m.contains("doublon de la ligne 2 ")),
            "{name}"
        );
        let staged = env.read(LakeKind::Staging, d.staging_sha256.as_ref().unwrap());
        let lines = column(&staged, "_line");
        assert_eq!(
            (lines[0].as_str(), lines.last().unwrap().as_str()),
            ("2", "201"),
            "{name}: staged rows keep their editor line"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_quoted_line_break_counts_for_the_records_after_it() {
    for (name, eol) in ENDINGS {
        let env = Env::new().await;
        let mut lines: Vec<String> = (0..100).map(penal_row).collect();
        // Line 5 opens a quoted case id that ends on line 6, and has a bad date: line 5.
        lines[3] = lines[3]
            .replacen("A3;", &format!("\"A3{eol}bis\";"), 1)
            .replace("02/01/2024", "32/01/2024");
        // The record after it is at line 7: ragged.
        lines[4] = lines[4].rsplit_once(';').unwrap().0.to_string();
        // An empty line at 12, then an unknown court at 13.
        lines[9] = String::new();
        lines[10] = lines[10].replace(";TJ_1_", ";TJ_9_");
        // Two line breaks in one quoted field over lines 20-22; at 23 a duplicate of line 19.
        lines[17] = lines[17].replacen("A17;", &format!("\"A{eol}17{eol}ter\";"), 1);
        lines[18] = lines[16].clone();
        let d = env
            .deliver("penal", "penal.csv", &penal_file(&lines, eol))
            .await;
        let want = expected(&[
            (5, "TYPE"),
            (7, "COLUMN_COUNT"),
            (13, "CODELIST"),
            (23, "DUPLICATE_KEY"),
        ]);
        let (quarantined, examples) = faults(&env, &d);
        assert_eq!(quarantined, want, "{name}: quarantine");
        assert_eq!(examples, want, "{name}: report");
        let q = env.read(LakeKind::Quarantine, d.quarantine_sha256.as_ref().unwrap());
        assert!(
            column(&q, "message")
                .iter()
                .any(|m| m.contains("doublon de la ligne 19 ")),
            "{name}: {:?}",
            column(&q, "message")
        );
        let staged = env.read(LakeKind::Staging, d.staging_sha256.as_ref().unwrap());
        let case_ids = column(&staged, "case_id");
        assert!(
            case_ids.contains(&format!("A{eol}17{eol}ter")),
            "{name}: the quoted line breaks are kept byte for byte"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_encoding_error_names_the_editor_line_of_the_byte() {
    let header = "conviction_id;court;court_label;judgement_date;main_natinf;offence_count;main_sentence;prison_months;fine_eur;sex;age;nationality;repeat_offence";
    let row = |id: usize, label: &str| {
        format!("C{id};TJ_1_119;{label};12/03/2024;7151;2;AMENDE_FERME;;350,50;M;34;FR;0\r\n")
    };
    // 0x81 has no character in Windows-1252, the declared encoding.
    for (label, line) in [
        // A quoted label over lines 3-4, then the bad byte on line 6.
        ("\"Tribunal\r\nd'Agen\"", 6),
        // The bad byte on the second line of a quoted label starting at line 3.
        ("\"Tribunal\r\nd'Ag\u{81}en\"", 4),
    ] {
        let env = Env::new().await;
        let mut text = format!("{header}\r\n{}", row(1, "Agen"));
        text.push_str(&row(2, label));
        text.push_str(&row(3, "Agen"));
        text.push_str(&row(4, "Ag\u{81}en"));
        // U+0081 in a Rust string: written as the single byte 0x81 below.
        let bytes: Vec<u8> = text
            .chars()
            .map(|c| if c == '\u{81}' { 0x81 } else { c as u8 })
            .collect();
        let d = env.deliver("cjn", "cjn.csv", &bytes).await;
        assert_eq!(d.status, DeliveryStatus::Ko);
        let why = d.report.unreadable.as_deref().unwrap();
        assert!(
            why.contains(&format!("ligne {line}, colonne court_label")),
            "{why}"
        );
    }
}
