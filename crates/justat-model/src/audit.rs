//! The hash chain of the audit log, and its verification.
//!
//! Each entry carries the SHA-256 of the entry before it and its own SHA-256 over a
//! length-prefixed encoding of its fields (so no two different entries encode alike). A
//! separate head (last sequence number and hash, written in the same transaction as each
//! entry) lets the verification also see entries removed from the end.

pub use crate::digest::Sha256Hex;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// One entry of the audit log, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// Position in the chain, from 1, without gaps.
    pub seq: i64,
    /// When it happened: RFC 3339 in UTC, as stored (hashed as text, never re-formatted).
    pub at: String,
    /// Who did it: a user name, `system`, or `cli:<os user>`.
    pub actor: String,
    /// What was done, a dotted verb such as `user.create` or `login.failure`.
    pub action: String,
    /// What it was done to, e.g. `user:marie`.
    pub object: String,
    /// Details as a JSON object.
    pub details: String,
    /// The hash of the entry before (the genesis hash for the first one).
    pub prev_hash: Sha256Hex,
    /// The hash of this entry.
    pub hash: Sha256Hex,
}

/// The last sequence number and hash, kept beside the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditHead {
    /// Sequence number of the last entry.
    pub seq: i64,
    /// Hash of the last entry.
    pub hash: Sha256Hex,
}

/// The fields of an entry that its hash covers, before it is numbered.
#[derive(Debug, Clone, Copy)]
pub struct EntryContent<'a> {
    /// See [`AuditEntry::at`].
    pub at: &'a str,
    /// See [`AuditEntry::actor`].
    pub actor: &'a str,
    /// See [`AuditEntry::action`].
    pub action: &'a str,
    /// See [`AuditEntry::object`].
    pub object: &'a str,
    /// See [`AuditEntry::details`].
    pub details: &'a str,
}

/// The hash of an entry numbered `seq` that follows `prev_hash`.
pub fn entry_hash(seq: i64, content: EntryContent<'_>, prev_hash: &Sha256Hex) -> Sha256Hex {
    let mut h = Sha256::new();
    h.update(b"justat-audit-v1\n");
    for field in [
        seq.to_string().as_str(),
        content.at,
        content.actor,
        content.action,
        content.object,
        content.details,
        prev_hash.as_str(),
    ] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field.as_bytes());
    }
    Sha256Hex::from_hasher(h)
}

impl AuditEntry {
    /// Builds the entry that follows `prev` (`None` for the first one).
    pub fn chained(prev: Option<&AuditHead>, content: EntryContent<'_>) -> AuditEntry {
        let (seq, prev_hash) = match prev {
            Some(h) => (h.seq + 1, h.hash.clone()),
            None => (1, Sha256Hex::genesis()),
        };
        let hash = entry_hash(seq, content, &prev_hash);
        AuditEntry {
            seq,
            at: content.at.to_string(),
            actor: content.actor.to_string(),
            action: content.action.to_string(),
            object: content.object.to_string(),
            details: content.details.to_string(),
            prev_hash,
            hash,
        }
    }

    fn content(&self) -> EntryContent<'_> {
        EntryContent {
            at: &self.at,
            actor: &self.actor,
            action: &self.action,
            object: &self.object,
            details: &self.details,
        }
    }

    fn hash_as_if_numbered(&self, seq: i64) -> Sha256Hex {
        entry_hash(seq, self.content(), &self.prev_hash)
    }
}

/// The first place where the stored log departs from the chain as it was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    /// The entry's fields no longer match its hash, or its hash was recomputed after an edit.
    #[error("entry #{seq} was edited: its content no longer matches the hash chain")]
    Edited {
        /// The edited entry.
        seq: i64,
    },
    /// The entry that was written with this number is gone.
    #[error("entry #{seq} was deleted")]
    Deleted {
        /// The first missing entry.
        seq: i64,
    },
    /// An entry that the application did not write stands at this number.
    #[error("entry #{seq} was inserted: the application did not write it there")]
    Inserted {
        /// The first foreign entry.
        seq: i64,
    },
    /// The entry was written at another position.
    #[error("entry #{seq} was moved: it was written as entry #{written_as}")]
    Reordered {
        /// Where it stands now.
        seq: i64,
        /// Where it was written.
        written_as: i64,
    },
    /// Entries were removed from the end of the log.
    #[error("entries #{from} to #{to} were deleted from the end of the log")]
    TailDeleted {
        /// The first missing entry.
        from: i64,
        /// The last entry the head records.
        to: i64,
    },
}

impl ChainBreak {
    /// The entry the break names first.
    pub fn seq(&self) -> i64 {
        match self {
            ChainBreak::Edited { seq }
            | ChainBreak::Deleted { seq }
            | ChainBreak::Inserted { seq }
            | ChainBreak::Reordered { seq, .. } => *seq,
            ChainBreak::TailDeleted { from, .. } => *from,
        }
    }
}

/// Checks a whole log, given in the order of its sequence numbers, against its head.
///
/// Returns the number of entries checked, or the first break found.
pub fn verify_chain(entries: &[AuditEntry], head: Option<&AuditHead>) -> Result<usize, ChainBreak> {
    let mut prev_hash = Sha256Hex::genesis();
    for (i, e) in entries.iter().enumerate() {
        let expected_seq = i as i64 + 1;
        if e.seq > expected_seq {
            return Err(ChainBreak::Deleted { seq: expected_seq });
        }
        if e.seq < expected_seq {
            return Err(ChainBreak::Inserted { seq: e.seq });
        }
        if e.hash_as_if_numbered(e.seq) != e.hash {
            return Err(classify_bad_hash(entries, i));
        }
        if e.prev_hash != prev_hash {
            return Err(classify_bad_link(entries, i));
        }
        prev_hash = e.hash.clone();
    }
    let last_seq = entries.len() as i64;
    match head {
        Some(h) if h.seq > last_seq => Err(ChainBreak::TailDeleted {
            from: last_seq + 1,
            to: h.seq,
        }),
        Some(h) if h.seq < last_seq => Err(ChainBreak::Inserted { seq: h.seq + 1 }),
        Some(h) if h.hash != prev_hash => Err(ChainBreak::Edited { seq: last_seq }),
        None if last_seq > 0 => Err(ChainBreak::Inserted { seq: 1 }),
        _ => Ok(entries.len()),
    }
}

/// The entry at `i` does not match its own hash: an edit, or a renumbering after a deletion,
/// an insertion or a move.
fn classify_bad_hash(entries: &[AuditEntry], i: usize) -> ChainBreak {
    let e = &entries[i];
    let max = entries.len() as i64 + 1;
    let written_as = (1..=max).find(|&s| s != e.seq && e.hash_as_if_numbered(s) == e.hash);
    match written_as {
        None => ChainBreak::Edited { seq: e.seq },
        Some(s) => {
            // If the entry now numbered `s` was written with this entry's number, the two
            // were swapped.
            let other = entries.get((s - 1) as usize);
            if other.is_some_and(|o| o.hash_as_if_numbered(e.seq) == o.hash) {
                ChainBreak::Reordered {
                    seq: e.seq,
                    written_as: s,
                }
            } else if s > e.seq {
                ChainBreak::Deleted { seq: e.seq }
            } else {
                ChainBreak::Inserted { seq: s }
            }
        }
    }
}

/// The entry at `i` is intact but does not follow the entry before it.
fn classify_bad_link(entries: &[AuditEntry], i: usize) -> ChainBreak {
    let e = &entries[i];
    match entries.iter().position(|o| o.hash == e.prev_hash) {
        Some(j) if j + 2 == i => ChainBreak::Inserted {
            seq: entries[i - 1].seq,
        },
        Some(j) => ChainBreak::Reordered {
            seq: e.seq,
            written_as: entries[j].seq + 1,
        },
        // Nothing stored has the hash this entry follows: the one before it was edited and
        // its hash recomputed.
        None => ChainBreak::Edited { seq: e.seq - 1 },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(n: usize) -> (String, String) {
        (
            format!("2026-11-29T10:00:{:02}Z", n % 60),
            format!("{{\"n\":{n}}}"),
        )
    }

    fn log(n: usize) -> (Vec<AuditEntry>, AuditHead) {
        let mut entries: Vec<AuditEntry> = Vec::new();
        let mut head: Option<AuditHead> = None;
        for k in 0..n {
            let (at, details) = content(k);
            let e = AuditEntry::chained(
                head.as_ref(),
                EntryContent {
                    at: &at,
                    actor: "admin",
                    action: "user.create",
                    object: "user:x",
                    details: &details,
                },
            );
            head = Some(AuditHead {
                seq: e.seq,
                hash: e.hash.clone(),
            });
            entries.push(e);
        }
        (entries, head.unwrap())
    }

    fn renumber(entries: &mut [AuditEntry]) {
        for (i, e) in entries.iter_mut().enumerate() {
            e.seq = i as i64 + 1;
        }
    }

    #[test]
    fn an_intact_log_verifies() {
        let (entries, head) = log(10);
        assert_eq!(verify_chain(&entries, Some(&head)), Ok(10));
        assert_eq!(verify_chain(&[], None), Ok(0));
    }

    #[test]
    fn an_edited_field_is_found() {
        let (mut entries, head) = log(10);
        entries[4].details = "{\"n\":999}".into();
        assert_eq!(
            verify_chain(&entries, Some(&head)),
            Err(ChainBreak::Edited { seq: 5 })
        );
        let (mut entries, head) = log(10);
        entries[6].actor = "intruder".into();
        assert_eq!(
            verify_chain(&entries, Some(&head)),
            Err(ChainBreak::Edited { seq: 7 })
        );
    }

    #[test]
    fn an_edit_with_a_recomputed_hash_is_found() {
        let (mut entries, head) = log(10);
        entries[4].details = "{\"n\":999}".into();
        entries[4].hash = entries[4].hash_as_if_numbered(5);
        assert_eq!(
            verify_chain(&entries, Some(&head)),
            Err(ChainBreak::Edited { seq: 5 })
        );
    }

    #[test]
    fn a_deleted_entry_is_found_with_or_without_renumbering() {
        let (mut entries, head) = log(10);
        entries.remove(3);
        assert_eq!(
            verify_chain(&entries, Some(&head)),
            Err(ChainBreak::Deleted { seq: 4 })
        );
        renumber(&mut entries);
        assert_eq!(
            verify_chain(&entries, Some(&head)),
            Err(ChainBreak::Deleted { seq: 4 })
        );
    }

    #[test]
    fn deleting_the_last_entries_is_found_through_the_head() {
        let (mut entries, head) = log(10);
        entries.truncate(7);
        assert_eq!(
            verify_chain(&entries, Some(&head)),
            Err(ChainBreak::TailDeleted { from: 8, to: 10 })
        );
    }

    #[test]
    fn an_inserted_entry_is_found() {
        let (mut entries, head) = log(10);
        // A forger who knows the algorithm links a new entry after #3 and renumbers.
        let prev = AuditHead {
            seq: 3,
            hash: entries[2].hash.clone(),
        };
        let forged = AuditEntry::chained(
            Some(&prev),
            EntryContent {
                at: "2026-11-29T10:00:03Z",
                actor: "admin",
                action: "user.create",
                object: "user:ghost",
                details: "{}",
            },
        );
        entries.insert(3, forged);
        renumber(&mut entries);
        let err = verify_chain(&entries, Some(&head)).unwrap_err();
        assert_eq!(err, ChainBreak::Inserted { seq: 4 });
    }

    #[test]
    fn an_entry_appended_outside_the_application_is_found() {
        let (mut entries, head) = log(5);
        let forged = AuditEntry::chained(
            Some(&head),
            EntryContent {
                at: "x",
                actor: "a",
                action: "b",
                object: "c",
                details: "{}",
            },
        );
        entries.push(forged);
        assert_eq!(
            verify_chain(&entries, Some(&head)),
            Err(ChainBreak::Inserted { seq: 6 })
        );
    }

    #[test]
    fn swapped_entries_are_found() {
        let (mut entries, head) = log(10);
        entries.swap(2, 5);
        renumber(&mut entries);
        assert_eq!(
            verify_chain(&entries, Some(&head)),
            Err(ChainBreak::Reordered {
                seq: 3,
                written_as: 6
            })
        );
    }

    #[test]
    fn a_head_that_does_not_match_is_an_edit_of_the_last_entry() {
        let (entries, mut head) = log(3);
        head.hash = Sha256Hex::of(b"other");
        assert_eq!(
            verify_chain(&entries, Some(&head)),
            Err(ChainBreak::Edited { seq: 3 })
        );
    }

    #[test]
    fn field_boundaries_are_unambiguous() {
        let p = Sha256Hex::genesis();
        let a = entry_hash(
            1,
            EntryContent {
                at: "t",
                actor: "ab",
                action: "c",
                object: "",
                details: "",
            },
            &p,
        );
        let b = entry_hash(
            1,
            EntryContent {
                at: "t",
                actor: "a",
                action: "bc",
                object: "",
                details: "",
            },
            &p,
        );
        assert_ne!(a, b);
    }
}
