//! Registering users: e-mail and password rules, the argon2id hash, one account per e-mail.

use serde::Deserialize;

use super::hash_password;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{StoreError, User};

/// `{email, password}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// E-mail address, the login name.
    pub email: String,
    /// Password, at least 8 characters.
    pub password: String,
}

/// Validates an e-mail and password pair for registration; returns the e-mail as stored.
pub fn check_new_credentials(c: &Credentials) -> ApiResult<String> {
    let email = c.email.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if !valid || email.contains(char::is_whitespace) {
        return Err(ApiError::bad_request(
            "'email' is not a valid e-mail address.",
            "email",
        ));
    }
    if c.password.chars().count() < 8 {
        return Err(ApiError::bad_request(
            "'password' must be at least 8 characters.",
            "password",
        ));
    }
    if c.password.len() > 1024 {
        return Err(ApiError::bad_request(
            "'password' must be at most 1024 bytes.",
            "password",
        ));
    }
    Ok(email)
}

/// Creates a user, answering 400 when the e-mail is taken.
pub async fn create_user(state: &AppState, c: &Credentials) -> ApiResult<User> {
    let email = check_new_credentials(c)?;
    let hash = hash_password(c.password.clone()).await.map_err(|e| {
        ApiError(aihub_core::Error::config(format!(
            "password hashing failed: {e}"
        )))
    })?;
    match state.store.create_user(&email, &hash).await {
        Ok(u) => Ok(u),
        Err(StoreError::Conflict) => Err(ApiError::conflict(
            "An account with this e-mail already exists.",
            "email",
        )),
        Err(e) => Err(e.into()),
    }
}
