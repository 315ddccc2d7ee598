//! Server-side sessions: an opaque random token in the cookie, only its SHA-256 stored.

use crate::accounts::{User, user_of};
use crate::audit::{Actor, AuditRecord};
use crate::{Store, StoreError, time};
use jiff::Timestamp;
use justat_model::{SessionPolicy, SessionStatus, Sha256Hex};
use sqlx::Row;

/// What the browser gets at login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionTokens {
    /// The cookie value (256 random bits, hex).
    pub token: String,
    /// The CSRF token every form of this session must carry.
    pub csrf: String,
}

/// A live session and its account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// The logged-in account.
    pub user: User,
    /// The session's CSRF token.
    pub csrf: String,
}

/// 256 random bits as hex.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source is available");
    hex::encode(bytes)
}

fn token_hash(token: &str) -> String {
    Sha256Hex::of(token.as_bytes()).as_str().to_string()
}

// Writing last_seen on every request would make every page view a write; a minute of
// precision is plenty for a 30-minute idle timeout.
const TOUCH_EVERY_SECS: i64 = 60;

impl Store {
    /// Opens a session for `user` (after a successful login).
    pub async fn create_session(
        &self,
        user: &User,
        ip: &str,
        user_agent: &str,
        now: Timestamp,
    ) -> Result<SessionTokens, StoreError> {
        let tokens = SessionTokens {
            token: random_token(),
            csrf: random_token(),
        };
        let ua: String = user_agent.chars().take(300).collect();
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, last_seen_at, ip, user_agent)
             VALUES ($1, $2, $3, $4, $4, $5, $6)",
        )
        .bind(token_hash(&tokens.token))
        .bind(user.id)
        .bind(&tokens.csrf)
        .bind(time::to_db(now))
        .bind(ip)
        .bind(ua)
        .execute(self.pool())
        .await?;
        Ok(tokens)
    }

    /// The session of this cookie token, if it is still valid at `now`; an expired session is
    /// deleted, a valid one has its last use updated.
    pub async fn session(
        &self,
        token: &str,
        policy: &SessionPolicy,
        now: Timestamp,
    ) -> Result<Option<SessionInfo>, StoreError> {
        let hash = token_hash(token);
        let row = sqlx::query(
            "SELECT s.csrf_token, s.created_at AS s_created, s.last_seen_at,
                    u.id, u.username, u.display_name, u.role, u.disabled, u.created_at
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1",
        )
        .bind(&hash)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let created = time::from_db(&row.try_get::<String, _>("s_created")?)?;
        let last_seen = time::from_db(&row.try_get::<String, _>("last_seen_at")?)?;
        let user = user_of(&row)?;
        if policy.status(created, last_seen, now) != SessionStatus::Active || user.disabled {
            sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
                .bind(&hash)
                .execute(self.pool())
                .await?;
            return Ok(None);
        }
        if (now - last_seen).as_secs() >= TOUCH_EVERY_SECS {
            sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
                .bind(time::to_db(now))
                .bind(&hash)
                .execute(self.pool())
                .await?;
        }
        Ok(Some(SessionInfo {
            user,
            csrf: row.try_get("csrf_token")?,
        }))
    }

    /// Ends a session (logout): the token is useless afterwards, even if replayed.
    pub async fn end_session(
        &self,
        token: &str,
        user: &User,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        w.leaves_public_state();
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash(token))
            .execute(w.conn())
            .await?;
        w.record(AuditRecord::new(
            &Actor::user(&user.username),
            "logout",
            format!("user:{}", user.username),
        ));
        w.commit(now).await
    }

    /// Deletes every session expired at `now`; returns how many.
    pub async fn purge_sessions(
        &self,
        policy: &SessionPolicy,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let res = sqlx::query("DELETE FROM sessions WHERE created_at <= $1 OR last_seen_at <= $2")
            .bind(time::to_db(now - policy.absolute))
            .bind(time::to_db(now - policy.idle))
            .execute(self.pool())
            .await?;
        Ok(res.rows_affected())
    }
}
