use crate::harness::{TestDb, now};
use justat_model::job::{JobOutcome, JobRequest};
use justat_model::production::{DeliveryReport, RuleReport};
use justat_model::{DeliveryStatus, RunStatus, Sha256Hex};
use justat_store::{Actor, NewCube, NewDelivery, NewRun, StoreError};

both_backends!(
    deliveries_are_recorded_once_and_audited,
    runs_record_their_inputs_and_share_cubes
);

/// A digest made of one repeated hexadecimal digit, easy to tell apart in a failure.
fn digest(digit: &str) -> Sha256Hex {
    digit.repeat(64).parse().unwrap()
}

fn delivery(sha: &str, status: DeliveryStatus) -> NewDelivery {
    NewDelivery {
        source: "penal".into(),
        source_version: 1,
        file_name: "penal_2024.csv".into(),
        sha256: sha.parse().unwrap(),
        size_bytes: 1234,
        format: "csv".into(),
        status,
        rows_read: 100,
        rows_ok: 98,
        rows_rejected: 2,
        staging_sha256: Some(digest("5")),
        quarantine_sha256: Some(digest("9")),
        report: DeliveryReport {
            source: "penal".into(),
            source_version: 1,
            file: "penal_2024.csv".into(),
            format: "csv".into(),
            status,
            rows_read: 100,
            rows_ok: 98,
            rows_rejected: 2,
            reject_threshold: 0.05,
            unreadable: None,
            rules: vec![RuleReport {
                rule: "R_DATE_ORDER".into(),
                count: 2,
                examples: Vec::new(),
            }],
        },
    }
}

async fn deliveries_are_recorded_once_and_audited(db: &TestDb) {
    let d = db
        .store
        .record_delivery(
            &delivery(&"a".repeat(64), DeliveryStatus::OkKo),
            &Actor::cli(),
            now(),
        )
        .await
        .unwrap();
    assert_eq!(d.id, 1);
    assert_eq!(d.status, DeliveryStatus::OkKo);
    assert_eq!(
        (d.report.rules[0].rule.as_str(), d.report.rules[0].count),
        ("R_DATE_ORDER", 2)
    );
    let again = db
        .store
        .record_delivery(
            &delivery(&"a".repeat(64), DeliveryStatus::Ok),
            &Actor::cli(),
            now(),
        )
        .await
        .unwrap_err();
    assert!(matches!(again, StoreError::Conflict { .. }), "{again}");
    assert_eq!(
        db.store
            .delivery_by_sha256(&digest("a"))
            .await
            .unwrap()
            .unwrap()
            .id,
        1
    );
    let second = db
        .store
        .record_delivery(
            &delivery(&"b".repeat(64), DeliveryStatus::Ko),
            &Actor::cli(),
            now(),
        )
        .await
        .unwrap();
    let all = db.store.deliveries().await.unwrap();
    // PostgreSQL's sequences skip the number of the refused insert: compare ids, not values.
    assert_eq!(
        all.iter().map(|d| d.id).collect::<Vec<_>>(),
        vec![second.id, d.id]
    );
    assert!(matches!(
        db.store.delivery(99).await,
        Err(StoreError::NotFound { .. })
    ));
    let log = db.store.audit_page(None, 10).await.unwrap();
    assert_eq!(log.iter().filter(|e| e.action == "delivery.add").count(), 2);
    assert_eq!(db.store.verify_audit().await.unwrap(), Ok(2));
}

/// A successful run of the penal chain over `inputs`, producing `cube`.
fn new_run(inputs: &[i64], cube: &Sha256Hex) -> NewRun {
    NewRun {
        chain: "penal_orientations".into(),
        chain_version: 1,
        chain_sha256: digest("c"),
        inputs: inputs.to_vec(),
        status: RunStatus::Ok,
        error: None,
        cube: Some(NewCube {
            id: cube.clone(),
            name: "penal_orientations".into(),
            rows: 42,
            schema: justat_model::CubeSchema::default(),
        }),
        manifest: justat_model::manifest::Manifest {
            chain: "penal_orientations".into(),
            chain_version: 1,
            chain_sha256: digest("c"),
            software: "justat test".into(),
            engine: "none".into(),
            started_at: now().to_string(),
            inputs: Vec::new(),
            codelists: Vec::new(),
            steps: Vec::new(),
            rules: Vec::new(),
            quarantine_sha256: None,
            cube: Some((cube.clone(), 42)),
            duration_ms: 1,
            peak_memory_bytes: None,
        },
        started_at: now(),
    }
}

async fn runs_record_their_inputs_and_share_cubes(db: &TestDb) {
    let d1 = db
        .store
        .record_delivery(
            &delivery(&"a".repeat(64), DeliveryStatus::Ok),
            &Actor::cli(),
            now(),
        )
        .await
        .unwrap();
    let d2 = db
        .store
        .record_delivery(
            &delivery(&"b".repeat(64), DeliveryStatus::Ok),
            &Actor::cli(),
            now(),
        )
        .await
        .unwrap();
    let run = |cube: &Sha256Hex| new_run(&[d1.id, d2.id], cube);
    let r1 = db
        .store
        .record_run(&run(&digest("d")), &Actor::cli(), now())
        .await
        .unwrap();
    let r2 = db
        .store
        .record_run(&run(&digest("d")), &Actor::cli(), now())
        .await
        .unwrap();
    assert_eq!(r1.inputs, vec![1, 2]);
    assert_eq!(r1.cube_id, r2.cube_id);
    assert_eq!(
        db.store.cubes().await.unwrap().len(),
        1,
        "the same cube is recorded once"
    );
    assert_eq!(db.store.cube(&digest("d")).await.unwrap().rows, 42);
    let failed = NewRun {
        status: RunStatus::Failed,
        error: Some("step 2 (rule): SQL error".into()),
        cube: None,
        ..run(&digest("0"))
    };
    let r3 = db
        .store
        .record_run(&failed, &Actor::cli(), now())
        .await
        .unwrap();
    assert_eq!(r3.cube_id, None);
    assert_eq!(db.store.runs().await.unwrap().len(), 3);
    assert_eq!(
        db.store.run(r3.id).await.unwrap().error.as_deref(),
        Some("step 2 (rule): SQL error")
    );
}

both_backends!(
    jobs_are_queued_claimed_once_and_finished,
    two_workers_never_claim_the_same_job,
    a_dead_workers_jobs_fail_once_and_are_not_run_again
);

async fn jobs_are_queued_claimed_once_and_finished(db: &TestDb) {
    use justat_store::JobStatus;
    let j = db
        .store
        .enqueue_job(
            &JobRequest::ChainRun {
                chain: "x".into(),
                deliveries: vec![1],
            },
            &Actor::user("marie"),
            now(),
        )
        .await
        .unwrap();
    assert_eq!(j.status, JobStatus::Queued);
    let claimed = db.store.claim_job("w1", now()).await.unwrap().unwrap();
    assert_eq!(claimed.id, j.id);
    assert_eq!(claimed.status, JobStatus::Running);
    assert_eq!(claimed.worker.as_deref(), Some("w1"));
    assert!(claimed.heartbeat_at.is_some());
    assert!(
        db.store.claim_job("w2", now()).await.unwrap().is_none(),
        "a job is claimed once"
    );
    db.store.job_progress(j.id, "étape 2/5").await.unwrap();
    assert_eq!(db.store.job(j.id).await.unwrap().progress, "étape 2/5");
    assert!(
        !db.store
            .finish_job(
                j.id,
                "w2",
                Ok(JobOutcome::ChainRun {
                    run: 8,
                    cube: None,
                    dashboards: vec![]
                }),
                now()
            )
            .await
            .unwrap(),
        "only the worker that runs a job ends it"
    );
    assert!(
        db.store
            .finish_job(
                j.id,
                "w1",
                Ok(JobOutcome::ChainRun {
                    run: 7,
                    cube: None,
                    dashboards: vec![]
                }),
                now()
            )
            .await
            .unwrap()
    );
    let done = db.store.job(j.id).await.unwrap();
    assert_eq!(
        (done.status, done.result),
        (
            JobStatus::Done,
            Some(JobOutcome::ChainRun {
                run: 7,
                cube: None,
                dashboards: vec![]
            })
        )
    );
    assert_eq!(
        db.store
            .audit_page(None, 10)
            .await
            .unwrap()
            .iter()
            .filter(|e| e.action == "job.enqueue")
            .count(),
        1
    );
}

/// Two worker processes (two connection pools) drain one queue: each job is taken once.
async fn two_workers_never_claim_the_same_job(db: &TestDb) {
    let other = justat_store::Store::open(&db.url).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..24 {
        let j = db
            .store
            .enqueue_job(
                &JobRequest::TestSleep { seconds: i },
                &Actor::user("marie"),
                now(),
            )
            .await
            .unwrap();
        ids.push(j.id);
    }
    let drain = |store: justat_store::Store, name: &'static str| {
        tokio::spawn(async move {
            let mut taken = Vec::new();
            while let Some(job) = store.claim_job(name, now()).await.unwrap() {
                assert_eq!(job.worker.as_deref(), Some(name));
                taken.push(job.id);
                tokio::task::yield_now().await;
            }
            taken
        })
    };
    let (a, b) = (drain(db.store.clone(), "a"), drain(other.clone(), "b"));
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    let mut all: Vec<i64> = a.iter().chain(&b).copied().collect();
    all.sort_unstable();
    assert_eq!(
        all, ids,
        "every job taken exactly once (a: {a:?}, b: {b:?})"
    );
    for id in a {
        assert_eq!(db.store.job(id).await.unwrap().worker.as_deref(), Some("a"));
    }
    other.close().await;
}

async fn a_dead_workers_jobs_fail_once_and_are_not_run_again(db: &TestDb) {
    use justat_store::JobStatus;
    let t0 = now();
    let at = |s: i64| t0 + jiff::SignedDuration::from_secs(s);
    let enqueue = || async {
        db.store
            .enqueue_job(
                &JobRequest::ChainRun {
                    chain: "x".into(),
                    deliveries: vec![],
                },
                &Actor::user("marie"),
                t0,
            )
            .await
            .unwrap()
            .id
    };
    // A supervised worker dies: its supervisor fails its job, and only its job.
    let (j1, j2) = (enqueue().await, enqueue().await);
    db.store.claim_job("w1", t0).await.unwrap().unwrap();
    db.store.claim_job("w2", t0).await.unwrap().unwrap();
    let failed = db
        .store
        .fail_worker_jobs("w1", "processus arrêté", at(1))
        .await
        .unwrap();
    assert_eq!(failed, [j1]);
    let job = db.store.job(j1).await.unwrap();
    assert_eq!(
        (job.status, job.error.as_deref(), job.progress.as_str()),
        (JobStatus::Failed, Some("processus arrêté"), "échec")
    );
    assert_eq!(db.store.job(j2).await.unwrap().status, JobStatus::Running);
    // Not queued again, and an outcome arriving late does not overwrite the failure.
    assert!(db.store.claim_job("w3", at(2)).await.unwrap().is_none());
    assert!(!db.store.job_heartbeat(j1, "w1", at(2)).await.unwrap());
    assert!(
        !db.store
            .finish_job(j1, "w1", Ok(JobOutcome::Slept { slept: 0 }), at(2))
            .await
            .unwrap()
    );
    assert_eq!(db.store.job(j1).await.unwrap().status, JobStatus::Failed);
    // A worker run apart dies: its job fails once its heartbeat is stale, not before.
    assert!(db.store.job_heartbeat(j2, "w2", at(30)).await.unwrap());
    let stale = |before| {
        db.store
            .fail_stale_jobs(before, "plus de nouvelles", at(40))
    };
    assert!(stale(at(20)).await.unwrap().is_empty());
    assert_eq!(stale(at(31)).await.unwrap(), [j2]);
    let job = db.store.job(j2).await.unwrap();
    assert_eq!(
        (job.status, job.error.as_deref()),
        (JobStatus::Failed, Some("plus de nouvelles"))
    );
}

both_backends!(patterns_are_recorded_per_cube_period_and_measure_and_the_latest_is_found);

async fn patterns_are_recorded_per_cube_period_and_measure_and_the_latest_is_found(db: &TestDb) {
    use justat_store::NewPattern;
    let d = db
        .store
        .record_delivery(
            &delivery(&"a".repeat(64), DeliveryStatus::Ok),
            &Actor::cli(),
            now(),
        )
        .await
        .unwrap();
    let cube = digest("e");
    db.store
        .record_run(&new_run(&[d.id], &cube), &Actor::cli(), now())
        .await
        .unwrap();
    assert!(
        db.store
            .latest_pattern(&cube, "2024", "auteurs")
            .await
            .unwrap()
            .is_none()
    );
    let pattern = |status: &str| NewPattern {
        cube_id: cube.clone(),
        period: "2024".into(),
        measure: "auteurs".into(),
        dims: vec!["court".into()],
        cells: vec![
            (vec!["_T".into()], "V".into()),
            (vec!["TJ_1_119".into()], status.into()),
        ],
        summary: "2 cells".into(),
    };
    let first = db
        .store
        .record_pattern(&pattern("A"), &Actor::cli(), now())
        .await
        .unwrap();
    let second = db
        .store
        .record_pattern(&pattern("D"), &Actor::cli(), now())
        .await
        .unwrap();
    assert!(second.id > first.id);
    let latest = db
        .store
        .latest_pattern(&cube, "2024", "auteurs")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        latest.cells[1],
        (vec!["TJ_1_119".to_string()], "D".to_string())
    );
    assert_eq!(latest.dims, ["court"]);
    assert!(
        db.store
            .latest_pattern(&cube, "2023", "auteurs")
            .await
            .unwrap()
            .is_none(),
        "another period starts afresh"
    );
    let log = db.store.audit_page(None, 10).await.unwrap();
    assert_eq!(log.iter().filter(|e| e.action == "sdc.protect").count(), 2);
}
