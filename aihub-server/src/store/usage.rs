//! Usage records: one per proxied request, written in batches.

use std::fmt::Write as _;

use sqlx::any::AnyRow;
use uuid::Uuid;

use super::rows::{flag, flag_value, int, opt_int, opt_text, opt_uuid, text, uuid};
use super::{Store, StoreError};

/// One proxied request, as stored: the fields are the columns of `usage_records`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UsageRecord {
    /// The record's id (the key that makes a retried insert harmless).
    pub id: Uuid,
    /// The request id the gateway returned to the client.
    pub request_id: String,
    /// When the request arrived (unix ms).
    pub created_at: i64,
    /// The API key that authenticated the request, if one did.
    pub api_key_id: Option<Uuid>,
    /// The user the request is billed to; `None` for a team's own key.
    pub user_id: Option<Uuid>,
    /// The organization the request is billed to.
    pub organization_id: Uuid,
    /// The team the request is billed to, if any.
    pub team_id: Option<Uuid>,
    /// The model the client asked for.
    pub model: String,
    /// The provider that served it.
    pub provider: String,
    /// The model name sent to the provider.
    pub upstream_model: String,
    /// Input tokens, cached ones included.
    pub prompt_tokens: i64,
    /// Output tokens, reasoning ones included.
    pub completion_tokens: i64,
    /// Input tokens served from the provider's prompt cache.
    pub cached_tokens: i64,
    /// Output tokens spent on reasoning.
    pub reasoning_tokens: i64,
    /// The price in nano-units of `currency`; `None` if the model has no known price.
    pub cost_nanos: Option<i64>,
    /// The ISO 4217 code of `cost_nanos`; set exactly when `cost_nanos` is.
    pub currency: Option<String>,
    /// Time from the request's arrival to its last byte (ms).
    pub latency_ms: i64,
    /// Time to the first streamed token (ms), for streams that produced one.
    pub ttft_ms: Option<i64>,
    /// The HTTP status returned to the client.
    pub status: u16,
    /// The error type returned to the client, for failed requests.
    pub error_type: Option<String>,
    /// Whether the response was streamed.
    pub stream: bool,
    /// Upstream attempts made for the request, retries included.
    #[serde(default = "one")]
    pub attempts: u32,
    /// True when the upstream reported no usage and the gateway counted the tokens itself.
    #[serde(default)]
    pub usage_estimated: bool,
    /// The provider's request id for the serving attempt, when it sent one.
    #[serde(default)]
    pub upstream_request_id: Option<String>,
    /// True when the answer came from the response cache: no upstream was called, the token
    /// columns hold the tokens served and `cost_nanos` what the hit was charged.
    #[serde(default)]
    pub cache_hit: bool,
    /// Every upstream attempt, in order (empty when no upstream was called).
    #[serde(default)]
    pub attempt_log: Vec<AttemptRecord>,
}

/// One upstream attempt of a request, as its record keeps it (the waterfall).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AttemptRecord {
    /// The deployment tried.
    pub deployment: String,
    /// The model it serves, `provider/upstream model`.
    pub model: String,
    /// The HTTP status the provider answered, when it answered.
    pub status: Option<u16>,
    /// How long the attempt took, ms.
    pub latency_ms: u64,
    /// Why it failed (the error kind); `None` for the attempt that served.
    pub error: Option<String>,
}

fn one() -> u32 {
    1
}

impl UsageRecord {
    /// The record's position in "newest first" listings: the cursor for the page after it.
    pub fn cursor(&self) -> (i64, Uuid) {
        (self.created_at, self.id)
    }
}

/// The columns of `usage_records`, in the order of [`UsageRecord`]'s fields and of `bind_record`.
pub(crate) const USAGE_COLUMNS: &str = "id, request_id, created_at, api_key_id, user_id, \
     organization_id, team_id, model, provider, upstream_model, prompt_tokens, completion_tokens, \
     cached_tokens, reasoning_tokens, cost_nanos, currency, latency_ms, ttft_ms, status, \
     error_type, stream, attempts, usage_estimated, upstream_request_id, cache_hit, \
     attempt_log";
const COLUMN_COUNT: usize = 26;

/// Rows per INSERT statement: one round trip per 100 records, 2600 parameters (SQLite allows
/// 32766, PostgreSQL 65535).
const ROWS_PER_STATEMENT: usize = 100;

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

fn bind_record<'q>(query: AnyQuery<'q>, r: &'q UsageRecord) -> AnyQuery<'q> {
    query
        .bind(r.id.to_string())
        .bind(&r.request_id)
        .bind(r.created_at)
        .bind(r.api_key_id.map(|id| id.to_string()))
        .bind(r.user_id.map(|u| u.to_string()))
        .bind(r.organization_id.to_string())
        .bind(r.team_id.map(|id| id.to_string()))
        .bind(&r.model)
        .bind(&r.provider)
        .bind(&r.upstream_model)
        .bind(r.prompt_tokens)
        .bind(r.completion_tokens)
        .bind(r.cached_tokens)
        .bind(r.reasoning_tokens)
        .bind(r.cost_nanos)
        .bind(r.currency.as_deref())
        .bind(r.latency_ms)
        .bind(r.ttft_ms)
        .bind(i32::from(r.status))
        .bind(r.error_type.as_deref())
        .bind(flag_value(r.stream))
        .bind(i64::from(r.attempts))
        .bind(flag_value(r.usage_estimated))
        .bind(r.upstream_request_id.as_deref())
        .bind(flag_value(r.cache_hit))
        .bind(attempt_log_json(&r.attempt_log))
}

/// The `attempt_log` column's value: a JSON array, or NULL for no attempts.
fn attempt_log_json(log: &[AttemptRecord]) -> Option<String> {
    if log.is_empty() {
        return None;
    }
    // Serializing plain strings and numbers cannot fail.
    serde_json::to_string(log).ok()
}

/// `INSERT … VALUES ($1, …), (…) ON CONFLICT (id) DO NOTHING` for `rows` records.
fn insert_statement(rows: usize) -> String {
    let mut sql = format!("INSERT INTO usage_records ({USAGE_COLUMNS}) VALUES ");
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..COLUMN_COUNT {
            let separator = if column == 0 { "" } else { ", " };
            // Writing to a String cannot fail.
            let _ = write!(sql, "{separator}${}", row * COLUMN_COUNT + column + 1);
        }
        sql.push(')');
    }
    sql.push_str(" ON CONFLICT (id) DO NOTHING");
    sql
}

pub(crate) fn record_from_row(row: &AnyRow) -> Result<UsageRecord, StoreError> {
    let status = int(row, "status")?;
    Ok(UsageRecord {
        id: uuid(row, "id")?,
        request_id: text(row, "request_id")?,
        created_at: int(row, "created_at")?,
        api_key_id: opt_uuid(row, "api_key_id")?,
        user_id: opt_uuid(row, "user_id")?,
        organization_id: uuid(row, "organization_id")?,
        team_id: opt_uuid(row, "team_id")?,
        model: text(row, "model")?,
        provider: text(row, "provider")?,
        upstream_model: text(row, "upstream_model")?,
        prompt_tokens: int(row, "prompt_tokens")?,
        completion_tokens: int(row, "completion_tokens")?,
        cached_tokens: int(row, "cached_tokens")?,
        reasoning_tokens: int(row, "reasoning_tokens")?,
        cost_nanos: opt_int(row, "cost_nanos")?,
        currency: opt_text(row, "currency")?,
        latency_ms: int(row, "latency_ms")?,
        ttft_ms: opt_int(row, "ttft_ms")?,
        status: u16::try_from(status).map_err(|_| {
            super::error::invalid_data(format!("column status: {status} is not an HTTP status"))
        })?,
        error_type: opt_text(row, "error_type")?,
        stream: flag(row, "stream")?,
        attempts: u32::try_from(int(row, "attempts")?).unwrap_or(0),
        usage_estimated: flag(row, "usage_estimated")?,
        upstream_request_id: opt_text(row, "upstream_request_id")?,
        cache_hit: flag(row, "cache_hit")?,
        attempt_log: match opt_text(row, "attempt_log")? {
            None => Vec::new(),
            Some(json) => serde_json::from_str(&json).map_err(|e| {
                super::error::invalid_data(format!("column attempt_log: not an attempt list ({e})"))
            })?,
        },
    })
}

impl Store {
    /// Stores a batch of records in one transaction: when this returns `Ok`, every record is
    /// durable (see the module docs for SQLite's `synchronous`), and on `Err` none was stored.
    ///
    /// Records whose id is already stored are skipped, so retrying a batch after an unclear
    /// failure (a timeout after commit) never duplicates usage. Returns how many were new.
    pub async fn insert_usage(&self, records: &[UsageRecord]) -> Result<u64, StoreError> {
        if records.is_empty() {
            return Ok(0);
        }
        let full_statement = insert_statement(ROWS_PER_STATEMENT.min(records.len()));
        let mut inserted = 0;
        let mut tx = self.write.begin().await?;
        for chunk in records.chunks(ROWS_PER_STATEMENT) {
            let partial_statement;
            let sql = if chunk.len() == ROWS_PER_STATEMENT.min(records.len()) {
                &full_statement
            } else {
                partial_statement = insert_statement(chunk.len());
                &partial_statement
            };
            let query = chunk.iter().fold(sqlx::query(sql), bind_record);
            inserted += query.execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(inserted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_statement_numbers_every_placeholder_once() {
        let sql = insert_statement(2);
        assert!(sql.contains("VALUES ($1, $2, "));
        assert!(sql.contains("$26), ($27, "));
        assert!(sql.ends_with("$52) ON CONFLICT (id) DO NOTHING"));
        assert_eq!(USAGE_COLUMNS.split(", ").count(), COLUMN_COUNT);
    }
}
