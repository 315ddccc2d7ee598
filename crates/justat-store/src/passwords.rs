//! Password hashing (argon2id) with bounded concurrency and bounded memory.
//!
//! A check costs argon2's whole memory (19 MiB with the parameters Justat writes) for tens of
//! milliseconds. Without a bound, a burst of login attempts hashes them all at once and the
//! server grows by that much per attempt. Here at most [`HashingLimits::concurrent`] hashes
//! run at a time, each in one of as many memory areas allocated once and reused; an attempt
//! that finds no free turn within [`HashingLimits::wait`] is refused without hashing. Stored
//! hashes asking for more memory or time than [`MAX_MEMORY_KIB`] and [`MAX_PASSES`] are
//! refused as corrupt, so the memory is bounded by `concurrent × MAX_MEMORY_KIB`.

use crate::StoreError;
use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Block, Params, PasswordHasher, Version};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The most memory a stored hash may ask for, in KiB (Justat writes 19 MiB hashes).
pub const MAX_MEMORY_KIB: u32 = 64 * 1024;

/// The most passes a stored hash may ask for (Justat writes 2).
pub const MAX_PASSES: u32 = 16;

/// The most lanes a stored hash may ask for (Justat writes 1).
const MAX_LANES: u32 = 8;

/// How many passwords may be hashed at once, and how long an attempt waits for its turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashingLimits {
    /// Hashes computed at the same time (each holds argon2's memory while it runs).
    pub concurrent: usize,
    /// How long a login attempt may wait for a turn before it is refused as busy.
    pub wait: Duration,
}

impl Default for HashingLimits {
    /// One hash per core, between 2 and 4; a login waits at most 2 s for its turn.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        HashingLimits {
            concurrent: cores.clamp(2, 4),
            wait: Duration::from_secs(2),
        }
    }
}

/// The turns and the memory areas shared by every clone of a [`crate::Store`].
pub(crate) struct Hashers {
    limits: HashingLimits,
    turns: Arc<Semaphore>,
    memories: std::sync::Mutex<Vec<Vec<Block>>>,
    running: AtomicUsize,
    peak: AtomicUsize,
}

/// A turn to hash: released, and its memory given back, when the hash ends — even when the
/// request that asked for it has gone.
pub(crate) struct Turn {
    hashers: Arc<Hashers>,
    permit: OwnedSemaphorePermit,
}

impl Hashers {
    pub(crate) fn new(limits: HashingLimits) -> Arc<Hashers> {
        let limits = HashingLimits {
            concurrent: limits.concurrent.max(1),
            ..limits
        };
        Arc::new(Hashers {
            limits,
            turns: Arc::new(Semaphore::new(limits.concurrent)),
            memories: std::sync::Mutex::new(Vec::new()),
            running: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        })
    }

    pub(crate) fn limits(&self) -> HashingLimits {
        self.limits
    }

    /// The most hashes seen running at the same time since the store was opened.
    pub(crate) fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    /// A turn within the configured wait, or `None` when every hasher stays busy.
    pub(crate) async fn turn(self: &Arc<Self>) -> Option<Turn> {
        let permit = tokio::time::timeout(self.limits.wait, self.turns.clone().acquire_owned())
            .await
            .ok()?
            .ok()?;
        Some(Turn {
            hashers: self.clone(),
            permit,
        })
    }

    /// A turn, however long it takes (account administration, never the public's requests).
    pub(crate) async fn turn_waiting(self: &Arc<Self>) -> Result<Turn, StoreError> {
        let permit = self
            .turns
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| StoreError::Hashing(e.to_string()))?;
        Ok(Turn {
            hashers: self.clone(),
            permit,
        })
    }
}

impl Turn {
    /// Runs `work` on a blocking thread with one of the memory areas.
    async fn run<R: Send + 'static>(
        self,
        work: impl FnOnce(&mut Vec<Block>) -> R + Send + 'static,
    ) -> Result<R, StoreError> {
        let hashers = self.hashers.clone();
        let mut memory = hashers
            .memories
            .lock()
            .map_err(|e| StoreError::Hashing(e.to_string()))?
            .pop()
            .unwrap_or_default();
        tokio::task::spawn_blocking(move || {
            let running = hashers.running.fetch_add(1, Ordering::SeqCst) + 1;
            hashers.peak.fetch_max(running, Ordering::SeqCst);
            let result = work(&mut memory);
            hashers.running.fetch_sub(1, Ordering::SeqCst);
            if let Ok(mut memories) = hashers.memories.lock() {
                memories.push(memory);
            }
            // The turn ends with the hash, not with the request that asked for it.
            drop(self.permit);
            result
        })
        .await
        .map_err(|e| StoreError::Hashing(e.to_string()))
    }

    /// Hashes a new password.
    pub(crate) async fn hash(self, password: String) -> Result<String, StoreError> {
        self.run(move |_| {
            Argon2::default()
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| StoreError::Hashing(e.to_string()))
        })
        .await?
    }

    /// Checks `password` against `stored`, or against a fixed dummy hash when there is no
    /// account, so that unknown names take as long to refuse as wrong passwords.
    pub(crate) async fn verify(
        self,
        password: String,
        stored: Option<String>,
    ) -> Result<bool, StoreError> {
        self.run(move |memory| {
            static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
            let dummy = DUMMY.get_or_init(|| {
                Argon2::default()
                    .hash_password(b"justat-timing-equaliser")
                    .map(|h| h.to_string())
                    .unwrap_or_default()
            });
            let ok = verify_in(
                memory,
                password.as_bytes(),
                stored.as_deref().unwrap_or(dummy),
            )?;
            Ok(ok && stored.is_some())
        })
        .await?
    }
}

fn corrupt(value: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        what: "password hash",
        value: value.to_string(),
    }
}

/// Verifies a PHC string in `memory` (grown to the hash's size if needed), refusing
/// parameters beyond the limits before any memory is taken.
fn verify_in(memory: &mut Vec<Block>, password: &[u8], stored: &str) -> Result<bool, StoreError> {
    let parsed = PasswordHash::new(stored).map_err(corrupt)?;
    let params = Params::try_from(&parsed).map_err(corrupt)?;
    if params.m_cost() > MAX_MEMORY_KIB
        || params.t_cost() > MAX_PASSES
        || params.p_cost() > MAX_LANES
    {
        return Err(corrupt(format!(
            "m={}, t={}, p={} exceed the limits m≤{MAX_MEMORY_KIB}, t≤{MAX_PASSES}, p≤{MAX_LANES}",
            params.m_cost(),
            params.t_cost(),
            params.p_cost()
        )));
    }
    let algorithm = Algorithm::try_from(parsed.algorithm.as_str()).map_err(corrupt)?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(corrupt)?
        .unwrap_or_default();
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return Err(corrupt("no salt or no hash"));
    };
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::new());
    }
    let mut out = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt.as_ref(), &mut out, &mut memory[..blocks])
        .map_err(|e| StoreError::Hashing(e.to_string()))?;
    let computed = argon2::password_hash::phc::Output::new(&out)
        .map_err(|e| StoreError::Hashing(e.to_string()))?;
    // `Output`'s equality is constant-time.
    Ok(computed == *expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_what_argon2_wrote_and_refuses_greedy_parameters() {
        let hash = Argon2::default()
            .hash_password(b"a-long-enough-password")
            .unwrap()
            .to_string();
        let mut memory = Vec::new();
        assert!(verify_in(&mut memory, b"a-long-enough-password", &hash).unwrap());
        assert!(!verify_in(&mut memory, b"another-password", &hash).unwrap());
        assert_eq!(memory.len(), Params::DEFAULT_M_COST as usize);
        // Memory is taken once: a second check reuses it.
        let area = memory.as_ptr();
        assert!(verify_in(&mut memory, b"a-long-enough-password", &hash).unwrap());
        assert_eq!(memory.as_ptr(), area);
        // A hash edited to ask for 4 GiB is refused before any memory is taken.
        let greedy = hash.replace("m=19456", "m=4194304");
        assert_ne!(greedy, hash);
        let mut fresh = Vec::new();
        assert!(matches!(
            verify_in(&mut fresh, b"a-long-enough-password", &greedy),
            Err(StoreError::Corrupt { .. })
        ));
        assert!(fresh.is_empty());
    }
}
