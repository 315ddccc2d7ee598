//! Login throttling under concurrent attempts, the bound on password hashing, and the client
//! address taken behind a reverse proxy — over real HTTP on loopback.

use crate::harness::{Server, justat_in, output_text};
use jiff::SignedDuration;
use justat_model::{Role, ThrottlePolicy};
use justat_store::ThrottlePolicies;
use justat_web::WebConfig;

/// The statuses of `total` wrong-password attempts for `user`, sent `batch` at a time.
async fn wrong_passwords(s: &Server, user: &str, total: usize, batch: usize) -> Vec<u16> {
    let page = s.get("/connexion", None).await;
    let cookie = format!(
        "justat_login_csrf={}",
        page.cookie("justat_login_csrf").unwrap()
    );
    let csrf = page.csrf();
    let mut statuses = Vec::new();
    for start in (0..total).step_by(batch) {
        let mut tasks = tokio::task::JoinSet::new();
        for i in start..(start + batch).min(total) {
            let req = s
                .client
                .post(format!("{}/connexion", s.base))
                .header("cookie", &cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(
                    serde_urlencoded::to_string([
                        ("csrf", csrf.as_str()),
                        ("username", user),
                        ("password", &format!("wrong-guess-{i}")),
                    ])
                    .unwrap(),
                );
            tasks.spawn(async move {
                let resp = req.send().await.unwrap();
                let status = resp.status().as_u16();
                let retry_after = resp.headers().contains_key("retry-after");
                let body = resp.text().await.unwrap();
                (status, retry_after, body)
            });
        }
        while let Some(done) = tasks.join_next().await {
            let (status, retry_after, body) = done.unwrap();
            match status {
                401 => assert!(body.contains("Identifiant ou mot de passe incorrect")),
                429 => assert!(retry_after && body.contains("Trop de tentatives"), "{body}"),
                // Every password hasher busy: refused at once, in French, with a delay.
                503 => assert!(retry_after && body.contains("réessayez"), "{body}"),
                other => panic!("unexpected status {other}: {body}"),
            }
            statuses.push(status);
        }
    }
    statuses
}

fn count(statuses: &[u16], status: u16) -> usize {
    statuses.iter().filter(|&&s| s == status).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_wrong_passwords_are_checked_no_more_often_than_the_policy_allows() {
    // No slow-down: the account locks at its 5th failure, whatever the timing.
    let policy = ThrottlePolicy {
        free_failures: 5,
        lock_after: 5,
        ..ThrottlePolicy::per_account()
    };
    let s = Server::start_with(WebConfig {
        throttle: ThrottlePolicies {
            account: policy,
            ip: ThrottlePolicy {
                free_failures: 1000,
                lock_after: 1000,
                ..ThrottlePolicy::per_ip()
            },
        },
        ..WebConfig::default()
    })
    .await;
    s.add_user("marie", Role::Statistician).await;
    let statuses = wrong_passwords(&s, "marie", 100, 100).await;
    assert_eq!(statuses.len(), 100);
    assert_eq!(count(&statuses, 401), 5, "{statuses:?}");
    let log = s.store.audit_page(None, 500).await.unwrap();
    assert_eq!(
        log.iter().filter(|e| e.action == "login.failure").count(),
        5,
        "every checked attempt is logged, and only those"
    );
    assert_eq!(log.iter().filter(|e| e.action == "login.lock").count(), 1);
    // Locked: the right password is refused too.
    assert_eq!(s.try_login("marie", "marie-password-123").await.status, 429);
    // Never more hashes at once than the turns allow.
    let peak = s.store.hashing_peak();
    assert!(
        (1..=s.store.hashing_limits().concurrent).contains(&peak),
        "{peak} hashes at once"
    );
    s.stop().await;
}

/// The server process's peak and current resident memory, in KiB.
fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} in /proc/{pid}/status"))
    };
    (field("VmHWM:"), field("VmRSS:"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_issues_burst_of_wrong_passwords_keeps_the_server_small_and_the_lock_tight() {
    if !std::path::Path::new("/proc/self/status").exists() {
        eprintln!("no /proc: memory not measured");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let o = justat_in(
        tmp.path(),
        &[
            "user",
            "add",
            "marie",
            "--role",
            "statistician",
            "--password-stdin",
        ],
        Some("a-long-enough-password-1\n"),
    );
    assert!(o.status.success(), "{}", output_text(&o));
    let s = Server::serve_process(tmp.path()).await;
    let pid = s.pid().unwrap();
    // One right login first, so the baseline includes a hasher's memory and warm pools.
    assert_eq!(
        s.try_login("marie", "a-long-enough-password-1")
            .await
            .status,
        303
    );
    let (hwm_before, rss_before) = memory_kib(pid);
    // The reproduction of the issue: 200 wrong passwords, 50 at a time.
    let statuses = wrong_passwords(&s, "marie", 200, 50).await;
    let (hwm_after, rss_after) = memory_kib(pid);
    let checked = count(&statuses, 401);
    eprintln!(
        "200 wrong passwords, 50 at a time: {checked} checked (401), {} refused (429), {} busy (503); \
         server VmHWM {hwm_before} → {hwm_after} KiB, VmRSS {rss_before} → {rss_after} KiB",
        count(&statuses, 429),
        count(&statuses, 503),
    );
    // The default policy locks the account at its 10th failure.
    let limit = ThrottlePolicy::per_account().lock_after as usize;
    assert!((1..=limit).contains(&checked), "{checked} checked");
    let failures = s
        .store
        .audit_page(None, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "login.failure")
        .count();
    assert_eq!(failures, checked);
    // And 100 at once on another account.
    let o = justat_in(
        tmp.path(),
        &[
            "user",
            "add",
            "paul",
            "--role",
            "statistician",
            "--password-stdin",
        ],
        Some("a-long-enough-password-2\n"),
    );
    assert!(o.status.success(), "{}", output_text(&o));
    let at_once = wrong_passwords(&s, "paul", 100, 100).await;
    let (hwm_end, rss_end) = memory_kib(pid);
    let checked_at_once = count(&at_once, 401);
    eprintln!(
        "100 wrong passwords at once: {checked_at_once} checked (401), {} refused (429), {} busy (503); \
         server VmHWM {hwm_after} → {hwm_end} KiB, VmRSS {rss_after} → {rss_end} KiB",
        count(&at_once, 429),
        count(&at_once, 503),
    );
    assert!(
        (1..=limit).contains(&checked_at_once),
        "{checked_at_once} checked"
    );
    // At most 4 hashes at once, 19 MiB each: the peak grows by less than 4 × 19 MiB and
    // what the connections themselves take.
    let growth_mib = (hwm_end.saturating_sub(hwm_before)) / 1024;
    assert!(
        growth_mib < 4 * 19 + 48,
        "the server's peak memory grew by {growth_mib} MiB"
    );
    s.stop().await;
}

#[tokio::test]
async fn behind_a_proxy_the_address_it_added_is_used_not_the_clients_claim() {
    // One address may fail twice on any accounts; the account throttles are out of the way.
    let s = Server::start_with(WebConfig {
        trust_forwarded_for: true,
        throttle: ThrottlePolicies {
            account: ThrottlePolicy {
                free_failures: 1000,
                lock_after: 1000,
                ..ThrottlePolicy::per_account()
            },
            ip: ThrottlePolicy {
                free_failures: 1000,
                lock_after: 2,
                lock_for: SignedDuration::from_mins(15),
                ..ThrottlePolicy::per_ip()
            },
        },
        ..WebConfig::default()
    })
    .await;
    s.add_user("marie", Role::Statistician).await;
    // The attacker writes a new address of its own choice at each attempt; the proxy
    // appends the one it saw, 203.0.113.9, always the same.
    let attempt = |user: &'static str, forwarded: &'static str, password: &'static str| {
        let s = &s;
        async move {
            let page = s.get("/connexion", None).await;
            let cookie = format!(
                "justat_login_csrf={}",
                page.cookie("justat_login_csrf").unwrap()
            );
            let body = serde_urlencoded::to_string([
                ("csrf", page.csrf().as_str()),
                ("username", user),
                ("password", password),
            ])
            .unwrap();
            s.client
                .post(format!("{}/connexion", s.base))
                .header("cookie", cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .header("x-forwarded-for", forwarded)
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let marie = "marie";
    assert_eq!(
        attempt(marie, "198.51.100.1, 203.0.113.9", "guess-one").await,
        401
    );
    assert_eq!(
        attempt(marie, "198.51.100.2, 203.0.113.9", "guess-two").await,
        401
    );
    // A third made-up address does not escape the lock of the proxy-seen one.
    assert_eq!(
        attempt(marie, "198.51.100.3, 203.0.113.9", "marie-password-123").await,
        429
    );
    // Another client behind the same proxy logs in; the log names the address the proxy saw.
    s.add_user("paul", Role::Statistician).await;
    assert_eq!(
        attempt("paul", "198.51.100.4, 203.0.113.10", "paul-password-123").await,
        303
    );
    let log = s.store.audit_page(None, 50).await.unwrap();
    let failures: Vec<_> = log.iter().filter(|e| e.action == "login.failure").collect();
    assert_eq!(failures.len(), 2);
    for f in &failures {
        assert!(f.details.contains("\"203.0.113.9\""), "{}", f.details);
        assert!(!f.details.contains("198.51.100."), "{}", f.details);
    }
    assert!(
        log.iter()
            .any(|e| e.action == "login.lock" && e.object == "ip:203.0.113.9")
    );
    let success = log.iter().find(|e| e.action == "login.success").unwrap();
    assert!(
        success.details.contains("\"203.0.113.10\""),
        "{}",
        success.details
    );
    assert!(
        !success.details.contains("198.51.100.4"),
        "{}",
        success.details
    );
    s.stop().await;
}
