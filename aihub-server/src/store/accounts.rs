//! Users, their personal organizations, and login sessions.

use sqlx::any::AnyRow;
use uuid::Uuid;

use super::organizations::InstanceRole;
use super::rows::{int, opt_int, opt_text, text, uuid};
use super::{Store, StoreError, now_ms};

/// An account that can log in and own API keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The user's id.
    pub id: Uuid,
    /// The email address, trimmed and lowercased.
    pub email: String,
    /// The id of the plan of the user's personal organization (`free` when they register).
    pub plan: String,
    /// The user's personal organization, created with the account.
    pub organization_id: Uuid,
    /// When the account was created (unix ms).
    pub created_at: i64,
    /// When the account was disabled (unix ms); a disabled user's sessions and keys stop working.
    pub disabled_at: Option<i64>,
    /// The user's role over the whole gateway, if any.
    pub instance_role: Option<InstanceRole>,
}

/// The form in which emails are stored and looked up: trimmed and lowercased, so that addresses
/// differing only in case are one account.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// The columns `user_from_row` reads, from `users u`.
macro_rules! user_columns {
    () => {
        "u.id, u.email, u.personal_organization_id, u.created_at, u.disabled_at, u.instance_role, \
         (SELECT o.plan FROM organizations o WHERE o.id = u.personal_organization_id) AS plan"
    };
}

fn user_from_row(row: &AnyRow) -> Result<User, StoreError> {
    Ok(User {
        id: uuid(row, "id")?,
        email: text(row, "email")?,
        plan: text(row, "plan")?,
        organization_id: uuid(row, "personal_organization_id")?,
        created_at: int(row, "created_at")?,
        disabled_at: opt_int(row, "disabled_at")?,
        instance_role: match opt_text(row, "instance_role")? {
            None => None,
            Some(role) => Some(InstanceRole::parse(&role).ok_or_else(|| {
                super::error::invalid_data(format!("column instance_role: unknown role {role}"))
            })?),
        },
    })
}

impl Store {
    /// Registers a user, with a personal organization named after the email and an owner
    /// membership in it, all in one transaction. [`StoreError::Conflict`] if the email (in any
    /// letter case) is already registered.
    pub async fn create_user(&self, email: &str, password_hash: &str) -> Result<User, StoreError> {
        let email = normalize_email(email);
        let user_id = Uuid::new_v4();
        let organization_id = Uuid::new_v4();
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "INSERT INTO organizations (id, name, personal, created_at) VALUES ($1, $2, 1, $3)",
        )
        .bind(organization_id.to_string())
        .bind(&email)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO users (id, email, password_hash, personal_organization_id, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(user_id.to_string())
        .bind(&email)
        .bind(password_hash)
        .bind(organization_id.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO memberships (user_id, organization_id, role, created_at) \
             VALUES ($1, $2, 'owner', $3)",
        )
        .bind(user_id.to_string())
        .bind(organization_id.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        // The plan's default lives in the schema; read it back rather than repeat it here.
        let plan: String = sqlx::query_scalar("SELECT plan FROM organizations WHERE id = $1")
            .bind(organization_id.to_string())
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(User {
            id: user_id,
            email,
            plan,
            organization_id,
            created_at: now,
            disabled_at: None,
            instance_role: None,
        })
    }

    /// The user registered under `email` (any letter case, surrounding spaces ignored) and their
    /// password hash, for logging in. Disabled users are returned too: see `disabled_at`.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<(User, String)>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            ", u.password_hash FROM users u WHERE u.email = $1"
        ))
        .bind(normalize_email(email))
        .fetch_optional(&self.read)
        .await?;
        row.map(|row| Ok((user_from_row(&row)?, text(&row, "password_hash")?)))
            .transpose()
    }

    /// The user with this id, disabled or not.
    pub async fn user_by_id(&self, id: Uuid) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users u WHERE u.id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// Moves a user's personal organization to another plan. Returns false if there is no such
    /// user.
    pub async fn set_user_plan(&self, id: Uuid, plan: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE organizations SET plan = $2 \
             WHERE id = (SELECT personal_organization_id FROM users WHERE id = $1)",
        )
        .bind(id.to_string())
        .bind(plan)
        .execute(&self.write)
        .await?;
        self.changed().await;
        Ok(done.rows_affected() == 1)
    }

    /// Gives a user a role over the whole gateway, or takes it away (`None`). Returns false if
    /// there is no such user.
    pub async fn set_instance_role(
        &self,
        id: Uuid,
        role: Option<InstanceRole>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE users SET instance_role = $2 WHERE id = $1")
            .bind(id.to_string())
            .bind(role.map(InstanceRole::as_str))
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Disables a user as of `now`: their sessions and API keys stop authenticating. Returns
    /// false if there is no such user or they were already disabled.
    pub async fn disable_user(&self, id: Uuid, now: i64) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE users SET disabled_at = $2 WHERE id = $1 AND disabled_at IS NULL")
                .bind(id.to_string())
                .bind(now)
                .execute(&self.write)
                .await?;
        self.changed().await;
        Ok(done.rows_affected() == 1)
    }

    /// Records a login session, identified by the hash of its token, valid until `expires_at`
    /// (unix ms, exclusive). [`StoreError::NotFound`] if the user does not exist.
    pub async fn create_session(
        &self,
        user_id: Uuid,
        token_hash: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(user_id.to_string())
        .bind(now_ms())
        .bind(expires_at)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// The user a session token (by hash) belongs to, if the session exists, has not expired at
    /// `now` and the user is not disabled.
    pub async fn session_user(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL"
        ))
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// Ends a session (logout). Returns false if there was no such session.
    pub async fn delete_session(&self, token_hash: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes the sessions that have expired at `now` (housekeeping); returns how many.
    pub async fn delete_expired_sessions(&self, now: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected())
    }
}
