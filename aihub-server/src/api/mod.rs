//! The management API under `/api/v1`: thin handlers, one file per concern, that ask the
//! caller's [`Principal`](crate::auth::Principal) what it may do and answer with typed views.

pub mod account;
pub mod budgets;
pub mod deployment_views;
pub mod deployments;
pub mod keys;
pub mod list;
pub mod money;
pub mod orgs;
pub mod plans;
pub mod scope;
pub mod usage;
pub mod users;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::{delete, get, post, put};

use crate::auth::operator_only;
use crate::state::AppState;

/// The routes of `/api/v1`. Where the member and the operator do the same thing to a key
/// (`auth/api-keys/{id}/…` and `admin/api-keys/{id}/…`), both paths lead to one handler and
/// the principal decides whose budget it is; `admin/…` is the operator's alone.
pub fn router(state: &AppState) -> Router<AppState> {
    let admin = Router::new()
        .route("/users", post(users::create))
        .route("/api-keys", post(keys::create_for_user))
        .route("/users/{id}/plan", put(users::set_plan))
        .route("/users/{id}/instance-role", put(users::set_instance_role))
        .route(
            "/organizations/{id}/plan",
            put(users::set_organization_plan),
        )
        .route(
            "/users/{id}/budget",
            put(budgets::put_user_budget).delete(budgets::delete_user_budget),
        )
        .route(
            "/api-keys/{id}/budget",
            put(budgets::put_key_budget).delete(budgets::delete_key_budget),
        )
        .route("/api-keys/{id}/limits", put(keys::put_limits))
        .route("/api-keys/{id}/models", put(keys::put_models))
        .route(
            "/deployments",
            post(deployments::create).get(deployments::list),
        )
        .route("/deployments/health", get(deployments::health))
        .route(
            "/deployments/{id}",
            get(deployments::show)
                .patch(deployments::edit)
                .delete(deployments::delete),
        )
        .route("/deployments/{id}/test", post(deployments::test))
        .route_layer(from_fn_with_state(state.clone(), operator_only));
    Router::new()
        .route("/auth/register", post(account::register))
        .route("/auth/login", post(account::login))
        .route("/auth/api-keys", post(keys::create).get(keys::list))
        .route("/auth/api-keys/{id}", delete(keys::revoke))
        .route(
            "/auth/api-keys/{id}/budget",
            put(budgets::put_key_budget).delete(budgets::delete_key_budget),
        )
        .route("/auth/api-keys/{id}/limits", put(keys::put_limits))
        .route("/plans", get(plans::list))
        .route("/budgets", get(budgets::list))
        .route("/usage/current", get(usage::current))
        .route("/usage/history", get(usage::history))
        .route("/usage/cost", get(usage::cost))
        .merge(orgs::router(state))
        .nest("/admin", admin)
}
