//! Issue 23, item 11: the peak memory of delivering one file, for `bench/upload/run.sh`.

use crate::env::Env;
use crate::env::json;

/// Delivers `$JUSTAT_MEASURE_FILE` as a `$JUSTAT_MEASURE_SOURCE` (default `penal`) extract and
/// prints the outcome and the process's peak resident memory (`VmHWM`).
#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement, run by bench/upload/run.sh"]
async fn measure_one_delivery() {
    let file = std::path::PathBuf::from(
        std::env::var("JUSTAT_MEASURE_FILE").expect("JUSTAT_MEASURE_FILE: the file to deliver"),
    );
    let source = std::env::var("JUSTAT_MEASURE_SOURCE").unwrap_or_else(|_| "penal".into());
    let env = Env::new().await;
    let bytes = std::fs::read(&file).unwrap();
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    let started = std::time::Instant::now();
    let d = env.try_deliver(&source, &name, &bytes).await.unwrap();
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let peak = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .unwrap()
        .to_string();
    println!(
        "MEASURE status={} rows_read={} seconds={:.1} {peak}\nMEASURE unreadable={}",
        d.status,
        d.rows_read,
        started.elapsed().as_secs_f64(),
        json(&d.report)["unreadable"]
    );
}
