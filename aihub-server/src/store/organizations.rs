//! Organizations, their members and roles (docs/organizations.md).

use sqlx::any::AnyRow;
use uuid::Uuid;

use super::rows::{int, text, uuid};
use super::{Store, StoreError, now_ms};

/// Defines a role enum stored as lowercase text, with its parse and name.
macro_rules! stored_role {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "lowercase")]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every role, strongest first.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The stored (and wire) name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }

            /// The role with this stored name.
            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

stored_role! {
    /// A member's role in an organization.
    OrgRole {
        /// Everything, including owners and the organization itself.
        Owner = "owner",
        /// Members, teams, keys, budgets and limits; not owners.
        Admin = "admin",
        /// Reads the organization's usage and manages its budgets.
        Billing = "billing",
        /// Uses the organization: own keys, own usage.
        Member = "member",
        /// Reads the organization, its members, teams and usage; changes nothing.
        Viewer = "viewer",
    }
}

stored_role! {
    /// A member's role in a team.
    TeamRole {
        /// Manages the team's members and keys.
        Admin = "admin",
        /// Uses the team: keys for it, the team's keys listed.
        Member = "member",
    }
}

stored_role! {
    /// A user's role over the whole gateway.
    InstanceRole {
        /// Everything the master key may do.
        Admin = "admin",
        /// Reads everything; changes nothing.
        Viewer = "viewer",
    }
}

/// Reads a role column.
pub(crate) fn role_column<R>(
    row: &AnyRow,
    column: &str,
    parse: fn(&str) -> Option<R>,
) -> Result<R, StoreError> {
    let value = text(row, column)?;
    parse(&value)
        .ok_or_else(|| super::error::invalid_data(format!("column {column}: unknown role {value}")))
}

/// An organization: the unit that holds a plan, members, teams, keys and budgets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    /// The organization's id.
    pub id: Uuid,
    /// Its display name.
    pub name: String,
    /// Whether it is a user's personal organization (made with the account).
    pub personal: bool,
    /// The id of its plan.
    pub plan: String,
    /// When it was created (unix ms).
    pub created_at: i64,
}

fn organization_from_row(row: &AnyRow) -> Result<Organization, StoreError> {
    Ok(Organization {
        id: uuid(row, "id")?,
        name: text(row, "name")?,
        personal: int(row, "personal")? != 0,
        plan: text(row, "plan")?,
        created_at: int(row, "created_at")?,
    })
}

/// A member of an organization, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The member's user id.
    pub user_id: Uuid,
    /// Their email address.
    pub email: String,
    /// Their role in the organization.
    pub role: OrgRole,
    /// When they joined (unix ms).
    pub created_at: i64,
}

fn member_from_row(row: &AnyRow) -> Result<Member, StoreError> {
    Ok(Member {
        user_id: uuid(row, "user_id")?,
        email: text(row, "email")?,
        role: role_column(row, "role", OrgRole::parse)?,
        created_at: int(row, "created_at")?,
    })
}

/// A keyset position in a listing ordered oldest first: `(created_at, id)` of the last row seen.
pub type After = Option<(i64, Uuid)>;

/// Why a change to an organization's members was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberChange {
    /// Done.
    Done,
    /// No such member.
    NotMember,
    /// It would leave the organization without an owner.
    LastOwner,
}

impl Store {
    /// Creates an organization with `owner` as its owner, in one transaction.
    /// [`StoreError::NotFound`] if there is no such user.
    pub async fn create_organization(
        &self,
        name: &str,
        owner: Uuid,
    ) -> Result<Organization, StoreError> {
        let id = Uuid::new_v4();
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "INSERT INTO organizations (id, name, personal, created_at) VALUES ($1, $2, 0, $3)",
        )
        .bind(id.to_string())
        .bind(name)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO memberships (user_id, organization_id, role, created_at) \
             VALUES ($1, $2, 'owner', $3)",
        )
        .bind(owner.to_string())
        .bind(id.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(
            "SELECT id, name, personal, plan, created_at FROM organizations WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        organization_from_row(&row)
    }

    /// The organization with this id.
    pub async fn organization_by_id(&self, id: Uuid) -> Result<Option<Organization>, StoreError> {
        let row = sqlx::query(
            "SELECT id, name, personal, plan, created_at FROM organizations WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(organization_from_row).transpose()
    }

    /// The organizations `user` belongs to and their role in each, oldest membership first.
    pub async fn organizations_of(
        &self,
        user: Uuid,
        after: After,
        limit: u32,
    ) -> Result<Vec<(Organization, OrgRole, i64)>, StoreError> {
        let (t, id) = after.unwrap_or((i64::MIN, Uuid::nil()));
        let rows = sqlx::query(
            "SELECT o.id, o.name, o.personal, o.plan, o.created_at, m.role, \
                    m.created_at AS joined_at \
             FROM memberships m JOIN organizations o ON o.id = m.organization_id \
             WHERE m.user_id = $1 AND (m.created_at > $2 OR (m.created_at = $2 AND o.id > $3)) \
             ORDER BY m.created_at, o.id LIMIT $4",
        )
        .bind(user.to_string())
        .bind(t)
        .bind(id.to_string())
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    organization_from_row(row)?,
                    role_column(row, "role", OrgRole::parse)?,
                    int(row, "joined_at")?,
                ))
            })
            .collect()
    }

    /// Renames an organization. Returns false if there is none.
    pub async fn rename_organization(&self, id: Uuid, name: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE organizations SET name = $2 WHERE id = $1")
            .bind(id.to_string())
            .bind(name)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Moves an organization to another plan. Returns false if there is none.
    pub async fn set_organization_plan(&self, id: Uuid, plan: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE organizations SET plan = $2 WHERE id = $1")
            .bind(id.to_string())
            .bind(plan)
            .execute(&self.write)
            .await?;
        self.changed().await;
        Ok(done.rows_affected() == 1)
    }

    /// `user`'s role in `organization`, if they are a member.
    pub async fn org_role(
        &self,
        organization: Uuid,
        user: Uuid,
    ) -> Result<Option<OrgRole>, StoreError> {
        let role: Option<String> = sqlx::query_scalar(
            "SELECT role FROM memberships WHERE organization_id = $1 AND user_id = $2",
        )
        .bind(organization.to_string())
        .bind(user.to_string())
        .fetch_optional(&self.read)
        .await?;
        role.map(|r| {
            OrgRole::parse(&r)
                .ok_or_else(|| super::error::invalid_data(format!("unknown organization role {r}")))
        })
        .transpose()
    }

    /// One member of an organization.
    pub async fn member(
        &self,
        organization: Uuid,
        user: Uuid,
    ) -> Result<Option<Member>, StoreError> {
        let row = sqlx::query(
            "SELECT m.user_id, u.email, m.role, m.created_at \
             FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.organization_id = $1 AND m.user_id = $2",
        )
        .bind(organization.to_string())
        .bind(user.to_string())
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(member_from_row).transpose()
    }

    /// An organization's members, oldest first.
    pub async fn list_members(
        &self,
        organization: Uuid,
        after: After,
        limit: u32,
    ) -> Result<Vec<Member>, StoreError> {
        let (t, id) = after.unwrap_or((i64::MIN, Uuid::nil()));
        let rows = sqlx::query(
            "SELECT m.user_id, u.email, m.role, m.created_at \
             FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.organization_id = $1 \
               AND (m.created_at > $2 OR (m.created_at = $2 AND m.user_id > $3)) \
             ORDER BY m.created_at, m.user_id LIMIT $4",
        )
        .bind(organization.to_string())
        .bind(t)
        .bind(id.to_string())
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(member_from_row).collect()
    }

    /// Changes a member's role; refuses to demote the last owner. Runs in one transaction that
    /// locks the organization's memberships on PostgreSQL, so two demotions cannot both pass.
    pub async fn set_member_role(
        &self,
        organization: Uuid,
        user: Uuid,
        role: OrgRole,
    ) -> Result<MemberChange, StoreError> {
        let mut tx = self.write.begin().await?;
        let check = self.owners_check(&mut tx, organization, user).await?;
        if check == MemberChange::NotMember
            || (check == MemberChange::LastOwner && role != OrgRole::Owner)
        {
            return Ok(check);
        }
        sqlx::query("UPDATE memberships SET role = $3 WHERE organization_id = $1 AND user_id = $2")
            .bind(organization.to_string())
            .bind(user.to_string())
            .bind(role.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(MemberChange::Done)
    }

    /// Removes a member: their team memberships go with the membership, and their keys in the
    /// organization are revoked as of `now` (kept, so their usage keeps its key). Refuses to
    /// remove the last owner. Team keys they made keep working.
    pub async fn remove_member(
        &self,
        organization: Uuid,
        user: Uuid,
        now: i64,
    ) -> Result<MemberChange, StoreError> {
        let mut tx = self.write.begin().await?;
        let check = self.owners_check(&mut tx, organization, user).await?;
        if check != MemberChange::Done {
            return Ok(check);
        }
        sqlx::query(
            "UPDATE api_keys SET revoked_at = $3 \
             WHERE organization_id = $1 AND user_id = $2 AND revoked_at IS NULL",
        )
        .bind(organization.to_string())
        .bind(user.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM memberships WHERE organization_id = $1 AND user_id = $2")
            .bind(organization.to_string())
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.changed().await;
        Ok(MemberChange::Done)
    }

    /// Within `tx`: whether `user` is a member, and whether they are the organization's only
    /// owner ([`MemberChange::LastOwner`]). Locks the organization's row on PostgreSQL (SQLite
    /// serialises writers already), so concurrent changes to its owners take turns.
    async fn owners_check(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        organization: Uuid,
        user: Uuid,
    ) -> Result<MemberChange, StoreError> {
        if self.backend == super::Backend::Postgres {
            sqlx::query("SELECT id FROM organizations WHERE id = $1 FOR UPDATE")
                .bind(organization.to_string())
                .execute(&mut **tx)
                .await?;
        }
        let role: Option<String> = sqlx::query_scalar(
            "SELECT role FROM memberships WHERE organization_id = $1 AND user_id = $2",
        )
        .bind(organization.to_string())
        .bind(user.to_string())
        .fetch_optional(&mut **tx)
        .await?;
        let Some(role) = role else {
            return Ok(MemberChange::NotMember);
        };
        if role != OrgRole::Owner.as_str() {
            return Ok(MemberChange::Done);
        }
        let owners: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM memberships WHERE organization_id = $1 AND role = 'owner'",
        )
        .bind(organization.to_string())
        .fetch_one(&mut **tx)
        .await?;
        Ok(if owners <= 1 {
            MemberChange::LastOwner
        } else {
            MemberChange::Done
        })
    }
}
