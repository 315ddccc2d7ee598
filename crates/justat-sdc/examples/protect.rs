//! Protects a microdata CSV and prints the secondary suppressions and the time, without the
//! rest of Justat: `cargo run --release -p justat-sdc --example protect -- FILE.csv DIMS
//! [DIM=HIERARCHY.csv …]` (used to iterate on the method against `bench/sdc`'s data).

use justat_sdc::primary::{PrimaryRules, Status};
use justat_sdc::{Hierarchy, Table, microdata, secondary};
use std::collections::HashMap;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [file, dims, hierarchies @ ..] = args.as_slice() else {
        return Err("usage: protect FILE.csv DIM,DIM[,…] [DIM=HIERARCHY.csv …]".into());
    };
    let dims: Vec<String> = dims.split(',').map(str::to_string).collect();
    let start = Instant::now();
    let (records, distinct) = microdata::read(file, std::fs::File::open(file)?, &dims, None)?;
    let mut given = HashMap::new();
    for h in hierarchies {
        let (dim, path) = h.split_once('=').ok_or("a hierarchy is DIM=FILE.csv")?;
        given.insert(
            dim.to_string(),
            Hierarchy::from_csv(dim, &std::fs::read_to_string(path)?)?,
        );
    }
    let with = microdata::dimensions(&dims, given, &distinct)?;
    let mut table = Table::from_microdata(with, records, false, &PrimaryRules::default())?;
    let primaries = table.cells.iter().filter(|c| c.status.is_primary()).count();
    let added = secondary::protect(&mut table)?;
    let value: f64 = table
        .cells
        .iter()
        .filter(|c| c.status == Status::Secondary)
        .map(|c| c.value)
        .sum();
    println!(
        "{} cells, {primaries} primaries, {added} secondary of value {value}, {:.2} s",
        table.cells.len(),
        start.elapsed().as_secs_f64()
    );
    if let Some(out) = std::env::var_os("PATTERN_OUT") {
        justat_sdc::pattern::write(&table, std::fs::File::create(out)?)?;
    }
    Ok(())
}
