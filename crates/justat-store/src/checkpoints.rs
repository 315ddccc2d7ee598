//! Signed checkpoints of the audit log, kept outside the database.
//!
//! The signing key is a file at a configured path (made by [`generate_key`], readable by its
//! owner only) with its public half beside it (`<key>.pub`); the checkpoints are lines appended
//! to `checkpoints.log` in a configured folder. Neither is in the database: someone who can
//! rewrite the database cannot sign, and the verification ([`Store::verify_audit_checkpoints`])
//! takes the trusted public keys from its caller, never from the database.
//!
//! A checkpoint is written after every release, at least once a day by the server, on demand,
//! and with each transmission to the ASP (which then holds a copy out of our reach).

use crate::{Store, StoreError};
use ed25519_dalek::{SigningKey, VerifyingKey};
use jiff::{SignedDuration, Timestamp};
use justat_model::checkpoint::{
    Checkpoint, CheckpointBreak, CheckpointReport, SignedCheckpoint, parse_public_key_file,
    parse_signing_key, public_key_text, signing_key_text, verify_checkpoints,
};
use justat_model::{AuditEntry, AuditHead, Sha256Hex};
use sqlx::Row;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The file of checkpoint lines inside the checkpoint folder.
pub const CHECKPOINT_FILE: &str = "checkpoints.log";

/// Where the signing key and the checkpoints are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointConfig {
    /// The private key file.
    pub key: PathBuf,
    /// The folder holding [`CHECKPOINT_FILE`].
    pub dir: PathBuf,
}

impl CheckpointConfig {
    /// The file of checkpoint lines.
    pub fn file(&self) -> PathBuf {
        self.dir.join(CHECKPOINT_FILE)
    }

    /// The public key file beside the private key.
    pub fn public_key_file(&self) -> PathBuf {
        public_key_path(&self.key)
    }
}

fn public_key_path(key: &Path) -> PathBuf {
    let mut name = key.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Checkpoint(format!("cannot {what} {}: {e}", path.display()))
}

/// Creates a new signing key at `path` (readable by its owner only) and its public key at
/// `<path>.pub`; refuses to replace an existing key, whose checkpoints would no longer verify.
pub fn generate_key(path: &Path) -> Result<VerifyingKey, StoreError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| {
        StoreError::Checkpoint(format!("the operating system gives no randomness: {e}"))
    })?;
    let key = SigningKey::from_bytes(&seed);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| io_error("create", parent, e))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            StoreError::Checkpoint(format!(
                "{} already exists: a key is never replaced (its checkpoints would no longer verify)",
                path.display()
            ))
        } else {
            io_error("create", path, e)
        }
    })?;
    file.write_all(signing_key_text(&key).as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| io_error("write", path, e))?;
    let public = key.verifying_key();
    let pub_path = public_key_path(path);
    std::fs::write(&pub_path, public_key_text(&public))
        .map_err(|e| io_error("write", &pub_path, e))?;
    Ok(public)
}

/// Reads the signing key at `path`.
pub fn load_signing_key(path: &Path) -> Result<SigningKey, StoreError> {
    let text = std::fs::read_to_string(path).map_err(|e| io_error("read the key", path, e))?;
    #[cfg(unix)]
    if let Ok(meta) = std::fs::metadata(path) {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(key = %path.display(), "the audit signing key can be read by other accounts: make it readable by its owner only (chmod 600)");
        }
    }
    parse_signing_key(&text).map_err(|e| StoreError::Checkpoint(format!("{}: {e}", path.display())))
}

/// The public key of the key at `path`: from the key itself when readable, else from
/// `<path>.pub` (a verifier need not hold the secret).
pub fn load_public_key(path: &Path) -> Result<VerifyingKey, StoreError> {
    if let Ok(key) = load_signing_key(path) {
        return Ok(key.verifying_key());
    }
    let pub_path = public_key_path(path);
    let text = std::fs::read_to_string(&pub_path)
        .map_err(|e| io_error("read the public key", &pub_path, e))?;
    parse_public_key_file(&text)
        .map_err(|e| StoreError::Checkpoint(format!("{}: {e}", pub_path.display())))
}

/// The lines of a checkpoint file, numbered from 1; none when it does not exist yet.
pub fn read_checkpoint_lines(file: &Path) -> Result<Vec<(usize, String)>, StoreError> {
    match std::fs::read_to_string(file) {
        Ok(text) => Ok(text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.to_string()))
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(io_error("read", file, e)),
    }
}

/// The last readable checkpoint of a file (by line), signature unchecked.
pub fn latest_checkpoint(file: &Path) -> Result<Option<SignedCheckpoint>, StoreError> {
    Ok(read_checkpoint_lines(file)?
        .iter()
        .rev()
        .find_map(|(_, l)| SignedCheckpoint::parse(l).ok()))
}

/// Appends one line and syncs it: one `write` of a short line in append mode, so concurrent
/// writers (the server, a command) never interleave.
fn append_line(file: &Path, line: &str) -> Result<(), StoreError> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io_error("create", dir, e))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .map_err(|e| io_error("open", file, e))?;
    f.write_all(format!("{line}\n").as_bytes())
        .and_then(|()| f.sync_data())
        .map_err(|e| io_error("append to", file, e))
}

impl Store {
    /// Signs checkpoints with this key into this folder from now on (after each release, and
    /// whenever [`Store::checkpoint`] is called).
    pub fn with_checkpoints(mut self, config: CheckpointConfig) -> Store {
        self.checkpoints = Some(std::sync::Arc::new(config));
        self
    }

    /// Where checkpoints go, if configured.
    pub fn checkpoint_config(&self) -> Option<&CheckpointConfig> {
        self.checkpoints.as_deref()
    }

    /// The last sequence number and hash of the log, as the table holds them.
    pub async fn audit_head(&self) -> Result<Option<AuditHead>, StoreError> {
        let row = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_optional(self.pool())
            .await?;
        let Some(row) = row else { return Ok(None) };
        let seq: i64 = row.try_get("seq")?;
        if seq == 0 {
            return Ok(None);
        }
        Ok(Some(AuditHead {
            seq,
            hash: Sha256Hex::from_stored(row.try_get("hash")?),
        }))
    }

    /// Signs the log's current head and appends it to the checkpoint file; `None` when no
    /// checkpoints are configured or the log is empty.
    pub async fn checkpoint(&self, now: Timestamp) -> Result<Option<SignedCheckpoint>, StoreError> {
        let Some(config) = self.checkpoint_config() else {
            return Ok(None);
        };
        let key = load_signing_key(&config.key)?;
        let Some(head) = self.audit_head().await? else {
            return Ok(None);
        };
        let signed = Checkpoint::of_head(&head, now).sign(&key);
        append_line(&config.file(), &signed.to_line())?;
        Ok(Some(signed))
    }

    /// Takes a checkpoint unless one was taken less than `max_age` ago (the server's daily
    /// checkpoint).
    pub async fn checkpoint_if_older(
        &self,
        max_age: SignedDuration,
        now: Timestamp,
    ) -> Result<Option<SignedCheckpoint>, StoreError> {
        let Some(config) = self.checkpoint_config() else {
            return Ok(None);
        };
        match latest_checkpoint(&config.file())? {
            Some(c) if now.duration_since(c.checkpoint.at) < max_age => Ok(None),
            _ => self.checkpoint(now).await,
        }
    }

    /// Takes a checkpoint after a change already committed (a release): a failure is logged,
    /// never turned into the change's failure, which happened.
    pub async fn checkpoint_after(&self, what: &str, now: Timestamp) {
        match self.checkpoint(now).await {
            Ok(Some(c)) => {
                tracing::info!(
                    seq = c.checkpoint.seq,
                    after = what,
                    "audit checkpoint signed"
                )
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = %e, after = what, "cannot sign the audit checkpoint")
            }
        }
    }

    /// Every entry of the log, in sequence order.
    pub async fn audit_entries(&self) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(crate::dynamic(format!(
            "SELECT {} FROM audit_log ORDER BY seq",
            crate::audit::ENTRY_COLUMNS
        )))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(crate::audit::entry_of).collect()
    }

    /// Checks the table against the checkpoint lines of `file`, trusting only `trusted` keys.
    pub async fn verify_audit_checkpoints(
        &self,
        file: &Path,
        trusted: &[VerifyingKey],
    ) -> Result<Result<CheckpointReport, CheckpointBreak>, StoreError> {
        let lines = read_checkpoint_lines(file)?;
        let lines: Vec<(usize, &str)> = lines.iter().map(|(n, l)| (*n, l.as_str())).collect();
        let entries = self.audit_entries().await?;
        Ok(verify_checkpoints(&entries, &lines, trusted))
    }
}
