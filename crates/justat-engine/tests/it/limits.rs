//! Issue 23, item 11: a delivery beyond a reading limit is refused early, at the line where it
//! goes beyond, with its original file and its report kept.

use crate::env::{Env, PENAL_HEADER, json, penal_csv, penal_row};
use justat_engine::ingest::add_delivery_within;
use justat_engine::reader::ReadLimits;
use justat_engine::source::Source;
use justat_model::DeliveryStatus;
use justat_store::{Actor, Delivery, LakeKind};
use std::io::Write;

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// `n` pseudo-random lowercase letters: compresses about 1.6:1, so no ratio limit is reached.
pub fn letters(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b'a' + (x % 26) as u8
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gzip_of_one_huge_line_is_refused_at_that_line_and_kept() {
    let env = Env::new().await;
    let mut text = format!("{PENAL_HEADER}\r\n{}\r\n", penal_row(1)).into_bytes();
    text.extend(letters(24 << 20, 7));
    text.extend_from_slice(b"\r\n");
    let gz = gzip(&text);
    let d = env.deliver("penal", "huge.csv.gz", &gz).await;
    assert_eq!(d.status, DeliveryStatus::Ko);
    let why = d.report.unreadable.as_deref().unwrap();
    assert!(
        why.contains("huge.csv.gz : ligne 3 ") && why.contains("1 Mio"),
        "{why}"
    );
    // Nothing lost: the original, byte for byte, and the report of what was read.
    let original = env.lake.path(LakeKind::Delivery, &d.sha256, "csv.gz");
    assert_eq!(std::fs::read(&original).unwrap(), gz);
    assert_eq!(d.rows_read, 1);
    assert_eq!(json(&d.report)["status"], "KO");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_huge_uncompressed_line_is_refused_at_that_line() {
    let env = Env::new().await;
    let mut bytes = format!("{PENAL_HEADER}\n").into_bytes();
    bytes.extend(std::iter::repeat_n(b'x', 100 << 20));
    bytes.push(b'\n');
    let d = env.deliver("penal", "huge.csv", &bytes).await;
    assert_eq!(d.status, DeliveryStatus::Ko);
    let why = d.report.unreadable.as_deref().unwrap();
    assert!(why.starts_with("huge.csv : ligne 2 : "), "{why}");
    assert!(json(&d.report)["rules"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unclosed_quote_is_refused_where_its_record_starts() {
    let env = Env::new().await;
    let mut text = format!("{PENAL_HEADER}\n{}\n\"A2;", penal_row(1));
    for i in 0..20_000 {
        text.push_str(&penal_row(i + 3));
        text.push('\n');
    }
    let d = env.deliver("penal", "quote.csv", text.as_bytes()).await;
    assert_eq!(d.status, DeliveryStatus::Ko);
    let why = d.report.unreadable.as_deref().unwrap();
    assert!(
        why.contains("commencé à la ligne 3") && why.contains("guillemet"),
        "{why}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gzip_bomb_is_refused_at_the_compression_ratio() {
    let env = Env::new().await;
    // One row, then 40 MB of empty lines (skipped when read): about 1000:1, beyond 200:1.
    let mut text = format!("{PENAL_HEADER}\n{}\n", penal_row(1)).into_bytes();
    text.resize(40 << 20, b'\n');
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(&text).unwrap();
    let gz = e.finish().unwrap();
    assert!(text.len() / gz.len() > 200, "{}", text.len() / gz.len());
    let d = env.deliver("penal", "bomb.csv.gz", &gz).await;
    let why = d.report.unreadable.as_deref().unwrap();
    assert!(
        why.starts_with("bomb.csv.gz : ligne ") && why.contains("200:1"),
        "{why}"
    );
    // Refused within the first few MB, not after the 40.
    let line: u64 = why["bomb.csv.gz : ligne ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(line < 4 << 20, "refused at line {line}");
    assert_eq!((d.status.as_str(), d.rows_read), ("KO", 1));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ordinary_gzip_extract_is_within_every_limit() {
    let env = Env::new().await;
    let rows: Vec<String> = (0..20_000).map(penal_row).collect();
    let d = env
        .deliver("penal", "penal.csv.gz", &gzip(&penal_csv(&rows)))
        .await;
    assert_eq!(
        (d.status.as_str(), d.rows_ok),
        ("OK", 20_000),
        "{}",
        json(&d.report)
    );
}

async fn deliver_within(
    env: &Env,
    source: &str,
    name: &str,
    bytes: &[u8],
    limits: ReadLimits,
) -> Delivery {
    let path = env.write(name, bytes);
    add_delivery_within(
        &env.store,
        &env.lake,
        &Source::load(source).unwrap(),
        &path,
        &Actor::cli(),
        &limits,
        &mut |_| {},
    )
    .await
    .unwrap()
}

fn why(d: &Delivery) -> String {
    assert_eq!(d.status, DeliveryStatus::Ko, "{}", json(&d.report));
    json(&d.report)["unreadable"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_row_limit_refuses_at_the_first_row_beyond_it() {
    let env = Env::new().await;
    let limits = ReadLimits {
        max_rows: 50,
        ..ReadLimits::DEFAULT
    };
    let rows: Vec<String> = (0..100).map(penal_row).collect();
    let text = format!("{PENAL_HEADER}\r\n{}\r\n", rows.join("\r\n"));
    let d = deliver_within(&env, "penal", "rows.csv", text.as_bytes(), limits).await;
    assert!(
        why(&d).starts_with("rows.csv : ligne 52 : plus de 50 lignes de données"),
        "{}",
        why(&d)
    );
    assert_eq!(d.rows_read, 50);
    let d = deliver_within(&env, "penal", "rows.csv.gz", &gzip(text.as_bytes()), limits).await;
    assert!(why(&d).contains("ligne 52 :"), "{}", why(&d));
    // Exactly at the limit is accepted.
    let text = format!("{PENAL_HEADER}\n{}\n", rows[..50].join("\n"));
    let d = deliver_within(&env, "penal", "fifty.csv", text.as_bytes(), limits).await;
    assert_eq!(d.status, DeliveryStatus::Ok, "{}", json(&d.report));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_decompressed_size_and_record_limits_follow_the_configuration() {
    let env = Env::new().await;
    let rows: Vec<String> = (0..5000).map(penal_row).collect();
    let gz = gzip(&penal_csv(&rows));
    let small = ReadLimits {
        max_decompressed_bytes: 64 << 10,
        ..ReadLimits::DEFAULT
    };
    let d = deliver_within(&env, "penal", "big.csv.gz", &gz, small).await;
    assert!(
        why(&d).contains("le fichier décompressé dépasse 64 Kio") && why(&d).contains(" : ligne "),
        "{}",
        why(&d)
    );
    let short = ReadLimits {
        max_record_bytes: 64,
        ..ReadLimits::DEFAULT
    };
    let d = deliver_within(&env, "penal", "long.csv", &penal_csv(&rows[..3]), short).await;
    assert!(
        why(&d).starts_with("long.csv : ligne 1 : ligne de plus de 64 octets"),
        "{}",
        why(&d)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn parquet_deliveries_are_bounded_before_their_rows_are_read() {
    let env = Env::new().await;
    let prison = Source::load("prison").unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let bytes = crate::fuzz::parquet_of(&prison, &crate::fuzz::prison_csv(100), scratch.path());
    let d = deliver_within(
        &env,
        "prison",
        "prison.parquet",
        &bytes,
        ReadLimits::DEFAULT,
    )
    .await;
    assert_eq!(
        (d.status.as_str(), d.rows_ok),
        ("OK", 100),
        "{}",
        json(&d.report)
    );
    // The same file again, within smaller limits: each in a store of its own.
    for (limits, expected) in [
        (
            ReadLimits {
                max_rows: 10,
                ..ReadLimits::DEFAULT
            },
            "100 lignes de données, plus que la limite de 10",
        ),
        (
            ReadLimits {
                max_record_bytes: 8,
                ..ReadLimits::DEFAULT
            },
            "lignes 1 à 100 (groupe de lignes 1) : plus de 8 octets par ligne",
        ),
        (
            ReadLimits {
                max_decompressed_bytes: 100,
                ..ReadLimits::DEFAULT
            },
            "le fichier décompressé dépasserait 100 octets",
        ),
    ] {
        let env = Env::new().await;
        let path = env.write("prison.parquet", &bytes);
        let d = add_delivery_within(
            &env.store,
            &env.lake,
            &prison,
            &path,
            &Actor::cli(),
            &limits,
            &mut |_| {},
        )
        .await
        .unwrap();
        assert!(why(&d).contains(expected), "{}", why(&d));
        assert_eq!(d.rows_read, 0, "refused before any row is read");
    }
    // One long value among short ones: refused at its row.
    let cjn = Source::load("cjn").unwrap();
    let mut text = String::from(
        "conviction_id;court;court_label;judgement_date;main_natinf;offence_count;main_sentence;prison_months;fine_eur;sex;age;nationality;repeat_offence\n",
    );
    for i in 0..100 {
        let label = if i == 41 {
            "x".repeat(300)
        } else {
            "Agen".into()
        };
        text.push_str(&format!(
            "C{i};TJ_1_119;{label};12/03/2024;7151;2;AMENDE_FERME;;350,50;M;34;FR;0\n"
        ));
    }
    let bytes = crate::fuzz::parquet_of(&cjn, text.as_bytes(), scratch.path());
    let limits = ReadLimits {
        max_record_bytes: 200,
        ..ReadLimits::DEFAULT
    };
    let d = deliver_within(&env, "cjn", "cjn.parquet", &bytes, limits).await;
    assert!(
        why(&d).contains("ligne 42, colonne court_label : valeur de plus de 200 octets"),
        "{}",
        why(&d)
    );
}
