//! Invitations: an admin invites an email address with a role (and optionally a team); the
//! invitee, signed in with that address, accepts with the token, which makes the membership.

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::OrgAccess;
use super::page::{Page, PageQuery};
use crate::accounts::{generate_invitation_token, hash_token};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::json::Json;
use crate::state::AppState;
use crate::store::{Acceptance, Invitation, NewInvitation, OrgRole, StoreError, TeamRole};
use crate::timeutil::rfc3339;

/// An invitation as listed (never its token).
#[derive(Debug, Serialize)]
pub struct InvitationView {
    /// Its id.
    pub id: Uuid,
    /// Always `organization.invitation`.
    pub object: &'static str,
    /// The organization.
    pub organization_id: Uuid,
    /// The invited address.
    pub email: String,
    /// The role it grants.
    pub role: OrgRole,
    /// The team it adds the member to, if any.
    pub team_id: Option<Uuid>,
    /// Their role in that team.
    pub team_role: Option<TeamRole>,
    /// `pending`, `accepted`, `expired` or `revoked`.
    pub status: &'static str,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub expires_at: String,
    /// RFC 3339, once accepted.
    pub accepted_at: Option<String>,
}

impl InvitationView {
    fn of(i: &Invitation, now: i64) -> Self {
        let status = if i.accepted_at.is_some() {
            "accepted"
        } else if i.revoked_at.is_some() {
            "revoked"
        } else if i.expires_at <= now {
            "expired"
        } else {
            "pending"
        };
        Self {
            id: i.id,
            object: "organization.invitation",
            organization_id: i.organization_id,
            email: i.email.clone(),
            role: i.role,
            team_id: i.team.map(|(t, _)| t),
            team_role: i.team.map(|(_, r)| r),
            status,
            created_at: rfc3339(i.created_at),
            expires_at: rfc3339(i.expires_at),
            accepted_at: i.accepted_at.map(rfc3339),
        }
    }
}

/// `{email, role, team_id?, team_role?}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InviteBody {
    /// The invitee's address.
    pub email: String,
    /// The role they get (default `member`).
    #[serde(default)]
    pub role: Option<OrgRole>,
    /// A team of the organization they join too.
    #[serde(default)]
    pub team_id: Option<Uuid>,
    /// Their role in it (default `member`).
    #[serde(default)]
    pub team_role: Option<TeamRole>,
}

/// A new invitation: the listing view, the token and the link, shown only here.
#[derive(Debug, Serialize)]
pub struct CreatedInvitation {
    /// The listing view.
    #[serde(flatten)]
    pub view: InvitationView,
    /// The single-use token; AI Hub keeps only its hash.
    pub token: String,
    /// The link to hand the invitee: `public_url` + `/invite#token=…` (the token travels in the
    /// fragment, which browsers never send to a server).
    pub link: String,
}

/// `POST /api/v1/organizations/{org}/invitations` → `201` with the token and link.
pub async fn create(
    State(state): State<AppState>,
    Extension(access): Extension<OrgAccess>,
    Json(body): Json<InviteBody>,
) -> ApiResult<(StatusCode, axum::Json<CreatedInvitation>)> {
    let email = crate::store::normalize_email(&body.email);
    if email.len() > 254 || !email.contains('@') || email.starts_with('@') || email.ends_with('@') {
        return Err(ApiError::bad_request(
            "'email' must be an email address.",
            "email",
        ));
    }
    let role = body.role.unwrap_or(OrgRole::Member);
    if role == OrgRole::Owner && !access.may_manage_owners() {
        return Err(ApiError::forbidden(
            "Only an owner may invite another owner.",
        ));
    }
    if access.organization.personal {
        return Err(ApiError::bad_request(
            "A personal organization has one member; create an organization to invite others.",
            "organization",
        ));
    }
    let team = match (body.team_id, body.team_role) {
        (None, None) => None,
        (None, Some(_)) => {
            return Err(ApiError::bad_request(
                "'team_role' needs 'team_id'.",
                "team_role",
            ));
        }
        (Some(team), role) => Some((team, role.unwrap_or(TeamRole::Member))),
    };
    let token = generate_invitation_token();
    let now = state.now_ms();
    let ttl = i64::try_from(state.config.invitation_ttl.as_millis()).unwrap_or(i64::MAX);
    let created = state
        .store
        .create_invitation(NewInvitation {
            organization_id: access.organization.id,
            email,
            role,
            team,
            invited_by: access.user.as_ref().map(|u| u.id),
            token_hash: hash_token(&token),
            expires_at: now.saturating_add(ttl),
        })
        .await;
    let invitation = match created {
        Err(StoreError::NotFound) => {
            return Err(ApiError::not_found(
                "No team with that id in this organization.",
                "team_not_found",
            ));
        }
        other => other?,
    };
    tracing::info!(organization_id = %invitation.organization_id, invitation_id = %invitation.id, "invitation created");
    let link = format!("{}/invite#token={token}", state.config.public_url);
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedInvitation {
            view: InvitationView::of(&invitation, now),
            token,
            link,
        }),
    ))
}

/// `GET /api/v1/organizations/{org}/invitations`, oldest first, paged.
pub async fn list(
    State(state): State<AppState>,
    Extension(access): Extension<OrgAccess>,
    Query(q): Query<PageQuery>,
) -> ApiResult<axum::Json<Page<InvitationView>>> {
    let (limit, after) = q.parse()?;
    let rows = state
        .store
        .list_invitations(access.organization.id, after, limit)
        .await?;
    let now = state.now_ms();
    Ok(axum::Json(Page::of(
        rows,
        limit,
        |i| (i.created_at, i.id),
        |i| InvitationView::of(i, now),
    )))
}

/// The answer to withdrawing an invitation.
#[derive(Debug, Serialize)]
pub struct Revoked {
    /// The invitation's id.
    pub id: Uuid,
    /// Always `organization.invitation`.
    pub object: &'static str,
    /// Always true.
    pub revoked: bool,
}

/// `DELETE /api/v1/organizations/{org}/invitations/{invitation}`: withdraws a pending one.
pub async fn revoke(
    State(state): State<AppState>,
    Extension(access): Extension<OrgAccess>,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult<axum::Json<Revoked>> {
    let not_found = || {
        ApiError::not_found(
            "No pending invitation with that id in this organization.",
            "invitation_not_found",
        )
    };
    let id = Uuid::parse_str(&id).map_err(|_| not_found())?;
    if !state
        .store
        .revoke_invitation(access.organization.id, id, state.now_ms())
        .await?
    {
        return Err(not_found());
    }
    Ok(axum::Json(Revoked {
        id,
        object: "organization.invitation",
        revoked: true,
    }))
}

/// `{token}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceptBody {
    /// The token from the invitation link.
    pub token: String,
}

/// A refusal of an invitation token: 400 naming `token`, with a code saying why.
fn refused(message: &str, code: &str) -> ApiError {
    ApiError(aihub_core::Error::BadRequest(aihub_core::ErrorDetail {
        message: message.into(),
        param: Some("token".into()),
        code: Some(code.into()),
        ..aihub_core::ErrorDetail::default()
    }))
}

/// `POST /api/v1/invitations/accept` `{token}`: the signed-in user, whose address the
/// invitation names, joins the organization (and team) → the invitation, now accepted.
pub async fn accept(
    State(state): State<AppState>,
    principal: Principal,
    Json(body): Json<AcceptBody>,
) -> ApiResult<axum::Json<InvitationView>> {
    let user = principal.session_user()?;
    let now = state.now_ms();
    let outcome = state
        .store
        .accept_invitation(&hash_token(body.token.trim()), user.id, &user.email, now)
        .await?;
    match outcome {
        Acceptance::Joined(invitation) => {
            tracing::info!(organization_id = %invitation.organization_id, user_id = %user.id, "invitation accepted");
            Ok(axum::Json(InvitationView::of(&invitation, now)))
        }
        Acceptance::Unknown => Err(ApiError::not_found(
            "No invitation has this token.",
            "invitation_not_found",
        )),
        Acceptance::Used => Err(refused(
            "This invitation has been used already.",
            "invitation_used",
        )),
        Acceptance::Expired => Err(refused(
            "This invitation has expired; ask for a new one.",
            "invitation_expired",
        )),
        Acceptance::Revoked => Err(refused(
            "This invitation was withdrawn.",
            "invitation_revoked",
        )),
        Acceptance::OtherEmail => Err(ApiError::forbidden(
            "This invitation was made out to another email address; sign in with that one.",
        )),
        Acceptance::AlreadyMember => Err(refused(
            "You are a member of this organization already.",
            "already_member",
        )),
    }
}
