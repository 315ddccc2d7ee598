//! The command line's long operations, shared by `justat delivery|chain` and `justat demo`: a
//! delivery checked and a chain run with a progress bar on a terminal, and their reports
//! printed for people (or as JSON).

use crate::config::Config;
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use justat_engine::chain::{Chain, RunOptions, run_chain};
use justat_engine::ingest::add_delivery;
use justat_engine::source::Source;
use justat_store::{Actor, Delivery, Lake, Store};

/// A progress bar on standard error when it is a terminal, hidden otherwise.
pub fn bar(len: u64, what: &str) -> ProgressBar {
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len);
    // The template is a constant: were it refused, the bar would keep indicatif's default look
    // rather than stop the command it only decorates.
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} {msg} [{elapsed_precise}] {wide_bar} {pos}/{len}")
    {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_message(what.to_string());
    pb
}

/// Prints a delivery's report for people.
pub fn print_delivery(d: &Delivery) {
    println!(
        "delivery #{} ({} v{}, {}): {} — {} rows read, {} kept, {} rejected",
        d.id,
        d.source,
        d.source_version,
        d.file_name,
        d.status,
        d.rows_read,
        d.rows_ok,
        d.rows_rejected
    );
    if let Some(why) = &d.report.unreadable {
        println!("  unreadable: {why}");
    }
    for r in &d.report.rules {
        println!("  {:<20} {:>8} rows", r.rule, r.count);
        for e in &r.examples {
            println!("      line {}: {}", e.line, e.message);
        }
    }
    println!("  sha256 {}", d.sha256);
}

/// Adds a delivery; prints its report.
pub async fn deliver(
    store: &Store,
    lake: &Lake,
    source: &str,
    file: &std::path::Path,
    json: bool,
) -> Result<Delivery> {
    let source = Source::load(source)?;
    let size = std::fs::metadata(file)
        .with_context(|| format!("cannot read {}", file.display()))?
        .len();
    let pb = bar(size / 80, &format!("checking {}", file.display()));
    let delivery = add_delivery(store, lake, &source, file, &Actor::cli(), &mut |rows| {
        pb.set_position(rows)
    })
    .await;
    pb.finish_and_clear();
    let delivery = delivery?;
    if json {
        println!("{}", serde_json::to_string_pretty(&delivery)?);
    } else {
        print_delivery(&delivery);
    }
    Ok(delivery)
}

/// Runs a chain with a progress bar; prints the outcome.
pub async fn run(
    store: &Store,
    lake: &Lake,
    config: &Config,
    chain: &str,
    deliveries: &[i64],
    json: bool,
) -> Result<justat_store::ChainRun> {
    let chain = Chain::load(chain)?;
    let options = RunOptions {
        memory_limit_bytes: config.engine_memory_mib as usize * 1024 * 1024,
        ..RunOptions::default()
    };
    let pb = bar(chain.steps.len() as u64, &format!("running {}", chain.id));
    let result = run_chain(
        store,
        lake,
        &chain,
        deliveries,
        &options,
        &Actor::cli(),
        &mut |done, _, what| {
            pb.set_position(done as u64);
            pb.set_message(format!("{} — {what}", chain.id));
        },
    )
    .await;
    pb.finish_and_clear();
    let run = result?;
    if json {
        println!("{}", serde_json::to_string_pretty(&run)?);
    } else {
        println!(
            "run #{} of {} v{}: {} — cube {} ({} cells) in {} ms",
            run.id,
            run.chain,
            run.chain_version,
            run.status,
            run.cube_id.as_ref().map_or("-", |c| c.as_str()),
            run.manifest
                .cube
                .as_ref()
                .map_or("-".to_string(), |(_, cells)| cells.to_string()),
            run.manifest.duration_ms
        );
        for s in &run.manifest.steps {
            println!(
                "  {:>2} {:<8} {:<34} {:>10} rows",
                s.index,
                s.kind,
                s.name.as_deref().unwrap_or(""),
                s.rows_after
            );
        }
        for r in &run.manifest.rules {
            println!(
                "  rule {:<24} {:<8} {:>8} failed",
                r.id,
                r.severity.as_str(),
                r.failed
            );
        }
    }
    Ok(run)
}
