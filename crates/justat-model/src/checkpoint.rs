//! Signed checkpoints of the audit log: its anchor outside the database.
//!
//! The hash chain shows an edit only to someone who trusts the last hash; an attacker who owns
//! the database can edit an entry and recompute every hash after it, head included. A
//! checkpoint — a sequence number, the hash of that entry and an instant — signed with an
//! Ed25519 key kept off the database host, and written to a file beside the key (and into the
//! transmissions to the ASP), is what such a rewrite cannot reproduce: the table's entry at the
//! checkpoint's sequence must still have the checkpoint's hash, and, since each hash covers
//! the one before it, every entry before it is then the one that was signed.
//!
//! Pure: the signing key is given, the lines are given; reading files and the randomness of a
//! new key belong to the caller.

use crate::audit::{AuditEntry, AuditHead, Sha256Hex};
use ed25519_dalek::{Signature, Signer};
pub use ed25519_dalek::{SigningKey, VerifyingKey};
use jiff::Timestamp;
use sha2::{Digest, Sha256};
use std::fmt;

/// The first word of every checkpoint line, which names its format.
pub const LINE_TAG: &str = "justat-audit-checkpoint-v1";

/// What a checkpoint states: the log held `seq` entries, the last with hash `hash`, at `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Sequence number of the last entry covered.
    pub seq: i64,
    /// Hash of that entry.
    pub hash: Sha256Hex,
    /// When the checkpoint was taken, to the second.
    pub at: Timestamp,
}

impl Checkpoint {
    /// The checkpoint of `head` at `at` (kept to the second, so that the text signed is short
    /// and reads the same everywhere).
    pub fn of_head(head: &AuditHead, at: Timestamp) -> Checkpoint {
        Checkpoint {
            seq: head.seq,
            hash: head.hash.clone(),
            at: Timestamp::from_second(at.as_second()).unwrap_or(at),
        }
    }

    /// The exact bytes signed: a tag that no other Justat signature uses, then each field on
    /// its own line.
    pub fn message(&self) -> String {
        format!(
            "{LINE_TAG}\nseq={}\nhash={}\nat={}\n",
            self.seq, self.hash, self.at
        )
    }

    /// Signs the checkpoint.
    pub fn sign(&self, key: &SigningKey) -> SignedCheckpoint {
        SignedCheckpoint {
            checkpoint: self.clone(),
            public_key: key.verifying_key(),
            signature: key.sign(self.message().as_bytes()),
        }
    }
}

/// A checkpoint with its signature and the public key that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// What is signed.
    pub checkpoint: Checkpoint,
    /// The key that claims to have signed it (trusted only if the verifier trusts it).
    pub public_key: VerifyingKey,
    /// The signature of [`Checkpoint::message`].
    pub signature: Signature,
}

/// Why a checkpoint line cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CheckpointSyntax(String);

impl SignedCheckpoint {
    /// One line of the checkpoint file (without its line break).
    pub fn to_line(&self) -> String {
        format!(
            "{LINE_TAG} seq={} hash={} at={} key={} sig={}",
            self.checkpoint.seq,
            self.checkpoint.hash,
            self.checkpoint.at,
            public_key_hex(&self.public_key),
            self.signature_hex()
        )
    }

    /// Reads a line written by [`SignedCheckpoint::to_line`]; does not check the signature.
    pub fn parse(line: &str) -> Result<SignedCheckpoint, CheckpointSyntax> {
        let bad = |why: &str| CheckpointSyntax(why.to_string());
        let mut words = line.split_whitespace();
        if words.next() != Some(LINE_TAG) {
            return Err(bad(&format!("does not start with `{LINE_TAG}`")));
        }
        let mut field = |name: &str| -> Result<&str, CheckpointSyntax> {
            words
                .next()
                .and_then(|w| w.strip_prefix(name)?.strip_prefix('='))
                .ok_or_else(|| bad(&format!("field `{name}=` expected")))
        };
        let seq: i64 = field("seq")?
            .parse()
            .map_err(|_| bad("`seq` is not a whole number"))?;
        let hash = field("hash")?;
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("`hash` is not a SHA-256 in hexadecimal"));
        }
        let at: Timestamp = field("at")?
            .parse()
            .map_err(|_| bad("`at` is not an RFC 3339 instant"))?;
        let public_key = parse_public_key(field("key")?)?;
        let sig: [u8; 64] = hex::decode(field("sig")?)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| bad("`sig` is not 64 bytes in hexadecimal"))?;
        Ok(SignedCheckpoint {
            checkpoint: Checkpoint {
                seq,
                hash: Sha256Hex::from_stored(hash.to_ascii_lowercase()),
                at,
            },
            public_key,
            signature: Signature::from_bytes(&sig),
        })
    }

    /// Whether the signature is the public key's signature of the checkpoint.
    pub fn signature_holds(&self) -> bool {
        self.public_key
            .verify_strict(self.checkpoint.message().as_bytes(), &self.signature)
            .is_ok()
    }

    /// The signature in hexadecimal.
    pub fn signature_hex(&self) -> String {
        hex::encode(self.signature.to_bytes())
    }

    /// The fingerprint of the key that signed it.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.public_key)
    }
}

/// A short name of a public key, to compare by eye: `ed25519:` and the first 16 hexadecimal
/// digits of the SHA-256 of its bytes.
pub fn fingerprint(key: &VerifyingKey) -> String {
    format!(
        "ed25519:{}",
        &hex::encode(Sha256::digest(key.as_bytes()))[..16]
    )
}

/// A public key as 64 hexadecimal digits.
pub fn public_key_hex(key: &VerifyingKey) -> String {
    hex::encode(key.as_bytes())
}

/// A public key written as 64 hexadecimal digits.
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, CheckpointSyntax> {
    let bytes: [u8; 32] = hex::decode(text.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| CheckpointSyntax("a public key is 32 bytes in hexadecimal".into()))?;
    VerifyingKey::from_bytes(&bytes)
        .map_err(|_| CheckpointSyntax("not an Ed25519 public key".into()))
}

/// The text of a key file: a comment, then the 32-byte secret seed in hexadecimal.
pub fn signing_key_text(key: &SigningKey) -> String {
    format!(
        "# Justat audit signing key (Ed25519), public key {} ({}).\n\
         # Keep it secret and off the database host and its backups.\n{}\n",
        hex::encode(key.verifying_key().as_bytes()),
        fingerprint(&key.verifying_key()),
        hex::encode(key.to_bytes())
    )
}

/// The text of a public key file: a comment, then the key in hexadecimal.
pub fn public_key_text(key: &VerifyingKey) -> String {
    format!(
        "# Justat audit public key ({}).\n{}\n",
        fingerprint(key),
        hex::encode(key.as_bytes())
    )
}

/// The first line of a key file that is neither empty nor a comment.
fn key_line(text: &str) -> &str {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .unwrap_or("")
}

/// Reads a key file written by [`signing_key_text`].
pub fn parse_signing_key(text: &str) -> Result<SigningKey, CheckpointSyntax> {
    let seed: [u8; 32] = hex::decode(key_line(text))
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| CheckpointSyntax("a signing key is 32 bytes in hexadecimal".into()))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Reads a public key file written by [`public_key_text`].
pub fn parse_public_key_file(text: &str) -> Result<VerifyingKey, CheckpointSyntax> {
    parse_public_key(key_line(text))
}

/// The first way the table departs from its signed checkpoints.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointBreak {
    /// A line of the checkpoint file cannot be read.
    #[error("checkpoint line {line} cannot be read: {reason}")]
    Unreadable {
        /// Its line number (from 1).
        line: usize,
        /// Why.
        reason: String,
    },
    /// A line's signature is not its key's: it was forged or altered.
    #[error(
        "checkpoint line {line} (entry #{seq}) is FORGED: its signature does not match its content"
    )]
    BadSignature {
        /// Its line number.
        line: usize,
        /// The entry it names.
        seq: i64,
    },
    /// A line was signed by a key the verifier does not trust.
    #[error(
        "checkpoint line {line} (entry #{seq}) is signed by {fingerprint}, not by a trusted key"
    )]
    UnknownKey {
        /// Its line number.
        line: usize,
        /// The entry it names.
        seq: i64,
        /// The fingerprint of the key it names.
        fingerprint: String,
    },
    /// The table's entry at a checkpoint's sequence has another hash: the log was rewritten
    /// at or before it, even if every hash in the table is consistent.
    #[error(
        "the audit log was REWRITTEN: the checkpoint signed at {at} (line {line}) records entry #{seq} with hash {signed}, the table holds {found}; an entry from #{from} to #{seq} was changed and the chain recomputed"
    )]
    Rewritten {
        /// The checkpoint's line number.
        line: usize,
        /// The entry it names.
        seq: i64,
        /// When it was signed.
        at: Timestamp,
        /// The hash it signed.
        signed: Sha256Hex,
        /// The hash the table holds.
        found: Sha256Hex,
        /// The first entry not covered by an earlier checkpoint that still holds.
        from: i64,
    },
    /// The table ends before a checkpoint's entry: entries were deleted from its end.
    #[error(
        "the audit log was TRUNCATED: the checkpoint signed at {at} (line {line}) records entry #{seq}, the table holds no entry #{seq} (its last is #{last})"
    )]
    Truncated {
        /// The checkpoint's line number.
        line: usize,
        /// The entry it names.
        seq: i64,
        /// When it was signed.
        at: Timestamp,
        /// The table's last sequence number (0 when empty).
        last: i64,
    },
}

impl CheckpointBreak {
    /// The entry the break names.
    pub fn seq(&self) -> Option<i64> {
        match self {
            CheckpointBreak::Unreadable { .. } => None,
            CheckpointBreak::BadSignature { seq, .. }
            | CheckpointBreak::UnknownKey { seq, .. }
            | CheckpointBreak::Rewritten { seq, .. }
            | CheckpointBreak::Truncated { seq, .. } => Some(*seq),
        }
    }
}

/// What a verification against the checkpoints established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointReport {
    /// How many checkpoints were checked.
    pub checked: usize,
    /// The checkpoint of the highest entry, if any.
    pub latest: Option<Checkpoint>,
    /// Entries after the latest checkpoint: consistent, but not yet anchored.
    pub unanchored: i64,
}

impl fmt::Display for CheckpointReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.latest {
            None => write!(f, "no checkpoint yet"),
            Some(c) => write!(
                f,
                "{} checkpoint(s) hold, the latest signed at {} for entry #{}; {} entries after it are not yet anchored",
                self.checked, c.at, c.seq, self.unanchored
            ),
        }
    }
}

/// Checks the log (its entries in sequence order) against the lines of a checkpoint file,
/// trusting only the signatures of `trusted` keys.
///
/// Every line must be readable and signed by a trusted key; then, from the lowest sequence
/// up, the table's entry at each checkpoint's sequence must exist and have its hash. The
/// earliest departure is returned, naming the range of entries it can be in.
pub fn verify_checkpoints(
    entries: &[AuditEntry],
    lines: &[(usize, &str)],
    trusted: &[VerifyingKey],
) -> Result<CheckpointReport, CheckpointBreak> {
    let mut signed = Vec::new();
    for &(line, text) in lines {
        if text.trim().is_empty() {
            continue;
        }
        let c = SignedCheckpoint::parse(text)
            .map_err(|e| CheckpointBreak::Unreadable { line, reason: e.0 })?;
        let seq = c.checkpoint.seq;
        if !trusted.contains(&c.public_key) {
            return Err(CheckpointBreak::UnknownKey {
                line,
                seq,
                fingerprint: c.fingerprint(),
            });
        }
        if !c.signature_holds() {
            return Err(CheckpointBreak::BadSignature { line, seq });
        }
        signed.push((line, c.checkpoint));
    }
    signed.sort_by_key(|(line, c)| (c.seq, *line));
    let last = entries.last().map_or(0, |e| e.seq);
    let mut held = 0;
    for (line, c) in &signed {
        let Ok(i) = entries.binary_search_by_key(&c.seq, |e| e.seq) else {
            return Err(CheckpointBreak::Truncated {
                line: *line,
                seq: c.seq,
                at: c.at,
                last,
            });
        };
        if entries[i].hash != c.hash {
            return Err(CheckpointBreak::Rewritten {
                line: *line,
                seq: c.seq,
                at: c.at,
                signed: c.hash.clone(),
                found: entries[i].hash.clone(),
                from: held + 1,
            });
        }
        held = c.seq;
    }
    let latest = signed.last().map(|(_, c)| c.clone());
    Ok(CheckpointReport {
        checked: signed.len(),
        unanchored: latest.as_ref().map_or(last, |c| last - c.seq),
        latest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::EntryContent;

    fn key(n: u8) -> SigningKey {
        SigningKey::from_bytes(&[n; 32])
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// A log of `n` entries whose details are `details(k)`, chained from the first.
    fn log(n: usize, details: impl Fn(usize) -> String) -> Vec<AuditEntry> {
        let mut out: Vec<AuditEntry> = Vec::new();
        for k in 0..n {
            let head = out.last().map(|e| AuditHead {
                seq: e.seq,
                hash: e.hash.clone(),
            });
            let d = details(k);
            out.push(AuditEntry::chained(
                head.as_ref(),
                EntryContent {
                    at: "2026-12-01T10:00:00Z",
                    actor: "admin",
                    action: "user.create",
                    object: "user:x",
                    details: &d,
                },
            ));
        }
        out
    }

    fn checkpoint_line(entries: &[AuditEntry], seq: i64, when: &str, k: &SigningKey) -> String {
        let e = &entries[(seq - 1) as usize];
        Checkpoint::of_head(
            &AuditHead {
                seq,
                hash: e.hash.clone(),
            },
            at(when),
        )
        .sign(k)
        .to_line()
    }

    fn numbered(lines: &[String]) -> Vec<(usize, &str)> {
        lines
            .iter()
            .enumerate()
            .map(|(i, l)| (i + 1, l.as_str()))
            .collect()
    }

    #[test]
    fn a_line_reads_back_and_its_signature_holds() {
        let entries = log(3, |k| format!("{{\"n\":{k}}}"));
        let line = checkpoint_line(&entries, 3, "2026-12-07T12:00:00.75Z", &key(1));
        assert!(line.starts_with(LINE_TAG), "{line}");
        assert!(line.contains(" seq=3 "), "{line}");
        assert!(
            line.contains(" at=2026-12-07T12:00:00Z "),
            "to the second: {line}"
        );
        let c = SignedCheckpoint::parse(&line).unwrap();
        assert!(c.signature_holds());
        assert_eq!(c.to_line(), line);
        assert_eq!(c.checkpoint.hash, entries[2].hash);
        assert_eq!(c.fingerprint(), fingerprint(&key(1).verifying_key()));
        assert_eq!(c.fingerprint().len(), "ed25519:".len() + 16);
    }

    #[test]
    fn an_altered_line_no_longer_verifies() {
        let entries = log(3, |k| format!("{{\"n\":{k}}}"));
        let line = checkpoint_line(&entries, 3, "2026-12-07T12:00:00Z", &key(1));
        for (from, to) in [(" seq=3 ", " seq=2 "), ("T12:00:00Z", "T13:00:00Z")] {
            let altered = line.replace(from, to);
            let c = SignedCheckpoint::parse(&altered).unwrap();
            assert!(!c.signature_holds(), "{altered}");
        }
    }

    #[test]
    fn malformed_lines_are_named() {
        for bad in [
            "hello",
            "justat-audit-checkpoint-v1 seq=x",
            "justat-audit-checkpoint-v1 seq=1 hash=abc",
        ] {
            assert!(SignedCheckpoint::parse(bad).is_err(), "{bad}");
        }
        let lines = vec!["justat-audit-checkpoint-v1 seq=1".to_string()];
        let err = verify_checkpoints(&[], &numbered(&lines), &[]).unwrap_err();
        assert!(matches!(err, CheckpointBreak::Unreadable { line: 1, .. }));
    }

    #[test]
    fn key_files_read_back() {
        let k = key(7);
        assert_eq!(
            parse_signing_key(&signing_key_text(&k)).unwrap().to_bytes(),
            k.to_bytes()
        );
        assert_eq!(
            parse_public_key_file(&public_key_text(&k.verifying_key())).unwrap(),
            k.verifying_key()
        );
        assert!(parse_signing_key("# nothing\n").is_err());
    }

    #[test]
    fn an_intact_log_holds_its_checkpoints() {
        let entries = log(10, |k| format!("{{\"n\":{k}}}"));
        let k = key(1);
        let lines = vec![
            checkpoint_line(&entries, 4, "2026-12-06T00:00:00Z", &k),
            checkpoint_line(&entries, 8, "2026-12-07T00:00:00Z", &k),
        ];
        let report = verify_checkpoints(&entries, &numbered(&lines), &[k.verifying_key()]).unwrap();
        assert_eq!(report.checked, 2);
        assert_eq!(report.latest.unwrap().seq, 8);
        assert_eq!(report.unanchored, 2);
        let none = verify_checkpoints(&entries, &[], &[k.verifying_key()]).unwrap();
        assert_eq!((none.checked, none.unanchored), (0, 10));
    }

    #[test]
    fn a_consistently_recomputed_chain_is_named_a_rewrite() {
        let entries = log(10, |k| format!("{{\"n\":{k}}}"));
        let k = key(1);
        let lines = vec![
            checkpoint_line(&entries, 4, "2026-12-06T00:00:00Z", &k),
            checkpoint_line(&entries, 8, "2026-12-07T00:00:00Z", &k),
        ];
        // The attacker edits entry #6 and recomputes every hash from there: the chain is
        // consistent again.
        let forged = log(10, |k| {
            if k == 5 {
                "{\"n\":\"forged\"}".into()
            } else {
                format!("{{\"n\":{k}}}")
            }
        });
        let head = AuditHead {
            seq: 10,
            hash: forged[9].hash.clone(),
        };
        assert_eq!(crate::verify_chain(&forged, Some(&head)), Ok(10));
        let err = verify_checkpoints(&forged, &numbered(&lines), &[k.verifying_key()]).unwrap_err();
        assert_eq!(
            err,
            CheckpointBreak::Rewritten {
                line: 2,
                seq: 8,
                at: at("2026-12-07T00:00:00Z"),
                signed: entries[7].hash.clone(),
                found: forged[7].hash.clone(),
                from: 5,
            }
        );
        let message = err.to_string();
        assert!(message.contains("REWRITTEN"), "{message}");
        assert!(message.contains("entry #8"), "{message}");
        assert!(message.contains("from #5 to #8"), "{message}");
        // An edit after the latest checkpoint is beyond its reach.
        let late = log(10, |k| {
            if k == 9 {
                "{}".into()
            } else {
                format!("{{\"n\":{k}}}")
            }
        });
        assert!(verify_checkpoints(&late, &numbered(&lines), &[k.verifying_key()]).is_ok());
    }

    #[test]
    fn a_truncated_log_is_named() {
        let entries = log(10, |k| format!("{{\"n\":{k}}}"));
        let k = key(1);
        let lines = vec![checkpoint_line(&entries, 8, "2026-12-07T00:00:00Z", &k)];
        let err =
            verify_checkpoints(&entries[..6], &numbered(&lines), &[k.verifying_key()]).unwrap_err();
        assert!(
            matches!(
                err,
                CheckpointBreak::Truncated {
                    seq: 8,
                    last: 6,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("TRUNCATED"), "{err}");
    }

    #[test]
    fn forged_and_foreign_checkpoints_are_refused() {
        let entries = log(5, |k| format!("{{\"n\":{k}}}"));
        let (ours, theirs) = (key(1), key(2));
        // Signed by another key: the attacker's own.
        let foreign = vec![checkpoint_line(
            &entries,
            5,
            "2026-12-07T00:00:00Z",
            &theirs,
        )];
        let err =
            verify_checkpoints(&entries, &numbered(&foreign), &[ours.verifying_key()]).unwrap_err();
        assert!(
            matches!(&err, CheckpointBreak::UnknownKey { line: 1, seq: 5, fingerprint: f } if *f == fingerprint(&theirs.verifying_key())),
            "{err:?}"
        );
        // Our key written in, the hash changed: the signature no longer holds.
        let good = checkpoint_line(&entries, 5, "2026-12-07T00:00:00Z", &ours);
        let forged = vec![good.replace(entries[4].hash.as_str(), entries[3].hash.as_str())];
        let err =
            verify_checkpoints(&entries, &numbered(&forged), &[ours.verifying_key()]).unwrap_err();
        assert_eq!(err, CheckpointBreak::BadSignature { line: 1, seq: 5 });
        assert!(err.to_string().contains("FORGED"), "{err}");
    }
}
