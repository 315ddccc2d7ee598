//! One CSV line at a time, in the source's separator and encoding, with RFC 4180 quoting.
//!
//! A line remembers where each field ends, so that the dirt can blank a field, replace a code
//! or drop a separator after the clean line is built, without each generator knowing how.

use justat_model::text_encoding::{EncodeError, Encoding, encode_into};

/// The line terminator of every generated file: CRLF, as RFC 4180 and the DOS and Windows tools
/// the extracts come from write it.
pub(crate) const LINE_END: &[u8] = b"\r\n";

/// A CSV line being built.
#[derive(Debug)]
pub(crate) struct Line {
    buf: Vec<u8>,
    ends: Vec<usize>,
    sep: u8,
    encoding: Encoding,
}

impl Line {
    pub(crate) fn new(sep: u8, encoding: Encoding) -> Line {
        Line {
            buf: Vec::with_capacity(256),
            ends: Vec::with_capacity(16),
            sep,
            encoding,
        }
    }

    pub(crate) fn clear(&mut self) {
        self.buf.clear();
        self.ends.clear();
    }

    fn start_field(&mut self) {
        if !self.ends.is_empty() {
            self.buf.push(self.sep);
        }
    }

    fn end_field(&mut self) {
        self.ends.push(self.buf.len());
    }

    /// A code or number written as is: ASCII without separator, quote or line break.
    pub(crate) fn code(&mut self, s: &str) {
        debug_assert!(!self.needs_quotes(s.as_bytes()) && s.is_ascii(), "{s}");
        self.start_field();
        self.buf.extend_from_slice(s.as_bytes());
        self.end_field();
    }

    /// Bytes already encoded and quoted (labels encoded once per file).
    pub(crate) fn raw(&mut self, bytes: &[u8]) {
        self.start_field();
        self.buf.extend_from_slice(bytes);
        self.end_field();
    }

    /// An empty field.
    pub(crate) fn empty(&mut self) {
        self.start_field();
        self.end_field();
    }

    /// An integer.
    pub(crate) fn int(&mut self, v: i64) {
        self.start_field();
        push_int(&mut self.buf, v);
        self.end_field();
    }

    /// `1` or `0`, the booleans of the extracts.
    pub(crate) fn flag(&mut self, v: bool) {
        self.start_field();
        self.buf.push(if v { b'1' } else { b'0' });
        self.end_field();
    }

    /// A date in `dd/mm/yyyy`.
    pub(crate) fn date_french(&mut self, days: i32) {
        self.start_field();
        crate::calendar::push_french(&mut self.buf, days);
        self.end_field();
    }

    /// A date in `yyyy-mm-dd`.
    pub(crate) fn date_iso(&mut self, days: i32) {
        self.start_field();
        crate::calendar::push_iso(&mut self.buf, days);
        self.end_field();
    }

    /// Hexadecimal digits of `v` (16 of them), for pseudonymous identifiers.
    pub(crate) fn hex(&mut self, prefix: &[u8], v: u64) {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        self.start_field();
        self.buf.extend_from_slice(prefix);
        for i in (0..16).rev() {
            self.buf.push(DIGITS[((v >> (4 * i)) & 0xF) as usize]);
        }
        self.end_field();
    }

    /// A prefix followed by a zero-padded number, for identifiers.
    pub(crate) fn padded(&mut self, prefix: &[u8], v: u64, width: usize) {
        self.start_field();
        self.buf.extend_from_slice(prefix);
        let mut digits = [b'0'; 20];
        let mut n = v;
        let mut len = 0;
        while n > 0 || len == 0 {
            digits[19 - len] = b'0' + (n % 10) as u8;
            n /= 10;
            len += 1;
        }
        for _ in len..width {
            self.buf.push(b'0');
        }
        self.buf.extend_from_slice(&digits[20 - len..]);
        self.end_field();
    }

    fn needs_quotes(&self, bytes: &[u8]) -> bool {
        bytes
            .iter()
            .any(|&b| b == self.sep || b == b'"' || b == b'\r' || b == b'\n')
    }

    /// `s` encoded, and quoted if it holds the separator, a quote or a line break.
    pub(crate) fn encode_field(&self, s: &str) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(s.len() + 2);
        encode_into(s, self.encoding, &mut out)?;
        if self.needs_quotes(&out) {
            let mut quoted = Vec::with_capacity(out.len() + 4);
            quoted.push(b'"');
            for &b in &out {
                if b == b'"' {
                    quoted.push(b'"');
                }
                quoted.push(b);
            }
            quoted.push(b'"');
            out = quoted;
        }
        Ok(out)
    }

    /// Number of fields so far.
    pub(crate) fn fields(&self) -> usize {
        self.ends.len()
    }

    fn span(&self, k: usize) -> (usize, usize) {
        let start = if k == 0 { 0 } else { self.ends[k - 1] + 1 };
        (start, self.ends[k])
    }

    /// Replaces field `k` with `bytes` (already encoded and quoted).
    pub(crate) fn replace(&mut self, k: usize, bytes: &[u8]) {
        let (start, end) = self.span(k);
        self.buf.splice(start..end, bytes.iter().copied());
        let delta = bytes.len() as isize - (end - start) as isize;
        for e in &mut self.ends[k..] {
            *e = (*e as isize + delta) as usize;
        }
    }

    /// Removes the separator after field `k`, merging it with the next one (a ragged line).
    pub(crate) fn drop_separator_after(&mut self, k: usize) {
        let (_, end) = self.span(k);
        self.buf.remove(end);
        self.ends.remove(k);
        for e in &mut self.ends[k..] {
            *e -= 1;
        }
    }

    /// The finished line, line terminator included.
    pub(crate) fn finish(&mut self) -> &[u8] {
        self.buf.extend_from_slice(LINE_END);
        &self.buf
    }
}

/// Appends the decimal digits of `v`.
pub(crate) fn push_int(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    let mut n = v.unsigned_abs();
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_joined_by_the_separator_and_end_with_crlf() {
        let mut l = Line::new(b';', Encoding::Cp850);
        l.code("TJ_1_119");
        l.int(-42);
        l.empty();
        l.flag(true);
        l.padded(b"P", 12, 5);
        l.hex(b"", 0xAB);
        assert_eq!(l.fields(), 6);
        assert_eq!(l.finish(), b"TJ_1_119;-42;;1;P00012;00000000000000ab\r\n");
    }

    #[test]
    fn text_is_encoded_and_quoted_only_when_needed() {
        let l = Line::new(b';', Encoding::Windows1252);
        assert_eq!(l.encode_field("Créteil").unwrap(), b"Cr\xE9teil");
        assert_eq!(l.encode_field("a;b").unwrap(), b"\"a;b\"");
        assert_eq!(l.encode_field("dit \"x\"").unwrap(), b"\"dit \"\"x\"\"\"");
        assert_eq!(l.encode_field("a,b").unwrap(), b"a,b");
        assert!(
            Line::new(b';', Encoding::Cp850)
                .encode_field("12 €")
                .is_err()
        );
    }

    #[test]
    fn dirt_edits_a_field_or_drops_a_separator() {
        let mut l = Line::new(b',', Encoding::Utf8);
        l.code("A");
        l.code("BB");
        l.code("C");
        l.replace(1, b"");
        l.replace(0, b"XYZ");
        l.drop_separator_after(1);
        assert_eq!(l.fields(), 2);
        assert_eq!(l.finish(), b"XYZ,C\r\n");
    }
}
