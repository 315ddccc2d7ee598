//! The `justat` binary as a user runs it.

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// `justat` as the tests run it: on `data_dir`'s SQLite database, logs at `warn`.
fn command(data_dir: &std::path::Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(crate::harness::justat_binary());
    cmd.args(args)
        .env("JUSTAT_DATA_DIR", data_dir)
        .env_remove("JUSTAT_DATABASE_URL")
        .env_remove("JUSTAT_MIGRATE_DATABASE_URL")
        .env_remove("JUSTAT_CONFIG")
        .env_remove("RUST_LOG")
        .env("JUSTAT_LOG", "warn")
        .current_dir(data_dir.parent().unwrap())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn run(mut cmd: Command, stdin: Option<&str>) -> Output {
    let mut child = cmd.spawn().unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn justat(data_dir: &std::path::Path, args: &[&str], stdin: Option<&str>) -> Output {
    run(command(data_dir, args), stdin)
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn every_command_has_help() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let help = justat(&data, &["--help"], None);
    assert!(help.status.success());
    for cmd in ["serve", "demo", "config", "db", "user", "audit"] {
        assert!(text(&help).contains(cmd), "{cmd}");
    }
    for args in [
        &["serve", "--help"][..],
        &["demo", "--help"],
        &["db", "migrate", "--help"],
        &["user", "add", "--help"],
        &["user", "list", "--help"],
        &["user", "disable", "--help"],
        &["user", "reset-password", "--help"],
        &["audit", "verify", "--help"],
        &["audit", "checkpoint", "--help"],
        &["audit", "keygen", "--help"],
    ] {
        assert!(justat(&data, args, None).status.success(), "{args:?}");
    }
    assert!(text(&justat(&data, &["demo", "--help"], None)).contains("--prepare-only"));
}

#[test]
fn config_shows_effective_values_and_their_origin() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = justat(&data, &["config"], None);
    assert!(out.status.success(), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("listen = \"127.0.0.1:8080\"  # default"), "{t}");
    assert!(t.contains("# env JUSTAT_DATA_DIR"), "{t}");
    assert!(t.contains("justat.db"), "{t}");
}

#[test]
fn the_configured_read_limits_apply_to_deliveries() {
    // Issue 23, item 11: `max_rows` (like the other read limits) reaches the engine.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut csv = String::from(
        "case_id;offender_id;court;reception_date;orientation_date;natinf;legal_class;orientation;sex;age;minor;legal_person\r\n",
    );
    for n in 0..5 {
        csv.push_str(&format!(
            "A{n};P{n};TJ_1_119;02/01/2024;15/02/2024;7151;D;CSS_RECHINF;M;30;0;0\r\n"
        ));
    }
    let file = dir.path().join("penal.csv");
    std::fs::write(&file, &csv).unwrap();
    let deliver = |max_rows: &str| {
        Command::new(env!("CARGO_BIN_EXE_justat"))
            .args(["delivery", "add", "penal", file.to_str().unwrap()])
            .env("JUSTAT_DATA_DIR", &data)
            .env_remove("JUSTAT_DATABASE_URL")
            .env_remove("JUSTAT_CONFIG")
            .env("JUSTAT_LOG", "warn")
            .env("JUSTAT_MAX_ROWS", max_rows)
            .output()
            .unwrap()
    };
    let out = deliver("3");
    assert!(
        text(&out).contains("penal.csv : ligne 5 : plus de 3 lignes de données"),
        "{}",
        text(&out)
    );
}

#[test]
fn bad_configuration_exits_non_zero_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut cmd = Command::new(crate::harness::justat_binary());
    let out = cmd
        .args(["db", "migrate"])
        .env("JUSTAT_DATA_DIR", &data)
        .env("JUSTAT_DATABASE_URL", "mysql://x/y")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out).contains("is not supported: use sqlite://PATH or postgres://"),
        "{}",
        text(&out)
    );
    let out = Command::new(crate::harness::justat_binary())
        .args(["db", "migrate"])
        .env("JUSTAT_DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out).contains("cannot open the database"),
        "{}",
        text(&out)
    );
}

#[test]
fn users_are_managed_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    assert!(justat(&data, &["db", "migrate"], None).status.success());
    let add = justat(
        &data,
        &[
            "user",
            "add",
            "marie",
            "--role",
            "statistician",
            "--name",
            "Marie Curie",
            "--password-stdin",
        ],
        Some("a-long-passphrase\n"),
    );
    assert!(add.status.success(), "{}", text(&add));
    let generated = justat(&data, &["user", "add", "paul", "--role", "admin"], None);
    assert!(
        text(&generated).contains("password: "),
        "a generated password is shown once"
    );
    let dup = justat(&data, &["user", "add", "marie", "--role", "admin"], None);
    assert!(!dup.status.success());
    assert!(text(&dup).contains("user `marie` already exists"));
    let bad_role = justat(&data, &["user", "add", "jo", "--role", "king"], None);
    assert!(!bad_role.status.success());
    assert!(text(&bad_role).contains("unknown role `king`"));
    let weak = justat(
        &data,
        &["user", "add", "jo", "--role", "asp", "--password-stdin"],
        Some("short\n"),
    );
    assert!(!weak.status.success());
    assert!(text(&weak).contains("at least 12 characters"));
    assert!(
        justat(
            &data,
            &["user", "set-role", "marie", "head_of_service"],
            None
        )
        .status
        .success()
    );
    assert!(
        justat(&data, &["user", "disable", "marie"], None)
            .status
            .success()
    );
    let list = text(&justat(&data, &["user", "list"], None));
    assert!(
        list.contains("marie") && list.contains("head_of_service") && list.contains("disabled"),
        "{list}"
    );
    let json = text(&justat(&data, &["user", "list", "--json"], None));
    assert!(json.contains("\"username\": \"paul\""));
    assert!(
        !justat(&data, &["user", "disable", "ghost"], None)
            .status
            .success()
    );
    let reset = justat(
        &data,
        &["user", "reset-password", "marie", "--password-stdin"],
        Some("another-passphrase\n"),
    );
    assert!(reset.status.success(), "{}", text(&reset));
    let verify = justat(&data, &["audit", "verify"], None);
    assert!(verify.status.success());
    assert!(
        text(&verify).contains("audit log OK: 5 entries verified"),
        "{}",
        text(&verify)
    );
}

#[test]
fn editing_an_audit_row_in_the_sqlite_file_makes_verify_fail_and_name_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let prep = justat(&data, &["demo", "--prepare-only"], None);
    assert!(prep.status.success(), "{}", text(&prep));
    assert!(
        text(&prep).contains("justat-demo-admin"),
        "the demo prints its accounts"
    );
    assert!(justat(&data, &["audit", "verify"], None).status.success());
    // The demo's releases signed checkpoints with a key in its data folder.
    assert!(
        text(&prep).contains("audit log signed with the demo key"),
        "{}",
        text(&prep)
    );
    let checkpoints =
        std::fs::read_to_string(data.join("audit-checkpoints/checkpoints.log")).unwrap();
    assert!(checkpoints.lines().count() >= 5, "{checkpoints}");
    let anchored = Command::new(crate::harness::justat_binary())
        .args(["audit", "verify"])
        .env("JUSTAT_DATA_DIR", &data)
        .env("JUSTAT_AUDIT_KEY", data.join("demo-audit-key/audit.key"))
        .env_remove("JUSTAT_DATABASE_URL")
        .env_remove("JUSTAT_CONFIG")
        .output()
        .unwrap();
    assert!(
        anchored.status.success() && text(&anchored).contains("checkpoints OK"),
        "{}",
        text(&anchored)
    );

    let db = data.join("justat.db");
    let conn = Command::new("sqlite3").arg("--version").output();
    let edit = "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET details = '{\"role\":\"admin\"}' WHERE seq = 3;";
    if conn.is_ok() {
        let out = Command::new("sqlite3").arg(&db).arg(edit).output().unwrap();
        assert!(out.status.success(), "{}", text(&out));
    } else {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            use sqlx::Executor;
            sqlx::any::install_default_drivers();
            let pool = sqlx::AnyPool::connect(&format!("sqlite://{}", db.display()))
                .await
                .unwrap();
            pool.execute(edit).await.unwrap();
            pool.close().await;
        });
    }
    let verify = justat(&data, &["audit", "verify"], None);
    assert_eq!(verify.status.code(), Some(2));
    assert!(
        text(&verify).contains("audit log BROKEN: entry #3 was edited"),
        "{}",
        text(&verify)
    );
    assert!(
        String::from_utf8_lossy(&verify.stderr)
            .contains("warning: the append-only guards audit_log.audit_log_no_update are missing"),
        "{}",
        text(&verify)
    );
}

/// The demo's printed accounts: (username, password), from the lines under its header.
fn printed_accounts(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("USERNAME"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| {
            let mut words = l.split_whitespace();
            (
                words.next().unwrap().to_string(),
                words.next().unwrap().to_string(),
            )
        })
        .collect()
}

/// The README's table of demo accounts: (username, password, role), the rows whose password
/// is a demo one.
fn readme_accounts() -> Vec<(String, String, String)> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    readme
        .lines()
        .filter(|l| l.starts_with('|') && l.contains("`justat-demo-"))
        .map(|l| {
            let cells: Vec<String> = l
                .split('|')
                .map(|c| c.trim().trim_matches('`').to_string())
                .collect();
            (cells[1].clone(), cells[2].clone(), cells[3].clone())
        })
        .collect()
}

/// Every string of a JSON document that reads as an instant is written in UTC, RFC 3339.
fn assert_instants_in_utc(what: &str, v: &serde_json::Value) -> usize {
    match v {
        serde_json::Value::String(s) if s.parse::<jiff::Timestamp>().is_ok() => {
            assert!(s.ends_with('Z'), "{what}: {s} is not a UTC instant");
            1
        }
        serde_json::Value::Array(a) => a.iter().map(|x| assert_instants_in_utc(what, x)).sum(),
        serde_json::Value::Object(o) => o.values().map(|x| assert_instants_in_utc(what, x)).sum(),
        _ => 0,
    }
}

/// The column a header's title starts at, in characters.
fn column_of(line: &str, needle: &str) -> usize {
    line[..line
        .find(needle)
        .unwrap_or_else(|| panic!("`{needle}` in `{line}`"))]
        .chars()
        .count()
}

#[test]
fn a_first_demo_prints_what_a_person_needs_and_its_lists_agree() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // As a new user runs it: no JUSTAT_LOG, no RUST_LOG.
    let mut plain = command(&data, &["demo", "--prepare-only"]);
    plain.env_remove("JUSTAT_LOG");
    let out = run(plain, None);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!text(&out).contains("INFO"), "{}", text(&out));
    assert!(stderr.trim().is_empty(), "nothing but results: {stderr}");

    // The README's table is what the demo creates.
    let printed = printed_accounts(&stdout);
    assert!(printed.len() >= 6, "{stdout}");
    let readme = readme_accounts();
    let mut from_readme: Vec<(String, String)> = readme
        .iter()
        .map(|(u, p, _)| (u.clone(), p.clone()))
        .collect();
    let mut from_demo = printed.clone();
    from_readme.sort();
    from_demo.sort();
    assert_eq!(from_readme, from_demo, "README.md's demo accounts");
    let users: serde_json::Value =
        serde_json::from_slice(&justat(&data, &["user", "list", "--json"], None).stdout).unwrap();
    for (username, _, role) in &readme {
        let user = users
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["username"] == username.as_str())
            .unwrap_or_else(|| panic!("{username} is in README.md, not in the demo"));
        assert_eq!(
            user["role"],
            role.as_str(),
            "{username}'s role in README.md"
        );
    }

    // Every list has --json, with UTC instants; people read Paris times in aligned columns.
    let mut instants = 0;
    for args in [
        &["user", "list", "--json"][..],
        &["delivery", "list", "--json"],
        &["chain", "runs", "--json"],
        &["cube", "list", "--json"],
        &["codelist", "list", "--json"],
        &["publication", "list", "--json"],
        &["calendar", "list", "--json"],
        &["incident", "list", "--json"],
    ] {
        let out = justat(&data, args, None);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?} prints JSON: {e}"));
        assert!(v.is_array(), "{args:?}");
        instants += assert_instants_in_utc(&args.join(" "), &v);
    }
    assert!(instants > 10, "the lists hold instants");

    let versions: serde_json::Value =
        serde_json::from_slice(&justat(&data, &["publication", "list", "--json"], None).stdout)
            .unwrap();
    let releases: serde_json::Value =
        serde_json::from_slice(&justat(&data, &["calendar", "list", "--json"], None).stdout)
            .unwrap();
    let publications = text(&justat(&data, &["publication", "list"], None));
    let calendar = text(&justat(&data, &["calendar", "list"], None));
    assert!(publications.contains("HEURE DE PARIS"), "{publications}");
    assert!(calendar.contains("HEURE DE PARIS"), "{calendar}");
    let header = publications.lines().next().unwrap();
    let mut compared = 0;
    for v in versions.as_array().unwrap() {
        let slug = v["slug"].as_str().unwrap();
        let title = v["title"].as_str().unwrap();
        let version = v["version"].to_string();
        let line = publications
            .lines()
            .find(|l| {
                let words: Vec<&str> = l.split_whitespace().take(3).collect();
                words == [v["collection"].as_str().unwrap(), slug, version.as_str()]
            })
            .unwrap_or_else(|| panic!("{slug} v{version} in {publications}"));
        assert_eq!(
            column_of(line, title),
            column_of(header, "TITLE"),
            "aligned columns:\n{publications}"
        );
        let Some(at) = v["released_at"].as_str() else {
            continue;
        };
        let shown = justat_model::french::date_time(at.parse().unwrap());
        assert!(line.contains(&shown), "{shown} in `{line}`");
        assert!(!line.contains(at), "no UTC instant for people: {line}");
        let same = releases.as_array().unwrap().iter().find(|r| {
            r["slug"] == slug && r["collection"] == v["collection"] && r["release_at"] == at
        });
        if same.is_some() {
            let row = calendar
                .lines()
                .find(|l| l.split_whitespace().nth(1) == Some(slug))
                .unwrap();
            assert!(row.contains(&shown), "the calendar says {shown} too: {row}");
            compared += 1;
        }
    }
    assert!(compared > 0, "a release in both lists");
    let header = calendar.lines().next().unwrap();
    for line in calendar.lines().skip(1) {
        let status_at = column_of(header, "STATUS");
        let word = line
            .chars()
            .skip(status_at)
            .take_while(|c| !c.is_whitespace());
        assert!(
            ["provisional", "confirmed", "published", "cancelled"]
                .contains(&word.collect::<String>().as_str()),
            "aligned columns:\n{calendar}"
        );
    }

    // The survey: two access codes of two courts that have not answered, each opening its own
    // unit in an open campaign of the demo questionnaire.
    let codes: Vec<(String, String)> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("respondent portal "))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| {
            let (name, code) = l.trim().rsplit_once(' ')?;
            Some((name.trim().to_string(), code.to_string()))
        })
        .collect();
    assert_eq!(
        codes.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        [
            "Tribunal judiciaire de Lyon",
            "Tribunal judiciaire de Saint-Étienne"
        ],
        "{stdout}"
    );
    let readme_text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    assert!(
        readme_text
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .contains(
                "two access codes, for the tribunaux judiciaires de Lyon and of Saint-Étienne"
            ),
        "README.md's demo section names the printed codes"
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = justat_store::Store::open_and_migrate(&justat_store::sqlite_url(&data))
            .await
            .unwrap();
        let now = jiff::Timestamp::now();
        let mut units = Vec::new();
        for (_, code) in &codes {
            let justat_store::CodeOutcome::Granted(who) = store
                .respondent_by_code(
                    code,
                    "127.0.0.1",
                    &justat_model::ThrottlePolicy::per_ip(),
                    now,
                )
                .await
                .unwrap()
            else {
                panic!("the printed code {code} is refused");
            };
            let c = store.campaign(who.campaign_id()).await.unwrap();
            assert_eq!(c.state, justat_model::survey::CampaignState::Open);
            assert!(c.opens_at <= now && now < c.closes_at, "open now: {c:?}");
            assert_eq!(
                store.respondent_status(&who).await.unwrap(),
                justat_model::survey::ResponseStatus::NotStarted
            );
            units.push(who.unit_code().to_string());
        }
        assert_ne!(units[0], units[1]);

        // The Références statistiques sheet of the survey: released, its tables read from the
        // survey's cube.
        let bav = store
            .cubes()
            .await
            .unwrap()
            .into_iter()
            .find(|c| c.name == "bav_victims")
            .expect("the survey's cube");
        let sheet = store
            .publication_version(
                justat_model::Collection::ReferencesStatistiques,
                "victimes-recues-bureaux-aide-aux-victimes-2025",
                None,
            )
            .await
            .unwrap()
            .expect("the survey's sheet");
        assert_eq!(sheet.state, justat_model::VersionState::Released);
        assert!(
            sheet.released_at.is_some_and(|at| at < now),
            "released in the past"
        );
        assert_eq!(sheet.provenance.tables.len(), 2);
        for (name, t) in &sheet.provenance.tables {
            assert_eq!(t.provenance.cube, bav.id.to_string(), "{name}");
            assert!(t.provenance.chain.starts_with("bav_victims"), "{name}");
        }
        store.close().await;
    });
}

#[test]
fn db_migrate_says_what_it_applied_and_errors_are_said_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let first = justat(&data, &["db", "migrate"], None);
    assert!(first.status.success(), "{}", text(&first));
    let said = text(&first);
    assert!(
        said.contains("applied migration 0001 accounts_sessions_audit"),
        "{said}"
    );
    assert!(!said.contains("up to date"), "{said}");
    let again = text(&justat(&data, &["db", "migrate"], None));
    assert!(again.contains("is up to date"), "{again}");
    assert!(!again.contains("applied migration"), "{again}");

    let grant = justat(&data, &["db", "migrate", "--grant-to", "justat_app"], None);
    assert!(!grant.status.success());
    let err = String::from_utf8_lossy(&grant.stderr).to_string();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("roles exist only on PostgreSQL"), "{err}");

    // Nothing listens on a port just freed: said at once, with the address tried.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for args in [&["db", "migrate"][..], &["user", "list"]] {
        let mut cmd = command(&data, args);
        cmd.env(
            "JUSTAT_DATABASE_URL",
            format!("postgres://justat:secret@127.0.0.1:{port}/justat"),
        );
        let started = std::time::Instant::now();
        let out = run(cmd, None);
        let took = started.elapsed();
        assert!(!out.status.success());
        assert!(
            took < std::time::Duration::from_secs(2),
            "{args:?} took {took:?}"
        );
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
        assert!(err.contains("connection refused"), "{err}");
        assert!(!err.contains("secret"), "{err}");
        assert_eq!(err.matches("cannot open the database").count(), 1, "{err}");
    }
}

#[test]
fn a_cli_action_with_an_empty_user_is_logged_as_the_os_account() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut cmd = command(
        &data,
        &[
            "user",
            "add",
            "marie",
            "--role",
            "statistician",
            "--password-stdin",
        ],
    );
    cmd.env("USER", "").env("LOGNAME", "");
    let out = run(cmd, Some("a-long-passphrase\n"));
    assert!(out.status.success(), "{}", text(&out));
    let id = Command::new("id").arg("-un").output().unwrap();
    let account = String::from_utf8_lossy(&id.stdout).trim().to_string();
    assert!(!account.is_empty());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let actor = rt.block_on(async {
        let store = justat_store::Store::open(&justat_store::sqlite_url(&data))
            .await
            .unwrap();
        let entries = store.audit_page(None, 10).await.unwrap();
        store.close().await;
        entries[0].actor.clone()
    });
    assert_eq!(actor, format!("cli:{account}"));
}

/// The README's PostgreSQL set-up, through the binary: an owner role migrates and grants, the
/// serving role runs the commands, and errors of a connection are one line each.
#[test]
fn postgres_owner_migrates_and_the_serving_role_serves() {
    let Ok(admin_url) = std::env::var("JUSTAT_TEST_POSTGRES_URL") else {
        eprintln!("JUSTAT_TEST_POSTGRES_URL is not set: PostgreSQL variant not run");
        return;
    };
    use sqlx::Executor;
    sqlx::any::install_default_drivers();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let name = format!(
        "justat_cli_{}",
        &justat_store::sessions::random_token()[..12]
    );
    let (owner, app) = (format!("{name}_owner"), format!("{name}_app"));
    let (base, _) = admin_url.rsplit_once('/').unwrap();
    let host = base.rsplit_once('@').map_or(&base[11..], |(_, h)| h);
    let admin = rt.block_on(async {
        let admin = sqlx::AnyPool::connect(&admin_url).await.unwrap();
        for sql in [
            format!("CREATE ROLE {owner} LOGIN"),
            format!("CREATE ROLE {app} LOGIN"),
            format!("CREATE DATABASE {name} OWNER {owner}"),
            format!("REVOKE ALL ON DATABASE {name} FROM PUBLIC"),
            format!("GRANT CONNECT ON DATABASE {name} TO {app}"),
        ] {
            admin.execute(sqlx::AssertSqlSafe(sql)).await.unwrap();
        }
        let on_new = sqlx::AnyPool::connect(&format!("{base}/{name}"))
            .await
            .unwrap();
        for sql in [
            format!("ALTER SCHEMA public OWNER TO {owner}"),
            "REVOKE CREATE ON SCHEMA public FROM PUBLIC".to_string(),
        ] {
            on_new.execute(sqlx::AssertSqlSafe(sql)).await.unwrap();
        }
        on_new.close().await;
        admin
    });
    let _cleanup = DropOnExit {
        admin_url: admin_url.clone(),
        database: name.clone(),
        roles: vec![app.clone(), owner.clone()],
    };
    rt.block_on(admin.close());
    let owner_url = format!("postgres://{owner}@{host}/{name}");
    let app_url = format!("postgres://{app}@{host}/{name}");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let as_app = |args: &[&str], stdin: Option<&str>| {
        let mut cmd = command(&data, args);
        cmd.env("JUSTAT_DATABASE_URL", &app_url);
        run(cmd, stdin)
    };

    // Before migrations, the serving role's commands refuse and say what to run.
    let early = as_app(&["user", "list"], None);
    assert!(!early.status.success());
    let err = String::from_utf8_lossy(&early.stderr).to_string();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("justat db migrate"), "{err}");
    assert!(
        !err.contains("NOTICE") && !err.contains("already exists"),
        "{err}"
    );

    let mut migrate = command(&data, &["db", "migrate", "--grant-to", &app]);
    migrate
        .env("JUSTAT_DATABASE_URL", &app_url)
        .env("JUSTAT_MIGRATE_DATABASE_URL", &owner_url);
    let migrated = run(migrate, None);
    assert!(migrated.status.success(), "{}", text(&migrated));
    assert!(
        text(&migrated).contains("applied migration 0001 accounts_sessions_audit"),
        "{}",
        text(&migrated)
    );
    assert!(text(&migrated).contains(&format!("granted `{app}`")));
    assert!(String::from_utf8_lossy(&migrated.stderr).trim().is_empty());

    let add = as_app(
        &[
            "user",
            "add",
            "alice",
            "--role",
            "admin",
            "--password-stdin",
        ],
        Some("a-long-passphrase\n"),
    );
    assert!(add.status.success(), "{}", text(&add));
    // Even with the logs asked for, the server has no notice to send (the migrations' table
    // is looked up, not created "if not exists").
    let mut verbose = command(&data, &["audit", "verify"]);
    verbose
        .env("JUSTAT_DATABASE_URL", &app_url)
        .env("JUSTAT_LOG", "info");
    let verify = run(verbose, None);
    assert!(verify.status.success(), "{}", text(&verify));
    assert!(!text(&verify).contains("warning"), "{}", text(&verify));
    assert!(
        !text(&verify).contains("already exists"),
        "{}",
        text(&verify)
    );

    rt.block_on(async {
        let app_pool = sqlx::AnyPool::connect(&app_url).await.unwrap();
        for attack in [
            "DROP TRIGGER audit_log_no_update ON audit_log",
            "ALTER TABLE audit_log DISABLE TRIGGER USER",
            "UPDATE audit_log SET actor = 'x'",
            "DELETE FROM audit_log",
            "TRUNCATE audit_log",
        ] {
            assert!(app_pool.execute(attack).await.is_err(), "{attack}");
        }
        app_pool.close().await;
        let owner_pool = sqlx::AnyPool::connect(&owner_url).await.unwrap();
        owner_pool
            .execute("ALTER TABLE audit_log DISABLE TRIGGER USER")
            .await
            .unwrap();
        owner_pool.close().await;
    });
    let verify = as_app(&["audit", "verify"], None);
    let err = String::from_utf8_lossy(&verify.stderr).to_string();
    assert!(
        err.contains("warning: the append-only guards audit_log.audit_log_no_update"),
        "{err}"
    );

    // A missing database and a missing role: one line each, the server's words once.
    for (url, words) in [
        (
            format!("postgres://{app}@{host}/{name}_missing"),
            "does not exist",
        ),
        (
            format!("postgres://{name}_nobody@{host}/{name}"),
            "does not exist",
        ),
    ] {
        let mut cmd = command(&data, &["user", "list"]);
        cmd.env("JUSTAT_DATABASE_URL", &url);
        let out = run(cmd, None);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert_eq!(err.matches(words).count(), 1, "{err}");
        assert!(!err.contains("at line"), "{err}");
    }
}

/// Drops a test's PostgreSQL database and roles, even when the test fails half-way.
struct DropOnExit {
    admin_url: String,
    database: String,
    roles: Vec<String>,
}

impl Drop for DropOnExit {
    fn drop(&mut self) {
        use sqlx::Executor;
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let Ok(admin) = sqlx::AnyPool::connect(&self.admin_url).await else {
                return;
            };
            let _ = admin
                .execute(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.database
                )))
                .await;
            for role in &self.roles {
                let _ = admin
                    .execute(sqlx::AssertSqlSafe(format!("DROP ROLE IF EXISTS {role}")))
                    .await;
            }
            admin.close().await;
        });
    }
}

/// `justat serve` with its defaults (and an audit key) prints the address it listens on and no
/// log line; with
/// `JUSTAT_LOG=info` it logs one line per request; it warns when the audit log lost a guard.
#[test]
fn serve_prints_its_address_logs_requests_only_when_asked_and_warns_of_a_dropped_guard() {
    use std::io::{BufRead, Read};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    assert!(justat(&data, &["db", "migrate"], None).status.success());
    // With its audit log anchored, a server has nothing to warn of.
    let key = dir.path().join("audit.key");
    let keygen = justat(
        &data,
        &["audit", "keygen", "--out", key.to_str().unwrap()],
        None,
    );
    assert!(
        keygen.status.success(),
        "{}",
        crate::harness::output_text(&keygen)
    );
    for log in [None, Some("info")] {
        let mut cmd = command(&data, &["serve"]);
        cmd.env("JUSTAT_LISTEN", "127.0.0.1:0")
            .env("JUSTAT_AUDIT_KEY", &key)
            .stdin(Stdio::null());
        match log {
            Some(level) => cmd.env("JUSTAT_LOG", level),
            None => cmd.env_remove("JUSTAT_LOG"),
        };
        let mut child = cmd.spawn().unwrap();
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("serve printed `{line}`"))
            .to_string();
        let mut conn = std::net::TcpStream::connect(&addr).unwrap();
        conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut reply = String::new();
        conn.read_to_string(&mut reply).unwrap();
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
        child.kill().unwrap();
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        if log.is_none() {
            assert!(stderr.trim().is_empty(), "no log line by default: {stderr}");
        } else {
            assert!(
                stderr.contains("request") && stderr.contains("/healthz"),
                "{stderr}"
            );
        }
    }

    // Serving over an audit log whose guard was dropped says so.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use sqlx::Executor;
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&justat_store::sqlite_url(&data))
            .await
            .unwrap();
        pool.execute("DROP TRIGGER audit_log_no_delete")
            .await
            .unwrap();
        pool.close().await;
    });
    let mut cmd = command(&data, &["serve"]);
    cmd.env("JUSTAT_LISTEN", "127.0.0.1:0").stdin(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert!(line.starts_with("listening on http://"), "{line}");
    child.kill().unwrap();
    let stderr = String::from_utf8_lossy(&child.wait_with_output().unwrap().stderr).to_string();
    assert!(
        stderr
            .contains("warning: the append-only guards audit_log.audit_log_no_delete are missing"),
        "{stderr}"
    );
}
