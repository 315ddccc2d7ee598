use crate::harness::{TestDb, add_user, now};
use justat_model::checkpoint::CheckpointBreak;
use justat_model::{ChainBreak, Role};
use justat_store::{Actor, AuditRecord, Store};
use sqlx::Executor;

both_backends!(
    an_untouched_log_verifies,
    the_database_refuses_updates_and_deletes_of_entries,
    an_edit_behind_the_triggers_is_found_and_named,
    a_deleted_entry_is_found,
    concurrent_writers_keep_one_chain,
    a_recomputed_chain_is_named_by_its_checkpoints,
    a_truncated_log_is_named_by_its_checkpoints,
    a_release_signs_a_checkpoint,
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

/// A store that signs checkpoints with a new key in a temporary folder.
fn with_checkpoints(db: &TestDb, dir: &std::path::Path) -> (Store, ed25519_dalek::VerifyingKey) {
    let key = dir.join("keys").join("audit.key");
    let public = justat_store::checkpoints::generate_key(&key).unwrap();
    let store = db
        .store
        .clone()
        .with_checkpoints(justat_store::CheckpointConfig {
            key,
            dir: dir.join("checkpoints"),
        });
    (store, public)
}

/// Rewrites entry `seq`'s details and recomputes every hash from it, head included, as an
/// attacker who owns the database and knows the algorithm would: the chain is consistent.
async fn rewrite(db: &TestDb, seq: i64, details: &str) {
    use justat_model::audit::{EntryContent, entry_hash};
    let mut entries = db.store.audit_entries().await.unwrap();
    let raw = db.raw().await;
    drop_guard(db, &raw).await;
    let mut prev = entries[(seq - 2).max(0) as usize].hash.clone();
    if seq == 1 {
        prev = justat_model::Sha256Hex::genesis();
    }
    for e in entries.iter_mut().skip((seq - 1) as usize) {
        if e.seq == seq {
            e.details = details.to_string();
        }
        e.prev_hash = prev.clone();
        e.hash = entry_hash(
            e.seq,
            EntryContent {
                at: &e.at,
                actor: &e.actor,
                action: &e.action,
                object: &e.object,
                details: &e.details,
            },
            &e.prev_hash,
        );
        sqlx::query("UPDATE audit_log SET details = $1, prev_hash = $2, hash = $3 WHERE seq = $4")
            .bind(&e.details)
            .bind(e.prev_hash.as_str().to_string())
            .bind(e.hash.as_str().to_string())
            .bind(e.seq)
            .execute(&raw)
            .await
            .unwrap();
        prev = e.hash.clone();
    }
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(prev.as_str().to_string())
        .execute(&raw)
        .await
        .unwrap();
    raw.close().await;
}

async fn a_recomputed_chain_is_named_by_its_checkpoints(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let (store, public) = with_checkpoints(db, dir.path());
    let file = store.checkpoint_config().unwrap().file();
    seed(db).await;
    let first = store.checkpoint(now()).await.unwrap().unwrap();
    assert_eq!(first.checkpoint.seq, 4);
    add_user(&store, "ee", Role::Statistician).await;
    add_user(&store, "ff", Role::Statistician).await;
    let report = store
        .verify_audit_checkpoints(&file, &[public])
        .await
        .unwrap()
        .unwrap();
    assert_eq!((report.checked, report.unanchored), (1, 2));
    store.checkpoint(now()).await.unwrap().unwrap();

    rewrite(db, 3, "{\"role\":\"admin\"}").await;
    // Every hash in the table is consistent again…
    assert_eq!(store.verify_audit().await.unwrap(), Ok(6));
    // …but the first checkpoint after the edit names the rewrite.
    let broken = store
        .verify_audit_checkpoints(&file, &[public])
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(
            broken,
            CheckpointBreak::Rewritten {
                line: 1,
                seq: 4,
                from: 1,
                ..
            }
        ),
        "{broken:?}"
    );
    let message = broken.to_string();
    assert!(
        message.contains("REWRITTEN") && message.contains("entry #4"),
        "{message}"
    );
}

async fn a_truncated_log_is_named_by_its_checkpoints(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let (store, public) = with_checkpoints(db, dir.path());
    let file = store.checkpoint_config().unwrap().file();
    seed(db).await;
    store.checkpoint(now()).await.unwrap().unwrap();
    let entries = store.audit_entries().await.unwrap();
    let raw = db.raw().await;
    drop_guard(db, &raw).await;
    raw.execute("DELETE FROM audit_log WHERE seq > 2")
        .await
        .unwrap();
    sqlx::query("UPDATE audit_head SET seq = 2, hash = $1 WHERE id = 1")
        .bind(entries[1].hash.as_str().to_string())
        .execute(&raw)
        .await
        .unwrap();
    raw.close().await;
    assert_eq!(store.verify_audit().await.unwrap(), Ok(2));
    let broken = store
        .verify_audit_checkpoints(&file, &[public])
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(
            broken,
            CheckpointBreak::Truncated {
                seq: 4,
                last: 2,
                ..
            }
        ),
        "{broken:?}"
    );
}

async fn a_release_signs_a_checkpoint(db: &TestDb) {
    use justat_model::publication::{Action, Collection};
    let dir = tempfile::tempdir().unwrap();
    let (store, public) = with_checkpoints(db, dir.path());
    let file = store.checkpoint_config().unwrap().file();
    crate::harness::approved(db, Collection::Infostat, "prisons").await;
    assert!(
        justat_store::checkpoints::latest_checkpoint(&file)
            .unwrap()
            .is_none()
    );
    store
        .publication_action(
            Collection::Infostat,
            "prisons",
            1,
            Action::Release,
            Role::HeadOfService,
            &Actor::user("chef"),
            Some(now()),
            now(),
        )
        .await
        .unwrap();
    let signed = justat_store::checkpoints::latest_checkpoint(&file)
        .unwrap()
        .expect("the release signed a checkpoint");
    assert_eq!(
        Some(signed.checkpoint.seq),
        store.audit_head().await.unwrap().map(|h| h.seq)
    );
    assert!(signed.signature_holds() && signed.public_key == public);
    // The daily checkpoint waits a day after the last one.
    let day = jiff::SignedDuration::from_hours(24);
    assert!(
        store
            .checkpoint_if_older(day, now())
            .await
            .unwrap()
            .is_none()
    );
    let later = now() + day;
    assert!(
        store
            .checkpoint_if_older(day, later)
            .await
            .unwrap()
            .is_some()
    );
}
