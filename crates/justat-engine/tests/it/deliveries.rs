use crate::env::{Env, PENAL_HEADER, column, json, penal_csv, penal_row};
use datafusion::arrow::array::{Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::parquet::arrow::ArrowWriter;
use justat_engine::EngineError;
use justat_model::DeliveryStatus;
use justat_model::text_encoding::{Encoding, encode};
use justat_store::LakeKind;
use std::io::Write;
use std::sync::Arc;

fn rows(n: usize) -> Vec<String> {
    (0..n).map(penal_row).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clean_extract_is_ok_and_its_rows_are_staged() {
    let env = Env::new().await;
    let d = env
        .deliver("penal", "penal.csv", &penal_csv(&rows(40)))
        .await;
    assert_eq!(
        (d.status.as_str(), d.rows_read, d.rows_ok, d.rows_rejected),
        ("OK", 40, 40, 0)
    );
    let staged = env.read(LakeKind::Staging, d.staging_sha256.as_ref().unwrap());
    assert_eq!(column(&staged, "case_id").len(), 40);
    assert_eq!(
        column(&staged, "_line")[0],
        "2",
        "staged rows keep their line in the file"
    );
    assert_eq!(column(&staged, "reception_date")[0], "2024-01-02");
    assert!(d.quarantine_sha256.is_none());
    // The original is kept, byte for byte, under its digest, read-only.
    let original = env.lake.path(LakeKind::Delivery, &d.sha256, "csv");
    assert_eq!(std::fs::read(&original).unwrap(), penal_csv(&rows(40)));
    assert!(
        std::fs::metadata(&original)
            .unwrap()
            .permissions()
            .readonly()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn windows_1252_text_is_decoded() {
    let env = Env::new().await;
    let header = "conviction_id;court;court_label;judgement_date;main_natinf;offence_count;main_sentence;prison_months;fine_eur;sex;age;nationality;repeat_offence";
    let row = "C1;TJ_1_119;Tribunal judiciaire d'Agen — Béziers;12/03/2024;7151;2;AMENDE_FERME;;350,50;M;34;FR;0";
    let bytes = encode(&format!("{header}\r\n{row}\r\n"), Encoding::Windows1252).unwrap();
    let d = env.deliver("cjn", "cjn.csv", &bytes).await;
    assert_eq!(d.status, DeliveryStatus::Ok, "{}", json(&d.report));
    let staged = env.read(LakeKind::Staging, d.staging_sha256.as_ref().unwrap());
    assert_eq!(
        column(&staged, "court_label"),
        vec!["Tribunal judiciaire d'Agen — Béziers"]
    );
    assert_eq!(column(&staged, "fine_eur"), vec!["350.5"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn dirty_rows_go_to_quarantine_with_rule_message_and_line() {
    let env = Env::new().await;
    let mut r = rows(60);
    r[4] = r[4].replace("15/02/2024", "01/01/2024"); // line 6: orientation before reception
    r[10] = r[10].replace("7160", "99999"); // line 12: unknown offence code
    r.push(r[0].clone()); // line 62: duplicate of line 2
    let d = env.deliver("penal", "penal.csv", &penal_csv(&r)).await;
    assert_eq!(
        d.status,
        DeliveryStatus::OkKo,
        "3 of 61 rows, under the 5 % threshold"
    );
    assert_eq!((d.rows_read, d.rows_ok, d.rows_rejected), (61, 58, 3));
    let q = env.read(LakeKind::Quarantine, d.quarantine_sha256.as_ref().unwrap());
    let lines = column(&q, "line");
    let rules = column(&q, "rule");
    let found: Vec<(String, String)> = lines.into_iter().zip(rules).collect();
    assert!(
        found.contains(&("6".into(), "R_DATE_ORDER".into())),
        "{found:?}"
    );
    assert!(
        found.contains(&("12".into(), "CODELIST".into())),
        "{found:?}"
    );
    assert!(
        found.contains(&("62".into(), "DUPLICATE_KEY".into())),
        "{found:?}"
    );
    let messages = column(&q, "message");
    assert!(messages.iter().any(|m| m.contains("doublon de la ligne 2")));
    let report = &json(&d.report)["rules"];
    assert!(
        report
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["rule"] == "CODELIST" && r["examples"][0]["value"] == "99999")
    );
    // Nothing is lost: kept + rejected = read.
    let staged = env.read(LakeKind::Staging, d.staging_sha256.as_ref().unwrap());
    assert_eq!(
        column(&staged, "case_id").len() as i64 + d.rows_rejected,
        d.rows_read
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn too_many_rejections_make_the_delivery_ko_and_unusable() {
    let env = Env::new().await;
    let mut r = rows(10);
    for row in r.iter_mut().take(3) {
        *row = row.replace(";M;", ";X;");
    }
    let d = env.deliver("penal", "penal.csv", &penal_csv(&r)).await;
    assert_eq!(d.status, DeliveryStatus::Ko);
    assert!(d.staging_sha256.is_none());
    assert!(
        d.quarantine_sha256.is_some(),
        "the rejected rows are kept even when KO"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_encoding_is_reported_with_line_and_column() {
    let env = Env::new().await;
    let header = "establishment,establishment_type,month,sex,age_group,detained,status,persons,operational_places";
    let mut bytes = format!("{header}\nE_001,MA,2024-01-01,M,Y30T39,1,PREVENU,12,300\nE_001,MA,2024-01-01,F,Y30T39,1,PREVENU,").into_bytes();
    bytes.extend_from_slice(b"\xe9,300\n"); // a Latin-1 'é' in a UTF-8 source
    let d = env.deliver("prison", "prison.csv", &bytes).await;
    assert_eq!(d.status, DeliveryStatus::Ko);
    let why = d.report.unreadable.as_deref().unwrap();
    assert!(
        why.contains("prison.csv : ligne 3, colonne persons")
            && why.contains("n'est pas de l'UTF-8 valide"),
        "{why}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_header_with_missing_or_extra_columns_is_named() {
    let env = Env::new().await;
    let header = PENAL_HEADER.replace(";age;", ";agee;");
    let text = format!("{header}\n{}\n", penal_row(1));
    let d = env
        .deliver(
            "penal",
            "penal.csv",
            &encode(&text, Encoding::Cp850).unwrap(),
        )
        .await;
    assert_eq!(d.status, DeliveryStatus::Ko);
    let why = d.report.unreadable.as_deref().unwrap();
    assert!(
        why.contains("ligne 1 (en-tête)")
            && why.contains("colonne(s) manquante(s) `age`")
            && why.contains("colonne(s) inattendue(s) `agee`"),
        "{why}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_date_is_rejected_with_its_column_and_value() {
    let env = Env::new().await;
    let mut r = rows(40);
    r[2] = r[2].replace("02/01/2024", "2024-01-02");
    let d = env.deliver("penal", "penal.csv", &penal_csv(&r)).await;
    let ex = &json(&d.report)["rules"][0];
    assert_eq!(ex["rule"], "TYPE");
    assert_eq!(ex["examples"][0]["line"], 4);
    assert_eq!(ex["examples"][0]["column"], "reception_date");
    assert_eq!(ex["examples"][0]["value"], "2024-01-02");
    assert!(
        ex["examples"][0]["message"]
            .as_str()
            .unwrap()
            .contains("%d/%m/%Y")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn empty_files_are_ko() {
    let env = Env::new().await;
    let d = env.deliver("penal", "empty.csv", b"").await;
    assert_eq!(d.status, DeliveryStatus::Ko);
    assert!(
        json(&d.report)["unreadable"]
            .as_str()
            .unwrap()
            .contains("vide")
    );
    let d = env
        .deliver(
            "penal",
            "header.csv",
            format!("{PENAL_HEADER}\n").as_bytes(),
        )
        .await;
    assert_eq!(d.status, DeliveryStatus::Ko);
    assert!(
        json(&d.report)["unreadable"]
            .as_str()
            .unwrap()
            .contains("aucune ligne de données")
    );
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn gzip_extracts_are_read_and_a_truncated_one_is_reported() {
    let env = Env::new().await;
    let d = env
        .deliver("penal", "penal.csv.gz", &gzip(&penal_csv(&rows(30))))
        .await;
    assert_eq!(
        (d.status.as_str(), d.format.as_str(), d.rows_ok),
        ("OK", "csv.gz", 30)
    );
    let gz = gzip(&penal_csv(&rows(2000)));
    let d = env
        .deliver("penal", "cut.csv.gz", &gz[..gz.len() / 2])
        .await;
    assert_eq!(d.status, DeliveryStatus::Ko);
    assert!(
        json(&d.report)["unreadable"]
            .as_str()
            .unwrap()
            .contains("tronqué"),
        "{}",
        json(&d.report)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn parquet_extracts_are_checked_and_another_schema_is_refused() {
    let env = Env::new().await;
    // The prison source as Parquet, with Int32 counts (converted without loss).
    let schema = Arc::new(Schema::new(vec![
        Field::new("establishment", DataType::Utf8, false),
        Field::new("establishment_type", DataType::Utf8, false),
        Field::new("month", DataType::Utf8, false),
        Field::new("sex", DataType::Utf8, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(vec!["E_001"])),
            Arc::new(StringArray::from(vec!["MA"])),
            Arc::new(StringArray::from(vec!["2024-01-01"])),
            Arc::new(StringArray::from(vec!["M"])),
        ],
    )
    .unwrap();
    let mut bytes = Vec::new();
    let mut w = ArrowWriter::try_new(&mut bytes, schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let d = env.deliver("prison", "prison.parquet", &bytes).await;
    assert_eq!(d.status, DeliveryStatus::Ko);
    let why = d.report.unreadable.as_deref().unwrap();
    assert!(
        why.contains("colonne `month` de type Utf8, Date32 attendu")
            && why.contains("colonne `persons` manquante"),
        "{why}"
    );

    let ok_schema = Arc::new(Schema::new(vec![
        Field::new("conviction_id", DataType::Utf8, false),
        Field::new("age", DataType::Int64, true),
    ]));
    let b = RecordBatch::try_new(
        ok_schema.clone(),
        vec![
            Arc::new(StringArray::from(vec!["x"])),
            Arc::new(Int64Array::from(vec![3])),
        ],
    )
    .unwrap();
    let mut bytes = Vec::new();
    let mut w = ArrowWriter::try_new(&mut bytes, ok_schema, None).unwrap();
    w.write(&b).unwrap();
    w.close().unwrap();
    let d = env.deliver("cjn", "cjn.parquet", &bytes).await;
    assert!(
        json(&d.report)["unreadable"]
            .as_str()
            .unwrap()
            .contains("colonne `court` manquante")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_file_twice_is_refused_politely() {
    let env = Env::new().await;
    let bytes = penal_csv(&rows(5));
    let first = env.deliver("penal", "a.csv", &bytes).await;
    let again = env.try_deliver("penal", "b.csv", &bytes).await.unwrap_err();
    match again {
        EngineError::AlreadyDelivered { id, .. } => assert_eq!(id, first.id),
        other => panic!("{other}"),
    }
    assert_eq!(env.store.deliveries().await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_code_out_of_its_validity_period_is_rejected() {
    let env = Env::new().await;
    // The rappel à la loi ended on 31 December 2022; the avertissement pénal probatoire began
    // on 1 January 2023.
    let mut r = rows(40);
    r[0] = r[0]
        .replace("ALT_APP", "ALT_RAPPEL")
        .replace("CSS_RECHINF", "ALT_RAPPEL");
    r[1] = r[1]
        .replace("02/01/2024;15/02/2024", "02/01/2022;15/02/2022")
        .replace("ALT_APP", "ALT_RAPPEL");
    let d = env.deliver("penal", "penal.csv", &penal_csv(&r)).await;
    assert_eq!(d.rows_rejected, 1, "{}", json(&d.report));
    let ex = &json(&d.report)["rules"][0]["examples"][0];
    assert_eq!(ex["line"], 2);
    assert!(
        ex["message"]
            .as_str()
            .unwrap()
            .contains("non en vigueur le 15/02/2024"),
        "{ex}"
    );
}

/// The key prefix a staging file records being sorted by (metadata `justat.sorted_by`).
fn sorted_by(env: &Env, sha: &justat_model::Sha256Hex) -> Vec<String> {
    let f = std::fs::File::open(env.lake.path(LakeKind::Staging, sha, "parquet")).unwrap();
    let reader = datafusion::parquet::file::reader::SerializedFileReader::new(f).unwrap();
    datafusion::parquet::file::reader::FileReader::metadata(&reader)
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|kv| kv.key == "justat.sorted_by").cloned())
        .and_then(|kv| kv.value)
        .map(|v| serde_json::from_str(&v).unwrap())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_staging_file_records_the_key_prefix_its_rows_arrive_sorted_by() {
    let env = Env::new().await;
    // penal_row(n) has case A{n}, offender P{n}: sorted by text, A10 comes before A2.
    let mut sorted = rows(30);
    sorted.sort_by_key(|r| r.split(';').next().unwrap().to_string());
    let d = env
        .deliver("penal", "sorted.csv", &penal_csv(&sorted))
        .await;
    assert_eq!(
        sorted_by(&env, d.staging_sha256.as_ref().unwrap()),
        ["case_id", "offender_id", "natinf"]
    );
    // Same case and offender, natinf decreasing: sorted by the first two key columns only.
    let mut by_case = sorted.clone();
    by_case.insert(0, sorted[0].replace(";7151;", ";7160;"));
    let d = env
        .deliver("penal", "by_case.csv", &penal_csv(&by_case))
        .await;
    assert_eq!(
        sorted_by(&env, d.staging_sha256.as_ref().unwrap()),
        ["case_id", "offender_id"]
    );
    // In the order of n: A2 after A10 is out of order, nothing is recorded.
    let d = env
        .deliver("penal", "unsorted.csv", &penal_csv(&rows(30)))
        .await;
    assert!(sorted_by(&env, d.staging_sha256.as_ref().unwrap()).is_empty());
}
