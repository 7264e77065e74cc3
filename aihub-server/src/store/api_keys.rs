//! API keys: stored as a hash and a displayable prefix, never in the clear.

use sqlx::any::AnyRow;
use uuid::Uuid;

use super::rows::{int, opt_int, opt_uuid, text, uuid};
use super::{Store, StoreError, now_ms};

/// What the gateway stores when it issues a key (it shows the key itself to the user once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiKey {
    /// The owner, a member of `organization_id`; `None` for a team's own key (then `team_id`
    /// is set).
    pub user_id: Option<Uuid>,
    /// The organization the key spends for.
    pub organization_id: Uuid,
    /// The team the key spends for, if any; must belong to `organization_id`.
    pub team_id: Option<Uuid>,
    /// The owner's label for the key.
    pub name: String,
    /// The first characters of the key, shown in listings to tell keys apart.
    pub prefix: String,
    /// The hash of the key, by which requests are authenticated.
    pub key_hash: String,
    /// When the key stops working (unix ms, exclusive), if ever.
    pub expires_at: Option<i64>,
}

/// A stored API key, as listed to its owner and seen by authentication. It carries no hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// The key's id.
    pub id: Uuid,
    /// The owner; `None` for a team's own key (a service account).
    pub user_id: Option<Uuid>,
    /// The organization the key spends for.
    pub organization_id: Uuid,
    /// The team the key spends for, if any.
    pub team_id: Option<Uuid>,
    /// The owner's label for the key.
    pub name: String,
    /// The first characters of the key.
    pub prefix: String,
    /// When the key was created (unix ms).
    pub created_at: i64,
    /// When the key stops working (unix ms, exclusive), if ever.
    pub expires_at: Option<i64>,
    /// When the key was revoked (unix ms), if it was.
    pub revoked_at: Option<i64>,
    /// When the key was last used (unix ms, as recorded by [`Store::touch_api_keys`]).
    pub last_used_at: Option<i64>,
    /// The key's own rate limits, on top of its owner's plan.
    pub limits: KeyLimits,
    /// The model groups and models the key may ask for (set by the operator); `None`: all.
    pub models: Option<Vec<String>>,
}

/// Limits set on one key, each optional; they apply on top of the owner's plan limits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyLimits {
    /// Requests per minute through this key.
    pub rpm_limit: Option<u32>,
    /// Tokens per minute through this key.
    pub tpm_limit: Option<u64>,
    /// Requests in flight at once through this key.
    pub max_concurrent: Option<u32>,
    /// Whether the key's answers are cached by default; `None` follows `[cache] enabled`.
    #[serde(default)]
    pub cache: Option<bool>,
}

impl ApiKey {
    /// Whether the key authenticates requests at `now`: not revoked and not expired.
    pub fn is_active(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|expires| now < expires)
    }
}

/// The columns `key_from_row` reads, from `api_keys k`.
macro_rules! key_columns {
    () => {
        "k.id, k.user_id, k.organization_id, k.team_id, k.name, k.prefix, k.created_at, \
         k.expires_at, k.revoked_at, k.last_used_at, k.rpm_limit, k.tpm_limit, k.max_concurrent, \
         k.cache_enabled, k.allowed_models"
    };
}

fn key_from_row(row: &AnyRow) -> Result<ApiKey, StoreError> {
    Ok(ApiKey {
        id: uuid(row, "id")?,
        user_id: opt_uuid(row, "user_id")?,
        organization_id: uuid(row, "organization_id")?,
        team_id: opt_uuid(row, "team_id")?,
        name: text(row, "name")?,
        prefix: text(row, "prefix")?,
        created_at: int(row, "created_at")?,
        expires_at: opt_int(row, "expires_at")?,
        revoked_at: opt_int(row, "revoked_at")?,
        last_used_at: opt_int(row, "last_used_at")?,
        limits: KeyLimits {
            rpm_limit: opt_int(row, "rpm_limit")?.map(narrow).transpose()?,
            tpm_limit: opt_int(row, "tpm_limit")?.map(narrow).transpose()?,
            max_concurrent: opt_int(row, "max_concurrent")?.map(narrow).transpose()?,
            cache: opt_int(row, "cache_enabled")?.map(|v| v != 0),
        },
        models: match super::rows::opt_text(row, "allowed_models")? {
            None => None,
            Some(json) => Some(serde_json::from_str(&json).map_err(|e| {
                super::error::invalid_data(format!("column allowed_models: not a list ({e})"))
            })?),
        },
    })
}

/// A positive stored integer into a narrower unsigned type.
fn narrow<T: TryFrom<i64>>(v: i64) -> Result<T, StoreError> {
    T::try_from(v).map_err(|_| super::error::invalid_data(format!("limit {v} is out of range")))
}

impl Store {
    /// Stores a new key. [`StoreError::NotFound`] if the user is not a member of the
    /// organization (or of the team, for a member's key for a team), or the team is not in it;
    /// [`StoreError::Conflict`] if the hash exists.
    pub async fn create_api_key(&self, key: NewApiKey) -> Result<ApiKey, StoreError> {
        let id = Uuid::new_v4();
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        if let Some(user) = key.user_id {
            let member: Option<i64> = match key.team_id {
                None => {
                    sqlx::query_scalar(
                        "SELECT 1 FROM memberships WHERE user_id = $1 AND organization_id = $2",
                    )
                    .bind(user.to_string())
                    .bind(key.organization_id.to_string())
                    .fetch_optional(&mut *tx)
                    .await?
                }
                Some(team) => {
                    sqlx::query_scalar(
                        "SELECT 1 FROM team_memberships \
                     WHERE user_id = $1 AND organization_id = $2 AND team_id = $3",
                    )
                    .bind(user.to_string())
                    .bind(key.organization_id.to_string())
                    .bind(team.to_string())
                    .fetch_optional(&mut *tx)
                    .await?
                }
            };
            if member.is_none() {
                return Err(StoreError::NotFound);
            }
        }
        sqlx::query(
            "INSERT INTO api_keys \
             (id, user_id, organization_id, team_id, name, prefix, key_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id.to_string())
        .bind(key.user_id.map(|user| user.to_string()))
        .bind(key.organization_id.to_string())
        .bind(key.team_id.map(|team| team.to_string()))
        .bind(&key.name)
        .bind(&key.prefix)
        .bind(&key.key_hash)
        .bind(now)
        .bind(key.expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(ApiKey {
            id,
            user_id: key.user_id,
            organization_id: key.organization_id,
            team_id: key.team_id,
            name: key.name,
            prefix: key.prefix,
            created_at: now,
            expires_at: key.expires_at,
            revoked_at: None,
            last_used_at: None,
            limits: KeyLimits::default(),
            models: None,
        })
    }

    /// The user's keys, newest first, revoked and expired ones included.
    pub async fn list_api_keys(&self, user_id: Uuid) -> Result<Vec<ApiKey>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            key_columns!(),
            " FROM api_keys k WHERE k.user_id = $1 ORDER BY k.created_at DESC, k.id DESC"
        ))
        .bind(user_id.to_string())
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(key_from_row).collect()
    }

    /// A team's own keys (service accounts) and its members' keys for it, newest first.
    pub async fn list_team_keys(&self, team: Uuid) -> Result<Vec<ApiKey>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            key_columns!(),
            " FROM api_keys k WHERE k.team_id = $1 ORDER BY k.created_at DESC, k.id DESC"
        ))
        .bind(team.to_string())
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(key_from_row).collect()
    }

    /// Revokes one of a team's keys as of `now`. Returns false if the key is not the team's
    /// or is already revoked.
    pub async fn revoke_team_key(
        &self,
        team: Uuid,
        key_id: Uuid,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE api_keys SET revoked_at = $3 \
             WHERE id = $1 AND team_id = $2 AND revoked_at IS NULL",
        )
        .bind(key_id.to_string())
        .bind(team.to_string())
        .bind(now)
        .execute(&self.write)
        .await?;
        self.changed().await;
        Ok(done.rows_affected() == 1)
    }

    /// Revokes one of the user's keys as of `now`. Returns false if the key is not this user's
    /// or is already revoked.
    pub async fn revoke_api_key(
        &self,
        user_id: Uuid,
        key_id: Uuid,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE api_keys SET revoked_at = $3 \
             WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
        )
        .bind(key_id.to_string())
        .bind(user_id.to_string())
        .bind(now)
        .execute(&self.write)
        .await?;
        self.changed().await;
        Ok(done.rows_affected() == 1)
    }

    /// The key with this hash, for authentication, revoked or expired ones included (check
    /// [`ApiKey::is_active`]); `None` if there is none or its owner is disabled.
    pub async fn api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKey>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            key_columns!(),
            " FROM api_keys k LEFT JOIN users u ON u.id = k.user_id \
             WHERE k.key_hash = $1 AND (k.user_id IS NULL OR u.disabled_at IS NULL)"
        ))
        .bind(key_hash)
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(key_from_row).transpose()
    }

    /// The key with this hash and its organization's plan, for authenticating a request;
    /// `None` if there is no such key or its owner is disabled.
    pub async fn api_key_for_request(
        &self,
        key_hash: &str,
    ) -> Result<Option<(ApiKey, String)>, StoreError> {
        if let Some(kept) = self.hot.key(key_hash) {
            return Ok(Some(kept));
        }
        let generation = self.hot.generation();
        let row = sqlx::query(concat!(
            "SELECT ",
            key_columns!(),
            ", o.plan FROM api_keys k JOIN organizations o ON o.id = k.organization_id \
             LEFT JOIN users u ON u.id = k.user_id \
             WHERE k.key_hash = $1 AND (k.user_id IS NULL OR u.disabled_at IS NULL)"
        ))
        .bind(key_hash)
        .fetch_optional(&self.read)
        .await?;
        let found = row
            .as_ref()
            .map(|row| Ok::<_, StoreError>((key_from_row(row)?, text(row, "plan")?)))
            .transpose()?;
        if let Some(found) = &found {
            self.hot.put_key(generation, key_hash, found.clone());
        }
        Ok(found)
    }

    /// The key with this id, whoever owns it.
    pub async fn api_key_by_id(&self, key_id: Uuid) -> Result<Option<ApiKey>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            key_columns!(),
            " FROM api_keys k WHERE k.id = $1"
        ))
        .bind(key_id.to_string())
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(key_from_row).transpose()
    }

    /// Replaces a key's own limits. Returns false if there is no such key.
    pub async fn set_api_key_limits(
        &self,
        key_id: Uuid,
        limits: KeyLimits,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE api_keys SET rpm_limit = $2, tpm_limit = $3, max_concurrent = $4, \
             cache_enabled = $5 WHERE id = $1",
        )
        .bind(key_id.to_string())
        .bind(limits.rpm_limit.map(i64::from))
        .bind(
            limits
                .tpm_limit
                .map(|v| i64::try_from(v).unwrap_or(i64::MAX)),
        )
        .bind(limits.max_concurrent.map(i64::from))
        .bind(limits.cache.map(super::rows::flag_value))
        .execute(&self.write)
        .await?;
        self.changed().await;
        Ok(done.rows_affected() == 1)
    }

    /// Replaces the models a key may use (`None`: every model). Returns false if there is no
    /// such key.
    pub async fn set_api_key_models(
        &self,
        key_id: Uuid,
        models: Option<&[String]>,
    ) -> Result<bool, StoreError> {
        let json = models
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| super::error::invalid_data(format!("allowed_models: {e}")))?;
        let done = sqlx::query("UPDATE api_keys SET allowed_models = $2 WHERE id = $1")
            .bind(key_id.to_string())
            .bind(json)
            .execute(&self.write)
            .await?;
        self.changed().await;
        Ok(done.rows_affected() == 1)
    }

    /// Records when keys were last used, in one transaction; a time never moves backwards, so
    /// batches may arrive out of order. Unknown key ids are ignored.
    pub async fn touch_api_keys(&self, uses: &[(Uuid, i64)]) -> Result<(), StoreError> {
        if uses.is_empty() {
            return Ok(());
        }
        let mut tx = self.write.begin().await?;
        for (key_id, used_at) in uses {
            sqlx::query(
                "UPDATE api_keys SET last_used_at = $2 \
                 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)",
            )
            .bind(key_id.to_string())
            .bind(*used_at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
