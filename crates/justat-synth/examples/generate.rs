//! Times the generator: `cargo run --release -p justat-synth --example generate -- penal 2019 1.0 OUT_DIR [DIRT] [gz]`.

use justat_synth::{GenerateOptions, SourceKind, generate};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let source: SourceKind = args[0].parse().expect("source");
    let year: i16 = args[1].parse().expect("year");
    let scale: f64 = args[2].parse().expect("scale");
    let mut opts = GenerateOptions::new(source, year..=year, scale, 1);
    opts.dirt = args.get(4).map_or(0.0, |d| d.parse().expect("dirt"));
    opts.gzip = args.get(5).is_some_and(|g| g == "gz");
    let start = Instant::now();
    let files = generate(&opts, std::path::Path::new(&args[3]), &mut |_| {}).expect("generate");
    let seconds = start.elapsed().as_secs_f64();
    for f in &files {
        println!(
            "{}: {} rows ({} dirty) in {seconds:.2} s, {:.0} rows/s",
            f.path.display(),
            f.rows,
            f.dirty_rows,
            f.rows as f64 / seconds
        );
    }
}
