//! Which models a key may use: the operator's list on the key (`models`, by group or model
//! name), checked for the model a request names and for every fallback before it is tried,
//! so that a fallback outside the list is never attempted. A key without a list may use every
//! model the gateway serves. (Organisations and teams will add lists of their own.)

use crate::error::ApiError;
use crate::routing::Group;
use crate::state::AppState;
use crate::store::ApiKey;

/// The error code of a request for a model the key may not use (answered with 403).
pub const MODEL_NOT_ALLOWED: &str = "model_not_allowed";

/// True when `key` may use `group`: its list names the group, or — for a catalog model served
/// alone, which answers to every name of the model — any name of that model.
pub fn allows(state: &AppState, key: &ApiKey, group: &Group) -> bool {
    let Some(list) = &key.models else {
        return true;
    };
    if list.contains(&group.name) {
        return true;
    }
    if !group.catalog_model {
        return false;
    }
    let Some(served) = group.deployments.first() else {
        return false;
    };
    list.iter().any(|m| {
        state
            .router
            .models()
            .resolve(m)
            .is_ok_and(|r| r.id == served.model.id)
    })
}

/// 403 `model_not_allowed` for `name`.
pub fn not_allowed(name: &str) -> ApiError {
    ApiError(aihub_core::Error::PermissionDenied(
        aihub_core::ErrorDetail {
            message: format!(
                "This API key may not use the model `{name}`; the operator sets the models a key \
             may use."
            ),
            param: Some("model".into()),
            code: Some(MODEL_NOT_ALLOWED.into()),
            ..aihub_core::ErrorDetail::default()
        },
    ))
}
