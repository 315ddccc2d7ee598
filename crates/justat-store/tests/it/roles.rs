//! The serving role of a PostgreSQL deployment: what it may not do to the audit log, and the
//! guards `justat serve` and `justat audit verify` check.

use crate::harness::{add_user, postgres_serving, sqlite};
use justat_model::Role;
use justat_store::StoreError;
use sqlx::Executor;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_serving_role_cannot_alter_the_audit_log_postgres() {
    let Some(db) = postgres_serving().await else {
        return;
    };
    for name in ["aa", "bb", "cc"] {
        add_user(&db.store, name, Role::Statistician).await;
    }
    assert!(
        db.store
            .missing_append_only_guards()
            .await
            .unwrap()
            .is_empty()
    );
    let app = db.raw_as_store().await;
    for attack in [
        "DROP TRIGGER audit_log_no_update ON audit_log",
        "DROP TRIGGER audit_log_no_truncate ON audit_log",
        "ALTER TABLE audit_log DISABLE TRIGGER USER",
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update",
        "DROP FUNCTION audit_log_refuse_change() CASCADE",
        "UPDATE audit_log SET actor = 'someone' WHERE seq = 2",
        "DELETE FROM audit_log WHERE seq = 3",
        "TRUNCATE audit_log",
        "DROP TABLE audit_log",
        "UPDATE release_changes SET reason = 'x'",
        "DELETE FROM release_changes",
        "UPDATE survey_unit_changes SET fields = '[]'",
        "DELETE FROM survey_status_events",
        "UPDATE survey_saves SET seconds = 0",
        "TRUNCATE survey_saves",
        "DELETE FROM survey_edits",
        "DELETE FROM survey_reminders",
        "TRUNCATE survey_reminders",
        "UPDATE programme_changes SET after = 'x'",
        "DELETE FROM programme_changes",
        "TRUNCATE programme_changes",
        "UPDATE schema_migrations SET checksum = 'x'",
        "CREATE TABLE intruder (x BIGINT)",
        "CREATE FUNCTION nothing() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$",
    ] {
        let err = app.execute(attack).await.map(|_| ()).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("permission denied") || text.contains("must be owner"),
            "{attack}: {text}"
        );
    }
    app.close().await;
    // `audit_head` is the one row serving updates (the chain's head), inside each write.
    assert_eq!(db.store.verify_audit().await.unwrap(), Ok(3));

    // The owner can disable the guard; the store then names it.
    let owner = db.raw().await;
    owner
        .execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update")
        .await
        .unwrap();
    owner.close().await;
    assert_eq!(
        db.store.missing_append_only_guards().await.unwrap(),
        ["audit_log.audit_log_no_update"]
    );
    db.finish().await;
}

#[tokio::test]
async fn a_dropped_guard_is_named_on_sqlite() {
    let db = sqlite().await;
    assert!(
        db.store
            .missing_append_only_guards()
            .await
            .unwrap()
            .is_empty()
    );
    let raw = db.raw().await;
    raw.execute("DROP TRIGGER audit_log_no_delete")
        .await
        .unwrap();
    raw.close().await;
    assert_eq!(
        db.store.missing_append_only_guards().await.unwrap(),
        ["audit_log.audit_log_no_delete"]
    );
    let refused = db.store.grant_serving_role("justat_app").await.unwrap_err();
    assert!(matches!(refused, StoreError::Refused(_)), "{refused}");
    db.finish().await;
}

#[tokio::test]
async fn only_a_plain_role_name_is_granted_to_postgres() {
    let Some(db) = postgres_serving().await else {
        return;
    };
    let owner = justat_store::Store::open(&db.owner_url().unwrap())
        .await
        .unwrap();
    for bad in ["Justat", "app; DROP TABLE audit_log", "a\"b"] {
        let err = owner.grant_serving_role(bad).await.unwrap_err();
        assert!(matches!(err, StoreError::Refused(_)), "{bad}: {err}");
    }
    owner.close().await;
    db.finish().await;
}
