//! Teams inside organizations, and their members.

use sqlx::any::AnyRow;
use uuid::Uuid;

use super::organizations::{After, TeamRole, role_column};
use super::rows::{int, text, uuid};
use super::{Store, StoreError, now_ms};

/// A team of an organization: members, and keys that belong to the team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    /// The team's id.
    pub id: Uuid,
    /// The organization it belongs to.
    pub organization_id: Uuid,
    /// Its name, unique in the organization.
    pub name: String,
    /// When it was created (unix ms).
    pub created_at: i64,
}

fn team_from_row(row: &AnyRow) -> Result<Team, StoreError> {
    Ok(Team {
        id: uuid(row, "id")?,
        organization_id: uuid(row, "organization_id")?,
        name: text(row, "name")?,
        created_at: int(row, "created_at")?,
    })
}

/// A member of a team, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamMember {
    /// The member's user id.
    pub user_id: Uuid,
    /// Their email address.
    pub email: String,
    /// Their role in the team.
    pub role: TeamRole,
    /// When they joined the team (unix ms).
    pub created_at: i64,
}

impl Store {
    /// Creates a team. [`StoreError::Conflict`] if the organization has one of that name,
    /// [`StoreError::NotFound`] if there is no such organization.
    pub async fn create_team(&self, organization: Uuid, name: &str) -> Result<Team, StoreError> {
        let team = Team {
            id: Uuid::new_v4(),
            organization_id: organization,
            name: name.to_owned(),
            created_at: now_ms(),
        };
        sqlx::query(
            "INSERT INTO teams (id, organization_id, name, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(team.id.to_string())
        .bind(organization.to_string())
        .bind(name)
        .bind(team.created_at)
        .execute(&self.write)
        .await?;
        Ok(team)
    }

    /// The team with this id, if it belongs to `organization`.
    pub async fn team_in(
        &self,
        organization: Uuid,
        team: Uuid,
    ) -> Result<Option<Team>, StoreError> {
        let row = sqlx::query(
            "SELECT id, organization_id, name, created_at FROM teams \
             WHERE id = $1 AND organization_id = $2",
        )
        .bind(team.to_string())
        .bind(organization.to_string())
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(team_from_row).transpose()
    }

    /// An organization's teams, oldest first.
    pub async fn list_teams(
        &self,
        organization: Uuid,
        after: After,
        limit: u32,
    ) -> Result<Vec<Team>, StoreError> {
        let (t, id) = after.unwrap_or((i64::MIN, Uuid::nil()));
        let rows = sqlx::query(
            "SELECT id, organization_id, name, created_at FROM teams \
             WHERE organization_id = $1 AND (created_at > $2 OR (created_at = $2 AND id > $3)) \
             ORDER BY created_at, id LIMIT $4",
        )
        .bind(organization.to_string())
        .bind(t)
        .bind(id.to_string())
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(team_from_row).collect()
    }

    /// Renames a team. Returns false if there is none; [`StoreError::Conflict`] if the name is
    /// taken in the organization.
    pub async fn rename_team(&self, team: Uuid, name: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE teams SET name = $2 WHERE id = $1")
            .bind(team.to_string())
            .bind(name)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// `user`'s role in `team`, if they are in it.
    pub async fn team_role(&self, team: Uuid, user: Uuid) -> Result<Option<TeamRole>, StoreError> {
        let role: Option<String> = sqlx::query_scalar(
            "SELECT role FROM team_memberships WHERE team_id = $1 AND user_id = $2",
        )
        .bind(team.to_string())
        .bind(user.to_string())
        .fetch_optional(&self.read)
        .await?;
        role.map(|r| {
            TeamRole::parse(&r)
                .ok_or_else(|| super::error::invalid_data(format!("unknown team role {r}")))
        })
        .transpose()
    }

    /// Puts a member of the team's organization in the team with `role` (or changes their
    /// role); returns when they joined the team (unix ms). [`StoreError::NotFound`] if they
    /// are not a member of the organization.
    pub async fn set_team_member(
        &self,
        team: &Team,
        user: Uuid,
        role: TeamRole,
    ) -> Result<i64, StoreError> {
        let joined: i64 = sqlx::query_scalar(
            "INSERT INTO team_memberships (team_id, organization_id, user_id, role, created_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (team_id, user_id) DO UPDATE SET role = excluded.role \
             RETURNING created_at",
        )
        .bind(team.id.to_string())
        .bind(team.organization_id.to_string())
        .bind(user.to_string())
        .bind(role.as_str())
        .bind(now_ms())
        .fetch_one(&self.write)
        .await?;
        Ok(joined)
    }

    /// Takes a member out of a team; their own keys for the team are revoked as of `now` (the
    /// team's own keys keep working). Returns false if they were not in it.
    pub async fn remove_team_member(
        &self,
        team: Uuid,
        user: Uuid,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write.begin().await?;
        let done = sqlx::query("DELETE FROM team_memberships WHERE team_id = $1 AND user_id = $2")
            .bind(team.to_string())
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE api_keys SET revoked_at = $3 \
             WHERE team_id = $1 AND user_id = $2 AND revoked_at IS NULL",
        )
        .bind(team.to_string())
        .bind(user.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.changed().await;
        Ok(done.rows_affected() == 1)
    }

    /// A team's members, oldest first.
    pub async fn list_team_members(
        &self,
        team: Uuid,
        after: After,
        limit: u32,
    ) -> Result<Vec<TeamMember>, StoreError> {
        let (t, id) = after.unwrap_or((i64::MIN, Uuid::nil()));
        let rows = sqlx::query(
            "SELECT tm.user_id, u.email, tm.role, tm.created_at \
             FROM team_memberships tm JOIN users u ON u.id = tm.user_id \
             WHERE tm.team_id = $1 \
               AND (tm.created_at > $2 OR (tm.created_at = $2 AND tm.user_id > $3)) \
             ORDER BY tm.created_at, tm.user_id LIMIT $4",
        )
        .bind(team.to_string())
        .bind(t)
        .bind(id.to_string())
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(TeamMember {
                    user_id: uuid(row, "user_id")?,
                    email: text(row, "email")?,
                    role: role_column(row, "role", TeamRole::parse)?,
                    created_at: int(row, "created_at")?,
                })
            })
            .collect()
    }
}
