//! Deterministic synthetic extracts of the ministry's management applications, calibrated on
//! the real orders of magnitude, with a configurable share of realistic dirt.
//!
//! [`generate`] writes one CSV file per source and year, in the exact layout, encoding and
//! separator that the source's contract (`sources/<source>.toml`) declares, so that the
//! delivery checks and chains can be developed and demonstrated on national volumes without
//! personal data:
//!
//! | source | one row per | encoding, separator, dates | scale 1 ≈ rows a year |
//! |---|---|---|---|
//! | `penal` | offender in a registered case (Cassiopée-like) | CP850, `;`, `dd/mm/yyyy` | 2 million |
//! | `cjn` | conviction (criminal record) | Windows-1252, `;`, `dd/mm/yyyy` | 550,000 |
//! | `prison` | establishment × month × sex × age group × detained × status | UTF-8, `,`, ISO | 73,000 |
//! | `cjpm` | case of a minor referred under the CJPM (from 30 September 2021) | UTF-8, `;`, ISO | 37,000 |
//! | `protection_orders` | request for a protection order | UTF-8, `;`, ISO | 7,000 |
//! | `protection_devices` | court × month × device (TGD, BAR) | UTF-8, `;`, ISO | 3,900 whatever the scale |
//!
//! Every line ends with CRLF. The same [`GenerateOptions`] always give byte-identical files:
//! all randomness comes from one seeded generator written in this crate. Rows are streamed to
//! disk, so the size of a file does not bound memory.
//!
//! With `dirt` > 0, that share of rows carries one [`Defect`] each (unknown codes, dates in
//! the wrong order, duplicates, missing values, impossible ages, negative counts…), and each
//! file has exactly one ragged line. The clean rows are the same with or without dirt: the
//! defects are drawn from a generator of their own.

mod calendar;
mod cjn;
mod cjpm;
mod csvout;
mod penal;
mod prison;
mod protection;
mod reference;
mod rng;

use csvout::Line;
use flate2::Compression;
use flate2::write::GzEncoder;
use justat_model::text_encoding::{EncodeError, Encoding};
use reference::Reference;
use rng::Rng;
use std::fmt;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A management application whose extracts can be generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKind {
    /// The penal chain (Cassiopée-like): one row per offender in a case.
    Penal,
    /// The criminal record (CJN): one row per conviction.
    Cjn,
    /// Prison management (GENESIS-like): monthly stocks by category.
    Prison,
    /// Juvenile courts under the CJPM: one row per case of a minor.
    Cjpm,
    /// Family courts: one row per request for a protection order.
    ProtectionOrders,
    /// Protection devices (TGD, BAR): one row per court, month and device.
    ProtectionDevices,
}

impl SourceKind {
    /// Every source, in a fixed order.
    pub const ALL: [SourceKind; 6] = [
        SourceKind::Penal,
        SourceKind::Cjn,
        SourceKind::Prison,
        SourceKind::Cjpm,
        SourceKind::ProtectionOrders,
        SourceKind::ProtectionDevices,
    ];

    /// The source's id, as in `sources/<id>.toml` and the file names.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Penal => "penal",
            SourceKind::Cjn => "cjn",
            SourceKind::Prison => "prison",
            SourceKind::Cjpm => "cjpm",
            SourceKind::ProtectionOrders => "protection_orders",
            SourceKind::ProtectionDevices => "protection_devices",
        }
    }

    /// The column names, in file order: those of the source's TOML contract.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            SourceKind::Penal => penal::COLUMNS,
            SourceKind::Cjn => cjn::COLUMNS,
            SourceKind::Prison => prison::COLUMNS,
            SourceKind::Cjpm => cjpm::COLUMNS,
            SourceKind::ProtectionOrders => protection::ORDER_COLUMNS,
            SourceKind::ProtectionDevices => protection::DEVICE_COLUMNS,
        }
    }

    /// The encoding the source's contract declares.
    pub fn encoding(self) -> Encoding {
        match self {
            SourceKind::Penal => Encoding::Cp850,
            SourceKind::Cjn => Encoding::Windows1252,
            SourceKind::Prison
            | SourceKind::Cjpm
            | SourceKind::ProtectionOrders
            | SourceKind::ProtectionDevices => Encoding::Utf8,
        }
    }

    /// The field separator the source's contract declares.
    pub fn separator(self) -> u8 {
        match self {
            SourceKind::Penal
            | SourceKind::Cjn
            | SourceKind::Cjpm
            | SourceKind::ProtectionOrders
            | SourceKind::ProtectionDevices => b';',
            SourceKind::Prison => b',',
        }
    }

    /// The defects the dirt draws from for this source (besides the one ragged line per file).
    pub fn defects(self) -> &'static [Defect] {
        self.dirt().kinds
    }

    fn dirt(self) -> &'static DirtSpec {
        match self {
            SourceKind::Penal => &penal::DIRT,
            SourceKind::Cjn => &cjn::DIRT,
            SourceKind::Prison => &prison::DIRT,
            SourceKind::Cjpm => &cjpm::DIRT,
            SourceKind::ProtectionOrders => &protection::ORDER_DIRT,
            SourceKind::ProtectionDevices => &protection::DEVICE_DIRT,
        }
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A source name that is none of [`SourceKind::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown source `{name}`: use penal, cjn, prison, cjpm, protection_orders or protection_devices"
)]
pub struct UnknownSource {
    /// The name given.
    pub name: String,
}

impl FromStr for SourceKind {
    type Err = UnknownSource;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SourceKind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownSource {
                name: s.to_string(),
            })
    }
}

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateOptions {
    /// Which application's extracts.
    pub source: SourceKind,
    /// One file per year of this range.
    pub years: RangeInclusive<i16>,
    /// 1.0 is the real national volume; 0.01 a hundredth of it.
    pub scale: f64,
    /// Determines every byte of the output.
    pub seed: u64,
    /// Share of rows made dirty, in [0, 1]; 0 gives clean files.
    pub dirt: f64,
    /// Write `.csv.gz` instead of `.csv`.
    pub gzip: bool,
}

impl GenerateOptions {
    /// Clean, uncompressed files at the given scale and seed.
    pub fn new(source: SourceKind, years: RangeInclusive<i16>, scale: f64, seed: u64) -> Self {
        GenerateOptions {
            source,
            years,
            scale,
            seed,
            dirt: 0.0,
            gzip: false,
        }
    }
}

/// A defect the dirt puts in a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Defect {
    /// A value that is not in its codelist (court, offence, orientation, sex…).
    UnknownCode,
    /// A later date before an earlier one (penal: orientation before reception).
    DateOrder,
    /// The row written twice (same key); the second copy is the dirty row.
    Duplicate,
    /// A required value left empty.
    MissingValue,
    /// An age outside what a rule allows (under 10, over 110, negative).
    ImpossibleAge,
    /// A negative count of persons (prison).
    NegativePersons,
    /// An establishment code that is not in `CL_ESTABLISHMENT` (prison).
    UnknownEstablishment,
    /// A line with one separator missing, hence one field too few.
    Ragged,
}

impl Defect {
    /// Every kind of defect.
    pub const ALL: [Defect; 8] = [
        Defect::UnknownCode,
        Defect::DateOrder,
        Defect::Duplicate,
        Defect::MissingValue,
        Defect::ImpossibleAge,
        Defect::NegativePersons,
        Defect::UnknownEstablishment,
        Defect::Ragged,
    ];

    /// A stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Defect::UnknownCode => "unknown_code",
            Defect::DateOrder => "date_order",
            Defect::Duplicate => "duplicate",
            Defect::MissingValue => "missing_value",
            Defect::ImpossibleAge => "impossible_age",
            Defect::NegativePersons => "negative_persons",
            Defect::UnknownEstablishment => "unknown_establishment",
            Defect::Ragged => "ragged",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// One file written by [`generate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    /// Where it is.
    pub path: PathBuf,
    /// Data rows written (header excluded, duplicates included).
    pub rows: u64,
    /// The year it covers.
    pub year: i16,
    /// Rows that carry a defect.
    pub dirty_rows: u64,
    /// How many rows carry each kind of defect (kinds with none are left out).
    pub defects: Vec<(Defect, u64)>,
}

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// The range of years is empty or outside 1900–2100.
    #[error("invalid years {start}–{end}: give a non-empty range within 1900–2100")]
    Years {
        /// First year asked.
        start: i16,
        /// Last year asked.
        end: i16,
    },
    /// The scale is not a positive finite number.
    #[error("invalid scale {scale}: give a positive number (1 = the real national volume)")]
    Scale {
        /// The scale asked.
        scale: f64,
    },
    /// The dirt share is outside [0, 1].
    #[error("invalid dirt share {dirt}: give a share between 0 and 1")]
    Dirt {
        /// The share asked.
        dirt: f64,
    },
    /// Writing a file failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file (or folder) being written.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A text value has no representation in the source's encoding (a bug in the reference
    /// data, which is tested to be representable).
    #[error("{path}: {source}")]
    Encode {
        /// The file being written.
        path: PathBuf,
        /// The character at fault.
        source: EncodeError,
    },
}

/// Writes one file per year of `opts.years` into `out_dir` (created if missing), named
/// `<source>_<year>.csv` or `.csv.gz`, and returns what was written.
///
/// `progress` is called now and then with the number of rows written so far by this call
/// (all files together). Each file is written under a `.part` name and renamed when complete,
/// so a file with the final name is always whole.
pub fn generate(
    opts: &GenerateOptions,
    out_dir: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<Vec<GeneratedFile>, SynthError> {
    let (start, end) = (*opts.years.start(), *opts.years.end());
    if start > end || start < 1900 || end > 2100 {
        return Err(SynthError::Years { start, end });
    }
    if !(opts.scale.is_finite() && opts.scale > 0.0) {
        return Err(SynthError::Scale { scale: opts.scale });
    }
    if !(0.0..=1.0).contains(&opts.dirt) {
        return Err(SynthError::Dirt { dirt: opts.dirt });
    }
    std::fs::create_dir_all(out_dir).map_err(|source| SynthError::Io {
        path: out_dir.to_path_buf(),
        source,
    })?;
    let reference = Reference::load();
    let mut files = Vec::new();
    let mut written = 0;
    for year in opts.years.clone() {
        let file = generate_year(opts, &reference, year, out_dir, written, progress)?;
        written += file.rows;
        files.push(file);
    }
    Ok(files)
}

fn generate_year(
    opts: &GenerateOptions,
    reference: &Reference,
    year: i16,
    out_dir: &Path,
    written_before: u64,
    progress: &mut dyn FnMut(u64),
) -> Result<GeneratedFile, SynthError> {
    let source = opts.source;
    let name = format!("{source}_{year}.csv{}", if opts.gzip { ".gz" } else { "" });
    let path = out_dir.join(&name);
    let part = out_dir.join(format!("{name}.part"));
    let io = |source| SynthError::Io {
        path: part.clone(),
        source,
    };
    let file = BufWriter::with_capacity(1 << 20, File::create(&part).map_err(io)?);
    let out: Box<dyn Write> = if opts.gzip {
        // Level 1: compression must not become the bottleneck of a 10-million-row file; the
        // gzip header's mtime stays 0, so the bytes are reproducible.
        Box::new(GzEncoder::new(file, Compression::fast()))
    } else {
        Box::new(file)
    };
    // One independent stream per (seed, source, year), so that years can be generated alone
    // and give the same bytes as in a range.
    let mut key = opts.seed ^ (u64::from(year as u16) << 32) ^ (source as u64) << 48;
    let base = rng::splitmix64(&mut key);
    let mut sink = Sink {
        out,
        path: part.clone(),
        rows: 0,
        written_before,
        progress,
        dirt: DirtState {
            share: opts.dirt,
            rng: Rng::new(base ^ 0xD1B5_4A32_D192_ED03),
            spec: source.dirt(),
            ragged_at: None,
            counts: [0; Defect::ALL.len()],
        },
        line: Line::new(source.separator(), source.encoding()),
    };
    sink.header(source.columns())?;
    let mut rng = Rng::new(base);
    let context = YearContext {
        year,
        scale: opts.scale,
        reference,
        pseudonym_key: rng::mix(opts.seed ^ 0x005E_ED0F_CA5E),
    };
    match source {
        SourceKind::Penal => penal::generate(&context, &mut rng, &mut sink)?,
        SourceKind::Cjn => cjn::generate(&context, &mut rng, &mut sink)?,
        SourceKind::Prison => prison::generate(&context, &mut rng, &mut sink)?,
        SourceKind::Cjpm => cjpm::generate(&context, &mut rng, &mut sink)?,
        SourceKind::ProtectionOrders => protection::generate_orders(&context, &mut rng, &mut sink)?,
        SourceKind::ProtectionDevices => {
            protection::generate_devices(&context, &mut rng, &mut sink)?
        }
    }
    let rows = sink.rows;
    let counts = sink.dirt.counts;
    (sink.progress)(written_before + rows);
    let mut out = sink.out;
    out.flush().map_err(io)?;
    drop(out);
    std::fs::rename(&part, &path).map_err(|source| SynthError::Io {
        path: path.clone(),
        source,
    })?;
    let defects: Vec<(Defect, u64)> = Defect::ALL
        .into_iter()
        .map(|d| (d, counts[d.index()]))
        .filter(|(_, n)| *n > 0)
        .collect();
    Ok(GeneratedFile {
        path,
        rows,
        year,
        dirty_rows: defects.iter().map(|(_, n)| n).sum(),
        defects,
    })
}

/// What every source's generator reads.
pub(crate) struct YearContext<'a> {
    pub(crate) year: i16,
    pub(crate) scale: f64,
    pub(crate) reference: &'a Reference,
    /// Key of the pseudonymous identifiers (a keyed hash, like the real extracts').
    pub(crate) pseudonym_key: u64,
}

/// Which defects a source can carry and how the generic ones apply to its columns.
pub(crate) struct DirtSpec {
    /// The kinds drawn, uniformly, for a dirty row.
    pub(crate) kinds: &'static [Defect],
    /// (column, a value absent from its codelist) for [`Defect::UnknownCode`].
    pub(crate) unknown_codes: &'static [(usize, &'static str)],
    /// Required columns that [`Defect::MissingValue`] may blank.
    pub(crate) required: &'static [usize],
}

/// The dirt's own generator and counters.
pub(crate) struct DirtState {
    share: f64,
    rng: Rng,
    spec: &'static DirtSpec,
    /// The ragged line goes on the first row whose index reaches this; `None` until armed.
    ragged_at: Option<u64>,
    counts: [u64; Defect::ALL.len()],
}

impl DirtState {
    /// Places the file's ragged line at a row drawn within the first `expected_rows / 2`, which
    /// the file reaches whatever its random length. Does nothing for a clean file.
    pub(crate) fn arm_ragged(&mut self, expected_rows: f64) {
        if self.share > 0.0 {
            let span = (expected_rows / 2.0).max(1.0) as u64;
            self.ragged_at = Some(self.rng.below(span));
        }
    }

    /// An index in `0..n` from the dirt's generator, or `None` for a clean file: where a
    /// generator that knows its blocks rather than its rows puts the ragged line.
    pub(crate) fn ragged_block(&mut self, n: u64) -> Option<u64> {
        (self.share > 0.0).then(|| self.rng.below(n.max(1)))
    }

    /// Puts the ragged line on the first row from `row` on.
    pub(crate) fn ragged_from(&mut self, row: u64) {
        self.ragged_at = Some(row);
    }

    /// The defect of row `row` (0-based), if any; the caller applies the semantic ones.
    pub(crate) fn draw(&mut self, row: u64) -> Option<Defect> {
        if self.share <= 0.0 {
            return None;
        }
        let defect = if self.ragged_at.is_some_and(|at| row >= at) {
            self.ragged_at = None;
            Defect::Ragged
        } else if self.rng.chance(self.share) {
            let kinds = self.spec.kinds;
            kinds[self.rng.below(kinds.len() as u64) as usize]
        } else {
            return None;
        };
        self.counts[defect.index()] += 1;
        Some(defect)
    }

    /// A value in `lo..=hi` from the dirt's generator (so the clean data never shifts).
    pub(crate) fn range(&mut self, lo: i64, hi: i64) -> i64 {
        self.rng.range(lo, hi)
    }

    /// One of `values`, from the dirt's generator.
    pub(crate) fn pick<T: Copy>(&mut self, values: &[T]) -> T {
        values[self.rng.below(values.len() as u64) as usize]
    }

    /// Applies a defect that edits the line itself.
    fn apply(&mut self, line: &mut Line, defect: Defect) {
        match defect {
            Defect::UnknownCode => {
                let (column, value) = self.pick(self.spec.unknown_codes);
                line.replace(column, value.as_bytes());
            }
            Defect::MissingValue => {
                let column = self.pick(self.spec.required);
                line.replace(column, b"");
            }
            Defect::Ragged => {
                let k = self.rng.below(line.fields() as u64 - 1) as usize;
                line.drop_separator_after(k);
            }
            _ => {}
        }
    }
}

/// Where rows go: the file, the counters, the progress callback.
pub(crate) struct Sink<'p> {
    out: Box<dyn Write>,
    path: PathBuf,
    rows: u64,
    written_before: u64,
    progress: &'p mut dyn FnMut(u64),
    pub(crate) dirt: DirtState,
    pub(crate) line: Line,
}

impl Sink<'_> {
    fn header(&mut self, columns: &[&str]) -> Result<(), SynthError> {
        self.line.clear();
        for c in columns {
            self.line.code(c);
        }
        let bytes = self.line.finish();
        self.out.write_all(bytes).map_err(|source| SynthError::Io {
            path: self.path.clone(),
            source,
        })
    }

    /// Index of the next data row.
    pub(crate) fn next_row(&self) -> u64 {
        self.rows
    }

    pub(crate) fn encode_error(&self, source: EncodeError) -> SynthError {
        SynthError::Encode {
            path: self.path.clone(),
            source,
        }
    }

    /// Writes the line built in `self.line`, after applying `defect`'s edits to it.
    pub(crate) fn emit(&mut self, defect: Option<Defect>) -> Result<(), SynthError> {
        if let Some(d) = defect {
            self.dirt.apply(&mut self.line, d);
        }
        let copies = if defect == Some(Defect::Duplicate) {
            2
        } else {
            1
        };
        let bytes = self.line.finish();
        for _ in 0..copies {
            self.out.write_all(bytes).map_err(|source| SynthError::Io {
                path: self.path.clone(),
                source,
            })?;
        }
        let before = self.rows;
        self.rows += copies;
        if before >> 16 != self.rows >> 16 {
            (self.progress)(self.written_before + self.rows);
        }
        Ok(())
    }
}

/// A multiplier of the national volume by year, 1.0 for years without a known figure.
pub(crate) fn year_factor(table: &[(i16, f64)], year: i16) -> f64 {
    table
        .iter()
        .find(|(y, _)| *y == year)
        .map_or(1.0, |(_, f)| *f)
}

/// A value by year from `table`, `default` for years without one.
pub(crate) fn year_factor_or(table: &[(i16, f64)], year: i16, default: f64) -> f64 {
    table
        .iter()
        .find(|(y, _)| *y == year)
        .map_or(default, |(_, f)| *f)
}

#[cfg(test)]
mod tests;
