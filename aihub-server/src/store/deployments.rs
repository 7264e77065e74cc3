//! Routing deployments managed through the admin API: who serves a model group, with which
//! credential (stored sealed, never in the clear), and a generation counter every change
//! raises so that each gateway instance can tell cheaply whether it must reload them.

use sqlx::any::AnyRow;

use super::error::invalid_data;
use super::rows::{flag, flag_value, int, opt_int, opt_text, text};
use super::{Store, StoreError, now_ms};
use crate::secrets::Sealed;

/// A deployment as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDeployment {
    /// Unique id (also among the deployments of `aihub.toml`).
    pub id: String,
    /// The model group it serves.
    pub group: String,
    /// A provider configured in `aihub.toml`.
    pub provider: String,
    /// The provider's name for the model.
    pub model: String,
    /// Share of traffic within its priority.
    pub weight: u32,
    /// Priority (lower first).
    pub priority: u32,
    /// Requests per minute, when limited.
    pub rpm: Option<u32>,
    /// Tokens per minute, when limited.
    pub tpm: Option<u64>,
    /// Takes traffic.
    pub enabled: bool,
    /// Its own credential, sealed; `None`: its provider's key.
    pub credential: Option<Sealed>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms of the last edit.
    pub updated_at: i64,
    /// Edits so far, starting at 1.
    pub version: i64,
}

const COLUMNS: &str = "id, group_name, provider, upstream_model, weight, priority, rpm, tpm, \
                       enabled, credential_key_id, credential_nonce, credential_ciphertext, \
                       created_at, updated_at, version";

fn narrow<T: TryFrom<i64>>(column: &str, v: i64) -> Result<T, StoreError> {
    T::try_from(v).map_err(|_| invalid_data(format!("column {column}: {v} is out of range")))
}

fn from_row(row: &AnyRow) -> Result<StoredDeployment, StoreError> {
    let credential = match (
        opt_text(row, "credential_key_id")?,
        opt_text(row, "credential_nonce")?,
        opt_text(row, "credential_ciphertext")?,
    ) {
        (Some(key_id), Some(nonce), Some(ciphertext)) => Some(Sealed {
            key_id,
            nonce,
            ciphertext,
        }),
        _ => None,
    };
    Ok(StoredDeployment {
        id: text(row, "id")?,
        group: text(row, "group_name")?,
        provider: text(row, "provider")?,
        model: text(row, "upstream_model")?,
        weight: narrow("weight", int(row, "weight")?)?,
        priority: narrow("priority", int(row, "priority")?)?,
        rpm: opt_int(row, "rpm")?.map(|v| narrow("rpm", v)).transpose()?,
        tpm: opt_int(row, "tpm")?.map(|v| narrow("tpm", v)).transpose()?,
        enabled: flag(row, "enabled")?,
        credential,
        created_at: int(row, "created_at")?,
        updated_at: int(row, "updated_at")?,
        version: int(row, "version")?,
    })
}

fn wide<T: Into<i64>>(v: Option<T>) -> Option<i64> {
    v.map(Into::into)
}

fn tpm(v: Option<u64>) -> Result<Option<i64>, StoreError> {
    v.map(|v| i64::try_from(v).map_err(|_| StoreError::Config(format!("tpm {v} is too large"))))
        .transpose()
}

impl Store {
    /// Every stored deployment, by id.
    pub async fn list_deployments(&self) -> Result<Vec<StoredDeployment>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM deployments ORDER BY id"))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// One stored deployment.
    pub async fn deployment(&self, id: &str) -> Result<Option<StoredDeployment>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM deployments WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// How many changes the deployments table has seen: it grows with every create, edit and
    /// delete, on every instance.
    pub async fn deployments_generation(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT generation FROM deployments_generation WHERE id = 1")
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map_or(Ok(0), |r| int(r, "generation"))
    }

    /// Stores a new deployment (its `created_at`, `updated_at` and `version` are set here).
    /// [`StoreError::Conflict`] when the id is taken.
    pub async fn create_deployment(
        &self,
        d: &StoredDeployment,
    ) -> Result<StoredDeployment, StoreError> {
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        let (key_id, nonce, ciphertext) = sealed_columns(d.credential.as_ref());
        sqlx::query(&format!(
            "INSERT INTO deployments ({COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, 1)"
        ))
        .bind(&d.id)
        .bind(&d.group)
        .bind(&d.provider)
        .bind(&d.model)
        .bind(i64::from(d.weight))
        .bind(i64::from(d.priority))
        .bind(wide(d.rpm))
        .bind(tpm(d.tpm)?)
        .bind(flag_value(d.enabled))
        .bind(key_id)
        .bind(nonce)
        .bind(ciphertext)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        bump(&mut tx).await?;
        tx.commit().await?;
        Ok(StoredDeployment {
            created_at: now,
            updated_at: now,
            version: 1,
            ..d.clone()
        })
    }

    /// Replaces a deployment's settings (everything but its id and creation time), raising
    /// its version. `None` when there is no such deployment.
    pub async fn update_deployment(
        &self,
        d: &StoredDeployment,
    ) -> Result<Option<StoredDeployment>, StoreError> {
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        let (key_id, nonce, ciphertext) = sealed_columns(d.credential.as_ref());
        let done = sqlx::query(
            "UPDATE deployments SET group_name = $2, provider = $3, upstream_model = $4, \
             weight = $5, priority = $6, rpm = $7, tpm = $8, enabled = $9, \
             credential_key_id = $10, credential_nonce = $11, credential_ciphertext = $12, \
             updated_at = $13, version = version + 1 WHERE id = $1",
        )
        .bind(&d.id)
        .bind(&d.group)
        .bind(&d.provider)
        .bind(&d.model)
        .bind(i64::from(d.weight))
        .bind(i64::from(d.priority))
        .bind(wide(d.rpm))
        .bind(tpm(d.tpm)?)
        .bind(flag_value(d.enabled))
        .bind(key_id)
        .bind(nonce)
        .bind(ciphertext)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        bump(&mut tx).await?;
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM deployments WHERE id = $1"))
            .bind(&d.id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        from_row(&row).map(Some)
    }

    /// Deletes a deployment; false when there was none.
    pub async fn delete_deployment(&self, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.write.begin().await?;
        let done = sqlx::query("DELETE FROM deployments WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        bump(&mut tx).await?;
        tx.commit().await?;
        Ok(true)
    }
}

fn sealed_columns(s: Option<&Sealed>) -> (Option<String>, Option<String>, Option<String>) {
    match s {
        Some(s) => (
            Some(s.key_id.clone()),
            Some(s.nonce.clone()),
            Some(s.ciphertext.clone()),
        ),
        None => (None, None, None),
    }
}

async fn bump(tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> Result<(), StoreError> {
    sqlx::query("UPDATE deployments_generation SET generation = generation + 1 WHERE id = 1")
        .execute(&mut **tx)
        .await?;
    Ok(())
}
