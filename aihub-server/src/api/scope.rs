//! The records a management request names in its path, found only when the caller may
//! touch them.

use uuid::Uuid;

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{ApiKey, User};

/// The API key `id` names, if the caller may change its limits and budgets. Another user's
/// key is `404` like a missing one, so that a member learns nothing of other users' keys;
/// an API key caller is refused before any lookup.
pub async fn key_in_scope(state: &AppState, principal: &Principal, id: &str) -> ApiResult<ApiKey> {
    principal.require_key_manager()?;
    let not_found =
        || ApiError::not_found(format!("No API key with id '{id}'."), "api_key_not_found");
    let key_id = Uuid::parse_str(id).map_err(|_| not_found())?;
    match state.store.api_key_by_id(key_id).await? {
        Some(key) if principal.can_manage_key(&key) => Ok(key),
        _ => Err(not_found()),
    }
}

/// The user `id` names (for the operator's routes, which reach every user).
pub async fn user_by_id(state: &AppState, id: &str) -> ApiResult<User> {
    let not_found = || ApiError::not_found(format!("No user with id '{id}'."), "user_not_found");
    let user_id = Uuid::parse_str(id).map_err(|_| not_found())?;
    state.store.user_by_id(user_id).await?.ok_or_else(not_found)
}
