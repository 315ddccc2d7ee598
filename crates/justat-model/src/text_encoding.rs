//! The three text encodings of the ministry's extracts: UTF-8, Windows-1252 and CP850.
//!
//! Extracts of the older management applications come from DOS or Windows tools (the NATINF
//! list itself is published in CP850). Decoding is strict: a byte that has no character in the
//! declared encoding is an error that says where it is, never a silent replacement, because a
//! wrongly declared encoding must be caught at delivery time and not show up as `Ã©` in a
//! publication. The two single-byte tables are written out here rather than taken from a crate:
//! 256 entries are easy to review, and this crate stays free of dependencies it does not need.

use std::fmt;
use std::str::FromStr;

/// A text encoding an extract can be declared in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// UTF-8 (a leading byte order mark is accepted and dropped).
    Utf8,
    /// Windows-1252 ("ANSI" Western European), a superset of ISO-8859-1's printable range.
    Windows1252,
    /// IBM PC code page 850 (DOS Latin-1): no `€`, no `œ`.
    Cp850,
}

impl Encoding {
    /// The canonical name, as written in a source's TOML (`utf-8`, `windows-1252`, `cp850`).
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Windows1252 => "windows-1252",
            Encoding::Cp850 => "cp850",
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An encoding name that is not one of those Justat reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown encoding `{name}`: use utf-8, windows-1252 or cp850")]
pub struct UnknownEncoding {
    /// The name given.
    pub name: String,
}

impl FromStr for Encoding {
    type Err = UnknownEncoding;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "utf-8" | "utf8" => Ok(Encoding::Utf8),
            "windows-1252" | "cp1252" => Ok(Encoding::Windows1252),
            "cp850" => Ok(Encoding::Cp850),
            _ => Err(UnknownEncoding {
                name: s.to_string(),
            }),
        }
    }
}

/// A byte sequence that is not text in the declared encoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "byte 0x{byte:02X} at line {line}, column {column} (offset {offset}) is not valid {encoding}"
)]
pub struct DecodeError {
    /// The encoding the bytes were declared in.
    pub encoding: Encoding,
    /// Offset of the offending byte from the start of the input (a BOM counts).
    pub offset: usize,
    /// 1-based line of the offending byte, as an editor shows it (lines end with `\n`,
    /// `\r\n` or a lone `\r`).
    pub line: usize,
    /// 1-based column of the offending byte, in characters decoded so far on its line.
    pub column: usize,
    /// The offending byte (for UTF-8, the first byte of the invalid sequence).
    pub byte: u8,
}

/// A character the target encoding has no byte for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{character}` (U+{code:04X}) at line {line}, column {column} cannot be written in {encoding}", code = u32::from(*character))]
pub struct EncodeError {
    /// The target encoding.
    pub encoding: Encoding,
    /// The first character that cannot be represented.
    pub character: char,
    /// Its byte offset in the UTF-8 input.
    pub offset: usize,
    /// Its 1-based line.
    pub line: usize,
    /// Its 1-based column, in characters.
    pub column: usize,
}

/// UTF-8's byte order mark, which some Windows tools put at the start of a file.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Decodes `bytes` declared in `enc` into text.
///
/// For UTF-8, a leading byte order mark is dropped. For Windows-1252, the five bytes the code
/// page leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) are errors. Every byte decodes in
/// CP850.
pub fn decode(bytes: &[u8], enc: Encoding) -> Result<String, DecodeError> {
    match enc {
        Encoding::Utf8 => {
            let body = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
            let skipped = bytes.len() - body.len();
            match std::str::from_utf8(body) {
                Ok(text) => Ok(text.to_string()),
                Err(e) => {
                    let valid = e.valid_up_to();
                    // The prefix up to `valid` is UTF-8 by definition of `valid_up_to`.
                    let prefix = std::str::from_utf8(&body[..valid]).unwrap_or_default();
                    let (line, column) = position(prefix);
                    Err(DecodeError {
                        encoding: enc,
                        offset: skipped + valid,
                        line,
                        column,
                        byte: body[valid],
                    })
                }
            }
        }
        Encoding::Windows1252 => decode_single_byte(bytes, enc, &WINDOWS_1252_HIGH),
        Encoding::Cp850 => decode_single_byte(bytes, enc, &CP850_HIGH),
    }
}

fn decode_single_byte(
    bytes: &[u8],
    enc: Encoding,
    high: &[Option<char>; 128],
) -> Result<String, DecodeError> {
    let mut out = String::with_capacity(bytes.len() + bytes.len() / 8);
    let mut line = 1;
    let mut column = 1;
    let mut after_cr = false;
    for (offset, &byte) in bytes.iter().enumerate() {
        let c = if byte < 0x80 {
            char::from(byte)
        } else {
            high[usize::from(byte - 0x80)].ok_or(DecodeError {
                encoding: enc,
                offset,
                line,
                column,
                byte,
            })?
        };
        out.push(c);
        match c {
            '\r' => {
                line += 1;
                column = 1;
            }
            '\n' if after_cr => {}
            '\n' => {
                line += 1;
                column = 1;
            }
            _ => column += 1,
        }
        after_cr = c == '\r';
    }
    Ok(out)
}

/// How many lines `bytes` ends, as a text editor counts them: `\n`, `\r\n` and a lone `\r`
/// each end one. The same in UTF-8, Windows-1252 and CP850, where both bytes are ASCII.
pub fn count_line_breaks(bytes: &[u8]) -> u64 {
    let mut n = 0;
    let mut after_cr = false;
    for &b in bytes {
        if b == b'\r' || (b == b'\n' && !after_cr) {
            n += 1;
        }
        after_cr = b == b'\r';
    }
    n
}

/// 1-based line and column of the character that follows `prefix`.
fn position(prefix: &str) -> (usize, usize) {
    let line = 1 + count_line_breaks(prefix.as_bytes()) as usize;
    let last_line = prefix.rsplit(['\n', '\r']).next().unwrap_or("");
    (line, 1 + last_line.chars().count())
}

/// Encodes `s` in `enc`; fails on the first character the encoding cannot represent.
pub fn encode(s: &str, enc: Encoding) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(s.len());
    encode_into(s, enc, &mut out)?;
    Ok(out)
}

/// Appends `s` encoded in `enc` to `out`, so that a writer can reuse one buffer for many rows.
///
/// On error, `out` may hold the bytes of the characters before the offending one.
pub fn encode_into(s: &str, enc: Encoding, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let high = match enc {
        Encoding::Utf8 => {
            out.extend_from_slice(s.as_bytes());
            return Ok(());
        }
        Encoding::Windows1252 => &WINDOWS_1252_HIGH,
        Encoding::Cp850 => &CP850_HIGH,
    };
    if s.is_ascii() {
        out.extend_from_slice(s.as_bytes());
        return Ok(());
    }
    for (offset, c) in s.char_indices() {
        if c.is_ascii() {
            out.push(c as u8);
        } else if let Some(i) = high.iter().position(|&h| h == Some(c)) {
            // `i` < 128, so the byte is 0x80..=0xFF.
            out.push(0x80 | i as u8);
        } else {
            let (line, column) = position(&s[..offset]);
            return Err(EncodeError {
                encoding: enc,
                character: c,
                offset,
                line,
                column,
            });
        }
    }
    Ok(())
}

#[rustfmt::skip]
const WINDOWS_1252_HIGH: [Option<char>; 128] = [
    /* 80 */ Some('\u{20AC}'), None, Some('\u{201A}'), Some('\u{0192}'), Some('\u{201E}'), Some('\u{2026}'), Some('\u{2020}'), Some('\u{2021}'),
    /* 88 */ Some('\u{02C6}'), Some('\u{2030}'), Some('\u{0160}'), Some('\u{2039}'), Some('\u{0152}'), None, Some('\u{017D}'), None,
    /* 90 */ None, Some('\u{2018}'), Some('\u{2019}'), Some('\u{201C}'), Some('\u{201D}'), Some('\u{2022}'), Some('\u{2013}'), Some('\u{2014}'),
    /* 98 */ Some('\u{02DC}'), Some('\u{2122}'), Some('\u{0161}'), Some('\u{203A}'), Some('\u{0153}'), None, Some('\u{017E}'), Some('\u{0178}'),
    /* A0 */ Some('\u{00A0}'), Some('\u{00A1}'), Some('\u{00A2}'), Some('\u{00A3}'), Some('\u{00A4}'), Some('\u{00A5}'), Some('\u{00A6}'), Some('\u{00A7}'),
    /* A8 */ Some('\u{00A8}'), Some('\u{00A9}'), Some('\u{00AA}'), Some('\u{00AB}'), Some('\u{00AC}'), Some('\u{00AD}'), Some('\u{00AE}'), Some('\u{00AF}'),
    /* B0 */ Some('\u{00B0}'), Some('\u{00B1}'), Some('\u{00B2}'), Some('\u{00B3}'), Some('\u{00B4}'), Some('\u{00B5}'), Some('\u{00B6}'), Some('\u{00B7}'),
    /* B8 */ Some('\u{00B8}'), Some('\u{00B9}'), Some('\u{00BA}'), Some('\u{00BB}'), Some('\u{00BC}'), Some('\u{00BD}'), Some('\u{00BE}'), Some('\u{00BF}'),
    /* C0 */ Some('\u{00C0}'), Some('\u{00C1}'), Some('\u{00C2}'), Some('\u{00C3}'), Some('\u{00C4}'), Some('\u{00C5}'), Some('\u{00C6}'), Some('\u{00C7}'),
    /* C8 */ Some('\u{00C8}'), Some('\u{00C9}'), Some('\u{00CA}'), Some('\u{00CB}'), Some('\u{00CC}'), Some('\u{00CD}'), Some('\u{00CE}'), Some('\u{00CF}'),
    /* D0 */ Some('\u{00D0}'), Some('\u{00D1}'), Some('\u{00D2}'), Some('\u{00D3}'), Some('\u{00D4}'), Some('\u{00D5}'), Some('\u{00D6}'), Some('\u{00D7}'),
    /* D8 */ Some('\u{00D8}'), Some('\u{00D9}'), Some('\u{00DA}'), Some('\u{00DB}'), Some('\u{00DC}'), Some('\u{00DD}'), Some('\u{00DE}'), Some('\u{00DF}'),
    /* E0 */ Some('\u{00E0}'), Some('\u{00E1}'), Some('\u{00E2}'), Some('\u{00E3}'), Some('\u{00E4}'), Some('\u{00E5}'), Some('\u{00E6}'), Some('\u{00E7}'),
    /* E8 */ Some('\u{00E8}'), Some('\u{00E9}'), Some('\u{00EA}'), Some('\u{00EB}'), Some('\u{00EC}'), Some('\u{00ED}'), Some('\u{00EE}'), Some('\u{00EF}'),
    /* F0 */ Some('\u{00F0}'), Some('\u{00F1}'), Some('\u{00F2}'), Some('\u{00F3}'), Some('\u{00F4}'), Some('\u{00F5}'), Some('\u{00F6}'), Some('\u{00F7}'),
    /* F8 */ Some('\u{00F8}'), Some('\u{00F9}'), Some('\u{00FA}'), Some('\u{00FB}'), Some('\u{00FC}'), Some('\u{00FD}'), Some('\u{00FE}'), Some('\u{00FF}'),
];

#[rustfmt::skip]
const CP850_HIGH: [Option<char>; 128] = [
    /* 80 */ Some('\u{00C7}'), Some('\u{00FC}'), Some('\u{00E9}'), Some('\u{00E2}'), Some('\u{00E4}'), Some('\u{00E0}'), Some('\u{00E5}'), Some('\u{00E7}'),
    /* 88 */ Some('\u{00EA}'), Some('\u{00EB}'), Some('\u{00E8}'), Some('\u{00EF}'), Some('\u{00EE}'), Some('\u{00EC}'), Some('\u{00C4}'), Some('\u{00C5}'),
    /* 90 */ Some('\u{00C9}'), Some('\u{00E6}'), Some('\u{00C6}'), Some('\u{00F4}'), Some('\u{00F6}'), Some('\u{00F2}'), Some('\u{00FB}'), Some('\u{00F9}'),
    /* 98 */ Some('\u{00FF}'), Some('\u{00D6}'), Some('\u{00DC}'), Some('\u{00F8}'), Some('\u{00A3}'), Some('\u{00D8}'), Some('\u{00D7}'), Some('\u{0192}'),
    /* A0 */ Some('\u{00E1}'), Some('\u{00ED}'), Some('\u{00F3}'), Some('\u{00FA}'), Some('\u{00F1}'), Some('\u{00D1}'), Some('\u{00AA}'), Some('\u{00BA}'),
    /* A8 */ Some('\u{00BF}'), Some('\u{00AE}'), Some('\u{00AC}'), Some('\u{00BD}'), Some('\u{00BC}'), Some('\u{00A1}'), Some('\u{00AB}'), Some('\u{00BB}'),
    /* B0 */ Some('\u{2591}'), Some('\u{2592}'), Some('\u{2593}'), Some('\u{2502}'), Some('\u{2524}'), Some('\u{00C1}'), Some('\u{00C2}'), Some('\u{00C0}'),
    /* B8 */ Some('\u{00A9}'), Some('\u{2563}'), Some('\u{2551}'), Some('\u{2557}'), Some('\u{255D}'), Some('\u{00A2}'), Some('\u{00A5}'), Some('\u{2510}'),
    /* C0 */ Some('\u{2514}'), Some('\u{2534}'), Some('\u{252C}'), Some('\u{251C}'), Some('\u{2500}'), Some('\u{253C}'), Some('\u{00E3}'), Some('\u{00C3}'),
    /* C8 */ Some('\u{255A}'), Some('\u{2554}'), Some('\u{2569}'), Some('\u{2566}'), Some('\u{2560}'), Some('\u{2550}'), Some('\u{256C}'), Some('\u{00A4}'),
    /* D0 */ Some('\u{00F0}'), Some('\u{00D0}'), Some('\u{00CA}'), Some('\u{00CB}'), Some('\u{00C8}'), Some('\u{0131}'), Some('\u{00CD}'), Some('\u{00CE}'),
    /* D8 */ Some('\u{00CF}'), Some('\u{2518}'), Some('\u{250C}'), Some('\u{2588}'), Some('\u{2584}'), Some('\u{00A6}'), Some('\u{00CC}'), Some('\u{2580}'),
    /* E0 */ Some('\u{00D3}'), Some('\u{00DF}'), Some('\u{00D4}'), Some('\u{00D2}'), Some('\u{00F5}'), Some('\u{00D5}'), Some('\u{00B5}'), Some('\u{00FE}'),
    /* E8 */ Some('\u{00DE}'), Some('\u{00DA}'), Some('\u{00DB}'), Some('\u{00D9}'), Some('\u{00FD}'), Some('\u{00DD}'), Some('\u{00AF}'), Some('\u{00B4}'),
    /* F0 */ Some('\u{00AD}'), Some('\u{00B1}'), Some('\u{2017}'), Some('\u{00BE}'), Some('\u{00B6}'), Some('\u{00A7}'), Some('\u{00F7}'), Some('\u{00B8}'),
    /* F8 */ Some('\u{00B0}'), Some('\u{00A8}'), Some('\u{00B7}'), Some('\u{00B9}'), Some('\u{00B3}'), Some('\u{00B2}'), Some('\u{25A0}'), Some('\u{00A0}'),
];

#[cfg(test)]
mod tests {
    use super::*;

    const FRENCH: &str = "éèêëàâçùûüôöîïÉÈÊÀÇÙÔÎ«»";

    #[test]
    fn encoding_names_are_case_insensitive_and_accept_aliases() {
        for (name, enc) in [
            ("utf-8", Encoding::Utf8),
            ("UTF8", Encoding::Utf8),
            ("Windows-1252", Encoding::Windows1252),
            ("cp1252", Encoding::Windows1252),
            ("CP850", Encoding::Cp850),
        ] {
            assert_eq!(name.parse::<Encoding>(), Ok(enc));
            assert_eq!(enc.as_str().parse::<Encoding>(), Ok(enc));
        }
        assert_eq!(
            "latin1".parse::<Encoding>(),
            Err(UnknownEncoding {
                name: "latin1".into()
            })
        );
    }

    #[test]
    fn every_defined_byte_round_trips_in_the_single_byte_encodings() {
        for enc in [Encoding::Windows1252, Encoding::Cp850] {
            let bytes: Vec<u8> = (0..=255u8)
                .filter(|b| {
                    enc != Encoding::Windows1252 || ![0x81, 0x8D, 0x8F, 0x90, 0x9D].contains(b)
                })
                .collect();
            let text = decode(&bytes, enc).unwrap();
            assert_eq!(
                text.chars().count(),
                bytes.len(),
                "{enc}: one character per byte"
            );
            assert_eq!(encode(&text, enc).unwrap(), bytes, "{enc}");
        }
    }

    #[test]
    fn each_high_table_maps_128_distinct_non_ascii_characters() {
        for table in [&WINDOWS_1252_HIGH, &CP850_HIGH] {
            let mut chars: Vec<char> = table.iter().flatten().copied().collect();
            assert!(chars.iter().all(|c| !c.is_ascii()));
            let n = chars.len();
            chars.sort_unstable();
            chars.dedup();
            assert_eq!(chars.len(), n);
        }
    }

    #[test]
    fn french_letters_round_trip_in_every_encoding() {
        for enc in [Encoding::Utf8, Encoding::Windows1252, Encoding::Cp850] {
            let bytes = encode(FRENCH, enc).unwrap();
            assert_eq!(decode(&bytes, enc).unwrap(), FRENCH, "{enc}");
        }
        for enc in [Encoding::Utf8, Encoding::Windows1252] {
            let text = "cœur, Œuvre, 12 €…";
            assert_eq!(decode(&encode(text, enc).unwrap(), enc).unwrap(), text);
        }
    }

    #[test]
    fn known_bytes_of_the_french_letters() {
        assert_eq!(
            encode("é€œ", Encoding::Windows1252).unwrap(),
            b"\xE9\x80\x9C"
        );
        assert_eq!(
            encode("éàçÉ", Encoding::Cp850).unwrap(),
            b"\x82\x85\x87\x90"
        );
        assert_eq!(encode("«»", Encoding::Cp850).unwrap(), b"\xAE\xAF");
    }

    #[test]
    fn cp850_cannot_write_the_euro_sign_nor_oe_nor_the_ellipsis() {
        let err = encode("prix\n12 €", Encoding::Cp850).unwrap_err();
        assert_eq!(
            err,
            EncodeError {
                encoding: Encoding::Cp850,
                character: '€',
                offset: 8,
                line: 2,
                column: 4
            }
        );
        assert_eq!(encode("œuvre", Encoding::Cp850).unwrap_err().character, 'œ');
        assert_eq!(encode("Œ", Encoding::Cp850).unwrap_err().character, 'Œ');
        // Nor the typographic ellipsis: DOS tools wrote three dots.
        assert_eq!(encode("etc…", Encoding::Cp850).unwrap_err().character, '…');
    }

    #[test]
    fn windows_1252_cannot_write_characters_outside_its_table() {
        let err = encode("aé→", Encoding::Windows1252).unwrap_err();
        assert_eq!((err.character, err.offset, err.column), ('→', 3, 3));
    }

    #[test]
    fn windows_1252_undefined_bytes_are_errors_with_their_position() {
        for byte in [0x81, 0x8D, 0x8F, 0x90, 0x9D] {
            let err = decode(&[b'a', b'\n', 0xE9, byte], Encoding::Windows1252).unwrap_err();
            assert_eq!(
                err,
                DecodeError {
                    encoding: Encoding::Windows1252,
                    offset: 3,
                    line: 2,
                    column: 2,
                    byte
                }
            );
        }
    }

    #[test]
    fn invalid_utf8_names_line_column_in_characters_and_byte() {
        let mut bytes = "ab\ncé".as_bytes().to_vec();
        bytes.push(0xFF);
        let err = decode(&bytes, Encoding::Utf8).unwrap_err();
        assert_eq!(
            err,
            DecodeError {
                encoding: Encoding::Utf8,
                offset: 6,
                line: 2,
                column: 3,
                byte: 0xFF
            }
        );
        // A truncated sequence at the end is invalid too.
        let err = decode(b"\xC3", Encoding::Utf8).unwrap_err();
        assert_eq!((err.offset, err.byte), (0, 0xC3));
    }

    #[test]
    fn utf8_bom_is_stripped_and_counted_in_offsets() {
        assert_eq!(decode(b"\xEF\xBB\xBFcode", Encoding::Utf8).unwrap(), "code");
        let err = decode(b"\xEF\xBB\xBFa\x80", Encoding::Utf8).unwrap_err();
        assert_eq!((err.offset, err.line, err.column), (4, 1, 2));
        // Only UTF-8 has a BOM: in CP850 those bytes are characters.
        assert_eq!(
            decode(b"\xEF\xBB\xBF", Encoding::Cp850)
                .unwrap()
                .chars()
                .count(),
            3
        );
    }

    #[test]
    fn lines_are_counted_as_an_editor_shows_them() {
        assert_eq!(count_line_breaks(b"a\nb\r\nc\rd"), 3);
        assert_eq!(count_line_breaks(b"\r\n\r\n\n\r\r"), 5);
        assert_eq!(count_line_breaks(b"abc"), 0);
        for (text, line) in [
            (&b"a\r\nb\r\nc\xFF"[..], 3),
            (b"a\rb\rc\xFF", 3),
            (b"a\n\nc\xFF", 3),
        ] {
            let err = decode(text, Encoding::Utf8).unwrap_err();
            assert_eq!((err.line, err.column), (line, 2));
            let mut cp = text.to_vec();
            *cp.last_mut().unwrap() = 0x81;
            let err = decode(&cp, Encoding::Windows1252).unwrap_err();
            assert_eq!((err.line, err.column), (line, 2));
        }
    }

    #[test]
    fn every_byte_decodes_in_cp850() {
        let bytes: Vec<u8> = (0..=255u8).collect();
        assert!(decode(&bytes, Encoding::Cp850).is_ok());
    }
}
