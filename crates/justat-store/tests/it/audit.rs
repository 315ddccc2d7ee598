use crate::harness::{TestDb, add_user, now};
use justat_model::{ChainBreak, Role};
use justat_store::{Actor, AuditRecord, Store};
use sqlx::Executor;

both_backends!(
    an_untouched_log_verifies,
    the_database_refuses_updates_and_deletes_of_entries,
    an_edit_behind_the_triggers_is_found_and_named,
    a_deleted_entry_is_found,
    concurrent_writers_keep_one_chain,
);

async fn seed(db: &TestDb) {
    for name in ["aa", "bb", "cc", "dd"] {
        add_user(&db.store, name, Role::Statistician).await;
    }
}

/// Drops the append-only guard, as an attacker with database access would.
async fn drop_guard(db: &TestDb, raw: &sqlx::AnyPool) {
    if db.is_postgres() {
        raw.execute("ALTER TABLE audit_log DISABLE TRIGGER USER")
            .await
            .unwrap();
    } else {
        raw.execute("DROP TRIGGER audit_log_no_update")
            .await
            .unwrap();
        raw.execute("DROP TRIGGER audit_log_no_delete")
            .await
            .unwrap();
    }
}

async fn an_untouched_log_verifies(db: &TestDb) {
    assert_eq!(db.store.verify_audit().await.unwrap(), Ok(0));
    seed(db).await;
    assert_eq!(db.store.verify_audit().await.unwrap(), Ok(4));
    assert_eq!(db.store.audit_len().await.unwrap(), 4);
    let page = db.store.audit_page(Some(3), 10).await.unwrap();
    assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![2, 1]);
}

async fn the_database_refuses_updates_and_deletes_of_entries(db: &TestDb) {
    seed(db).await;
    let raw = db.raw().await;
    let upd = raw
        .execute("UPDATE audit_log SET actor = 'someone' WHERE seq = 2")
        .await;
    assert!(upd.unwrap_err().to_string().contains("append-only"));
    let del = raw.execute("DELETE FROM audit_log WHERE seq = 2").await;
    assert!(del.unwrap_err().to_string().contains("append-only"));
    raw.close().await;
    assert_eq!(db.store.verify_audit().await.unwrap(), Ok(4));
}

async fn an_edit_behind_the_triggers_is_found_and_named(db: &TestDb) {
    seed(db).await;
    let raw = db.raw().await;
    drop_guard(db, &raw).await;
    raw.execute("UPDATE audit_log SET details = '{\"role\":\"admin\"}' WHERE seq = 3")
        .await
        .unwrap();
    raw.close().await;
    assert_eq!(
        db.store.verify_audit().await.unwrap(),
        Err(ChainBreak::Edited { seq: 3 })
    );
}

async fn a_deleted_entry_is_found(db: &TestDb) {
    seed(db).await;
    let raw = db.raw().await;
    drop_guard(db, &raw).await;
    raw.execute("DELETE FROM audit_log WHERE seq = 2")
        .await
        .unwrap();
    raw.execute("DELETE FROM audit_log WHERE seq = 4")
        .await
        .unwrap();
    raw.close().await;
    assert_eq!(
        db.store.verify_audit().await.unwrap(),
        Err(ChainBreak::Deleted { seq: 2 })
    );
}

async fn concurrent_writers_keep_one_chain(db: &TestDb) {
    // Two pools play two processes (the server and a CLI command) writing at once.
    let other = Store::open(&db.url).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let store = if i % 2 == 0 {
            db.store.clone()
        } else {
            other.clone()
        };
        tasks.push(tokio::spawn(async move {
            store
                .audit(
                    AuditRecord::new(&Actor::system(), "test.event", format!("n:{i}")),
                    now(),
                )
                .await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    other.close().await;
    assert_eq!(db.store.verify_audit().await.unwrap(), Ok(20));
}
