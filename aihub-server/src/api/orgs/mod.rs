//! Organizations, members, invitations, teams and team keys (`/api/v1/organizations/…`).
//!
//! Every route under an organization is declared once in [`routes`] with the [`Action`] it
//! takes; [`gate`] stands before each and asks the policy (`auth::policy`), so no handler
//! decides rights of its own and a test can walk the table with every role.

mod budgets;
mod gate;
mod invitations;
mod members;
mod organizations;
mod page;
mod teams;

pub use gate::{OrgAccess, describe, organization_not_found};

use axum::Router;
use axum::http::Method;
use axum::middleware::from_fn_with_state;
use axum::routing::{MethodRouter, delete, get, patch, post, put};

use crate::auth::policy::Action;
use crate::state::AppState;

/// One route under an organization: its method, path (under `/api/v1`) and action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgRoute {
    /// The HTTP method.
    pub method: Method,
    /// The path under `/api/v1/organizations/{org}`, with `{team}`, `{user}`, `{key}` and
    /// `{invitation}` placeholders.
    pub sub_path: &'static str,
    /// What it does, for the policy.
    pub action: Action,
}

const ORG: &str = "/organizations/{org}";

/// The organization routes and their handlers, in one table.
fn table() -> Vec<(OrgRoute, MethodRouter<AppState>)> {
    use Action::*;
    let route = |method: Method, sub_path: &'static str, action, handler| {
        (
            OrgRoute {
                method,
                sub_path,
                action,
            },
            handler,
        )
    };
    vec![
        route(Method::GET, "", ReadOrganization, get(organizations::show)),
        route(
            Method::PATCH,
            "",
            ManageOrganization,
            patch(organizations::rename),
        ),
        route(Method::GET, "/members", ReadMembers, get(members::list)),
        route(
            Method::PUT,
            "/members/{user}",
            ManageMembers,
            put(members::set_role),
        ),
        route(
            Method::DELETE,
            "/members/{user}",
            ManageMembers,
            delete(members::remove),
        ),
        route(
            Method::GET,
            "/invitations",
            ReadMembers,
            get(invitations::list),
        ),
        route(
            Method::POST,
            "/invitations",
            ManageMembers,
            post(invitations::create),
        ),
        route(
            Method::DELETE,
            "/invitations/{invitation}",
            ManageMembers,
            delete(invitations::revoke),
        ),
        route(Method::GET, "/teams", ReadTeams, get(teams::list)),
        route(Method::POST, "/teams", ManageTeams, post(teams::create)),
        route(Method::GET, "/teams/{team}", ReadTeams, get(teams::show)),
        route(
            Method::PATCH,
            "/teams/{team}",
            ManageTeams,
            patch(teams::rename),
        ),
        route(
            Method::GET,
            "/teams/{team}/members",
            ReadTeams,
            get(teams::members),
        ),
        route(
            Method::PUT,
            "/teams/{team}/members/{user}",
            ManageTeamMembers,
            put(teams::set_member),
        ),
        route(
            Method::DELETE,
            "/teams/{team}/members/{user}",
            ManageTeamMembers,
            delete(teams::remove_member),
        ),
        route(
            Method::GET,
            "/teams/{team}/api-keys",
            ReadTeamKeys,
            get(teams::keys),
        ),
        route(
            Method::POST,
            "/teams/{team}/api-keys",
            ManageTeamKeys,
            post(teams::create_key),
        ),
        route(
            Method::DELETE,
            "/teams/{team}/api-keys/{key}",
            ManageTeamKeys,
            delete(teams::revoke_key),
        ),
        route(Method::PUT, "/budget", ManageBudgets, put(budgets::put_org)),
        route(
            Method::DELETE,
            "/budget",
            ManageBudgets,
            delete(budgets::delete_org),
        ),
        route(
            Method::PUT,
            "/teams/{team}/budget",
            ManageBudgets,
            put(budgets::put_team),
        ),
        route(
            Method::DELETE,
            "/teams/{team}/budget",
            ManageBudgets,
            delete(budgets::delete_team),
        ),
    ]
}

/// Every organization route, for tests and docs.
pub fn routes() -> Vec<OrgRoute> {
    table().into_iter().map(|(r, _)| r).collect()
}

impl OrgRoute {
    /// The full path under `/api/v1`.
    pub fn path(&self) -> String {
        format!("{ORG}{}", self.sub_path)
    }
}

/// The organization routes, each behind the gate with its action, plus the routes any
/// signed-in user has (create and list their organizations, accept an invitation).
pub fn router(state: &AppState) -> Router<AppState> {
    let mut router = Router::new()
        .route(
            "/organizations",
            post(organizations::create).get(organizations::list_mine),
        )
        .route("/invitations/accept", post(invitations::accept));
    for (route, handler) in table() {
        let gated = handler.route_layer(from_fn_with_state(
            (state.clone(), route.action),
            gate::gate,
        ));
        router = router.route(&route.path(), gated);
    }
    router
}
