//! Bounded readers of delivered files: whatever a file holds, reading it costs memory bounded
//! by [`ReadLimits`], and a file beyond a limit is refused at the line where it goes beyond.
//!
//! A CSV record is assembled from physical lines read into a buffer that never grows past the
//! record limit (the `csv` crate's own record buffer grows with the record, so a 1.5 GB line
//! would be held whole before anything could refuse it). Lines are numbered as a text editor
//! shows them: `\n`, `\r\n` and a lone `\r` each end one line, which is also what the CSV
//! parser takes as a record terminator, so a file with old Mac `CR` endings is read and
//! numbered line by line. A gzip stream is decompressed through a guard that counts what comes
//! in and out and stops at the decompressed size or compression ratio limit.

use csv_core::ReadRecordResult;
use flate2::bufread::MultiGzDecoder;
use justat_model::text_encoding::count_line_breaks;
use std::io::{self, BufRead, Read};
use std::sync::RwLock;

/// Decompressed bytes a gzip delivery may produce before its compression ratio is checked: the
/// header and the first rows of a small file compress unevenly.
pub const RATIO_GRACE_BYTES: u64 = 1 << 20;

/// What reading one delivery may cost. The defaults (see [`ReadLimits::DEFAULT`]) leave wide
/// room for the ministry's extracts (rows of a few hundred bytes, 10 to 50 million rows,
/// gzip ratios of 5 to 20) while keeping one delivery's memory flat and its time bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// Longest CSV record, in bytes, terminators and embedded line breaks included (for
    /// Parquet: the longest value, and the average size of a row of a row group).
    pub max_record_bytes: u64,
    /// Most bytes a compressed delivery may decompress to (for Parquet: its declared
    /// uncompressed size).
    pub max_decompressed_bytes: u64,
    /// Highest compression ratio, decompressed bytes per compressed byte, once the first
    /// [`RATIO_GRACE_BYTES`] are out.
    pub max_compression_ratio: u64,
    /// Most data rows in one delivery.
    pub max_rows: u64,
}

impl ReadLimits {
    /// Records of 1 MiB (a thousand times a real row: only a missing line break reaches it),
    /// 20 GiB decompressed (ten times the largest upload accepted), a ratio of 200:1 (ten
    /// times what a repetitive extract reaches; a bomb of one repeated byte is near 1000:1),
    /// 200 million rows (four times the largest extract expected, 50 million).
    pub const DEFAULT: ReadLimits = ReadLimits {
        max_record_bytes: 1 << 20,
        max_decompressed_bytes: 20 << 30,
        max_compression_ratio: 200,
        max_rows: 200_000_000,
    };

    /// Makes `self` the limits of every delivery this process reads (from the configuration,
    /// at start-up).
    pub fn install(self) {
        *PROCESS_LIMITS.write().unwrap_or_else(|e| e.into_inner()) = self;
    }

    /// The limits installed for this process, [`ReadLimits::DEFAULT`] if none were.
    pub fn current() -> ReadLimits {
        *PROCESS_LIMITS.read().unwrap_or_else(|e| e.into_inner())
    }
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits::DEFAULT
    }
}

static PROCESS_LIMITS: RwLock<ReadLimits> = RwLock::new(ReadLimits::DEFAULT);

/// A limit a compressed stream went beyond.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StreamLimit {
    /// More decompressed bytes than allowed.
    #[error("decompressed size above {limit} bytes")]
    Decompressed {
        /// The limit, in bytes.
        limit: u64,
    },
    /// A compression ratio above the limit.
    #[error("compression ratio above {limit}:1")]
    Ratio {
        /// The limit.
        limit: u64,
    },
}

/// Why a CSV stream could not be read on, at which line (as an editor numbers it).
#[derive(Debug)]
pub enum ReadError {
    /// A line longer than the record limit.
    LineTooLong {
        /// The line.
        line: u64,
        /// The limit, in bytes.
        limit: u64,
    },
    /// A record spread over several lines (by a quoted field) longer than the record limit.
    RecordTooLong {
        /// Where the record starts.
        start_line: u64,
        /// The line being read when the limit was reached.
        line: u64,
        /// The limit, in bytes.
        limit: u64,
    },
    /// The compressed stream went beyond a limit while `line` was being read.
    Stream {
        /// The line.
        line: u64,
        /// Which limit.
        limit: StreamLimit,
    },
    /// The compressed stream ends early while `line` was being read.
    Truncated {
        /// The line.
        line: u64,
    },
    /// The file could not be read on.
    Io {
        /// The line being read.
        line: u64,
        /// The error.
        error: io::Error,
    },
}

/// A [`BufRead`] that counts the bytes its reader consumes: the compressed bytes a gzip
/// decoder has really used, not those buffered ahead.
struct Counted<R> {
    inner: R,
    consumed: u64,
}

impl<R: BufRead> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.consumed += n as u64;
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counted<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        self.consumed += amt as u64;
        self.inner.consume(amt);
    }
}

/// A gzip decoder (of one or more members) that fails with a [`StreamLimit`] as soon as its
/// output goes beyond the decompressed size limit, or beyond [`RATIO_GRACE_BYTES`] plus the
/// ratio limit times the compressed bytes consumed.
pub struct BoundedGunzip<R: BufRead> {
    decoder: MultiGzDecoder<Counted<R>>,
    out: u64,
    limits: ReadLimits,
}

impl<R: BufRead> BoundedGunzip<R> {
    /// Decompresses `compressed` within `limits`.
    pub fn new(compressed: R, limits: ReadLimits) -> BoundedGunzip<R> {
        BoundedGunzip {
            decoder: MultiGzDecoder::new(Counted {
                inner: compressed,
                consumed: 0,
            }),
            out: 0,
            limits,
        }
    }
}

impl<R: BufRead> Read for BoundedGunzip<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.decoder.read(buf)?;
        self.out += n as u64;
        if self.out > self.limits.max_decompressed_bytes {
            return Err(io::Error::other(StreamLimit::Decompressed {
                limit: self.limits.max_decompressed_bytes,
            }));
        }
        let consumed = self.decoder.get_ref().consumed;
        let allowed = RATIO_GRACE_BYTES
            .saturating_add(self.limits.max_compression_ratio.saturating_mul(consumed));
        if self.out > allowed {
            return Err(io::Error::other(StreamLimit::Ratio {
                limit: self.limits.max_compression_ratio,
            }));
        }
        Ok(n)
    }
}

/// CSV records read from a byte stream in bounded memory, each with the editor line it
/// starts at.
pub struct Records<R> {
    input: R,
    core: csv_core::Reader,
    max_record: usize,
    /// Editor line number of the next physical line to read.
    next_line: u64,
    /// The physical line being read, terminator included.
    line: Vec<u8>,
    fields: Vec<u8>,
    ends: Vec<usize>,
    nfields: usize,
    start_line: u64,
}

impl<R: BufRead> Records<R> {
    /// Reads records separated by `delimiter` from `input`, none longer than `max_record`
    /// bytes.
    pub fn new(input: R, delimiter: u8, max_record: u64) -> Records<R> {
        Records {
            input,
            core: csv_core::ReaderBuilder::new().delimiter(delimiter).build(),
            max_record: usize::try_from(max_record).unwrap_or(usize::MAX).max(1),
            next_line: 1,
            line: Vec::new(),
            fields: vec![0; 4096],
            ends: vec![0; 64],
            nfields: 0,
            start_line: 0,
        }
    }

    /// The line being read (after a record, the line that follows it).
    pub fn line(&self) -> u64 {
        self.next_line
    }

    /// The fields of the last record read.
    pub fn fields(&self) -> impl Iterator<Item = &[u8]> {
        let mut start = 0;
        self.ends[..self.nfields].iter().map(move |&end| {
            let f = &self.fields[start..end];
            start = end;
            f
        })
    }

    /// The editor line at which field `index` of the last record starts (a quoted field
    /// before it may hold line breaks).
    pub fn field_line(&self, index: usize) -> u64 {
        let start = if index == 0 {
            0
        } else {
            self.ends[index.min(self.nfields) - 1]
        };
        self.start_line + count_line_breaks(&self.fields[..start])
    }

    fn io_error(&self, error: io::Error) -> ReadError {
        let line = self.next_line;
        if let Some(limit) = error
            .get_ref()
            .and_then(|e| e.downcast_ref::<StreamLimit>())
        {
            return ReadError::Stream {
                line,
                limit: *limit,
            };
        }
        if error.kind() == io::ErrorKind::UnexpectedEof {
            return ReadError::Truncated { line };
        }
        ReadError::Io { line, error }
    }

    fn too_long(&self, first_line: bool) -> ReadError {
        let limit = self.max_record as u64;
        if first_line {
            ReadError::LineTooLong {
                line: self.next_line,
                limit,
            }
        } else {
            ReadError::RecordTooLong {
                start_line: self.start_line,
                line: self.next_line,
                limit,
            }
        }
    }

    /// Reads the next physical line into `self.line`, refusing it as soon as it would go past
    /// `cap` bytes; `false` at the end of the input.
    fn read_line(&mut self, cap: usize, first_line: bool) -> Result<bool, ReadError> {
        self.line.clear();
        loop {
            let chunk = match self.input.fill_buf() {
                Ok(chunk) => chunk,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.io_error(e)),
            };
            if chunk.is_empty() {
                return Ok(!self.line.is_empty());
            }
            let Some(i) = chunk.iter().position(|&b| b == b'\n' || b == b'\r') else {
                let n = chunk.len();
                if self.line.len() + n > cap {
                    return Err(self.too_long(first_line));
                }
                self.line.extend_from_slice(chunk);
                self.input.consume(n);
                continue;
            };
            if self.line.len() + i + 1 > cap {
                return Err(self.too_long(first_line));
            }
            let cr = chunk[i] == b'\r';
            self.line.extend_from_slice(&chunk[..=i]);
            self.input.consume(i + 1);
            // A `\r` followed by `\n` ends the line with both, whatever the buffer boundary.
            if cr {
                loop {
                    match self.input.fill_buf() {
                        Ok(next) => {
                            if next.first() == Some(&b'\n') {
                                self.line.push(b'\n');
                                self.input.consume(1);
                            }
                            break;
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(self.io_error(e)),
                    }
                }
            }
            return Ok(true);
        }
    }

    /// Reads the next record; its editor line, or `None` at the end. Empty lines between
    /// records are skipped (and counted).
    pub fn next_record(&mut self) -> Result<Option<u64>, ReadError> {
        self.nfields = 0;
        let (mut outlen, mut endlen) = (0, 0);
        let mut used = 0usize;
        let mut started = false;
        loop {
            let got = self.read_line(self.max_record.saturating_sub(used), !started)?;
            if !started {
                if !got {
                    return Ok(None);
                }
                if self.line.iter().all(|&b| b == b'\r' || b == b'\n') {
                    self.next_line += 1;
                    continue;
                }
                started = true;
                self.start_line = self.next_line;
            }
            used += self.line.len();
            let input: &[u8] = if got { &self.line } else { &[] };
            let mut pos = 0;
            loop {
                let (res, nin, nout, nend) = self.core.read_record(
                    &input[pos..],
                    &mut self.fields[outlen..],
                    &mut self.ends[endlen..],
                );
                pos += nin;
                outlen += nout;
                endlen += nend;
                match res {
                    ReadRecordResult::InputEmpty => break,
                    // Output never exceeds the input, which is bounded by `max_record`.
                    ReadRecordResult::OutputFull => {
                        let n = self.fields.len() * 2;
                        self.fields.resize(n, 0);
                    }
                    ReadRecordResult::OutputEndsFull => {
                        let n = self.ends.len() * 2;
                        self.ends.resize(n, 0);
                    }
                    ReadRecordResult::Record => {
                        self.nfields = endlen;
                        if got {
                            self.next_line += 1;
                        }
                        return Ok(Some(self.start_line));
                    }
                    ReadRecordResult::End => return Ok(None),
                }
            }
            if !got {
                // The parser always ends a record or the input on empty input.
                return Ok(None);
            }
            self.next_line += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &[u8], max: u64) -> Result<Vec<(u64, Vec<String>)>, ReadError> {
        let mut r = Records::new(text, b',', max);
        let mut out = Vec::new();
        while let Some(line) = r.next_record()? {
            out.push((
                line,
                r.fields()
                    .map(|f| String::from_utf8_lossy(f).into_owned())
                    .collect(),
            ));
        }
        Ok(out)
    }

    fn lines(text: &[u8]) -> Vec<u64> {
        read(text, 1 << 20).unwrap().iter().map(|r| r.0).collect()
    }

    #[test]
    fn records_start_at_the_line_an_editor_shows() {
        assert_eq!(lines(b"h,i\na,b\nc,d\ne\n"), [1, 2, 3, 4]);
        assert_eq!(lines(b"h,i\r\na,b\r\nc,d\r\ne\r\n"), [1, 2, 3, 4]);
        assert_eq!(lines(b"h,i\ra,b\rc,d\re"), [1, 2, 3, 4]);
        assert_eq!(lines(b"h,i\n\n\r\na,b\n\nc\n"), [1, 4, 6]);
        // The record holding a quoted line break starts at its first line; the next one
        // counts the embedded break.
        assert_eq!(lines(b"h,i\na,\"x\r\ny\"\nc,d\n"), [1, 2, 4]);
        assert_eq!(lines(b"h,i\na,\"x\n\ny\"\nc,d\n"), [1, 2, 5]);
    }

    #[test]
    fn quoted_fields_keep_their_bytes_and_field_lines_count_breaks() {
        let mut r = Records::new(&b"h,i\r\n\"a\r\nb\",\"c\"\"d\"\r\n"[..], b',', 100);
        r.next_record().unwrap();
        assert_eq!(r.next_record().unwrap(), Some(2));
        let f: Vec<&[u8]> = r.fields().collect();
        assert_eq!(f, [&b"a\r\nb"[..], b"c\"d"]);
        assert_eq!((r.field_line(0), r.field_line(1)), (2, 3));
        assert_eq!(r.next_record().unwrap(), None);
    }

    #[test]
    fn a_line_or_a_record_beyond_the_limit_is_refused_where_it_starts() {
        let mut long = b"h,i\na,b\n".to_vec();
        long.extend(std::iter::repeat_n(b'x', 100));
        long.push(b'\n');
        assert!(matches!(
            read(&long, 50),
            Err(ReadError::LineTooLong { line: 3, limit: 50 })
        ));
        let mut open = b"h,i\na,\"b\n".to_vec();
        for _ in 0..20 {
            open.extend_from_slice(b"xxxx\n");
        }
        assert!(matches!(
            read(&open, 50),
            Err(ReadError::RecordTooLong {
                start_line: 2,
                line: 12,
                limit: 50
            })
        ));
        // Exactly at the limit, terminator included, is accepted.
        assert_eq!(read(b"abcd\n", 5).unwrap().len(), 1);
        assert!(read(b"abcde\n", 5).is_err());
    }

    #[test]
    fn a_gzip_bomb_stops_at_the_ratio_or_size_limit() {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&vec![b'x'; 20 << 20]).unwrap();
        let gz = e.finish().unwrap();
        let mut out = Vec::new();
        let err = BoundedGunzip::new(&gz[..], ReadLimits::DEFAULT)
            .read_to_end(&mut out)
            .unwrap_err();
        assert_eq!(
            err.get_ref().unwrap().downcast_ref::<StreamLimit>(),
            Some(&StreamLimit::Ratio { limit: 200 })
        );
        assert!(out.len() < 2 << 20, "{}", out.len());
        let small = ReadLimits {
            max_decompressed_bytes: 1000,
            ..ReadLimits::DEFAULT
        };
        let err = BoundedGunzip::new(&gz[..], small)
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert_eq!(
            err.get_ref().unwrap().downcast_ref::<StreamLimit>(),
            Some(&StreamLimit::Decompressed { limit: 1000 })
        );
        // Within the limits, every byte comes out.
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&vec![b'x'; 100_000]).unwrap();
        let gz = e.finish().unwrap();
        let mut out = Vec::new();
        BoundedGunzip::new(&gz[..], ReadLimits::DEFAULT)
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out.len(), 100_000);
    }
}
