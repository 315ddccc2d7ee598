//! Issue 23, item 11: the delivery readers fuzzed for a bounded time and number of cases, with
//! a fixed seed so that a failure replays. Mutations of valid files in each format (CSV in
//! UTF-8, Windows-1252 and CP850, gzip, Parquet): byte flips, truncations, huge lines,
//! `CR`-only endings, unclosed quotes, row floods, gzip bombs, random Parquet bytes.
//!
//! The cases run in a child process (this test binary, running only
//! [`fuzz_child_runs_the_cases`]) that resets its peak resident memory before each case and
//! reports it after: no case may panic, nor raise the peak by more than [`PEAK_BOUND_MIB`]. The
//! child runs under a virtual memory cap, so a runaway case fails the test rather than the
//! machine. `JUSTAT_FUZZ_SEED`, `JUSTAT_FUZZ_CASES` and `JUSTAT_FUZZ_SECONDS` change the seed
//! and bounds.

use crate::env::{PENAL_HEADER, penal_csv, penal_row};
use justat_engine::delivery::check_file;
use justat_engine::reader::ReadLimits;
use justat_engine::source::Source;
use justat_model::text_encoding::{Encoding, encode};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Most a case may raise the reader's peak resident memory, in MiB. Reading is bounded by the
/// record limit (1 MiB), the batch (64 MiB of values at most, far less here) and the Parquet
/// writers' row groups; the unbounded reader reached hundreds of MiB on the huge lines here.
const PEAK_BOUND_MIB: u64 = 96;
/// Virtual memory the child may reserve, in KiB (threads and allocator arenas reserve more
/// than they touch).
const CHILD_VIRTUAL_KIB: u64 = 6 << 20;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// xorshift64*: small, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn cjn_csv(n: usize) -> Vec<u8> {
    let mut text = String::from(
        "conviction_id;court;court_label;judgement_date;main_natinf;offence_count;main_sentence;prison_months;fine_eur;sex;age;nationality;repeat_offence\r\n",
    );
    for i in 0..n {
        text.push_str(&format!(
            "C{i};TJ_1_119;\"Tribunal judiciaire d'Agen — Béziers, « {i} » €\";12/03/2024;7151;2;AMENDE_FERME;;350,50;M;{};FR;0\r\n",
            20 + i % 60
        ));
    }
    encode(&text, Encoding::Windows1252).unwrap()
}

pub fn prison_csv(n: usize) -> Vec<u8> {
    let mut text = String::from(
        "establishment,establishment_type,month,sex,age_group,detained,status,persons,operational_places\n",
    );
    for i in 0..n {
        text.push_str(&format!(
            "E_{:03},MA,2024-{:02}-01,{},Y30T39,1,PREVENU,{},300\n",
            1 + i % 100,
            1 + i / 100 % 12,
            if i % 2 == 0 { "M" } else { "F" },
            i % 40
        ));
    }
    text.into_bytes()
}

/// A Parquet file of `source`'s columns holding the rows of `csv`, as checking writes them.
pub fn parquet_of(source: &Source, csv: &[u8], dir: &Path) -> Vec<u8> {
    use datafusion::parquet::arrow::ArrowWriter;
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let path = dir.join("seed.csv");
    std::fs::write(&path, csv).unwrap();
    let checked = check_file(source, &path, dir, &ReadLimits::DEFAULT, &mut |_| {}).unwrap();
    let staging = checked.staging.expect("the seed is valid");
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&staging).unwrap())
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<_> = reader
        .map(|b| {
            let b = b.unwrap();
            b.project(&(1..b.num_columns()).collect::<Vec<_>>())
                .unwrap()
        })
        .collect();
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, batches[0].schema(), None).unwrap();
    for b in &batches {
        writer.write(b).unwrap();
    }
    writer.close().unwrap();
    out
}

/// Multi-member gzip bombs: a head, then members of 4 MiB of one byte (each compressed once).
#[derive(Default)]
struct Bombs(HashMap<u8, Vec<u8>>);

impl Bombs {
    fn make(&mut self, head: &[u8], fill: u8, members: usize) -> Vec<u8> {
        let member = self
            .0
            .entry(fill)
            .or_insert_with(|| gzip(&vec![fill; 4 << 20]));
        let mut out = gzip(head);
        for _ in 0..members {
            out.extend_from_slice(member);
        }
        out
    }
}

fn mutate_text(rng: &mut Rng, seed: &[u8]) -> (Vec<u8>, &'static str) {
    let mut b = seed.to_vec();
    match rng.below(9) {
        0 => {
            for _ in 0..1 + rng.below(16) {
                let i = rng.below(b.len());
                b[i] = rng.next() as u8;
            }
            (b, "byte flips")
        }
        1 => {
            b.truncate(rng.below(b.len()));
            (b, "truncation")
        }
        2 => {
            let at = b.iter().position(|&c| c == b'\n').map_or(0, |i| i + 1);
            let n = 1 + rng.below(8 << 20);
            let filler: &[u8] = match rng.below(3) {
                0 => b"x",
                1 => b";,",
                _ => b"\"",
            };
            let huge: Vec<u8> = filler.iter().copied().cycle().take(n).collect();
            b.splice(at..at, huge);
            (b, "huge line")
        }
        3 => {
            let text: Vec<u8> = b
                .windows(2)
                .filter(|w| !(w[0] == b'\r' && w[1] == b'\n'))
                .map(|w| if w[0] == b'\n' { b'\r' } else { w[0] })
                .collect();
            (text, "CR endings")
        }
        4 => {
            b.retain(|&c| c != b'\n' && c != b'\r');
            (b, "no line endings")
        }
        5 => {
            let i = rng.below(b.len());
            b.insert(i, b'"');
            (b, "unclosed quote")
        }
        6 => {
            let start = rng.below(b.len());
            let end = (start + 1 + rng.below(4096)).min(b.len());
            let chunk = b[start..end].to_vec();
            for _ in 0..rng.below(2000) {
                b.extend_from_slice(&chunk);
            }
            (b, "row flood")
        }
        7 => {
            let i = rng.below(b.len());
            let n = 1 + rng.below(64);
            let junk = rng.bytes(n);
            b.splice(i..i, junk);
            (b, "random bytes")
        }
        _ => (b, "seed"),
    }
}

struct Case {
    source: &'static str,
    name: String,
    bytes: Vec<u8>,
    what: String,
}

/// Up to `count` cases from `seed`, as many as can be written before `deadline`.
fn cases(seed: u64, count: usize, deadline: std::time::Instant, dir: &Path) -> Vec<Case> {
    let mut rng = Rng(seed | 1);
    let penal_rows: Vec<String> = (0..300).map(penal_row).collect();
    let seeds: [(&str, Vec<u8>); 3] = [
        ("penal", penal_csv(&penal_rows)),
        ("cjn", cjn_csv(300)),
        ("prison", prison_csv(300)),
    ];
    let parquet = [
        (
            "cjn",
            parquet_of(&Source::load("cjn").unwrap(), &seeds[1].1, dir),
        ),
        (
            "prison",
            parquet_of(&Source::load("prison").unwrap(), &seeds[2].1, dir),
        ),
    ];
    let mut bombs = Bombs::default();
    let mut out = Vec::new();
    // The accident, smaller: one 64 MiB line in a gzip of a few hundred kB.
    out.push(Case {
        source: "penal",
        name: "one-line.csv.gz".into(),
        bytes: bombs.make(format!("{PENAL_HEADER}\n").as_bytes(), b'x', 16),
        what: "gzip of one 64 MiB line".into(),
    });
    for i in 0..count {
        if std::time::Instant::now() > deadline {
            break;
        }
        let (source, text) = &seeds[rng.below(seeds.len())];
        let case = match rng.below(8) {
            0..=3 => {
                let (bytes, what) = mutate_text(&mut rng, text);
                Case {
                    source,
                    name: format!("case-{i}.csv"),
                    bytes,
                    what: format!("CSV, {what}"),
                }
            }
            4 => {
                let (bytes, what) = mutate_text(&mut rng, text);
                Case {
                    source,
                    name: format!("case-{i}.csv.gz"),
                    bytes: gzip(&bytes),
                    what: format!("gzip, {what}"),
                }
            }
            5 => {
                let mut gz = gzip(text);
                let what = if rng.below(2) == 0 {
                    for _ in 0..1 + rng.below(8) {
                        let j = rng.below(gz.len());
                        gz[j] = rng.next() as u8;
                    }
                    "gzip, compressed bytes flipped"
                } else if rng.below(2) == 0 {
                    gz.truncate(rng.below(gz.len()));
                    "gzip, truncated"
                } else {
                    let fill = [b'x', b'\n', b'\r', 0][rng.below(4)];
                    gz = bombs.make(text, fill, 1 + rng.below(12));
                    "gzip bomb"
                };
                Case {
                    source,
                    name: format!("case-{i}.csv.gz"),
                    bytes: gz,
                    what: what.into(),
                }
            }
            _ => {
                let (source, seed) = &parquet[rng.below(parquet.len())];
                let mut b = seed.clone();
                let what = match rng.below(4) {
                    0 => {
                        for _ in 0..1 + rng.below(16) {
                            let j = rng.below(b.len());
                            b[j] = rng.next() as u8;
                        }
                        "Parquet, byte flips"
                    }
                    1 => {
                        // The footer (metadata) is where a flip does the most harm.
                        let len = b.len();
                        for _ in 0..1 + rng.below(8) {
                            let j = len - 1 - rng.below(len.min(600));
                            b[j] = rng.next() as u8;
                        }
                        "Parquet, footer flips"
                    }
                    2 => {
                        b.truncate(4 + rng.below(b.len() - 4));
                        "Parquet, truncated"
                    }
                    _ => {
                        let mut r = b"PAR1".to_vec();
                        let n = rng.below(4096);
                        r.extend(rng.bytes(n));
                        r.extend_from_slice(&(rng.next() as u32).to_le_bytes());
                        r.extend_from_slice(b"PAR1");
                        b = r;
                        "Parquet, random bytes"
                    }
                };
                Case {
                    source,
                    name: format!("case-{i}.parquet"),
                    bytes: b,
                    what: what.into(),
                }
            }
        };
        out.push(case);
    }
    out
}

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// The child: runs the cases listed in `$JUSTAT_FUZZ_DIR/cases.txt` until its deadline,
/// printing each one's outcome and peak memory.
#[test]
#[ignore = "run by fuzz_the_delivery_readers, in a child process"]
fn fuzz_child_runs_the_cases() {
    let dir = PathBuf::from(
        std::env::var("JUSTAT_FUZZ_DIR")
            .expect("JUSTAT_FUZZ_DIR, set by fuzz_the_delivery_readers"),
    );
    let deadline = std::time::Instant::now()
        + std::time::Duration::from_secs(env_or("JUSTAT_FUZZ_SECONDS", 60) * 2 / 3);
    let list = std::fs::read_to_string(dir.join("cases.txt")).unwrap();
    let scratch = dir.join("scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    let sources: Vec<Source> = ["penal", "cjn", "prison"]
        .iter()
        .map(|s| Source::load(s).unwrap())
        .collect();
    let mut out = std::io::stdout().lock();
    for line in list.lines() {
        if std::time::Instant::now() > deadline {
            writeln!(out, "DEADLINE").unwrap();
            break;
        }
        let (source, name) = line.split_once(' ').unwrap();
        let source = sources.iter().find(|s| s.id == source).unwrap();
        let path = dir.join(name);
        std::fs::write("/proc/self/clear_refs", "5").unwrap();
        let base = status_kib("VmRSS:");
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            check_file(source, &path, &scratch, &ReadLimits::DEFAULT, &mut |_| {})
        }));
        let peak = status_kib("VmHWM:");
        match result {
            Ok(Ok(checked)) => {
                for f in checked.staging.iter().chain(&checked.quarantine) {
                    let _ = std::fs::remove_file(f);
                }
                let status = checked.report.status.as_str();
                writeln!(out, "CASE {name} {status} {}", peak.saturating_sub(base)).unwrap();
            }
            Ok(Err(e)) => {
                writeln!(out, "CASE {name} ERROR {} {e}", peak.saturating_sub(base)).unwrap()
            }
            Err(_) => writeln!(out, "PANIC {name}").unwrap(),
        }
        out.flush().unwrap();
    }
}

#[test]
fn fuzz_the_delivery_readers() {
    let seed = env_or("JUSTAT_FUZZ_SEED", 0x2311);
    let count = env_or("JUSTAT_FUZZ_CASES", 400) as usize;
    // A third of the time to write the cases, the rest to run them.
    let seconds = env_or("JUSTAT_FUZZ_SECONDS", 60);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds / 3);
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let cases = cases(seed, count, deadline, dir.path());
    let mut list = String::new();
    for c in &cases {
        std::fs::write(dir.path().join(&c.name), &c.bytes).unwrap();
        list.push_str(&format!("{} {}\n", c.source, c.name));
    }
    std::fs::write(dir.path().join("cases.txt"), list).unwrap();
    let written = started.elapsed().as_secs();
    let exe = std::env::current_exe().unwrap();
    let output = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v {CHILD_VIRTUAL_KIB} && exec \"$0\" fuzz::fuzz_child_runs_the_cases \
             --exact --ignored --nocapture --test-threads=1"
        ))
        .arg(&exe)
        .env("JUSTAT_FUZZ_DIR", dir.path())
        .env("JUSTAT_FUZZ_SECONDS", seconds.to_string())
        .output()
        .unwrap();
    let ran_for = started.elapsed().as_secs() - written;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the child failed (seed {seed:#x}): {}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let what = |name: &str| {
        cases
            .iter()
            .find(|c| c.name == name)
            .map_or("?", |c| c.what.as_str())
    };
    let mut ran = 0;
    let mut worst = (0, String::new());
    // The harness prints `test … ...` before the first line of the child's output.
    for line in stdout.lines() {
        if let Some(at) = line.find("PANIC ") {
            let name = &line[at + "PANIC ".len()..];
            panic!("seed {seed:#x}: {name} ({}) panicked", what(name));
        }
        let Some(at) = line.find("CASE ") else {
            continue;
        };
        let rest = &line[at + "CASE ".len()..];
        let parts: Vec<&str> = rest.splitn(4, ' ').collect();
        let (name, outcome, peak) = (parts[0], parts[1], parts[2].parse::<u64>().unwrap());
        assert_ne!(
            outcome,
            "ERROR",
            "seed {seed:#x}: {name} ({}): an engine error, not a report: {}",
            what(name),
            parts.get(3).unwrap_or(&"")
        );
        assert!(
            peak < PEAK_BOUND_MIB << 10,
            "seed {seed:#x}: {name} ({}) raised the peak memory by {} MiB",
            what(name),
            peak >> 10
        );
        if peak > worst.0 {
            worst = (peak, format!("{name} ({})", what(name)));
        }
        ran += 1;
    }
    assert!(
        ran >= cases.len().min(20),
        "only {ran} cases ran before the deadline:\n{stdout}"
    );
    eprintln!(
        "fuzz: {ran} of {} cases (written in {written} s, run in {ran_for} s), seed {seed:#x}, \
         highest peak +{} MiB: {}",
        cases.len(),
        worst.0 >> 10,
        worst.1
    );
}
