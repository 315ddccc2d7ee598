//! The content hash: a SHA-256 digest as 64 lowercase hexadecimal characters, and a file
//! named by it.
//!
//! Files in the lake are named by it, deliveries, chains, cubes and publication files are
//! identified by it, and the audit chain links entries with it. One type for all of them, so
//! that a digest read from a request, a file or a JSON document is checked once, where it
//! enters, and a name or a path can never stand where a digest is expected.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// A SHA-256 digest as 64 lowercase hexadecimal characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sha256Hex(String);

/// Text that is not a digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a SHA-256 digest (64 lowercase hexadecimal characters): `{0}`")]
pub struct NotADigest(pub String);

impl Sha256Hex {
    /// The `prev_hash` of the first entry of a chain.
    pub fn genesis() -> Sha256Hex {
        Sha256Hex("0".repeat(64))
    }

    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Sha256Hex {
        Sha256Hex::from_hasher(Sha256::new_with_prefix(bytes))
    }

    /// The digest a [`Sha256`] hasher fed with a stream ends with.
    pub fn from_hasher(hasher: Sha256) -> Sha256Hex {
        Sha256Hex(hex::encode(hasher.finalize()))
    }

    /// Wraps a stored digest of the audit log. Anything that is not 64 lowercase hex digits is
    /// kept as it is (a tampered row may hold anything) and simply never matches a computed
    /// digest: the verification then names the entry, which a refusal here would hide.
    pub fn from_stored(s: String) -> Sha256Hex {
        Sha256Hex(s)
    }

    /// The digest as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its first 12 digits, enough for a person to tell digests apart in a list.
    pub fn short(&self) -> &str {
        self.0.get(..12).unwrap_or(&self.0)
    }
}

impl FromStr for Sha256Hex {
    type Err = NotADigest;
    fn from_str(s: &str) -> Result<Self, NotADigest> {
        Sha256Hex::try_from(s.to_string())
    }
}

impl TryFrom<String> for Sha256Hex {
    type Error = NotADigest;
    fn try_from(s: String) -> Result<Self, NotADigest> {
        if s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(Sha256Hex(s))
        } else {
            Err(NotADigest(s.chars().take(80).collect()))
        }
    }
}

impl From<Sha256Hex> for String {
    fn from(d: Sha256Hex) -> String {
        d.0
    }
}

impl AsRef<str> for Sha256Hex {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Sha256Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A file stored in the lake under its SHA-256: a publication's file, a transmission's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFile {
    /// Its name (`condamnations.csv`, `donnees.zip`).
    pub name: String,
    /// Its media type.
    pub media_type: String,
    /// Its SHA-256 (its name in the lake).
    pub sha256: Sha256Hex,
    /// Its size in bytes.
    pub size: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_is_64_lowercase_hex_digits_and_nothing_else() {
        let d = Sha256Hex::of(b"abc");
        assert_eq!(
            d.as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(d.as_str().parse::<Sha256Hex>(), Ok(d.clone()));
        for bad in [
            "",
            "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad0",
            "../../etc/passwd",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ag",
        ] {
            assert!(bad.parse::<Sha256Hex>().is_err(), "{bad}");
        }
    }

    #[test]
    fn json_reads_and_writes_a_digest_as_its_text_and_refuses_anything_else() {
        let d = Sha256Hex::of(b"x");
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(json, format!("\"{d}\""));
        assert_eq!(serde_json::from_str::<Sha256Hex>(&json).unwrap(), d);
        assert!(serde_json::from_str::<Sha256Hex>("\"publication.pdf\"").is_err());
    }

    #[test]
    fn a_streamed_digest_equals_the_digest_of_the_whole() {
        let mut h = Sha256::new();
        h.update(b"ab");
        h.update(b"c");
        assert_eq!(Sha256Hex::from_hasher(h), Sha256Hex::of(b"abc"));
    }
}
