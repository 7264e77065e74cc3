//! The gate before every organization route: who the caller is there, and whether the policy
//! lets them take the route's action.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use crate::auth::Principal;
use crate::auth::policy::{self, Action};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{InstanceRole, OrgRole, Organization, Team, TeamRole, User};

/// What the gate found out about the caller, for the route's handler.
#[derive(Debug, Clone)]
pub struct OrgAccess {
    /// The organization in the path.
    pub organization: Organization,
    /// The signed-in user, or `None` for the master key.
    pub user: Option<User>,
    /// The caller's role in the organization, if they are a member.
    pub role: Option<OrgRole>,
    /// The team in the path, if the route has one.
    pub team: Option<Team>,
    /// The caller's role in that team, if they are in it.
    pub team_role: Option<TeamRole>,
    /// Whether the caller acts as the gateway's administrator (the master key, or a user with
    /// the instance admin role).
    pub instance_admin: bool,
}

impl OrgAccess {
    /// Whether the caller may grant, change or take away the owner role: owners and instance
    /// administrators.
    pub fn may_manage_owners(&self) -> bool {
        self.instance_admin || self.role == Some(OrgRole::Owner)
    }

    /// The team in the path (the gate has checked it is in the organization).
    pub fn team(&self) -> ApiResult<&Team> {
        self.team
            .as_ref()
            .ok_or_else(|| ApiError::not_found("No such team.", "team_not_found"))
    }
}

/// 404 for an organization the caller cannot see: the same answer whether it exists or not.
pub fn organization_not_found() -> ApiError {
    ApiError::not_found(
        "No organization with that id, or you are not a member of it.",
        "organization_not_found",
    )
}

fn team_not_found() -> ApiError {
    ApiError::not_found(
        "No team with that id in this organization.",
        "team_not_found",
    )
}

/// Middleware: resolves the organization (and team) in the path and the caller's roles
/// there, refuses what the policy does not allow, and hands [`OrgAccess`] to the handler.
pub async fn gate(
    State((state, action)): State<(AppState, Action)>,
    req: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = req.into_parts();
    let access = match decide(&state, action, &mut parts).await {
        Ok(access) => access,
        Err(refusal) => return refusal.into_response(),
    };
    parts.extensions.insert(access);
    next.run(Request::from_parts(parts, body)).await
}

async fn decide(
    state: &AppState,
    action: Action,
    parts: &mut axum::http::request::Parts,
) -> ApiResult<OrgAccess> {
    let principal = Principal::from_request_parts(parts, state).await?;
    let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
        .await
        .map_err(|_| organization_not_found())?;
    let (user, instance) = match principal {
        Principal::Operator => (None, Some(InstanceRole::Admin)),
        Principal::Member(user) => {
            let instance = user.instance_role;
            (Some(user), instance)
        }
        Principal::ApiKey { .. } => {
            return Err(ApiError::forbidden(
                "API keys cannot manage organizations; use a session token from \
                 /api/v1/auth/login.",
            ));
        }
    };
    let org_id = params
        .get("org")
        .and_then(|id| Uuid::parse_str(id).ok())
        .ok_or_else(organization_not_found)?;
    let role = match &user {
        Some(user) => state.store.org_role(org_id, user.id).await?,
        None => None,
    };
    if role.is_none() && instance.is_none() {
        return Err(organization_not_found());
    }
    let organization = state
        .store
        .organization_by_id(org_id)
        .await?
        .ok_or_else(organization_not_found)?;
    let (team, team_role) = match params.get("team") {
        None => (None, None),
        Some(id) => {
            let team_id = Uuid::parse_str(id).map_err(|_| team_not_found())?;
            let team = state
                .store
                .team_in(org_id, team_id)
                .await?
                .ok_or_else(team_not_found)?;
            let team_role = match &user {
                Some(user) if role.is_some() => state.store.team_role(team_id, user.id).await?,
                _ => None,
            };
            (Some(team), team_role)
        }
    };
    let by_role = role.is_some_and(|r| policy::allows(action, r, team_role));
    let by_instance = match instance {
        Some(InstanceRole::Admin) => true,
        Some(InstanceRole::Viewer) => policy::is_read(action),
        None => false,
    };
    if !by_role && !by_instance {
        let what = match role {
            Some(role) => format!("your role in this organization ({role})"),
            None => "your instance role (viewer)".to_owned(),
        };
        return Err(ApiError::forbidden(format!(
            "This needs a role that may {}; {what} does not. See docs/organizations.md.",
            describe(action)
        )));
    }
    Ok(OrgAccess {
        organization,
        user,
        role,
        team,
        team_role,
        instance_admin: instance == Some(InstanceRole::Admin),
    })
}

/// An action in words, for refusals.
pub fn describe(action: Action) -> &'static str {
    match action {
        Action::ReadOrganization => "see the organization",
        Action::ManageOrganization => "change the organization",
        Action::ReadMembers => "list its members and invitations",
        Action::ManageMembers => "invite, change or remove members",
        Action::ReadTeams => "see its teams",
        Action::ManageTeams => "create or rename teams",
        Action::ManageTeamMembers => "change a team's members",
        Action::ReadTeamKeys => "list a team's keys",
        Action::ManageTeamKeys => "create or revoke a team's keys",
        Action::ManageBudgets => "set or remove budgets",
        Action::CreateOwnKeys => "make keys that spend for it",
    }
}
