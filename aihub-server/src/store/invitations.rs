//! Invitations into an organization: single-use, expiring, stored only as a token hash.

use sqlx::any::AnyRow;
use uuid::Uuid;

use super::organizations::{After, OrgRole, TeamRole, role_column};
use super::rows::{int, opt_int, opt_uuid, text, uuid};
use super::{Backend, Store, StoreError, normalize_email, now_ms};

/// An invitation as stored (never its token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// The invitation's id.
    pub id: Uuid,
    /// The organization it invites into.
    pub organization_id: Uuid,
    /// The address it was sent to; only the user with this email may accept it.
    pub email: String,
    /// The role the new member gets.
    pub role: OrgRole,
    /// The team they join as well, with their team role.
    pub team: Option<(Uuid, TeamRole)>,
    /// Who invited them.
    pub invited_by: Option<Uuid>,
    /// When it was made (unix ms).
    pub created_at: i64,
    /// When it stops being accepted (unix ms, exclusive).
    pub expires_at: i64,
    /// When it was accepted, if it was.
    pub accepted_at: Option<i64>,
    /// When it was withdrawn, if it was.
    pub revoked_at: Option<i64>,
}

/// What the store needs to record an invitation.
#[derive(Debug, Clone)]
pub struct NewInvitation {
    /// The organization.
    pub organization_id: Uuid,
    /// The invitee's address.
    pub email: String,
    /// Their role.
    pub role: OrgRole,
    /// Their team and team role, if any.
    pub team: Option<(Uuid, TeamRole)>,
    /// The inviter.
    pub invited_by: Option<Uuid>,
    /// The hash of the token.
    pub token_hash: String,
    /// Expiry (unix ms).
    pub expires_at: i64,
}

/// How accepting an invitation went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acceptance {
    /// The user is now a member.
    Joined(Invitation),
    /// No invitation has this token.
    Unknown,
    /// It was accepted already.
    Used,
    /// It has expired.
    Expired,
    /// It was withdrawn.
    Revoked,
    /// It was made out to another address.
    OtherEmail,
    /// The user is a member already.
    AlreadyMember,
}

const COLUMNS: &str = "id, organization_id, email, role, team_id, team_role, invited_by, \
                       created_at, expires_at, accepted_at, revoked_at";

fn invitation_from_row(row: &AnyRow) -> Result<Invitation, StoreError> {
    let team = match opt_uuid(row, "team_id")? {
        None => None,
        Some(team) => Some((team, role_column(row, "team_role", TeamRole::parse)?)),
    };
    Ok(Invitation {
        id: uuid(row, "id")?,
        organization_id: uuid(row, "organization_id")?,
        email: text(row, "email")?,
        role: role_column(row, "role", OrgRole::parse)?,
        team,
        invited_by: opt_uuid(row, "invited_by")?,
        created_at: int(row, "created_at")?,
        expires_at: int(row, "expires_at")?,
        accepted_at: opt_int(row, "accepted_at")?,
        revoked_at: opt_int(row, "revoked_at")?,
    })
}

impl Store {
    /// Records an invitation. [`StoreError::NotFound`] if the team is not in the organization.
    pub async fn create_invitation(&self, new: NewInvitation) -> Result<Invitation, StoreError> {
        let invitation = Invitation {
            id: Uuid::new_v4(),
            organization_id: new.organization_id,
            email: normalize_email(&new.email),
            role: new.role,
            team: new.team,
            invited_by: new.invited_by,
            created_at: now_ms(),
            expires_at: new.expires_at,
            accepted_at: None,
            revoked_at: None,
        };
        sqlx::query(
            "INSERT INTO invitations (id, organization_id, email, role, team_id, team_role, \
             token_hash, invited_by, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(invitation.id.to_string())
        .bind(invitation.organization_id.to_string())
        .bind(&invitation.email)
        .bind(invitation.role.as_str())
        .bind(invitation.team.map(|(t, _)| t.to_string()))
        .bind(invitation.team.map(|(_, r)| r.as_str()))
        .bind(&new.token_hash)
        .bind(invitation.invited_by.map(|u| u.to_string()))
        .bind(invitation.created_at)
        .bind(invitation.expires_at)
        .execute(&self.write)
        .await?;
        Ok(invitation)
    }

    /// An organization's invitations, oldest first, accepted and withdrawn ones included.
    pub async fn list_invitations(
        &self,
        organization: Uuid,
        after: After,
        limit: u32,
    ) -> Result<Vec<Invitation>, StoreError> {
        let (t, id) = after.unwrap_or((i64::MIN, Uuid::nil()));
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM invitations WHERE organization_id = $1 \
             AND (created_at > $2 OR (created_at = $2 AND id > $3)) \
             ORDER BY created_at, id LIMIT $4"
        ))
        .bind(organization.to_string())
        .bind(t)
        .bind(id.to_string())
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(invitation_from_row).collect()
    }

    /// Withdraws a pending invitation of `organization`. Returns false if there is no such
    /// pending invitation.
    pub async fn revoke_invitation(
        &self,
        organization: Uuid,
        id: Uuid,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE invitations SET revoked_at = $3 WHERE id = $1 AND organization_id = $2 \
             AND accepted_at IS NULL AND revoked_at IS NULL",
        )
        .bind(id.to_string())
        .bind(organization.to_string())
        .bind(now)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Accepts the invitation whose token hashes to `token_hash` for `user` (who must have the
    /// invited address): one transaction makes the membership (and team membership) and marks
    /// the invitation used, so a token works once even when two accepts race.
    pub async fn accept_invitation(
        &self,
        token_hash: &str,
        user: Uuid,
        email: &str,
        now: i64,
    ) -> Result<Acceptance, StoreError> {
        let mut tx = self.write.begin().await?;
        let lock = if self.backend == Backend::Postgres {
            " FOR UPDATE"
        } else {
            ""
        };
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM invitations WHERE token_hash = $1{lock}"
        ))
        .bind(token_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(Acceptance::Unknown);
        };
        let invitation = invitation_from_row(&row)?;
        if invitation.accepted_at.is_some() {
            return Ok(Acceptance::Used);
        }
        if invitation.revoked_at.is_some() {
            return Ok(Acceptance::Revoked);
        }
        if invitation.expires_at <= now {
            return Ok(Acceptance::Expired);
        }
        if invitation.email != normalize_email(email) {
            return Ok(Acceptance::OtherEmail);
        }
        let member: Option<String> = sqlx::query_scalar(
            "SELECT role FROM memberships WHERE organization_id = $1 AND user_id = $2",
        )
        .bind(invitation.organization_id.to_string())
        .bind(user.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        if member.is_some() {
            return Ok(Acceptance::AlreadyMember);
        }
        let used = sqlx::query(
            "UPDATE invitations SET accepted_at = $2, accepted_by = $3 \
             WHERE id = $1 AND accepted_at IS NULL",
        )
        .bind(invitation.id.to_string())
        .bind(now)
        .bind(user.to_string())
        .execute(&mut *tx)
        .await?;
        if used.rows_affected() != 1 {
            return Ok(Acceptance::Used);
        }
        sqlx::query(
            "INSERT INTO memberships (user_id, organization_id, role, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(user.to_string())
        .bind(invitation.organization_id.to_string())
        .bind(invitation.role.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if let Some((team, role)) = invitation.team {
            sqlx::query(
                "INSERT INTO team_memberships (team_id, organization_id, user_id, role, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(team.to_string())
            .bind(invitation.organization_id.to_string())
            .bind(user.to_string())
            .bind(role.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Acceptance::Joined(Invitation {
            accepted_at: Some(now),
            ..invitation
        }))
    }
}
