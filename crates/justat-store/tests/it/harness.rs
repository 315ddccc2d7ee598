//! A fresh database per test: a temporary SQLite file, or a throw-away PostgreSQL database.

use justat_model::{Role, Username};
use justat_store::{Actor, NewUser, Store, User};
use sqlx::Executor;

/// One test's database.
pub struct TestDb {
    pub store: Store,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
    /// With a serving role: the owner's URL, and the roles to drop afterwards.
    owner: Option<(String, Vec<String>)>,
}

pub async fn sqlite() -> TestDb {
    sqlite_in(tempfile::tempdir().unwrap()).await
}

async fn sqlite_in(dir: tempfile::TempDir) -> TestDb {
    let url = justat_store::sqlite_url(dir.path());
    let store = Store::open_and_migrate(&url).await.unwrap();
    TestDb {
        store,
        url,
        _dir: Some(dir),
        pg: None,
        owner: None,
    }
}

/// A temporary SQLite file on a memory file system when the machine has one (`/dev/shm`): the
/// tests that open thousands of databases do not wait for the disk.
pub async fn sqlite_in_memory_fs() -> TestDb {
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm).unwrap()
    } else {
        tempfile::tempdir().unwrap()
    };
    sqlite_in(dir).await
}

/// `None` (and a note on stderr) when no PostgreSQL server is configured.
pub async fn postgres() -> Option<TestDb> {
    let Ok(admin_url) = std::env::var("JUSTAT_TEST_POSTGRES_URL") else {
        eprintln!("JUSTAT_TEST_POSTGRES_URL is not set: PostgreSQL variant not run");
        return None;
    };
    sqlx::any::install_default_drivers();
    let name = format!("justat_t_{}", &justat_store::sessions::random_token()[..16]);
    let admin = sqlx::AnyPool::connect(&admin_url)
        .await
        .expect("connect to JUSTAT_TEST_POSTGRES_URL");
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .unwrap();
    admin.close().await;
    let (base, _) = admin_url
        .rsplit_once('/')
        .expect("a database URL ends with /DBNAME");
    let url = format!("{base}/{name}");
    let store = Store::open_and_migrate(&url).await.unwrap();
    Some(TestDb {
        store,
        url,
        _dir: None,
        pg: Some((admin_url, name)),
        owner: None,
    })
}

/// A throw-away PostgreSQL database set up as the README says: owned by an owner role that
/// migrates it and grants a serving role, and the store opened as the serving role. The
/// roles log in without a password: the test cluster trusts its loopback connections.
pub async fn postgres_serving() -> Option<TestDb> {
    let Ok(admin_url) = std::env::var("JUSTAT_TEST_POSTGRES_URL") else {
        eprintln!("JUSTAT_TEST_POSTGRES_URL is not set: PostgreSQL variant not run");
        return None;
    };
    sqlx::any::install_default_drivers();
    let name = format!("justat_t_{}", &justat_store::sessions::random_token()[..16]);
    let (owner, app) = (format!("{name}_owner"), format!("{name}_app"));
    let admin = sqlx::AnyPool::connect(&admin_url)
        .await
        .expect("connect to JUSTAT_TEST_POSTGRES_URL");
    for sql in [
        format!("CREATE ROLE {owner} LOGIN"),
        format!("CREATE ROLE {app} LOGIN"),
        format!("CREATE DATABASE {name} OWNER {owner}"),
        format!("REVOKE ALL ON DATABASE {name} FROM PUBLIC"),
        format!("GRANT CONNECT ON DATABASE {name} TO {app}"),
    ] {
        admin.execute(sqlx::AssertSqlSafe(sql)).await.unwrap();
    }
    admin.close().await;
    let (base, _) = admin_url
        .rsplit_once('/')
        .expect("a database URL ends with /DBNAME");
    let as_admin = format!("{base}/{name}");
    let on_new = sqlx::AnyPool::connect(&as_admin).await.unwrap();
    for sql in [
        format!("ALTER SCHEMA public OWNER TO {owner}"),
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC".to_string(),
    ] {
        on_new.execute(sqlx::AssertSqlSafe(sql)).await.unwrap();
    }
    on_new.close().await;
    let host = base
        .split_once("://")
        .map(|(_, rest)| rest.rsplit_once('@').map_or(rest, |(_, h)| h))
        .expect("a postgres:// URL");
    let owner_url = format!("postgres://{owner}@{host}/{name}");
    let url = format!("postgres://{app}@{host}/{name}");
    let as_owner = Store::open_and_migrate(&owner_url).await.unwrap();
    as_owner.grant_serving_role(&app).await.unwrap();
    as_owner.close().await;
    let store = Store::open(&url).await.unwrap();
    assert!(store.pending_migrations().await.unwrap().is_empty());
    Some(TestDb {
        store,
        url,
        _dir: None,
        pg: Some((admin_url, name)),
        owner: Some((owner_url, vec![app, owner])),
    })
}

impl TestDb {
    pub async fn finish(self) {
        self.store.close().await;
        if let Some((admin_url, name)) = self.pg {
            let admin = sqlx::AnyPool::connect(&admin_url).await.unwrap();
            admin
                .execute(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE {name} WITH (FORCE)"
                )))
                .await
                .unwrap();
            if let Some((_, roles)) = &self.owner {
                for role in roles {
                    admin
                        .execute(sqlx::AssertSqlSafe(format!("DROP ROLE {role}")))
                        .await
                        .unwrap();
                }
            }
            admin.close().await;
        }
    }

    /// A raw connection pool on the same database, for the tests that play the attacker
    /// (with the schema owner's rights when the store serves as a serving role).
    pub async fn raw(&self) -> sqlx::AnyPool {
        let url = self.owner.as_ref().map_or(&self.url, |(u, _)| u);
        sqlx::AnyPool::connect(url).await.unwrap()
    }

    /// The schema owner's URL, when the store serves as a serving role.
    pub fn owner_url(&self) -> Option<String> {
        self.owner.as_ref().map(|(u, _)| u.clone())
    }

    /// A raw connection pool as the store's own role.
    pub async fn raw_as_store(&self) -> sqlx::AnyPool {
        sqlx::AnyPool::connect(&self.url).await.unwrap()
    }

    pub fn is_postgres(&self) -> bool {
        self.pg.is_some()
    }
}

pub fn now() -> jiff::Timestamp {
    "2026-11-29T10:00:00Z".parse().unwrap()
}

pub async fn add_user(store: &Store, name: &str, role: Role) -> User {
    store
        .create_user(
            &NewUser {
                username: Username::parse(name).unwrap(),
                display_name: format!("{name} (test)"),
                role,
                password: format!("{name}-password-123"),
            },
            &Actor::cli(),
            now(),
        )
        .await
        .unwrap()
}

/// Declares each named `async fn(&TestDb)` as three tests: `NAME::sqlite`, `NAME::postgres`,
/// and `NAME::postgres_serving_role`, where the store runs as a serving role with only the
/// rights `Store::grant_serving_role` gives (so everything the application does is checked to
/// need no more).
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = crate::harness::sqlite().await;
                super::$name(&db).await;
                db.finish().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(db) = crate::harness::postgres().await {
                    super::$name(&db).await;
                    db.finish().await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres_serving_role() {
                if let Some(db) = crate::harness::postgres_serving().await {
                    super::$name(&db).await;
                    db.finish().await;
                }
            }
        }
    )*};
}

/// A built version of a publication, as a build would save it (no files).
pub fn built(
    collection: justat_model::publication::Collection,
    slug: &str,
) -> justat_store::NewVersion {
    justat_store::NewVersion {
        collection,
        slug: slug.into(),
        number: "1".into(),
        title: "Titre".into(),
        summary: String::new(),
        theme: "Thème".into(),
        period: "2025".into(),
        authors: vec!["A".into()],
        keywords: vec![],
        erratum: None,
        html: "<p>x</p>".into(),
        sources: serde_json::json!({}),
        figures: serde_json::json!([]),
        provenance: justat_model::Provenance::default(),
        files: vec![],
        content_hash: "ab".repeat(32).parse().unwrap(),
    }
}

/// A first version of a publication built, submitted and approved: ready to be released.
pub async fn approved(db: &TestDb, collection: justat_model::publication::Collection, slug: &str) {
    use justat_model::publication::Action;
    let a = Actor::user("sophie");
    db.store
        .save_build(&built(collection, slug), &a, now())
        .await
        .unwrap();
    for (action, role) in [
        (Action::Submit, Role::Statistician),
        (Action::Approve, Role::HeadOfService),
    ] {
        db.store
            .publication_action(collection, slug, 1, action, role, &a, None, now())
            .await
            .unwrap();
    }
}
