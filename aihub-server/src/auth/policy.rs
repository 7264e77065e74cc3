//! The one policy table: which organization and team roles may do what. Every organization
//! route names its [`Action`] in the route table (`api::orgs::routes`), and the gate before
//! those routes asks [`allows`]; docs/organizations.md prints [`POLICY`] (a test keeps the two
//! the same).

use crate::store::{OrgRole, TeamRole};

/// Something a caller does to an organization, its members, teams or keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// See the organization itself.
    ReadOrganization,
    /// Rename the organization.
    ManageOrganization,
    /// List members and invitations.
    ReadMembers,
    /// Invite members, change their roles (owners excepted), remove them.
    ManageMembers,
    /// List teams and see one.
    ReadTeams,
    /// Create and rename teams.
    ManageTeams,
    /// Put members in a team, change their team role, take them out.
    ManageTeamMembers,
    /// List a team's keys (never their secrets).
    ReadTeamKeys,
    /// Create and revoke a team's own keys.
    ManageTeamKeys,
    /// Set and remove the organization's and its teams' budgets.
    ManageBudgets,
    /// Make keys of one's own that spend for the organization (`POST auth/api-keys` with its
    /// `organization_id`).
    CreateOwnKeys,
}

/// Who may take one action: the organization roles, and the team roles that suffice on their
/// own team's routes.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// The action.
    pub action: Action,
    /// Organization roles allowed anywhere in the organization.
    pub org: &'static [OrgRole],
    /// Team roles allowed on their own team (routes under `teams/{team}`).
    pub team: &'static [TeamRole],
}

use OrgRole::{Admin, Billing, Member, Owner, Viewer};

/// The policy. Owners may do everything; granting, changing or removing the owner role is
/// the owners' alone (checked by the members' handlers on top of [`Action::ManageMembers`]).
pub const POLICY: &[Rule] = &[
    Rule {
        action: Action::ReadOrganization,
        org: &[Owner, Admin, Billing, Member, Viewer],
        team: &[],
    },
    Rule {
        action: Action::ManageOrganization,
        org: &[Owner, Admin],
        team: &[],
    },
    Rule {
        action: Action::ReadMembers,
        org: &[Owner, Admin, Billing, Member, Viewer],
        team: &[],
    },
    Rule {
        action: Action::ManageMembers,
        org: &[Owner, Admin],
        team: &[],
    },
    Rule {
        action: Action::ReadTeams,
        org: &[Owner, Admin, Billing, Member, Viewer],
        team: &[],
    },
    Rule {
        action: Action::ManageTeams,
        org: &[Owner, Admin],
        team: &[],
    },
    Rule {
        action: Action::ManageTeamMembers,
        org: &[Owner, Admin],
        team: &[TeamRole::Admin],
    },
    Rule {
        action: Action::ReadTeamKeys,
        org: &[Owner, Admin, Viewer],
        team: &[TeamRole::Admin, TeamRole::Member],
    },
    Rule {
        action: Action::ManageTeamKeys,
        org: &[Owner, Admin],
        team: &[TeamRole::Admin],
    },
    Rule {
        action: Action::ManageBudgets,
        org: &[Owner, Admin, Billing],
        team: &[],
    },
    Rule {
        action: Action::CreateOwnKeys,
        org: &[Owner, Admin, Member],
        team: &[],
    },
];

/// The rule for `action`.
pub fn rule(action: Action) -> &'static Rule {
    POLICY
        .iter()
        .find(|r| r.action == action)
        .unwrap_or_else(|| unreachable!("every action has a rule: POLICY is checked by a test"))
}

/// Whether a member with `org` role (and `team` role, on a team's own routes) may take
/// `action`.
pub fn allows(action: Action, org: OrgRole, team: Option<TeamRole>) -> bool {
    let rule = rule(action);
    rule.org.contains(&org) || team.is_some_and(|t| rule.team.contains(&t))
}

/// Whether `action` only reads (an instance viewer may take it).
pub fn is_read(action: Action) -> bool {
    matches!(
        action,
        Action::ReadOrganization | Action::ReadMembers | Action::ReadTeams | Action::ReadTeamKeys
    )
}

/// The policy as the Markdown table docs/organizations.md shows.
pub fn markdown() -> String {
    let mut out = String::from(
        "| action | owner | admin | billing | member | viewer | team admin | team member |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for rule in POLICY {
        let mark = |yes: bool| if yes { "yes" } else { "no" };
        let mut row = format!("| {:?} |", rule.action);
        for role in OrgRole::ALL {
            row.push_str(&format!(" {} |", mark(rule.org.contains(role))));
        }
        for role in TeamRole::ALL {
            row.push_str(&format!(" {} |", mark(rule.team.contains(role))));
        }
        out.push_str(&row);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_one_rule_and_owners_may_do_everything() {
        let mut seen = std::collections::HashSet::new();
        for rule in POLICY {
            assert!(seen.insert(rule.action), "{:?} has two rules", rule.action);
            assert!(rule.org.contains(&Owner), "{:?}", rule.action);
        }
        assert_eq!(seen.len(), 11, "an action without a rule");
    }

    #[test]
    fn viewers_only_read_and_team_roles_only_count_on_their_team() {
        for rule in POLICY {
            if rule.org.contains(&Viewer) {
                assert!(is_read(rule.action), "{:?}", rule.action);
            }
        }
        assert!(!allows(Action::ManageTeamKeys, Member, None));
        assert!(allows(
            Action::ManageTeamKeys,
            Member,
            Some(TeamRole::Admin)
        ));
        assert!(!allows(
            Action::ManageTeamKeys,
            Member,
            Some(TeamRole::Member)
        ));
    }

    #[test]
    fn docs_show_the_policy_table() {
        let doc = include_str!("../../../docs/organizations.md");
        assert!(
            doc.contains(&markdown()),
            "docs/organizations.md does not show the policy table; it is:\n{}",
            markdown()
        );
    }
}
