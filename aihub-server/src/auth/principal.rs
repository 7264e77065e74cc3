//! [`Principal`]: who is calling the management API, and the questions handlers ask it.

use crate::error::{ApiError, ApiResult};
use crate::store::{ApiKey, BudgetSetter, User};

/// Who is calling the management API (`/api/v1`), and with which rights. Extracted once per
/// request; handlers ask it instead of each choosing an extractor.
///
/// Rights, by caller (a refusal says why; a key of someone else's is `404`, so that a member
/// learns nothing about other users' keys):
///
/// | action | `Operator` | `Member` | `ApiKey` |
/// |---|---|---|---|
/// | create, list, revoke API keys | no (403) | their own | no (403) |
/// | issue a key for any user, create users, change plans (`admin/…`) | yes | no (401) | no (401) |
/// | read usage and budgets | no (403) | their own | its owner's (all their keys) |
/// | set a key's limits | any key | their own keys | no (403) |
/// | set or remove a key's budget | any key, the admin's budget | their own keys, their own budget | no (403) |
/// | set or remove a user's budget | any user | no | no |
///
/// The admin's budget on a key binds its owner: the owner sees it in `GET budgets` but their
/// `PUT` and `DELETE` touch only their own budget. The `admin/…` routes are the operator's
/// alone (`auth::operator_only` stands before them, answering 401 as it always has); on the
/// owner's routes (`auth/api-keys/{id}/budget|limits`) the operator acts with its own rights.
#[derive(Debug, Clone)]
#[expect(
    clippy::large_enum_variant,
    reason = "one per management request, built once and never copied in bulk"
)]
pub enum Principal {
    /// The gateway's operator: the request carried the master key (`AIHUB_MASTER_KEY`).
    Operator,
    /// A user signed in with a session token from `auth/login`.
    Member(User),
    /// An API key, acting for its owner.
    ApiKey {
        /// The key (never its secret).
        key: ApiKey,
        /// The key's owner; `None` for a team's own key.
        owner: Option<User>,
    },
}

/// The refusal of an API key where a person must sign in.
fn keys_cannot_manage_keys() -> ApiError {
    ApiError::forbidden(
        "API keys cannot manage API keys; use a session token from /api/v1/auth/login.",
    )
}

impl Principal {
    /// The signed-in user, if the caller is one.
    pub fn user(&self) -> Option<&User> {
        match self {
            Self::Member(user) => Some(user),
            Self::Operator | Self::ApiKey { .. } => None,
        }
    }

    /// Whether this is the operator.
    pub fn is_operator(&self) -> bool {
        matches!(self, Self::Operator)
    }

    /// Passes for the operator only.
    pub fn require_operator(&self) -> ApiResult<()> {
        if self.is_operator() {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "Only the gateway's operator, with the master key, may do this.",
            ))
        }
    }

    /// The signed-in user, for managing their own API keys: members only.
    pub fn session_user(&self) -> ApiResult<&User> {
        match self {
            Self::Member(user) => Ok(user),
            Self::ApiKey { .. } => Err(keys_cannot_manage_keys()),
            Self::Operator => Err(ApiError::forbidden(
                "The master key belongs to no user and has no API keys of its own; \
                 issue a user's key with POST /api/v1/admin/api-keys.",
            )),
        }
    }

    /// The user whose usage, budgets and plan the caller reads: the member, or the key's owner.
    pub fn own_account(&self) -> ApiResult<&User> {
        match self {
            Self::Member(user)
            | Self::ApiKey {
                owner: Some(user), ..
            } => Ok(user),
            Self::ApiKey { owner: None, .. } => Err(ApiError::forbidden(
                "A team's own key belongs to no user and has no account of its own; \
                 its usage is the team's, read by the organization's members.",
            )),
            Self::Operator => Err(ApiError::forbidden(
                "The master key belongs to no user and has no usage or budgets of its own; \
                 use a user's session token or API key.",
            )),
        }
    }

    /// Passes for callers that may change keys' limits and budgets at all (the operator and
    /// members); which keys is [`Principal::can_manage_key`].
    pub fn require_key_manager(&self) -> ApiResult<()> {
        match self {
            Self::Operator | Self::Member(_) => Ok(()),
            Self::ApiKey { .. } => Err(keys_cannot_manage_keys()),
        }
    }

    /// Whether the caller may change `key`'s limits and budgets: the operator any key, a
    /// member their own.
    pub fn can_manage_key(&self, key: &ApiKey) -> bool {
        match self {
            Self::Operator => true,
            Self::Member(user) => key.user_id == Some(user.id),
            Self::ApiKey { .. } => false,
        }
    }

    /// Whose budget on a key the caller sets and removes: the operator's is the admin's,
    /// which binds the owner; a member's is their own.
    pub fn budget_setter(&self) -> ApiResult<BudgetSetter> {
        match self {
            Self::Operator => Ok(BudgetSetter::Admin),
            Self::Member(_) => Ok(BudgetSetter::Owner),
            Self::ApiKey { .. } => Err(keys_cannot_manage_keys()),
        }
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::store::KeyLimits;

    fn user() -> User {
        User {
            id: Uuid::new_v4(),
            email: "a@example.com".into(),
            plan: "free".into(),
            organization_id: Uuid::new_v4(),
            created_at: 0,
            disabled_at: None,
            instance_role: None,
        }
    }

    fn key_of(owner: &User) -> ApiKey {
        ApiKey {
            id: Uuid::new_v4(),
            user_id: Some(owner.id),
            organization_id: owner.organization_id,
            team_id: None,
            name: "k".into(),
            prefix: "ai-hub-abcdef".into(),
            created_at: 0,
            expires_at: None,
            revoked_at: None,
            last_used_at: None,
            limits: KeyLimits::default(),
            models: None,
        }
    }

    /// The status of a refusal.
    fn status<T>(r: ApiResult<T>) -> Option<u16> {
        r.err().map(|e| e.0.status())
    }

    #[test]
    fn the_rights_matrix_holds() {
        let alice = user();
        let bob = user();
        let (alices_key, bobs_key) = (key_of(&alice), key_of(&bob));
        let operator = Principal::Operator;
        let member = Principal::Member(alice.clone());
        let key = Principal::ApiKey {
            key: alices_key.clone(),
            owner: Some(alice.clone()),
        };

        assert_eq!(status(operator.require_operator()), None);
        assert_eq!(status(member.require_operator()), Some(403));
        assert_eq!(status(key.require_operator()), Some(403));

        assert_eq!(status(operator.session_user()), Some(403));
        assert_eq!(member.session_user().ok(), Some(&alice));
        assert_eq!(status(key.session_user()), Some(403));

        assert_eq!(status(operator.own_account()), Some(403));
        assert_eq!(member.own_account().ok(), Some(&alice));
        assert_eq!(
            key.own_account().ok(),
            Some(&alice),
            "a key reads its owner's"
        );

        assert_eq!(status(operator.require_key_manager()), None);
        assert_eq!(status(member.require_key_manager()), None);
        assert_eq!(status(key.require_key_manager()), Some(403));
        assert!(operator.can_manage_key(&alices_key) && operator.can_manage_key(&bobs_key));
        assert!(member.can_manage_key(&alices_key));
        assert!(!member.can_manage_key(&bobs_key));
        assert!(
            !key.can_manage_key(&alices_key),
            "a key cannot manage even itself"
        );

        assert_eq!(operator.budget_setter().ok(), Some(BudgetSetter::Admin));
        assert_eq!(member.budget_setter().ok(), Some(BudgetSetter::Owner));
        assert_eq!(status(key.budget_setter()), Some(403));
    }
}
