//! Logging in: a password check that takes as long for unknown e-mails, and a session token.

use super::{Credentials, generate_session_token, hash_password, hash_token, verify_password};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::User;

/// A login session just opened.
#[derive(Debug)]
pub struct Session {
    /// The session token, shown once; the store keeps only its hash.
    pub token: String,
    /// When the session ends (unix ms).
    pub expires_at: i64,
    /// Who logged in.
    pub user: User,
}

/// Checks `c` and opens a session of `session_ttl`; 401 `invalid_credentials` when the
/// e-mail is unknown or the password wrong (the caller is not told which).
pub async fn log_in(state: &AppState, c: Credentials) -> ApiResult<Session> {
    let wrong = || ApiError::unauthorized("Incorrect e-mail or password.", "invalid_credentials");
    let found = state
        .store
        .user_by_email(&c.email.trim().to_lowercase())
        .await?;
    let Some((user, hash)) = found else {
        // Spend the same time as a real check so that timing does not reveal accounts.
        let _ = verify_password(c.password, dummy_hash().await).await;
        return Err(wrong());
    };
    if !verify_password(c.password, hash).await {
        return Err(wrong());
    }
    let token = generate_session_token();
    let ttl = i64::try_from(state.config.session_ttl.as_millis()).unwrap_or(i64::MAX);
    let expires_at = state.now_ms().saturating_add(ttl);
    state
        .store
        .create_session(user.id, &hash_token(&token), expires_at)
        .await?;
    Ok(Session {
        token,
        expires_at,
        user,
    })
}

/// An argon2id hash of a random string, verified against when the e-mail is unknown.
async fn dummy_hash() -> String {
    static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DUMMY
        .get_or_init(|| async {
            hash_password(generate_session_token())
                .await
                .unwrap_or_default()
        })
        .await
        .clone()
}
