-- AI Hub schema, version 9, for PostgreSQL: organizations, teams and roles
-- (docs/organizations.md). migrations/sqlite/0009_tenancy.sql is the same change for SQLite,
-- and says what it is.

ALTER TABLE organizations ADD COLUMN plan TEXT NOT NULL DEFAULT 'free';
UPDATE organizations o SET plan = u.plan FROM users u WHERE u.personal_organization_id = o.id;
ALTER TABLE users DROP COLUMN plan;
ALTER TABLE users ADD COLUMN instance_role TEXT CHECK (instance_role IN ('admin', 'viewer'));

ALTER TABLE api_keys DROP CONSTRAINT api_keys_user_id_organization_id_fkey;
ALTER TABLE api_keys ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE api_keys ADD FOREIGN KEY (user_id) REFERENCES users (id);
ALTER TABLE api_keys ADD FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_owned CHECK (user_id IS NOT NULL OR team_id IS NOT NULL);
CREATE INDEX api_keys_team ON api_keys (team_id);

CREATE TABLE team_memberships (
    team_id TEXT COLLATE "C" NOT NULL,
    organization_id TEXT COLLATE "C" NOT NULL,
    user_id TEXT COLLATE "C" NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (team_id, user_id),
    FOREIGN KEY (team_id, organization_id) REFERENCES teams (id, organization_id) ON DELETE CASCADE,
    FOREIGN KEY (user_id, organization_id)
        REFERENCES memberships (user_id, organization_id) ON DELETE CASCADE
);
INSERT INTO team_memberships (team_id, organization_id, user_id, role, created_at)
    SELECT team_id, organization_id, user_id, 'member', created_at FROM memberships
    WHERE team_id IS NOT NULL;
CREATE INDEX team_memberships_user ON team_memberships (user_id, organization_id);
ALTER TABLE memberships DROP COLUMN team_id;
ALTER TABLE memberships DROP CONSTRAINT memberships_role_check;
ALTER TABLE memberships ADD CONSTRAINT memberships_role_check
    CHECK (role IN ('owner', 'admin', 'billing', 'member', 'viewer'));

ALTER TABLE usage_records ALTER COLUMN user_id DROP NOT NULL;
CREATE INDEX usage_records_team ON usage_records (team_id, created_at, id);

CREATE TABLE invitations (
    id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    organization_id TEXT COLLATE "C" NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'billing', 'member', 'viewer')),
    team_id TEXT COLLATE "C",
    team_role TEXT CHECK (team_role IN ('admin', 'member')),
    token_hash TEXT COLLATE "C" NOT NULL CONSTRAINT invitations_token_hash_unique UNIQUE,
    invited_by TEXT COLLATE "C",
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    accepted_at BIGINT,
    accepted_by TEXT COLLATE "C",
    revoked_at BIGINT,
    FOREIGN KEY (team_id, organization_id) REFERENCES teams (id, organization_id) ON DELETE CASCADE,
    CONSTRAINT invitations_team_role CHECK ((team_id IS NULL) = (team_role IS NULL))
);
CREATE INDEX invitations_organization ON invitations (organization_id, created_at, id);
