//! The lake: immutable, content-addressed files (original deliveries, staging and quarantine
//! Parquet, cubes), named by their SHA-256 under `<data_dir>/lake/<kind>/`.

use justat_model::Sha256Hex;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// What kind of file, which is also its folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LakeKind {
    /// An original delivery, byte for byte as received.
    Delivery,
    /// The valid rows of a delivery, typed (Parquet).
    Staging,
    /// The rejected rows of a delivery or a run, with their reasons (Parquet).
    Quarantine,
    /// A cube (Parquet) produced by a chain.
    Cube,
    /// A file of a publication version (a table's CSV or XLSX, the zip of its data).
    Publication,
    /// A transmission to the Autorité de la statistique publique (embargo list, letter, log).
    Transmission,
}

impl LakeKind {
    fn dir(self) -> &'static str {
        match self {
            LakeKind::Delivery => "deliveries",
            LakeKind::Staging => "staging",
            LakeKind::Quarantine => "quarantine",
            LakeKind::Cube => "cubes",
            LakeKind::Publication => "publications",
            LakeKind::Transmission => "transmissions",
        }
    }
}

/// The file store.
#[derive(Debug, Clone)]
pub struct Lake {
    root: PathBuf,
}

impl Lake {
    /// The lake inside a data folder.
    pub fn new(data_dir: &Path) -> Lake {
        Lake {
            root: data_dir.join("lake"),
        }
    }

    /// Where the file of this kind and digest is (whether or not it exists).
    pub fn path(&self, kind: LakeKind, sha256: &Sha256Hex, ext: &str) -> PathBuf {
        self.root.join(kind.dir()).join(format!("{sha256}.{ext}"))
    }

    /// The SHA-256 of a file, read in a stream.
    pub fn hash_file(path: &Path) -> std::io::Result<Sha256Hex> {
        let mut f = std::fs::File::open(path)?;
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
        Ok(Sha256Hex::from_hasher(h))
    }

    /// Copies `src` into the lake (unless a file with the same content is there already) and
    /// makes it read-only. Returns its digest.
    pub fn put_file(&self, kind: LakeKind, src: &Path, ext: &str) -> std::io::Result<Sha256Hex> {
        let sha = Lake::hash_file(src)?;
        let dest = self.path(kind, &sha, ext);
        if !dest.exists() {
            let dir = dest.parent().expect("lake paths have a folder");
            std::fs::create_dir_all(dir)?;
            // Copy to a temporary name first: a crash never leaves a truncated file under a
            // content address.
            let tmp = dir.join(format!(".{}.tmp-{}", sha, std::process::id()));
            std::fs::copy(src, &tmp)?;
            set_read_only(&tmp)?;
            std::fs::rename(&tmp, &dest)?;
        }
        Ok(sha)
    }

    /// Stores `bytes` in the lake; returns their digest.
    pub fn put_bytes(&self, kind: LakeKind, bytes: &[u8], ext: &str) -> std::io::Result<Sha256Hex> {
        let sha = Sha256Hex::of(bytes);
        let dest = self.path(kind, &sha, ext);
        if !dest.exists() {
            let dir = dest.parent().expect("lake paths have a folder");
            std::fs::create_dir_all(dir)?;
            let tmp = dir.join(format!(".{}.tmp-{}", sha, std::process::id()));
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
            set_read_only(&tmp)?;
            std::fs::rename(&tmp, &dest)?;
        }
        Ok(sha)
    }

    /// A folder for temporary files of this lake (same file system, so renames are atomic).
    pub fn scratch(&self) -> std::io::Result<PathBuf> {
        let dir = self.root.join("tmp");
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }
}

fn set_read_only(path: &Path) -> std::io::Result<()> {
    let mut perms = std::fs::metadata(path)?.permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(path, perms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_content_addressed_and_read_only() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::new(dir.path());
        let src = dir.path().join("x.csv");
        std::fs::write(&src, b"a;b\n1;2\n").unwrap();
        let sha = lake.put_file(LakeKind::Delivery, &src, "csv").unwrap();
        assert_eq!(sha, Sha256Hex::of(b"a;b\n1;2\n"));
        let stored = lake.path(LakeKind::Delivery, &sha, "csv");
        assert_eq!(std::fs::read(&stored).unwrap(), b"a;b\n1;2\n");
        assert!(std::fs::metadata(&stored).unwrap().permissions().readonly());
        // Storing the same content again is a no-op.
        assert_eq!(
            lake.put_bytes(LakeKind::Delivery, b"a;b\n1;2\n", "csv")
                .unwrap(),
            sha
        );
    }
}
