//! The `justat` binary as a user runs it.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn justat(data_dir: &std::path::Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_justat"));
    cmd.args(args)
        .env("JUSTAT_DATA_DIR", data_dir)
        .env_remove("JUSTAT_DATABASE_URL")
        .env_remove("JUSTAT_CONFIG")
        .env("JUSTAT_LOG", "warn")
        .current_dir(data_dir.parent().unwrap())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
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
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_justat"));
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
    let out = Command::new(env!("CARGO_BIN_EXE_justat"))
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
}
