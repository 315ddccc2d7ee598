//! A fresh data folder with its store and lake, and helpers to deliver files.

use datafusion::arrow::array::RecordBatch;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use justat_engine::EngineError;
use justat_engine::ingest::add_delivery;
use justat_engine::source::Source;
use justat_model::text_encoding::{Encoding, encode};
use justat_store::{Actor, Delivery, Lake, LakeKind, Store};
use std::path::PathBuf;

pub struct Env {
    pub dir: tempfile::TempDir,
    pub store: Store,
    pub lake: Lake,
}

pub const PENAL_HEADER: &str = "case_id;offender_id;court;reception_date;orientation_date;natinf;legal_class;orientation;sex;age;minor;legal_person";

/// A valid penal row; `n` varies the keys.
pub fn penal_row(n: usize) -> String {
    let courts = ["TJ_1_119", "TJ_1_93", "TJ_1_118"];
    let orientations = ["CSS_RECHINF", "ALT_APP", "POURS_COMPIM", "NP_ABSINF"];
    let natinf = ["7151", "7160", "7175"];
    format!(
        "A{n};P{n};{};02/01/2024;15/02/2024;{};D;{};M;{};0;0",
        courts[n % 3],
        natinf[n % 3],
        orientations[n % 4],
        20 + n % 50
    )
}

pub fn penal_csv(rows: &[String]) -> Vec<u8> {
    let text = format!("{PENAL_HEADER}\n{}\n", rows.join("\n"));
    encode(&text, Encoding::Cp850).unwrap()
}

impl Env {
    pub async fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_and_migrate(&justat_store::sqlite_url(dir.path()))
            .await
            .unwrap();
        let lake = Lake::new(dir.path());
        Env { dir, store, lake }
    }

    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    pub async fn try_deliver(
        &self,
        source: &str,
        name: &str,
        bytes: &[u8],
    ) -> Result<Delivery, EngineError> {
        let path = self.write(name, bytes);
        let source = Source::load(source).unwrap();
        add_delivery(
            &self.store,
            &self.lake,
            &source,
            &path,
            &Actor::cli(),
            &mut |_| {},
        )
        .await
    }

    pub async fn deliver(&self, source: &str, name: &str, bytes: &[u8]) -> Delivery {
        self.try_deliver(source, name, bytes).await.unwrap()
    }

    pub fn read(&self, kind: LakeKind, sha: &justat_model::Sha256Hex) -> Vec<RecordBatch> {
        let f = std::fs::File::open(self.lake.path(kind, sha, "parquet")).unwrap();
        ParquetRecordBatchReaderBuilder::try_new(f)
            .unwrap()
            .build()
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }
}

/// The values of column `name` of `batches`, as text.
pub fn column(batches: &[RecordBatch], name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for b in batches {
        let c = b.column(b.schema().index_of(name).unwrap());
        for i in 0..b.num_rows() {
            out.push(datafusion::arrow::util::display::array_value_to_string(c, i).unwrap());
        }
    }
    out
}

/// A delivery's report as JSON, to check its fields by name and print it in a failure.
pub fn json(report: &justat_engine::delivery::DeliveryReport) -> serde_json::Value {
    serde_json::to_value(report).unwrap()
}
