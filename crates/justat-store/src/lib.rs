//! Justat's persistence: one API over SQLite (the embedded default) and PostgreSQL.
//!
//! Architecture invariants:
//! - this is the only crate that writes SQL; queries use the subset both databases share,
//!   with `$N` placeholders, and the few dialect differences sit in [`Backend`];
//! - every state change is written with its audit entry in the same transaction
//!   ([`audit`]); nothing here updates or deletes an audit entry, and the database refuses
//!   it too (triggers);
//! - instants are stored in UTC as fixed-width RFC 3339 text, so they sort as text.

pub mod accounts;
pub mod audit;
pub mod calendar;
pub mod checkpoints;
pub mod dashboards;
pub mod deliveries;
pub mod embargo;
pub mod incidents;
pub mod jobs;
pub mod lake;
mod migrate;
mod passwords;
pub mod programme;
pub mod public_state;
pub mod publications;
pub mod runs;
pub mod sdc;
pub mod sessions;
pub mod surveys;
mod time;

pub use accounts::{LoginAttempt, LoginOutcome, LoginRefusal, NewUser, ThrottlePolicies, User};
pub use audit::{Actor, AuditRecord};
pub use calendar::{NewRelease, Release, ReleaseChange};
pub use checkpoints::CheckpointConfig;
pub use dashboards::{DashboardTable, VersionRelease};
pub use deliveries::{Delivery, NewDelivery};
pub use embargo::{EmbargoAccess, EmbargoList, NewRecipient, Recipient};
pub use incidents::Incident;
pub use jobs::{Job, JobStatus};
pub use lake::{Lake, LakeKind};
pub use migrate::AppliedMigration;
pub use passwords::{HashingLimits, MAX_MEMORY_KIB, MAX_PASSES};
pub use programme::{Programme, ProgrammeChange, ProgrammePdf, StoredOperation, StoredOpinion};
pub use publications::{NewVersion, PublicationVersion, StoredFile, VersionSummary};
pub use runs::{ChainRun, Cube, NewCube, NewRun};
pub use sdc::{NewPattern, SdcPattern};
pub use sessions::{SessionInfo, SessionTokens};
pub use surveys::{
    Answer, Campaign, CodeOutcome, CodeRefusal, Contact, DueReminder, Edit, ImportSummary,
    IssuedCode, LegalStanding, NewCampaign, NonRespondent, PageParadata, PageSave, ParadataSummary,
    PortalSession, ReminderClaim, Respondent, SampledUnit, SaveReceipt, SaveRecord, StatusEvent,
    SurveyUnit, UnitChange, UnitProgress,
};

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor};
use std::path::Path;
use std::sync::Arc;
use tokio::sync::Mutex;

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file (WAL mode).
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl Backend {
    /// The backend a database URL names, if any.
    pub fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

/// Errors of the store. User mistakes (conflicts, unknown names, bad passwords) are kept
/// apart from database failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL is neither `sqlite:` nor `postgres://`.
    #[error("unsupported database URL `{url}`: use sqlite://PATH or postgres://USER@HOST/DB")]
    UnsupportedUrl {
        /// What was given.
        url: String,
    },
    /// The database could not be reached or opened.
    #[error("cannot open the database {url}: {reason}")]
    Open {
        /// The URL, without its password.
        url: String,
        /// Why, in one line (the server's message without its source-code line).
        reason: String,
    },
    /// The database lacks migrations, and the command does not apply them.
    #[error(
        "the database {url} lacks {} migration(s) ({}): run `justat db migrate` with the role that owns the schema",
        pending.len(),
        pending.iter().map(|m| format!("{:04} {}", m.version, m.name)).collect::<Vec<_>>().join(", ")
    )]
    NotMigrated {
        /// The URL, without its password.
        url: String,
        /// The migrations missing, oldest first.
        pending: Vec<AppliedMigration>,
    },
    /// A query failed. Not a `source`: the message already holds the error, which a printed
    /// cause chain would otherwise repeat.
    #[error("database error: {}", sql_message(.0))]
    Sql(sqlx::Error),
    /// Something with this key already exists.
    #[error("{what} `{key}` already exists")]
    Conflict {
        /// What kind of thing.
        what: &'static str,
        /// Its key.
        key: String,
    },
    /// Nothing has this key.
    #[error("no {what} `{key}`")]
    NotFound {
        /// What kind of thing.
        what: &'static str,
        /// The key looked for.
        key: String,
    },
    /// A new password breaks the policy.
    #[error(transparent)]
    Password(#[from] justat_model::PasswordProblem),
    /// A migration already applied was changed in the source since.
    #[error(
        "migration {version} ({name}) was changed after it was applied to this database; \
         restore its original text and add a new migration instead"
    )]
    MigrationChanged {
        /// Its number.
        version: i64,
        /// Its name.
        name: String,
    },
    /// The database was migrated by a newer Justat.
    #[error(
        "the database has migration {found}, newer than this Justat knows (up to {known}); \
         run a newer Justat"
    )]
    TooNew {
        /// The newest migration in the database.
        found: i64,
        /// The newest this build knows.
        known: i64,
    },
    /// A stored value cannot be read back: the database was edited outside Justat.
    #[error("stored {what} cannot be read: `{value}`")]
    Corrupt {
        /// Which value.
        what: &'static str,
        /// What is stored.
        value: String,
    },
    /// A publication version cannot take the action asked.
    #[error(transparent)]
    Lifecycle(#[from] justat_model::LifecycleError),
    /// A release of the calendar cannot take the change asked.
    #[error(transparent)]
    Calendar(#[from] justat_model::calendar::CalendarError),
    /// The request breaks a rule of the data (e.g. a correction without its erratum).
    #[error("{0}")]
    Refused(String),
    /// What the request names changed since its author read it (e.g. an embargo list
    /// approved as shown, which a recipient was added to since): nothing was done.
    #[error(
        "{what} `{key}` changed since revision {seen} was shown (now {current}); read it again"
    )]
    Stale {
        /// What kind of thing.
        what: &'static str,
        /// Its key.
        key: String,
        /// The revision the request names.
        seen: String,
        /// The revision now.
        current: String,
    },
    /// Hashing a password failed (a bug or resource exhaustion, never the user's input).
    #[error("password hashing failed: {0}")]
    Hashing(String),
    /// The audit log's signing key or checkpoint file cannot be used.
    #[error("audit checkpoint: {0}")]
    Checkpoint(String),
    /// A register CSV has mistakes: every bad line is named, nothing was imported.
    #[error(transparent)]
    UnitCsv(#[from] justat_model::survey::UnitCsvErrors),
    /// A survey response cannot move to the status asked.
    #[error(transparent)]
    ResponseStatus(#[from] justat_model::survey::StatusTransitionError),
    /// The campaign does not accept answers yet (a draft, or before its opening instant).
    #[error("campaign {campaign} is not open yet: answers are accepted from {opens_at}")]
    CampaignNotOpen {
        /// The survey and period.
        campaign: String,
        /// When it opens.
        opens_at: jiff::Timestamp,
    },
    /// The campaign no longer accepts answers (closed, validated, or past its closing instant).
    #[error(
        "campaign {campaign} is closed (closing date {closes_at}): answers are no longer accepted"
    )]
    CampaignClosed {
        /// The survey and period.
        campaign: String,
        /// Its closing date (it may have been closed earlier by hand).
        closes_at: jiff::Timestamp,
    },
    /// The response was submitted (or settled by a statistician): read-only for the respondent
    /// until a statistician reopens it.
    #[error("the response of unit {unit} is {}: read-only until a statistician reopens it", status.as_str())]
    ResponseLocked {
        /// The unit's code.
        unit: String,
        /// Its status.
        status: justat_model::survey::ResponseStatus,
    },
}

/// A connection pool to Justat's database, SQLite or PostgreSQL.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    // Bounds the password hashes computed at once, and the memory they take.
    hashers: Arc<passwords::Hashers>,
    // Serialises this process's write transactions, so concurrent requests never race for
    // the next audit sequence number; other processes are handled by retries.
    write_lock: Arc<Mutex<()>>,
    // Where the audit log's signed checkpoints go, outside the database (see `checkpoints`).
    checkpoints: Option<Arc<CheckpointConfig>>,
    // The public-state changes this process committed, so that its own writes reach its cached
    // pages at once, without waiting for the next read of the public generation.
    public_writes: Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish()
    }
}

/// The URL of the SQLite database file inside a data folder.
pub fn sqlite_url(data_dir: &Path) -> String {
    format!("sqlite://{}/justat.db", data_dir.display())
}

/// A URL with its password replaced by `***`, fit for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &creds[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl Store {
    /// Opens (and for SQLite creates) the database. Does not migrate: call [`Store::migrate`].
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        install_default_drivers();
        let backend = Backend::of_url(url).ok_or_else(|| StoreError::UnsupportedUrl {
            url: redact_url(url),
        })?;
        let open_err = |source: sqlx::Error| StoreError::Open {
            url: redact_url(url),
            reason: open_reason(&source, url),
        };
        let pool = match backend {
            Backend::Sqlite => {
                let path = url
                    .trim_start_matches("sqlite://")
                    .trim_start_matches("sqlite:");
                let path = path.split('?').next().unwrap_or(path);
                if let Some(parent) = Path::new(path)
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                {
                    std::fs::create_dir_all(parent).map_err(|e| open_err(sqlx::Error::Io(e)))?;
                }
                let url = if url.contains('?') {
                    url.to_string()
                } else {
                    format!("{url}?mode=rwc")
                };
                let pool = AnyPoolOptions::new()
                    .max_connections(8)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute("PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;")
                                .await?;
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await
                    .map_err(open_err)?;
                // WAL lets the public site read while a write transaction runs.
                pool.execute("PRAGMA journal_mode = WAL")
                    .await
                    .map_err(open_err)?;
                pool
            }
            Backend::Postgres => {
                // One connection first: the pool retries a refused connection until its
                // 30-second timeout and then reports only the timeout, where a person needs
                // to hear at once that nothing listens at the host and port tried.
                let probe = tokio::time::timeout(
                    std::time::Duration::from_secs(10),
                    <sqlx::AnyConnection as sqlx::Connection>::connect(url),
                )
                .await
                .map_err(|_| StoreError::Open {
                    url: redact_url(url),
                    reason: format!("no answer from {} within 10 s", postgres_address(url)),
                })?
                .map_err(open_err)?;
                let _ = sqlx::Connection::close(probe).await;
                AnyPoolOptions::new()
                    .max_connections(16)
                    .connect(url)
                    .await
                    .map_err(open_err)?
            }
        };
        Ok(Store {
            hashers: passwords::Hashers::new(HashingLimits::default()),
            pool,
            backend,
            write_lock: Arc::new(Mutex::new(())),
            public_writes: Arc::default(),
            checkpoints: None,
        })
    }

    /// Opens the database and applies the migrations it lacks.
    pub async fn open_and_migrate(url: &str) -> Result<Store, StoreError> {
        let store = Store::open(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// This store with other bounds on password hashing (the default: one hash per core,
    /// 2 to 4, and a 2 s wait for a turn).
    pub fn with_hashing_limits(mut self, limits: HashingLimits) -> Store {
        self.hashers = passwords::Hashers::new(limits);
        self
    }

    /// The bounds on password hashing.
    pub fn hashing_limits(&self) -> HashingLimits {
        self.hashers.limits()
    }

    /// The most password hashes this store has seen running at once.
    pub fn hashing_peak(&self) -> usize {
        self.hashers.peak()
    }

    /// Closes every connection (tests drop their PostgreSQL database afterwards).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Answers when the database answers (for `/healthz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

/// `HOST:PORT` of a PostgreSQL URL, as the driver reads it (defaults included).
fn postgres_address(url: &str) -> String {
    match url.parse::<sqlx::postgres::PgConnectOptions>() {
        Ok(o) => format!("{}:{}", o.get_host(), o.get_port()),
        Err(_) => "the server".to_string(),
    }
}

/// Why a database could not be opened, in one line: a refused connection names the address
/// tried, and a server's error is its message alone (the driver's display appends the line of
/// the server's C source that raised it, which means nothing to the person reading).
fn open_reason(err: &sqlx::Error, url: &str) -> String {
    match err {
        sqlx::Error::Io(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => format!(
            "connection refused by {}: is PostgreSQL running and listening there?",
            postgres_address(url)
        ),
        sqlx::Error::Io(e) if Backend::of_url(url) == Some(Backend::Postgres) => {
            format!("cannot reach {}: {e}", postgres_address(url))
        }
        other => sql_message(other),
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Sql(e)
    }
}

/// A database error's text: a server's message alone, without the source line the driver
/// appends.
fn sql_message(err: &sqlx::Error) -> String {
    match err {
        sqlx::Error::Database(db) => db.message().to_string(),
        other => other.to_string(),
    }
}

/// Whether a database error is a unique-constraint violation.
fn is_unique_violation(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => {
            db.is_unique_violation()
                || db.message().contains("UNIQUE constraint failed")
                || db.code().as_deref() == Some("23505")
        }
        _ => false,
    }
}

/// Marks a query built from constant fragments (column lists, dialect clauses) as safe: no
/// user input is ever formatted into SQL, it is always bound.
fn dynamic(sql: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(sql)
}

/// A digest column: a value that is not a SHA-256 digest is a corrupt row, never a lake path.
fn digest(row: &sqlx::any::AnyRow, column: &str) -> Result<justat_model::Sha256Hex, StoreError> {
    parsed(row, column, "SHA-256 digest")
}

/// A nullable digest column.
fn optional_digest(
    row: &sqlx::any::AnyRow,
    column: &str,
) -> Result<Option<justat_model::Sha256Hex>, StoreError> {
    use sqlx::Row;
    row.try_get::<Option<String>, _>(column)?
        .map(|value| parse_stored(value, "SHA-256 digest"))
        .transpose()
}

/// A column holding one of an enum's stored names (`OK`, `FAILED`, …), or any other value
/// stored as text and parsed back (a digest).
fn parsed<T: std::str::FromStr>(
    row: &sqlx::any::AnyRow,
    column: &str,
    what: &'static str,
) -> Result<T, StoreError> {
    use sqlx::Row;
    parse_stored(row.try_get(column)?, what)
}

/// A stored value parsed back; one that does not parse is a corrupt row, named by `what`.
fn parse_stored<T: std::str::FromStr>(value: String, what: &'static str) -> Result<T, StoreError> {
    value
        .parse()
        .map_err(|_| StoreError::Corrupt { what, value })
}
