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

/// A database written before migration 9, holding the drift it removes: a release moved after
/// its correction was released, its version 1 left at the old instant. Migrating puts both
/// versions on the release, and the old instant shows nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrating_puts_drifted_versions_back_on_their_release() {
    use justat_model::publication::Collection;
    let dir = tempfile::tempdir().unwrap();
    let url = justat_store::sqlite_url(dir.path());
    let store = Store::open(&url).await.unwrap();
    let raw = sqlx::AnyPool::connect(&url).await.unwrap();
    raw.execute(
        "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL)",
    )
    .await
    .unwrap();
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    let mut files: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for path in files.iter().take(8) {
        let sql = std::fs::read_to_string(path).unwrap();
        let version: i64 = path.file_name().unwrap().to_str().unwrap()[..4]
            .parse()
            .unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone()))
            .execute(&raw)
            .await
            .unwrap();
        sqlx::query("INSERT INTO schema_migrations VALUES ($1, 'before', $2, 'x')")
            .bind(version)
            .bind(
                justat_model::Sha256Hex::of(sql.as_bytes())
                    .as_str()
                    .to_string(),
            )
            .execute(&raw)
            .await
            .unwrap();
    }
    let hash = "ab".repeat(32);
    let (announced, old, moved) = (
        "2026-11-01T10:00:00.000000Z",
        "2026-12-10T11:00:00.000000Z",
        "2026-12-17T11:00:00.000000Z",
    );
    raw.execute(sqlx::AssertSqlSafe(format!(
        "INSERT INTO publications (id, collection, slug, created_by, created_at) VALUES (1, 'infostat', 'orientations-2025', 'x', '{announced}');
         INSERT INTO releases (uid, collection, slug, title, status, release_at, sequence, created_by, created_at, updated_at)
         VALUES ('u', 'infostat', 'orientations-2025', 'T', 'confirmed', '{moved}', 2, 'x', '{announced}', '{announced}');
         INSERT INTO publication_versions (publication_id, version, state, number, title, summary, theme, period, authors, keywords, html, sources, figures, provenance, files, content_hash, built_by, built_at, released_at)
         VALUES (1, 1, 'corrected', '1', 'T', '', '', '', '[]', '[]', '', '{{}}', '[]', '{{}}', '[]', '{hash}', 'x', '{announced}', '{old}'),
                (1, 2, 'released', '1', 'T', '', '', '', '[]', '[]', '', '{{}}', '[]', '{{}}', '[]', '{hash}', 'x', '{announced}', '{moved}');"
    )))
    .await
    .unwrap();
    raw.close().await;
    let applied = store.migrate().await.unwrap();
    assert_eq!(applied.first().map(|m| m.version), Some(9));
    let c = Collection::Infostat;
    let moved: jiff::Timestamp = moved.parse().unwrap();
    for n in [1, 2] {
        let v = store
            .publication_version(c, "orientations-2025", Some(n))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(v.released_at, Some(moved), "version {n}");
    }
    let old: jiff::Timestamp = old.parse().unwrap();
    assert!(
        store
            .public_version(c, "orientations-2025", old)
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.public_versions(old).await.unwrap().is_empty());
    store.close().await;
}
