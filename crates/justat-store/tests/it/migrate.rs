use crate::harness::TestDb;
use justat_store::{Store, StoreError};
use sqlx::Executor;

both_backends!(
    migrating_twice_applies_nothing_new,
    an_edited_migration_is_refused,
    a_newer_database_is_refused
);

async fn migrating_twice_applies_nothing_new(db: &TestDb) {
    assert!(db.store.migrate().await.unwrap().is_empty());
    let again = Store::open_and_migrate(&db.url).await.unwrap();
    assert!(again.migrate().await.unwrap().is_empty());
    again.close().await;
}

async fn an_edited_migration_is_refused(db: &TestDb) {
    let raw = db.raw().await;
    raw.execute("UPDATE schema_migrations SET checksum = 'x' WHERE version = 1")
        .await
        .unwrap();
    raw.close().await;
    let err = db.store.migrate().await.unwrap_err();
    assert!(
        matches!(err, StoreError::MigrationChanged { version: 1, .. }),
        "{err}"
    );
}

async fn a_newer_database_is_refused(db: &TestDb) {
    let raw = db.raw().await;
    raw.execute("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (999, 'future', 'x', 'x')")
        .await
        .unwrap();
    raw.close().await;
    let err = db.store.migrate().await.unwrap_err();
    assert!(
        matches!(err, StoreError::TooNew { found: 999, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("run a newer Justat"));
}
