//! Worker processes: `justat worker` runs the back office's jobs apart from the web server, and
//! `justat serve` starts one and restarts it whenever it dies.
//!
//! A job's fault stays in the worker: a panic fails that job and the worker goes on
//! (`jobs::work`); a job that brings its process down — killed, aborted, past its memory
//! limit (`worker_memory_mib`, the process's `RLIMIT_DATA`, so that an allocation beyond it
//! fails and aborts the worker rather than the machine swapping) — is marked failed by the
//! supervisor with the reason, and a new worker takes the next job. A failed job is never run
//! again by itself: a job that killed its worker would kill the next one in a loop.
//!
//! One job at a time per worker, so the process's limit is the job's limit, without a process
//! per job. A worker says it is alive every few seconds from a thread of its own (its own
//! runtime and connection, so a job busy on every runtime thread cannot silence it); when a
//! worker run apart dies without its supervisor knowing, another worker fails its job once its
//! heartbeat is older than [`STALE_AFTER`].

use crate::config::Config;
use anyhow::{Context, Result};
use jiff::{SignedDuration, Timestamp};
use justat_store::{Lake, Store};
use std::io::{BufRead, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often a worker records that it is alive while it runs a job.
const HEARTBEAT: Duration = Duration::from_secs(5);

/// A running job whose worker has said nothing for this long is taken as orphaned.
pub const STALE_AFTER: SignedDuration = SignedDuration::from_mins(2);

/// How often a worker looks for orphaned jobs.
const REAP_EVERY: Duration = Duration::from_secs(30);

/// What Rust's allocator prints before aborting when memory is refused.
const ALLOCATION_FAILED: &str = "memory allocation of";

/// The job a worker is running, shared with the thread that says it is alive.
pub type Current = Arc<Mutex<Option<i64>>>;

/// `justat worker`: runs jobs until stopped. `id` names the worker in the jobs it takes
/// (`serve` chooses it, to fail them if the worker dies); `supervised` makes the worker stop
/// when its supervisor closes its standard input (or dies).
pub async fn run(config: &Config, id: Option<String>, supervised: bool) -> Result<()> {
    let id = id.unwrap_or_else(|| {
        format!(
            "worker-{}-{}",
            std::process::id(),
            Timestamp::now().as_millisecond()
        )
    });
    limit_memory(config.worker_memory_mib)?;
    let store = crate::db::open_store(config).await?;
    let current = Current::default();
    spawn_watch(
        config.database_url(),
        id.clone(),
        current.clone(),
        supervised,
    )?;
    tracing::info!(worker = %id, pid = std::process::id(), memory_mib = config.worker_memory_mib, "worker started");
    work(store, config.clone(), id, current).await;
    Ok(())
}

/// Where and why the last panic of this process happened, kept by the panic hook so that a
/// job's error names the place, which the panic's payload lacks.
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// Runs queued jobs, as worker `worker`, until the process ends. A job that panics fails
/// with the panic's message and place; the worker goes on with the next one.
async fn work(store: Store, config: Config, worker: String, current: Current) {
    let default_hook = Arc::new(std::panic::take_hook());
    std::panic::set_hook(Box::new(move |info| {
        let place = info
            .location()
            .map(|l| format!(" ({}:{})", l.file(), l.line()))
            .unwrap_or_default();
        let message = info.payload_as_str().unwrap_or("sans message");
        *LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()) = Some(format!("{message}{place}"));
        default_hook(info);
    }));
    // Only debug builds (the ones the end-to-end tests run) can be switched to test kinds.
    let test_kinds = cfg!(debug_assertions)
        && std::env::var(crate::jobs::TEST_KINDS_VAR).is_ok_and(|v| v == "1");
    let lake = Lake::new(&config.data_dir);
    let config = Arc::new(config);
    loop {
        match store.claim_job(&worker, jiff::Timestamp::now()).await {
            Ok(Some(job)) => {
                let id = job.id;
                *LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()) = None;
                *current.lock().unwrap_or_else(|e| e.into_inner()) = Some(id);
                tracing::info!(job = id, kind = %job.kind, "job started");
                let task = tokio::spawn({
                    let (store, lake, config) = (store.clone(), lake.clone(), config.clone());
                    async move { crate::jobs::execute(&store, &lake, &config, &job, test_kinds).await }
                });
                let outcome = match task.await {
                    Ok(outcome) => outcome,
                    Err(e) => {
                        let what = LAST_PANIC
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .take()
                            .unwrap_or_else(|| e.to_string());
                        tracing::error!(job = id, panic = %what, "job panicked");
                        Err(format!(
                            "erreur interne de Justat pendant ce travail, qui est abandonné (les travaux suivants continuent) : {what}"
                        ))
                    }
                };
                // Memory refused under the limit may come back as an error or a panic (a
                // buffer, a thread) rather than end the process: the reason says so first.
                let outcome = outcome.map_err(|e| {
                    if config.worker_memory_mib > 0 && refused_memory(&e) {
                        format!(
                            "{} ; corrigez la cause puis relancez-le ({e})",
                            over_memory(config.worker_memory_mib)
                        )
                    } else {
                        e
                    }
                });
                if let Err(e) = &outcome {
                    tracing::warn!(job = id, error = %e, "job failed");
                }
                match store
                    .finish_job(id, &worker, outcome, jiff::Timestamp::now())
                    .await
                {
                    Ok(true) => tracing::info!(job = id, "job ended"),
                    Ok(false) => tracing::warn!(
                        job = id,
                        "the job was marked failed while it ran: its outcome is not recorded"
                    ),
                    Err(e) => {
                        tracing::error!(job = id, error = %e, "cannot record the end of a job")
                    }
                }
                *current.lock().unwrap_or_else(|e| e.into_inner()) = None;
            }
            Ok(None) => tokio::time::sleep(Duration::from_millis(500)).await,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the job queue");
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    }
}

/// Caps the process's data segment (heap and private anonymous mappings, thread stacks
/// included). `RLIMIT_DATA` rather than `RLIMIT_AS`: the address space counts what is only
/// reserved (each thread's malloc arena, Parquet files mapped), so a cap on it would follow
/// reservations rather than the memory a job uses.
fn limit_memory(mib: u32) -> Result<()> {
    if mib == 0 {
        return Ok(());
    }
    #[cfg(unix)]
    {
        let bytes = u64::from(mib) * 1024 * 1024;
        let (_, hard) = rlimit::Resource::DATA
            .get()
            .context("cannot read the data segment limit")?;
        rlimit::Resource::DATA
            .set(bytes.min(hard), hard)
            .with_context(|| format!("cannot limit the worker's memory to {mib} MiB"))?;
    }
    #[cfg(not(unix))]
    tracing::warn!(
        mib,
        "worker_memory_mib is not enforced on this operating system"
    );
    Ok(())
}

/// Starts the thread that records heartbeats, fails orphaned jobs, and stops the worker
/// (failing its job) when its supervisor goes or a stop signal comes.
fn spawn_watch(url: String, id: String, current: Current, supervised: bool) -> Result<()> {
    let (parent_gone, gone) = tokio::sync::oneshot::channel::<()>();
    let gone = supervised.then_some(gone);
    if supervised {
        std::thread::Builder::new()
            .name("supervisor".into())
            .spawn(move || {
                // The supervisor writes nothing: end of input means it closed the pipe or died.
                let mut buf = [0u8; 64];
                let mut stdin = std::io::stdin().lock();
                while matches!(stdin.read(&mut buf), Ok(n) if n > 0) {}
                let _ = parent_gone.send(());
            })?;
    }
    std::thread::Builder::new()
        .name("heartbeat".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(error = %e, "cannot start the heartbeat runtime");
                    std::process::exit(1);
                }
            };
            runtime.block_on(watch(url, id, current, gone));
        })?;
    Ok(())
}

async fn watch(
    url: String,
    id: String,
    current: Current,
    parent_gone: Option<tokio::sync::oneshot::Receiver<()>>,
) {
    let store = match Store::open(&url).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "the worker's heartbeat cannot open the database");
            std::process::exit(1);
        }
    };
    let stop = async {
        #[cfg(unix)]
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        let parent_gone = async {
            match parent_gone {
                Some(gone) => gone.await.is_ok(),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            true = parent_gone => "interrompu : le serveur qui supervisait le processus de travail s’est arrêté ; relancez le travail",
            _ = tokio::signal::ctrl_c() => "interrompu : le processus de travail a été arrêté ; relancez le travail",
            () = term => "interrompu : le processus de travail a été arrêté ; relancez le travail",
        }
    };
    tokio::pin!(stop);
    let mut beat = tokio::time::interval(HEARTBEAT);
    let mut next_reap = Instant::now();
    loop {
        tokio::select! {
            _ = beat.tick() => {
                let job = *current.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(job) = job {
                    match store.job_heartbeat(job, &id, Timestamp::now()).await {
                        Ok(true) => {}
                        Ok(false) => tracing::warn!(job, "the job was marked failed while this worker ran it"),
                        Err(e) => tracing::warn!(job, error = %e, "cannot record the worker's heartbeat"),
                    }
                }
                if Instant::now() >= next_reap {
                    next_reap = Instant::now() + REAP_EVERY;
                    reap(&store).await;
                }
            }
            reason = &mut stop => {
                match store.fail_worker_jobs(&id, reason, Timestamp::now()).await {
                    Ok(ids) => for job in ids {
                        tracing::warn!(job, "job interrupted by the worker's stop");
                    },
                    Err(e) => tracing::error!(error = %e, "cannot mark the interrupted job failed"),
                }
                tracing::info!(worker = %id, "worker stopped");
                std::process::exit(0);
            }
        }
    }
}

/// Fails the jobs whose worker stopped saying it was alive.
async fn reap(store: &Store) {
    let now = Timestamp::now();
    let reason = format!(
        "interrompu : le processus de travail qui l’exécutait ne donne plus de nouvelles depuis {} minutes (arrêté ou tué) ; relancez le travail",
        STALE_AFTER.as_mins()
    );
    match store.fail_stale_jobs(now - STALE_AFTER, &reason, now).await {
        Ok(ids) => {
            for job in ids {
                tracing::warn!(job, "job of a worker gone silent marked failed");
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot look for orphaned jobs"),
    }
}

/// Keeps a worker process running beside `serve` until `stop` resolves: starts it with
/// serve's effective configuration, fails the job it was running when it dies, and starts
/// another after a pause that doubles while workers die young (1 s to a minute).
pub async fn supervise(store: Store, config: Config, stop: impl Future<Output = ()>) {
    let program = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "cannot find the justat program: no worker, jobs wait");
            return;
        }
    };
    let env = match config.to_env() {
        Ok(env) => env,
        Err(e) => {
            tracing::error!(error = %e, "cannot hand the configuration to a worker: no worker, jobs wait");
            return;
        }
    };
    tokio::pin!(stop);
    let mut backoff = Backoff::default();
    for n in 1.. {
        let id = format!("serve-{}-{n}", std::process::id());
        let mut command = std::process::Command::new(&program);
        command
            .args(["worker", "--supervised", "--id", &id])
            .env_remove("JUSTAT_CONFIG")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        let started = Instant::now();
        let mut child = match command.spawn() {
            Ok(c) => c,
            Err(e) => {
                let pause = backoff.after(Duration::ZERO);
                tracing::error!(error = %e, retry_in_s = pause.as_secs(), "cannot start a worker");
                tokio::select! {
                    () = tokio::time::sleep(pause) => {}
                    () = &mut stop => return,
                }
                continue;
            }
        };
        tracing::info!(worker = %id, pid = child.id(), "worker process started");
        // Kept open: the worker stops when it is closed.
        let stdin = child.stdin.take();
        let out_of_memory = Arc::new(AtomicBool::new(false));
        let relay = child
            .stderr
            .take()
            .map(|stderr| relay_stderr(stderr, out_of_memory.clone()));
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) => {}
                Err(e) => {
                    // Never two workers under one name: this one goes before the next starts.
                    tracing::error!(error = %e, "cannot watch the worker process: killed");
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
            }
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(200)) => {}
                () = &mut stop => {
                    drop(stdin);
                    stop_child(&mut child).await;
                    let reason = "interrompu : le serveur s’est arrêté pendant ce travail ; relancez le travail";
                    fail_jobs(&store, &id, reason).await;
                    return;
                }
            }
        };
        drop(stdin);
        if let Some(relay) = relay {
            // The pipe ends with the process; wait for its last lines (the allocator's).
            let _ = tokio::task::spawn_blocking(move || relay.join()).await;
        }
        let reason = crash_reason(
            status,
            out_of_memory.load(Ordering::Relaxed),
            config.worker_memory_mib,
        );
        let lived = started.elapsed();
        let pause = backoff.after(lived);
        tracing::error!(worker = %id, status = ?status, lived_s = lived.as_secs(), restart_in_s = pause.as_secs(), "worker process ended: {reason}");
        fail_jobs(&store, &id, &reason).await;
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = &mut stop => return,
        }
    }
}

/// The pause before the next worker: 1 s, doubling up to a minute while workers die within a
/// minute of their start (a crash loop costs little), back to 1 s after one that lived longer.
#[derive(Debug, Default)]
struct Backoff {
    next: Option<Duration>,
}

impl Backoff {
    const FIRST: Duration = Duration::from_secs(1);
    const MAX: Duration = Duration::from_secs(60);

    /// The pause after a worker that lived `lived`.
    fn after(&mut self, lived: Duration) -> Duration {
        let pause = match self.next {
            Some(next) if lived <= Self::MAX => next,
            _ => Self::FIRST,
        };
        self.next = Some((pause * 2).min(Self::MAX));
        pause
    }
}

/// Copies the worker's log lines to serve's, noting an allocation the limit refused.
fn relay_stderr(
    stderr: std::process::ChildStderr,
    out_of_memory: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut lines = std::io::BufReader::new(stderr);
        let mut line = Vec::new();
        while matches!(lines.read_until(b'\n', &mut line), Ok(n) if n > 0) {
            if refused_memory(&String::from_utf8_lossy(&line)) {
                out_of_memory.store(true, Ordering::Relaxed);
            }
            let _ = std::io::stderr().write_all(&line);
            line.clear();
        }
    })
}

/// Lets the worker stop by itself (it fails its job), then kills it after ten seconds.
async fn stop_child(child: &mut std::process::Child) {
    for _ in 0..50 {
        if !matches!(child.try_wait(), Ok(None)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tracing::warn!(pid = child.id(), "the worker did not stop in 10 s: killed");
    let _ = child.kill();
    let _ = child.wait();
}

async fn fail_jobs(store: &Store, worker: &str, reason: &str) {
    match store
        .fail_worker_jobs(worker, reason, Timestamp::now())
        .await
    {
        Ok(ids) => {
            for job in ids {
                tracing::warn!(job, worker, "job marked failed: {reason}");
            }
        }
        Err(e) => tracing::error!(error = %e, worker, "cannot mark the worker's job failed"),
    }
}

/// A job refused memory past the worker's limit, in French for the job's page.
pub fn over_memory(memory_mib: u32) -> String {
    format!(
        "arrêté : ce travail a demandé plus que la mémoire permise au processus de travail ({memory_mib} Mio, clé worker_memory_mib)"
    )
}

/// Whether a job's error or panic says the system refused memory (a thread, a buffer, a
/// compression library's workspace the limit left no room for), rather than a fault of the
/// code or of the data. DataFusion's own pool (`engine_memory_mib`) says "Resources exhausted"
/// and is not this limit.
pub fn refused_memory(message: &str) -> bool {
    let message = message.to_lowercase();
    [
        "os error 12",
        "cannot allocate memory",
        "not enough memory",
        "out of memory",
        ALLOCATION_FAILED,
    ]
    .iter()
    .any(|m| message.contains(m))
}

/// Why the worker's job ended, in French for the job's page.
fn crash_reason(
    status: Option<std::process::ExitStatus>,
    out_of_memory: bool,
    memory_mib: u32,
) -> String {
    let again = "le processus de travail a été relancé, mais pas ce travail : corrigez la cause puis relancez-le";
    if out_of_memory {
        return format!("{} ; {again}", over_memory(memory_mib));
    }
    #[cfg(unix)]
    if let Some(signal) = status.and_then(|s| std::os::unix::process::ExitStatusExt::signal(&s)) {
        let what = match signal {
            9 => " (SIGKILL : tué, par exemple par le système faute de mémoire)",
            6 => " (SIGABRT : abandon)",
            11 => " (SIGSEGV : accès mémoire invalide)",
            15 => " (SIGTERM)",
            _ => "",
        };
        return format!(
            "arrêté : le processus de travail a reçu le signal {signal}{what} pendant ce travail ; {again}"
        );
    }
    match status.and_then(|s| s.code()) {
        Some(code) => format!(
            "arrêté : le processus de travail s’est terminé (code {code}) pendant ce travail ; {again}"
        ),
        None => format!("arrêté : le processus de travail a disparu pendant ce travail ; {again}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_dying_young_are_restarted_ever_more_slowly() {
        let mut b = Backoff::default();
        let quick = Duration::from_secs(2);
        let pauses: Vec<u64> = (0..8).map(|_| b.after(quick).as_secs()).collect();
        assert_eq!(pauses, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(b.after(Duration::from_secs(3600)).as_secs(), 1);
        assert_eq!(b.after(quick).as_secs(), 2);
    }

    #[cfg(unix)]
    #[test]
    fn a_crash_is_explained_in_french() {
        use std::os::unix::process::ExitStatusExt;
        let killed = std::process::ExitStatus::from_raw(9);
        let aborted = std::process::ExitStatus::from_raw(6);
        let exited = std::process::ExitStatus::from_raw(3 << 8);
        assert!(crash_reason(Some(killed), false, 512).contains("signal 9 (SIGKILL"));
        let oom = crash_reason(Some(aborted), true, 512);
        assert!(
            oom.contains("mémoire permise") && oom.contains("512 Mio"),
            "{oom}"
        );
        assert!(crash_reason(Some(exited), false, 512).contains("code 3"));
        assert!(crash_reason(None, false, 0).contains("disparu"));
        assert!(refused_memory(
            "failed to spawn thread: Os { code: 12, kind: OutOfMemory, message: \"Cannot allocate memory\" }"
        ));
        assert!(!refused_memory(
            "index out of bounds: the len is 3 but the index is 12"
        ));
    }
}
