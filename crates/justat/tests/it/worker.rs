//! Jobs run in a worker process beside `justat serve`: a job's panic, its worker's death or its
//! memory going past the limit fail that job with a French reason, and later jobs still run.

use crate::harness::{Server, justat_in, output_text};
use justat_model::job::JobOutcome;
use justat_model::{JobRequest, RunStatus};
use justat_store::{Actor, Job, JobStatus};
use std::time::Duration;

/// The switch that lets the worker accept the tests' job kinds.
const TEST_KINDS: (&str, &str) = ("JUSTAT_TEST_JOB_KINDS", "1");

/// A folder with a small penal extract ready to be delivered by a job.
fn with_extract() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let args = [
        "generate", "penal", "--years", "2024", "--scale", "0.0005", "--seed", "3", "--out", "ext",
    ];
    let o = justat_in(tmp.path(), &args, None);
    assert!(o.status.success(), "{}", output_text(&o));
    tmp
}

async fn enqueue(s: &Server, request: JobRequest) -> i64 {
    s.store
        .enqueue_job(&request, &Actor::user("marie"), jiff::Timestamp::now())
        .await
        .unwrap()
        .id
}

/// Queues the delivery of the extract, as the back office's upload does.
async fn enqueue_delivery(s: &Server, dir: &std::path::Path) -> i64 {
    let path = dir.join("ext/penal_2024.csv");
    enqueue(
        s,
        JobRequest::Delivery {
            source: "penal".into(),
            path,
            file_name: "penal_2024.csv".into(),
        },
    )
    .await
}

/// The job once `done` says so (two minutes at most).
async fn wait_for(s: &Server, id: i64, what: &str, done: impl Fn(&Job) -> bool) -> Job {
    for _ in 0..600 {
        let job = s.store.job(id).await.unwrap();
        if done(&job) {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!(
        "job {id} not {what} in two minutes: {:?}",
        s.store.job(id).await.unwrap()
    );
}

async fn ended(s: &Server, id: i64) -> Job {
    wait_for(s, id, "ended", |j| {
        matches!(j.status, JobStatus::Done | JobStatus::Failed)
    })
    .await
}

/// The processes whose parent is `pid`.
fn children(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(child) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (name) state ppid …`: the name may hold spaces and parentheses.
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        if after.split(' ').nth(1) == Some(&pid.to_string()) {
            found.push(child);
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_job_fails_with_its_reason_and_the_next_job_still_runs() {
    let tmp = with_extract();
    let s = Server::serve_process_with(tmp.path(), &[TEST_KINDS]).await;
    let panics = enqueue(
        &s,
        JobRequest::TestPanic {
            message: "index hors limites".into(),
        },
    )
    .await;
    let delivery = enqueue_delivery(&s, tmp.path()).await;
    let job = ended(&s, panics).await;
    assert_eq!(job.status, JobStatus::Failed);
    let error = job.error.unwrap();
    assert!(
        error.contains("erreur interne de Justat") && error.contains("index hors limites"),
        "{error}"
    );
    assert!(
        error.contains("jobs.rs:"),
        "the place of the panic: {error}"
    );
    let job = ended(&s, delivery).await;
    assert_eq!(job.status, JobStatus::Done, "{:?}", job.error);
    assert!(
        matches!(job.result, Some(JobOutcome::Delivery { delivery: 1, .. })),
        "{:?}",
        job.result
    );
    // The same worker ran both: a panic does not cost the process.
    assert_eq!(
        s.store.job(panics).await.unwrap().worker,
        s.store.job(delivery).await.unwrap().worker
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_is_restarted_and_its_job_fails_without_running_again() {
    let tmp = with_extract();
    let s = Server::serve_process_with(tmp.path(), &[TEST_KINDS]).await;
    let serve = s.pid().unwrap();
    let long = enqueue(&s, JobRequest::TestSleep { seconds: 600 }).await;
    let running = wait_for(&s, long, "running", |j| j.status == JobStatus::Running).await;
    let workers = children(serve);
    assert_eq!(workers.len(), 1, "one worker beside serve: {workers:?}");
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &workers[0].to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let job = ended(&s, long).await;
    assert_eq!(job.status, JobStatus::Failed);
    let error = job.error.unwrap();
    assert!(
        error.contains("signal 9") && error.contains("relancé, mais pas ce travail"),
        "{error}"
    );
    // A new worker takes the next job; the killed job is not taken again.
    let delivery = enqueue_delivery(&s, tmp.path()).await;
    let next = ended(&s, delivery).await;
    assert_eq!(next.status, JobStatus::Done, "{:?}", next.error);
    assert_ne!(next.worker, running.worker);
    let job = s.store.job(long).await.unwrap();
    assert_eq!(
        (job.status, job.worker),
        (JobStatus::Failed, running.worker)
    );
    let now = children(serve);
    assert_eq!(now.len(), 1, "{now:?}");
    assert_ne!(now[0], workers[0]);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_memory_limit_stops_a_job_that_exceeds_it() {
    let tmp = with_extract();
    // 100,000 rows delivered: their chain run needs far more than 64 MiB.
    for args in [
        &[
            "generate", "penal", "--years", "2023", "--scale", "0.05", "--seed", "5", "--out",
            "big",
        ][..],
        &["delivery", "add", "penal", "big/penal_2023.csv"],
    ] {
        let o = justat_in(tmp.path(), args, None);
        assert!(o.status.success(), "{args:?}: {}", output_text(&o));
    }
    let s = Server::serve_process_with(tmp.path(), &[("JUSTAT_WORKER_MEMORY_MIB", "64")]).await;
    let greedy = enqueue(
        &s,
        JobRequest::ChainRun {
            chain: "penal_orientations".into(),
            deliveries: vec![1],
        },
    )
    .await;
    let job = ended(&s, greedy).await;
    assert_eq!(job.status, JobStatus::Failed);
    let error = job.error.unwrap();
    assert!(
        error.contains("plus que la mémoire permise") && error.contains("64 Mio"),
        "{error}"
    );
    // The allocator aborting the worker records no run; a refusal that came back as an error
    // records the run as failed. Either way no cube.
    let runs = s.store.runs().await.unwrap();
    assert!(
        runs.iter()
            .all(|r| r.status == RunStatus::Failed && r.cube_id.is_none()),
        "no cube recorded: {runs:?}"
    );
    // Within the limit, work goes on (in a restarted worker when the allocator aborted the
    // process, in the same one when the refusal came back as an error).
    let next = ended(&s, enqueue_delivery(&s, tmp.path()).await).await;
    assert_eq!(next.status, JobStatus::Done, "{:?}", next.error);
    s.stop().await;
}
