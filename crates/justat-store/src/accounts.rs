//! Accounts: creation, roles, disabling, passwords (argon2id) and login with throttling.

use crate::audit::{Actor, AuditRecord};
use crate::{Store, StoreError, is_unique_violation, time};
use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use jiff::Timestamp;
use justat_model::{
    Role, ThrottleDecision, ThrottlePolicy, ThrottleState, Username, validate_new_password,
};
use serde::Serialize;
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;

/// An account as the application sees it (never with its password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Internal id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Name shown in pages.
    pub display_name: String,
    /// What the account may do.
    pub role: Role,
    /// A disabled account cannot log in and its sessions are ended.
    pub disabled: bool,
    /// When it was created (UTC).
    pub created_at: Timestamp,
}

/// An account to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Login name.
    pub username: Username,
    /// Name shown in pages.
    pub display_name: String,
    /// Its role.
    pub role: Role,
    /// Its first password (checked against the policy, then hashed).
    pub password: String,
}

/// A login attempt.
#[derive(Debug, Clone)]
pub struct LoginAttempt {
    /// The name typed.
    pub username: String,
    /// The password typed.
    pub password: String,
    /// The client's address.
    pub ip: String,
}

/// The two throttles a login goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicies {
    /// Per account.
    pub account: ThrottlePolicy,
    /// Per client address.
    pub ip: ThrottlePolicy,
}

impl Default for ThrottlePolicies {
    fn default() -> Self {
        ThrottlePolicies {
            account: ThrottlePolicy::per_account(),
            ip: ThrottlePolicy::per_ip(),
        }
    }
}

/// What came of a login attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    /// The password matched an enabled account.
    Success(User),
    /// Refused.
    Refused(LoginRefusal),
}

/// Why a login was refused. Unknown names, wrong passwords and disabled accounts all read
/// as [`LoginRefusal::BadCredentials`], so the answer does not tell which names exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginRefusal {
    /// The name and password do not match an enabled account.
    BadCredentials,
    /// Too many recent failures: try again at this instant.
    WaitUntil(Timestamp),
    /// Locked until this instant.
    LockedUntil(Timestamp),
}

/// One change to an existing account.
enum UserChange {
    Disabled(bool),
    Role(Role),
    PasswordHash(String),
}

const USER_COLUMNS: &str = "id, username, display_name, role, disabled, created_at";

pub(crate) fn user_of(row: &AnyRow) -> Result<User, StoreError> {
    let role: String = row.try_get("role")?;
    let created: String = row.try_get("created_at")?;
    Ok(User {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        role: role.parse().map_err(|_| StoreError::Corrupt {
            what: "role",
            value: role.clone(),
        })?,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        created_at: time::from_db(&created)?,
    })
}

async fn hash_password(password: String) -> Result<String, StoreError> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| StoreError::Hashing(e.to_string()))
    })
    .await
    .map_err(|e| StoreError::Hashing(e.to_string()))?
}

/// Checks `password` against `hash`, or against a fixed dummy hash when there is no account,
/// so that unknown names take as long to refuse as wrong passwords.
async fn verify_password(password: String, hash: Option<String>) -> Result<bool, StoreError> {
    tokio::task::spawn_blocking(move || {
        static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let dummy = DUMMY.get_or_init(|| {
            Argon2::default()
                .hash_password(b"justat-timing-equaliser")
                .map(|h| h.to_string())
                .unwrap_or_default()
        });
        let stored = hash.as_deref().unwrap_or(dummy);
        let parsed = PasswordHash::new(stored).map_err(|e| StoreError::Corrupt {
            what: "password hash",
            value: e.to_string(),
        })?;
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(ok && hash.is_some())
    })
    .await
    .map_err(|e| StoreError::Hashing(e.to_string()))?
}

fn user_object(username: &str) -> String {
    format!("user:{username}")
}

impl Store {
    /// Creates an account. Refuses a name already taken and a password that breaks the policy.
    pub async fn create_user(
        &self,
        new: &NewUser,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<User, StoreError> {
        validate_new_password(&new.username, &new.password)?;
        let hash = hash_password(new.password.clone()).await?;
        let username = new.username.as_str();
        let mut w = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO users (username, display_name, role, password_hash, disabled, created_at)
             VALUES ($1, $2, $3, $4, 0, $5)",
        )
        .bind(username)
        .bind(&new.display_name)
        .bind(new.role.as_str())
        .bind(&hash)
        .bind(time::to_db(now))
        .execute(w.conn())
        .await;
        match inserted {
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::Conflict {
                    what: "user",
                    key: username.to_string(),
                });
            }
            other => other?,
        };
        let row = sqlx::query(crate::dynamic(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE username = $1"
        )))
        .bind(username)
        .fetch_one(w.conn())
        .await?;
        let user = user_of(&row)?;
        w.record(
            AuditRecord::new(actor, "user.create", user_object(username))
                .with(json!({ "display_name": new.display_name, "role": new.role.as_str() })),
        );
        w.commit(now).await?;
        Ok(user)
    }

    /// Every account, by name.
    pub async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query(crate::dynamic(format!(
            "SELECT {USER_COLUMNS} FROM users ORDER BY username"
        )))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(user_of).collect()
    }

    /// The account with this name.
    pub async fn user(&self, username: &str) -> Result<User, StoreError> {
        let row = sqlx::query(crate::dynamic(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE username = $1"
        )))
        .bind(username)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "user",
            key: username.to_string(),
        })?;
        user_of(&row)
    }

    /// Disables or re-enables an account; disabling ends its sessions.
    pub async fn set_disabled(
        &self,
        username: &str,
        disabled: bool,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<User, StoreError> {
        let action = if disabled {
            "user.disable"
        } else {
            "user.enable"
        };
        self.update_user(username, UserChange::Disabled(disabled), actor, now, action)
            .await
    }

    /// Changes an account's role; its sessions end so the new role applies at once.
    pub async fn set_role(
        &self,
        username: &str,
        role: Role,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<User, StoreError> {
        self.update_user(
            username,
            UserChange::Role(role),
            actor,
            now,
            "user.role_change",
        )
        .await
    }

    /// Sets a new password (checked against the policy); the account's sessions end.
    pub async fn reset_password(
        &self,
        username: &str,
        password: &str,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<User, StoreError> {
        let name = Username::parse(username).map_err(|_| StoreError::NotFound {
            what: "user",
            key: username.to_string(),
        })?;
        validate_new_password(&name, password)?;
        let hash = hash_password(password.to_string()).await?;
        self.update_user(
            username,
            UserChange::PasswordHash(hash),
            actor,
            now,
            "user.password_reset",
        )
        .await
    }

    /// The common shape of an account change: find it, change it, end its sessions, record it.
    async fn update_user(
        &self,
        username: &str,
        change: UserChange,
        actor: &Actor,
        now: Timestamp,
        action: &'static str,
    ) -> Result<User, StoreError> {
        let mut w = self.begin_write().await?;
        let row = sqlx::query(crate::dynamic(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE username = $1"
        )))
        .bind(username)
        .fetch_optional(w.conn())
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "user",
            key: username.to_string(),
        })?;
        let before = user_of(&row)?;
        let (sql, details) = match &change {
            UserChange::Disabled(_) => ("UPDATE users SET disabled = $1 WHERE id = $2", json!({})),
            UserChange::Role(role) => (
                "UPDATE users SET role = $1 WHERE id = $2",
                json!({ "from": before.role.as_str(), "to": role.as_str() }),
            ),
            UserChange::PasswordHash(_) => (
                "UPDATE users SET password_hash = $1 WHERE id = $2",
                json!({}),
            ),
        };
        let query = sqlx::query(sql);
        let query = match change {
            UserChange::Disabled(d) => query.bind(i64::from(d)),
            UserChange::Role(role) => query.bind(role.as_str()),
            UserChange::PasswordHash(hash) => query.bind(hash),
        };
        query.bind(before.id).execute(w.conn()).await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(before.id)
            .execute(w.conn())
            .await?;
        let row = sqlx::query(crate::dynamic(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE id = $1"
        )))
        .bind(before.id)
        .fetch_one(w.conn())
        .await?;
        let after = user_of(&row)?;
        w.record(AuditRecord::new(actor, action, user_object(username)).with(details));
        w.commit(now).await?;
        Ok(after)
    }

    async fn throttle_state(&self, key: &str) -> Result<ThrottleState, StoreError> {
        let row = sqlx::query(
            "SELECT failures, last_failure, locked_until FROM login_throttle WHERE key = $1",
        )
        .bind(key)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else {
            return Ok(ThrottleState::default());
        };
        let opt_ts = |col: &str| -> Result<Option<Timestamp>, StoreError> {
            row.try_get::<Option<String>, _>(col)?
                .map(|s| time::from_db(&s))
                .transpose()
        };
        Ok(ThrottleState {
            failures: u32::try_from(row.try_get::<i64, _>("failures")?).unwrap_or(u32::MAX),
            last_failure: opt_ts("last_failure")?,
            locked_until: opt_ts("locked_until")?,
        })
    }

    /// Checks a login attempt through both throttles, then the password. Records the
    /// success, the failure and any lock in the audit log, and keeps the throttle counters.
    pub async fn authenticate(
        &self,
        attempt: &LoginAttempt,
        policies: &ThrottlePolicies,
        now: Timestamp,
    ) -> Result<LoginOutcome, StoreError> {
        let account_key = format!("account:{}", attempt.username);
        let ip_key = format!("ip:{}", attempt.ip);
        let account_state = self.throttle_state(&account_key).await?;
        let ip_state = self.throttle_state(&ip_key).await?;
        for decision in [
            policies.account.decide(&account_state, now),
            policies.ip.decide(&ip_state, now),
        ] {
            match decision {
                ThrottleDecision::Allowed => {}
                ThrottleDecision::WaitUntil(t) => {
                    return Ok(LoginOutcome::Refused(LoginRefusal::WaitUntil(t)));
                }
                ThrottleDecision::LockedUntil(t) => {
                    return Ok(LoginOutcome::Refused(LoginRefusal::LockedUntil(t)));
                }
            }
        }
        let row = sqlx::query(crate::dynamic(format!(
            "SELECT {USER_COLUMNS}, password_hash FROM users WHERE username = $1"
        )))
        .bind(&attempt.username)
        .fetch_optional(self.pool())
        .await?;
        let (user, hash) = match &row {
            Some(row) => (
                Some(user_of(row)?),
                Some(row.try_get::<String, _>("password_hash")?),
            ),
            None => (None, None),
        };
        let password_ok = verify_password(attempt.password.clone(), hash).await?;
        let object = user_object(&attempt.username);
        match user {
            Some(user) if password_ok && !user.disabled => {
                let mut w = self.begin_write().await?;
                sqlx::query("DELETE FROM login_throttle WHERE key = $1")
                    .bind(&account_key)
                    .execute(w.conn())
                    .await?;
                w.record(
                    AuditRecord::new(&Actor::user(&user.username), "login.success", object)
                        .with(json!({ "ip": attempt.ip })),
                );
                w.commit(now).await?;
                Ok(LoginOutcome::Success(user))
            }
            user => {
                let reason = match &user {
                    None => "unknown_user",
                    Some(u) if u.disabled => "disabled",
                    Some(_) => "wrong_password",
                };
                let (account_next, account_locked) =
                    policies.account.after_failure(&account_state, now);
                let (ip_next, ip_locked) = policies.ip.after_failure(&ip_state, now);
                let mut w = self.begin_write().await?;
                for (key, state) in [(&account_key, &account_next), (&ip_key, &ip_next)] {
                    sqlx::query(
                        "INSERT INTO login_throttle (key, failures, last_failure, locked_until) VALUES ($1, $2, $3, $4)
                         ON CONFLICT (key) DO UPDATE SET failures = excluded.failures,
                           last_failure = excluded.last_failure, locked_until = excluded.locked_until",
                    )
                    .bind(key.as_str())
                    .bind(i64::from(state.failures))
                    .bind(state.last_failure.map(time::to_db))
                    .bind(state.locked_until.map(time::to_db))
                    .execute(w.conn())
                    .await?;
                }
                w.record(
                    AuditRecord::new(&Actor::anonymous(), "login.failure", object.clone())
                        .with(json!({ "ip": attempt.ip, "reason": reason })),
                );
                if account_locked {
                    w.record(
                        AuditRecord::new(&Actor::system(), "login.lock", object).with(json!({
                            "until": account_next.locked_until.map(time::to_db), "ip": attempt.ip,
                        })),
                    );
                }
                if ip_locked {
                    w.record(
                        AuditRecord::new(
                            &Actor::system(),
                            "login.lock",
                            format!("ip:{}", attempt.ip),
                        )
                        .with(json!({
                            "until": ip_next.locked_until.map(time::to_db),
                        })),
                    );
                }
                w.commit(now).await?;
                if account_locked || ip_locked {
                    tracing::warn!(
                        account_locked,
                        ip_locked,
                        "login locked after repeated failures"
                    );
                }
                Ok(LoginOutcome::Refused(LoginRefusal::BadCredentials))
            }
        }
    }
}
