//! Accounts: creation, roles, disabling, passwords (argon2id) and login with throttling.

use crate::audit::{Actor, AuditRecord};
use crate::{Store, StoreError, is_unique_violation, time};
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
    /// Every password hasher stayed busy: the password was not checked and the attempt does
    /// not count; try again in a moment.
    Busy,
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
        let hash = self
            .hashers
            .turn_waiting()
            .await?
            .hash(new.password.clone())
            .await?;
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
        let hash = self
            .hashers
            .turn_waiting()
            .await?
            .hash(password.to_string())
            .await?;
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

    /// Checks a login attempt through both throttles, then the password. Records the
    /// success, the failure and any lock in the audit log, and keeps the throttle counters.
    ///
    /// The attempt is decided before any hashing, on the counts read under the write lock, and
    /// reserved in the same transaction; the password is then checked in one of the bounded
    /// hashing turns ([`crate::HashingLimits`]), and the reservation settled with the outcome.
    /// Concurrent attempts therefore never check more passwords than the policies allow
    /// failures. The work runs to its end even if the caller stops waiting, so that no
    /// reservation is left unsettled.
    pub async fn authenticate(
        &self,
        attempt: &LoginAttempt,
        policies: &ThrottlePolicies,
        now: Timestamp,
    ) -> Result<LoginOutcome, StoreError> {
        let store = self.clone();
        let attempt = attempt.clone();
        let policies = *policies;
        tokio::spawn(async move { store.authenticate_to_end(&attempt, &policies, now).await })
            .await
            .map_err(|e| StoreError::Hashing(e.to_string()))?
    }

    async fn authenticate_to_end(
        &self,
        attempt: &LoginAttempt,
        policies: &ThrottlePolicies,
        now: Timestamp,
    ) -> Result<LoginOutcome, StoreError> {
        let keys = Keys::of(attempt, policies);
        // Already refused (waiting or locked): answered from a read, without a turn or a write.
        let mut seen = Vec::with_capacity(2);
        for (key, _) in keys.both() {
            seen.push(throttle_state(self.pool(), key).await?);
        }
        if let Err(refusal) = keys.reserve(&seen, now) {
            return Ok(LoginOutcome::Refused(refusal));
        }
        let Some(turn) = self.hashers.turn().await else {
            return Ok(LoginOutcome::Refused(LoginRefusal::Busy));
        };
        let mut w = self.begin_write().await?;
        let mut current = Vec::with_capacity(2);
        for (key, _) in keys.both() {
            current.push(throttle_state(w.conn(), key).await?);
        }
        let reserved = match keys.reserve(&current, now) {
            Ok(reserved) => reserved,
            Err(refusal) => return Ok(LoginOutcome::Refused(refusal)),
        };
        for ((key, _), state) in keys.both().zip(&reserved) {
            write_throttle(w.conn(), key, state).await?;
        }
        w.commit(now).await?;
        let checked = self.check_password(attempt, turn).await;
        self.settle(attempt, &keys, checked, now).await
    }

    /// The account named, if any, and whether the password is its own.
    async fn check_password(
        &self,
        attempt: &LoginAttempt,
        turn: crate::passwords::Turn,
    ) -> Result<(Option<User>, bool), StoreError> {
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
        let password_ok = turn.verify(attempt.password.clone(), hash).await?;
        Ok((user, password_ok))
    }

    /// Settles a reserved attempt with its outcome, on the counts as they are now (other
    /// attempts may have changed them meanwhile).
    async fn settle(
        &self,
        attempt: &LoginAttempt,
        keys: &Keys,
        checked: Result<(Option<User>, bool), StoreError>,
        now: Timestamp,
    ) -> Result<LoginOutcome, StoreError> {
        let mut w = self.begin_write().await?;
        let mut current = Vec::with_capacity(2);
        for (key, _) in keys.both() {
            current.push(throttle_state(w.conn(), key).await?);
        }
        let object = user_object(&attempt.username);
        let (user, password_ok) = match checked {
            Ok(checked) => checked,
            Err(e) => {
                // Not checked: the reservation is given back without counting a failure.
                for ((key, policy), state) in keys.both().zip(&current) {
                    write_throttle(w.conn(), key, &policy.release(state)).await?;
                }
                w.commit(now).await?;
                return Err(e);
            }
        };
        match user {
            Some(user) if password_ok && !user.disabled => {
                let account = keys.account_policy.after_success(&current[0]);
                let ip = keys.ip_policy.release(&current[1]);
                write_throttle(w.conn(), &keys.account, &account).await?;
                write_throttle(w.conn(), &keys.ip, &ip).await?;
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
                    keys.account_policy.after_failure(&current[0], now);
                let (ip_next, ip_locked) = keys.ip_policy.after_failure(&current[1], now);
                write_throttle(w.conn(), &keys.account, &account_next).await?;
                write_throttle(w.conn(), &keys.ip, &ip_next).await?;
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

/// The two throttle counters of an attempt, with their policies.
struct Keys {
    account: String,
    account_policy: ThrottlePolicy,
    ip: String,
    ip_policy: ThrottlePolicy,
}

impl Keys {
    fn of(attempt: &LoginAttempt, policies: &ThrottlePolicies) -> Keys {
        Keys {
            account: format!("account:{}", attempt.username),
            account_policy: policies.account,
            ip: format!("ip:{}", attempt.ip),
            ip_policy: policies.ip,
        }
    }

    fn both(&self) -> impl Iterator<Item = (&str, &ThrottlePolicy)> {
        [
            (self.account.as_str(), &self.account_policy),
            (self.ip.as_str(), &self.ip_policy),
        ]
        .into_iter()
    }

    /// The two counters with this attempt reserved, or why it is refused (the account's
    /// refusal first).
    fn reserve(
        &self,
        states: &[ThrottleState],
        now: Timestamp,
    ) -> Result<Vec<ThrottleState>, LoginRefusal> {
        self.both()
            .zip(states)
            .map(|((_, policy), state)| {
                policy.reserve(state, now).map_err(|refusal| match refusal {
                    ThrottleDecision::WaitUntil(t) => LoginRefusal::WaitUntil(t),
                    ThrottleDecision::LockedUntil(t) => LoginRefusal::LockedUntil(t),
                    // `reserve` refuses with a wait or a lock only.
                    ThrottleDecision::Allowed => LoginRefusal::WaitUntil(now),
                })
            })
            .collect()
    }
}

pub(crate) async fn throttle_state<'e>(
    conn: impl sqlx::Executor<'e, Database = sqlx::Any>,
    key: &str,
) -> Result<ThrottleState, StoreError> {
    let row = sqlx::query(
        "SELECT failures, last_failure, locked_until, in_flight, last_attempt FROM login_throttle WHERE key = $1",
    )
    .bind(key)
    .fetch_optional(conn)
    .await?;
    let Some(row) = row else {
        return Ok(ThrottleState::default());
    };
    let opt_ts = |col: &str| -> Result<Option<Timestamp>, StoreError> {
        row.try_get::<Option<String>, _>(col)?
            .map(|s| time::from_db(&s))
            .transpose()
    };
    let count = |col: &str| -> Result<u32, StoreError> {
        Ok(u32::try_from(row.try_get::<i64, _>(col)?.max(0)).unwrap_or(u32::MAX))
    };
    Ok(ThrottleState {
        failures: count("failures")?,
        last_failure: opt_ts("last_failure")?,
        locked_until: opt_ts("locked_until")?,
        in_flight: count("in_flight")?,
        last_attempt: opt_ts("last_attempt")?,
    })
}

/// Stores a counter; one back at its initial state is deleted, so the table only holds
/// keys with something to remember.
pub(crate) async fn write_throttle(
    conn: &mut sqlx::AnyConnection,
    key: &str,
    state: &ThrottleState,
) -> Result<(), StoreError> {
    if *state == ThrottleState::default() {
        sqlx::query("DELETE FROM login_throttle WHERE key = $1")
            .bind(key)
            .execute(conn)
            .await?;
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO login_throttle (key, failures, last_failure, locked_until, in_flight, last_attempt)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (key) DO UPDATE SET failures = excluded.failures,
           last_failure = excluded.last_failure, locked_until = excluded.locked_until,
           in_flight = excluded.in_flight, last_attempt = excluded.last_attempt",
    )
    .bind(key)
    .bind(i64::from(state.failures))
    .bind(state.last_failure.map(time::to_db))
    .bind(state.locked_until.map(time::to_db))
    .bind(i64::from(state.in_flight))
    .bind(state.last_attempt.map(time::to_db))
    .execute(conn)
    .await?;
    Ok(())
}
