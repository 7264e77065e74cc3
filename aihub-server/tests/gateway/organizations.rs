//! Organizations, roles, invitations and team keys, through the management API.

use aihub_server::api::orgs::routes;
use aihub_server::auth::policy;
use aihub_server::store::{OrgRole, TeamRole};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::limits::harness;
use crate::{Gateway, MASTER, chat};

/// The gateway's own database, for checks the API cannot make.
async fn raw(g: &Gateway) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::AnyPool::connect(&g.state.config.database_url)
        .await
        .unwrap()
}

/// The first column of every row `sql` selects, as text.
async fn texts(g: &Gateway, sql: &str) -> Vec<String> {
    sqlx::query_scalar::<_, String>(sql)
        .fetch_all(&raw(g).await)
        .await
        .unwrap()
}

/// A user's id, read from the key `Gateway::user` made them.
async fn user_id(g: &Gateway, token: &str) -> String {
    let (_, keys) = g.get("/api/v1/auth/api-keys", Some(token)).await;
    keys["data"][0]["user_id"].as_str().unwrap().to_owned()
}

/// An organization `name` owned by `owner`'s user, with a team `team`: their ids.
async fn org_with_team(g: &Gateway, owner: &str, name: &str, team: &str) -> (String, String) {
    let (status, org) = g
        .post("/api/v1/organizations", Some(owner), &json!({"name": name}))
        .await;
    assert_eq!(
        (status, org["role"].as_str()),
        (201, Some("owner")),
        "{org}"
    );
    let org = org["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/organizations/{org}/teams");
    let (status, team) = g.post(&path, Some(owner), &json!({"name": team})).await;
    assert_eq!(status, 201, "{team}");
    (org, team["id"].as_str().unwrap().to_owned())
}

/// Invites `email` into `org` with `role` (and a team role), and has them accept.
async fn join(
    g: &Gateway,
    owner: &str,
    org: &str,
    token: &str,
    email: &str,
    role: &str,
    team: Option<(&str, &str)>,
) {
    let mut body = json!({"email": email, "role": role});
    if let Some((team, team_role)) = team {
        body["team_id"] = json!(team);
        body["team_role"] = json!(team_role);
    }
    let path = format!("/api/v1/organizations/{org}/invitations");
    let (status, invitation) = g.post(&path, Some(owner), &body).await;
    assert_eq!(status, 201, "{invitation}");
    let accept = json!({"token": invitation["token"]});
    let (status, accepted) = g
        .post("/api/v1/invitations/accept", Some(token), &accept)
        .await;
    assert_eq!(status, 200, "{accepted}");
    assert_eq!(accepted["status"], "accepted");
}

/// An organization with a team and a member of every role: `(org, team, callers)`, each
/// caller `(name, session, org role, team role)`.
struct Fixture {
    org: String,
    team: String,
    owner: String,
    callers: Vec<(&'static str, String, Option<OrgRole>, Option<TeamRole>)>,
    target: String,
    team_key: String,
}

async fn fixture(g: &Gateway) -> Fixture {
    let (owner, _) = g.user("owner@example.com").await;
    let (org, team) = org_with_team(g, &owner, "Acme", "search").await;
    let mut callers = vec![("owner", owner.clone(), Some(OrgRole::Owner), None)];
    for (name, role, team_role) in [
        ("admin", "admin", None),
        ("billing", "billing", None),
        ("member", "member", None),
        ("viewer", "viewer", None),
        ("team-admin", "member", Some("admin")),
        ("team-member", "member", Some("member")),
    ] {
        let email = format!("{name}@example.com");
        let (session, _) = g.user(&email).await;
        join(
            g,
            &owner,
            &org,
            &session,
            &email,
            role,
            team_role.map(|r| (team.as_str(), r)),
        )
        .await;
        callers.push((
            name,
            session,
            OrgRole::parse(role),
            team_role.and_then(TeamRole::parse),
        ));
    }
    let (target_session, _) = g.user("target@example.com").await;
    join(
        g,
        &owner,
        &org,
        &target_session,
        "target@example.com",
        "member",
        Some((&team, "member")),
    )
    .await;
    let target = user_id(g, &target_session).await;
    let (status, key) = g
        .post(
            &format!("/api/v1/organizations/{org}/teams/{team}/api-keys"),
            Some(&owner),
            &json!({"name": "service"}),
        )
        .await;
    assert_eq!(status, 201, "{key}");
    assert_eq!(key["user_id"], Value::Null);
    Fixture {
        org,
        team,
        owner,
        callers,
        target,
        team_key: key["id"].as_str().unwrap().to_owned(),
    }
}

fn path_of(f: &Fixture, template: &str) -> String {
    format!("/api/v1{template}")
        .replace("{org}", &f.org)
        .replace("{team}", &f.team)
        .replace("{user}", &f.target)
        .replace("{key}", &f.team_key)
        .replace("{invitation}", "00000000-0000-0000-0000-000000000000")
}

/// Whether an answer is the gate's refusal (403), or the not-a-member 404.
fn refused_by_gate(status: u16, body: &Value) -> bool {
    status == 403 || (status == 404 && body["error"]["code"] == "organization_not_found")
}

#[tokio::test]
async fn every_route_answers_every_role_as_the_policy_table_says() {
    let g = Gateway::start().await;
    let f = fixture(&g).await;
    let (outsider, _) = g.user("outsider@example.com").await;
    let (viewer_session, _) = g.user("instance-viewer@example.com").await;
    let viewer_id = user_id(&g, &viewer_session).await;
    let (status, body) = g
        .call(
            Method::PUT,
            &format!("/api/v1/admin/users/{viewer_id}/instance-role"),
            Some(MASTER),
            Some(&json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let table = routes();
    assert_eq!(
        table.len(),
        22,
        "a route was added: give it a row in this walk"
    );
    let mut checked = 0;
    for route in &table {
        let path = path_of(&f, &route.path());
        let team_route = route.sub_path.starts_with("/teams/{team}");
        for (name, session, org_role, team_role) in &f.callers {
            let expected = policy::allows(
                route.action,
                org_role.unwrap(),
                team_role.filter(|_| team_route),
            );
            let (status, body) = g
                .call(route.method.clone(), &path, Some(session), Some(&json!({})))
                .await;
            assert_eq!(
                !refused_by_gate(status, &body),
                expected,
                "{name} on {} {path}: {status} {body}",
                route.method
            );
            checked += 1;
        }
        let (status, body) = g
            .call(
                route.method.clone(),
                &path,
                Some(&outsider),
                Some(&json!({})),
            )
            .await;
        assert_eq!(status, 404, "an outsider on {path}: {body}");
        assert_eq!(body["error"]["code"], "organization_not_found");
        let (status, body) = g
            .call(
                route.method.clone(),
                &path,
                Some(&viewer_session),
                Some(&json!({})),
            )
            .await;
        assert_eq!(
            !refused_by_gate(status, &body),
            policy::is_read(route.action),
            "the instance viewer on {} {path}: {status} {body}",
            route.method
        );
    }
    assert_eq!(checked, 22 * 7);
    // The master key passes every gate.
    for route in &table {
        let path = path_of(&f, &route.path());
        let (status, body) = g
            .call(route.method.clone(), &path, Some(MASTER), Some(&json!({})))
            .await;
        assert!(!refused_by_gate(status, &body), "{path}: {status} {body}");
    }
}

#[tokio::test]
async fn another_organizations_members_see_nothing_of_this_one() {
    let g = Gateway::start().await;
    let f = fixture(&g).await;
    let (rival, _) = g.user("rival@example.com").await;
    let (_, other) = g
        .post(
            "/api/v1/organizations",
            Some(&rival),
            &json!({"name": "Rival"}),
        )
        .await;
    let other = other["id"].as_str().unwrap();
    // The rival owns their organization; in Acme they are nobody.
    for route in routes() {
        let path = path_of(&f, &route.path());
        let (status, body) = g
            .call(route.method.clone(), &path, Some(&rival), Some(&json!({})))
            .await;
        assert_eq!(status, 404, "{path}: {body}");
    }
    // And Acme's owner cannot reach into the rival's organization with Acme's ids.
    let path = format!("/api/v1/organizations/{other}/teams/{}", f.team);
    let (status, body) = g.get(&path, Some(&f.owner)).await;
    assert_eq!(status, 404, "{body}");
    let (status, mine) = g.get("/api/v1/organizations", Some(&rival)).await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = mine["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert!(!ids.contains(&f.org.as_str()), "{mine}");
    assert_eq!(ids.len(), 2, "personal and Rival: {mine}");
}

#[tokio::test]
async fn an_invitation_works_once_for_its_address_and_only_its_hash_is_kept() {
    let run = |db: Option<String>| async move {
        let g = Gateway::start_setup(db, "", crate::UNLIMITED_FREE).await;
        let (owner, _) = g.user("boss@example.com").await;
        let (_, org) = g
            .post(
                "/api/v1/organizations",
                Some(&owner),
                &json!({"name": "Co"}),
            )
            .await;
        let org = org["id"].as_str().unwrap().to_owned();
        let invite = |email: &'static str| {
            let g = &g;
            let owner = owner.clone();
            let org = org.clone();
            async move {
                let (status, body) = g
                    .post(
                        &format!("/api/v1/organizations/{org}/invitations"),
                        Some(&owner),
                        &json!({"email": email, "role": "viewer"}),
                    )
                    .await;
                assert_eq!(status, 201, "{body}");
                body
            }
        };
        let first = invite("new@example.com").await;
        let token = first["token"].as_str().unwrap().to_owned();
        assert!(
            first["link"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/invite#token={token}"))
        );
        let (invitee, _) = g.user("new@example.com").await;
        let (stranger, _) = g.user("stranger@example.com").await;

        // Another address cannot use it; an altered token names no invitation.
        let accept = |t: &str| json!({"token": t});
        let (status, body) = g
            .post(
                "/api/v1/invitations/accept",
                Some(&stranger),
                &accept(&token),
            )
            .await;
        assert_eq!(status, 403, "{body}");
        let mut altered = token.clone();
        let last = altered.pop().unwrap();
        altered.push(if last == 'a' { 'b' } else { 'a' });
        let (status, body) = g
            .post(
                "/api/v1/invitations/accept",
                Some(&invitee),
                &accept(&altered),
            )
            .await;
        assert_eq!(status, 404, "{body}");
        assert_eq!(body["error"]["code"], "invitation_not_found");

        let (status, body) = g
            .post(
                "/api/v1/invitations/accept",
                Some(&invitee),
                &accept(&token),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = g
            .post(
                "/api/v1/invitations/accept",
                Some(&invitee),
                &accept(&token),
            )
            .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"]["code"], "invitation_used");
        let (status, body) = g
            .get(&format!("/api/v1/organizations/{org}"), Some(&invitee))
            .await;
        assert_eq!((status, body["role"].as_str()), (200, Some("viewer")));

        // An expired one is refused.
        let late = invite("late@example.com").await;
        let (late_session, _) = g.user("late@example.com").await;
        sqlx::query("UPDATE invitations SET expires_at = 1 WHERE id = $1")
            .bind(late["id"].as_str().unwrap())
            .execute(&raw(&g).await)
            .await
            .unwrap();
        let (status, body) = g
            .post(
                "/api/v1/invitations/accept",
                Some(&late_session),
                &accept(late["token"].as_str().unwrap()),
            )
            .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"]["code"], "invitation_expired");

        // The database holds the hash, never the token.
        let dump = texts(&g, "SELECT token_hash FROM invitations ORDER BY created_at").await;
        let hash = format!("{:x}", Sha256::digest(token.as_bytes()));
        assert_eq!(dump.len(), 2);
        assert_eq!(dump[0], hash);
        assert!(dump.iter().all(|h| !h.contains(&token[4..])), "{dump:?}");
    };
    run(None).await;
    harness::in_fresh_postgres(move |db| async move { run(Some(db)).await }).await;
}

#[tokio::test]
async fn a_team_key_outlives_its_maker_whose_own_keys_are_revoked() {
    let run = |db: Option<String>| async move {
        let g = Gateway::start_setup(db, "", crate::UNLIMITED_FREE).await;
        let (owner, _) = g.user("lead@example.com").await;
        let (org, team) = org_with_team(&g, &owner, "Lab", "ml").await;
        let (maker, _) = g.user("maker@example.com").await;
        join(
            &g,
            &owner,
            &org,
            &maker,
            "maker@example.com",
            "member",
            Some((&team, "admin")),
        )
        .await;
        let maker_id = user_id(&g, &maker).await;
        // The team admin makes a team key; as a member they make their own key for the team.
        let (status, team_key) = g
            .post(
                &format!("/api/v1/organizations/{org}/teams/{team}/api-keys"),
                Some(&maker),
                &json!({"name": "ci"}),
            )
            .await;
        assert_eq!(status, 201, "{team_key}");
        let (status, own_key) = g
            .post(
                "/api/v1/auth/api-keys",
                Some(&maker),
                &json!({"name": "mine", "organization_id": org, "team_id": team}),
            )
            .await;
        assert_eq!(status, 201, "{own_key}");
        assert_eq!(own_key["team_id"], json!(team));
        let team_secret = team_key["key"].as_str().unwrap();
        let own_secret = own_key["key"].as_str().unwrap();
        for secret in [team_secret, own_secret] {
            let (status, body) = g
                .post(
                    "/v1/chat/completions",
                    Some(secret),
                    &chat("mock/gpt-4o-mini", "hi"),
                )
                .await;
            assert_eq!(status, 200, "{body}");
        }

        let (status, body) = g
            .call(
                Method::DELETE,
                &format!("/api/v1/organizations/{org}/members/{maker_id}"),
                Some(&owner),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = g
            .post(
                "/v1/chat/completions",
                Some(own_secret),
                &chat("mock/gpt-4o-mini", "hi"),
            )
            .await;
        assert_eq!(status, 401, "the removed member's key is revoked: {body}");
        assert_eq!(body["error"]["code"], "api_key_revoked");
        let (status, body) = g
            .post(
                "/v1/chat/completions",
                Some(team_secret),
                &chat("mock/gpt-4o-mini", "hi"),
            )
            .await;
        assert_eq!(status, 200, "the team key keeps working: {body}");

        // The team's keys are listed with their owners; the team key's usage has no user.
        let (_, keys) = g
            .get(
                &format!("/api/v1/organizations/{org}/teams/{team}/api-keys"),
                Some(&owner),
            )
            .await;
        let statuses: Vec<(&Value, &str)> = keys["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| (&k["user_id"], k["status"].as_str().unwrap()))
            .collect();
        assert_eq!(
            statuses,
            vec![(&json!(maker_id), "revoked"), (&Value::Null, "active")],
            "{keys}"
        );
        let sql =
            format!("SELECT COALESCE(user_id, 'none') FROM usage_records WHERE team_id = '{team}'");
        let mut users = texts(&g, &sql).await;
        for _ in 0..100 {
            if users.len() >= 3 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            users = texts(&g, &sql).await;
        }
        users.sort();
        let mut expected = vec![maker_id, "none".to_owned(), "none".to_owned()];
        expected.sort();
        assert_eq!(users, expected);
    };
    run(None).await;
    harness::in_fresh_postgres(move |db| async move { run(Some(db)).await }).await;
}

#[tokio::test]
async fn owners_alone_touch_the_owner_role_and_the_last_owner_stays() {
    let g = Gateway::start().await;
    let f = fixture(&g).await;
    let admin = &f.callers[1].1;
    let owner_id = user_id(&g, &f.owner).await;
    let members = format!("/api/v1/organizations/{}/members", f.org);
    let (status, body) = g
        .call(
            Method::PUT,
            &format!("{members}/{}", f.target),
            Some(admin),
            Some(&json!({"role": "owner"})),
        )
        .await;
    assert_eq!(status, 403, "an admin cannot make an owner: {body}");
    let (status, body) = g
        .call(
            Method::DELETE,
            &format!("{members}/{owner_id}"),
            Some(admin),
            None,
        )
        .await;
    assert_eq!(status, 403, "an admin cannot remove an owner: {body}");
    let (status, body) = g
        .call(
            Method::PUT,
            &format!("{members}/{owner_id}"),
            Some(&f.owner),
            Some(&json!({"role": "admin"})),
        )
        .await;
    assert_eq!(status, 400, "the last owner stays: {body}");
    assert_eq!(body["error"]["param"], "role");
    // With a second owner, the first may step down.
    let (status, body) = g
        .call(
            Method::PUT,
            &format!("{members}/{}", f.target),
            Some(&f.owner),
            Some(&json!({"role": "owner"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = g
        .call(
            Method::PUT,
            &format!("{members}/{owner_id}"),
            Some(&f.owner),
            Some(&json!({"role": "admin"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, page) = g.get(&format!("{members}?limit=3"), Some(admin)).await;
    assert_eq!(page["data"].as_array().unwrap().len(), 3);
    assert_eq!(page["has_more"], true);
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, rest) = g
        .get(&format!("{members}?limit=100&cursor={cursor}"), Some(admin))
        .await;
    assert_eq!(
        rest["data"].as_array().unwrap().len(),
        5,
        "8 members, 3 then 5: {rest}"
    );
}

#[tokio::test]
async fn an_instance_admins_session_opens_the_admin_api_and_a_viewers_only_to_read() {
    let g = Gateway::start().await;
    let (admin, _) = g.user("ops@example.com").await;
    let (viewer, _) = g.user("auditor@example.com").await;
    let (plain, _) = g.user("plain@example.com").await;
    let plain_id = user_id(&g, &plain).await;
    for (session, role) in [(&admin, "admin"), (&viewer, "viewer")] {
        let id = user_id(&g, session).await;
        let (status, body) = g
            .call(
                Method::PUT,
                &format!("/api/v1/admin/users/{id}/instance-role"),
                Some(MASTER),
                Some(&json!({"role": role})),
            )
            .await;
        assert_eq!((status, body["instance_role"].as_str()), (200, Some(role)));
    }
    let plan = format!("/api/v1/admin/users/{plain_id}/plan");
    let body = json!({"plan": "free"});
    let (status, answer) = g.call(Method::PUT, &plan, Some(&admin), Some(&body)).await;
    assert_eq!(status, 200, "an instance admin changes a plan: {answer}");
    let (status, answer) = g.call(Method::PUT, &plan, Some(&viewer), Some(&body)).await;
    assert_eq!(status, 403, "a viewer cannot: {answer}");
    let (status, answer) = g.call(Method::PUT, &plan, Some(&plain), Some(&body)).await;
    assert_eq!(status, 401, "a plain user is no operator: {answer}");
    for session in [&admin, &viewer] {
        let (status, answer) = g.get("/api/v1/admin/deployments", Some(session)).await;
        assert_eq!(status, 200, "{answer}");
    }
    let (status, answer) = g.get("/api/v1/admin/deployments", Some(&plain)).await;
    assert_eq!(status, 401, "{answer}");
}

#[tokio::test]
async fn every_budget_over_a_team_key_binds_it_and_the_refusal_names_the_level() {
    let run = |db: Option<String>| async move {
        let g = Gateway::start_setup(db, "", crate::UNLIMITED_FREE).await;
        let (owner, _) = g.user("cfo@example.com").await;
        let (org, team) = org_with_team(&g, &owner, "Fin", "ops").await;
        let (member, _) = g.user("dev@example.com").await;
        join(
            &g,
            &owner,
            &org,
            &member,
            "dev@example.com",
            "member",
            Some((&team, "member")),
        )
        .await;
        let member_id = user_id(&g, &member).await;
        let (_, team_key) = g
            .post(
                &format!("/api/v1/organizations/{org}/teams/{team}/api-keys"),
                Some(&owner),
                &json!({"name": "svc"}),
            )
            .await;
        let (_, member_key) = g
            .post(
                "/api/v1/auth/api-keys",
                Some(&member),
                &json!({"name": "mine", "organization_id": org, "team_id": team}),
            )
            .await;
        let org_budget = format!("/api/v1/organizations/{org}/budget");
        let team_budget = format!("/api/v1/organizations/{org}/teams/{team}/budget");
        let user_budget = format!("/api/v1/admin/users/{member_id}/budget");
        let set = |path: String, bearer: String, limit: &'static str| {
            let g = &g;
            async move {
                let (status, body) = g
                    .call(
                        Method::PUT,
                        &path,
                        Some(&bearer),
                        Some(&json!({"hard_limit": limit})),
                    )
                    .await;
                assert_eq!(status, 200, "{path}: {body}");
            }
        };
        let ask = |secret: String| {
            let g = &g;
            async move {
                let before = g.mock.requests().len();
                let (status, body) = g
                    .post(
                        "/v1/chat/completions",
                        Some(&secret),
                        &chat("mock/gpt-4o-mini", "hi"),
                    )
                    .await;
                let called = g.mock.requests().len() > before;
                (status, body["error"]["limit"].clone(), called)
            }
        };
        let team_secret = team_key["key"].as_str().unwrap().to_owned();
        let member_secret = member_key["key"].as_str().unwrap().to_owned();
        let (status, _, called) = ask(team_secret.clone()).await;
        assert_eq!((status, called), (200, true), "no budget yet");

        // The organization's budget is spent (a nano-unit), the team's has room.
        set(org_budget.clone(), owner.clone(), "0.000000001").await;
        set(team_budget.clone(), owner.clone(), "100").await;
        for secret in [&team_secret, &member_secret] {
            let (status, limit, called) = ask(secret.clone()).await;
            assert_eq!(
                (status, limit, called),
                (429, json!("budget.organization.monthly"), false)
            );
        }
        // Swapped: the team's refuses.
        set(org_budget.clone(), owner.clone(), "100").await;
        set(team_budget.clone(), owner.clone(), "0.000000001").await;
        let (status, limit, called) = ask(team_secret.clone()).await;
        assert_eq!(
            (status, limit, called),
            (429, json!("budget.team.monthly"), false)
        );
        // With room in both, a user's own budget binds their key for the team.
        set(team_budget.clone(), owner.clone(), "100").await;
        set(user_budget, MASTER.to_owned(), "0.000000001").await;
        let (status, limit, called) = ask(member_secret.clone()).await;
        assert_eq!(
            (status, limit, called),
            (429, json!("budget.user.monthly"), false)
        );
        let (status, _, called) = ask(team_secret.clone()).await;
        assert_eq!(
            (status, called),
            (200, true),
            "the team's own key has no user"
        );
        // A member may not set the organization's budget.
        let (status, body) = g
            .call(
                Method::PUT,
                &org_budget,
                Some(&member),
                Some(&json!({"hard_limit": "1000"})),
            )
            .await;
        assert_eq!(status, 403, "{body}");
    };
    run(None).await;
    harness::in_fresh_postgres(move |db| async move { run(Some(db)).await }).await;
}

#[tokio::test]
async fn making_a_key_that_spends_for_an_organization_asks_the_policy() {
    let g = Gateway::start().await;
    let f = fixture(&g).await;
    for (name, session, role, _) in &f.callers {
        let (status, body) = g
            .post(
                "/api/v1/auth/api-keys",
                Some(session),
                &json!({"name": "mine", "organization_id": f.org}),
            )
            .await;
        let allowed = policy::allows(policy::Action::CreateOwnKeys, role.unwrap(), None);
        assert_eq!(status == 201, allowed, "{name}: {status} {body}");
        if !allowed {
            assert_eq!(status, 403, "{name}: {body}");
        }
    }
    // A viewer and a billing member are among the callers, so both outcomes were seen.
    let (outsider, _) = g.user("nobody@example.com").await;
    let (status, body) = g
        .post(
            "/api/v1/auth/api-keys",
            Some(&outsider),
            &json!({"name": "x", "organization_id": f.org}),
        )
        .await;
    assert_eq!(status, 404, "{body}");
}
