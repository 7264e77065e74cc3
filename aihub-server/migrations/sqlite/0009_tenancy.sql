-- AI Hub schema, version 9, for SQLite: organizations, teams and roles (docs/organizations.md).
-- migrations/postgres/0009_tenancy.sql is the same change for PostgreSQL.
--
-- * Plans attach to organizations: organizations.plan, each user's plan copied to their
--   personal organization; users.plan is dropped.
-- * users.instance_role: 'admin' (manages the whole gateway, as the master key does) or
--   'viewer' (reads it all), or NULL.
-- * memberships: the organization roles owner, admin, billing, member and viewer; a member's
--   teams move to team_memberships (several per member, each with a team role admin or member).
-- * api_keys: a key belongs to a user, to a team (a service account), or to a user within a
--   team; at least one of the two. Keys no longer hang off the membership: removing a member
--   revokes their keys instead of deleting them, and a team key outlives the member who made it.
-- * usage_records.user_id may be NULL (a team key's requests), and team usage has an index.
-- * invitations: single-use, expiring, stored only as a hash of the token.
--
-- SQLite cannot drop a foreign key or a NOT NULL in place, so api_keys, memberships and
-- usage_records are rebuilt. api_keys is rebuilt first: with foreign keys on, dropping the old
-- memberships would otherwise cascade into it. Renaming a table rewrites the references to it.

ALTER TABLE organizations ADD COLUMN plan TEXT NOT NULL DEFAULT 'free';
UPDATE organizations SET plan = (SELECT u.plan FROM users u WHERE u.personal_organization_id = organizations.id)
    WHERE EXISTS (SELECT 1 FROM users u WHERE u.personal_organization_id = organizations.id);
ALTER TABLE users DROP COLUMN plan;
ALTER TABLE users ADD COLUMN instance_role TEXT CHECK (instance_role IN ('admin', 'viewer'));

CREATE TABLE api_keys_v9 (
    id TEXT NOT NULL PRIMARY KEY,
    user_id TEXT REFERENCES users (id),
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    team_id TEXT,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    key_hash TEXT NOT NULL CONSTRAINT api_keys_key_hash_unique UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER,
    last_used_at INTEGER,
    rpm_limit INTEGER CHECK (rpm_limit > 0),
    tpm_limit INTEGER CHECK (tpm_limit > 0),
    max_concurrent INTEGER CHECK (max_concurrent > 0),
    cache_enabled INTEGER CHECK (cache_enabled IN (0, 1)),
    allowed_models TEXT,
    FOREIGN KEY (team_id, organization_id) REFERENCES teams (id, organization_id),
    CONSTRAINT api_keys_owned CHECK (user_id IS NOT NULL OR team_id IS NOT NULL)
);
INSERT INTO api_keys_v9 (id, user_id, organization_id, team_id, name, prefix, key_hash,
                         created_at, expires_at, revoked_at, last_used_at, rpm_limit, tpm_limit,
                         max_concurrent, cache_enabled, allowed_models)
    SELECT id, user_id, organization_id, team_id, name, prefix, key_hash, created_at, expires_at,
           revoked_at, last_used_at, rpm_limit, tpm_limit, max_concurrent, cache_enabled,
           allowed_models
    FROM api_keys;
DROP TABLE api_keys;
ALTER TABLE api_keys_v9 RENAME TO api_keys;
CREATE INDEX api_keys_user ON api_keys (user_id, created_at);
CREATE INDEX api_keys_organization ON api_keys (organization_id);
CREATE INDEX api_keys_team ON api_keys (team_id);

CREATE TABLE memberships_v9 (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'billing', 'member', 'viewer')),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, organization_id)
);
INSERT INTO memberships_v9 (user_id, organization_id, role, created_at)
    SELECT user_id, organization_id, role, created_at FROM memberships;

CREATE TABLE team_memberships (
    team_id TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (team_id, user_id),
    FOREIGN KEY (team_id, organization_id) REFERENCES teams (id, organization_id) ON DELETE CASCADE,
    FOREIGN KEY (user_id, organization_id)
        REFERENCES memberships_v9 (user_id, organization_id) ON DELETE CASCADE
);
INSERT INTO team_memberships (team_id, organization_id, user_id, role, created_at)
    SELECT team_id, organization_id, user_id, 'member', created_at FROM memberships
    WHERE team_id IS NOT NULL;
DROP TABLE memberships;
ALTER TABLE memberships_v9 RENAME TO memberships;
CREATE INDEX memberships_organization ON memberships (organization_id);
CREATE INDEX team_memberships_user ON team_memberships (user_id, organization_id);

CREATE TABLE usage_records_v9 (
    id TEXT NOT NULL PRIMARY KEY,
    request_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    api_key_id TEXT,
    user_id TEXT,
    organization_id TEXT NOT NULL,
    team_id TEXT,
    model TEXT NOT NULL,
    provider TEXT NOT NULL,
    upstream_model TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL CHECK (prompt_tokens >= 0),
    completion_tokens INTEGER NOT NULL CHECK (completion_tokens >= 0),
    cached_tokens INTEGER NOT NULL CHECK (cached_tokens >= 0),
    reasoning_tokens INTEGER NOT NULL CHECK (reasoning_tokens >= 0),
    cost_nanos INTEGER,
    currency TEXT,
    latency_ms INTEGER NOT NULL,
    ttft_ms INTEGER,
    status INTEGER NOT NULL,
    error_type TEXT,
    stream INTEGER NOT NULL CHECK (stream IN (0, 1)),
    attempts INTEGER NOT NULL DEFAULT 1 CHECK (attempts >= 0),
    usage_estimated INTEGER NOT NULL DEFAULT 0 CHECK (usage_estimated IN (0, 1)),
    upstream_request_id TEXT,
    cache_hit INTEGER NOT NULL DEFAULT 0 CHECK (cache_hit IN (0, 1)),
    attempt_log TEXT,
    CONSTRAINT usage_records_priced CHECK ((cost_nanos IS NULL) = (currency IS NULL))
);
INSERT INTO usage_records_v9 (id, request_id, created_at, api_key_id, user_id, organization_id,
                              team_id, model, provider, upstream_model, prompt_tokens,
                              completion_tokens, cached_tokens, reasoning_tokens, cost_nanos,
                              currency, latency_ms, ttft_ms, status, error_type, stream, attempts,
                              usage_estimated, upstream_request_id, cache_hit, attempt_log)
    SELECT id, request_id, created_at, api_key_id, user_id, organization_id, team_id, model,
           provider, upstream_model, prompt_tokens, completion_tokens, cached_tokens,
           reasoning_tokens, cost_nanos, currency, latency_ms, ttft_ms, status, error_type, stream,
           attempts, usage_estimated, upstream_request_id, cache_hit, attempt_log
    FROM usage_records;
DROP TABLE usage_records;
ALTER TABLE usage_records_v9 RENAME TO usage_records;
CREATE INDEX usage_records_user ON usage_records (user_id, created_at, id);
CREATE INDEX usage_records_api_key ON usage_records (api_key_id, created_at, id);
CREATE INDEX usage_records_organization ON usage_records (organization_id, created_at, id);
CREATE INDEX usage_records_team ON usage_records (team_id, created_at, id);

-- Invitations into an organization (and optionally a team): single-use, expiring, and stored
-- only as a hash of the token the inviter hands on.
CREATE TABLE invitations (
    id TEXT NOT NULL PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'billing', 'member', 'viewer')),
    team_id TEXT,
    team_role TEXT CHECK (team_role IN ('admin', 'member')),
    token_hash TEXT NOT NULL CONSTRAINT invitations_token_hash_unique UNIQUE,
    invited_by TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    accepted_at INTEGER,
    accepted_by TEXT,
    revoked_at INTEGER,
    FOREIGN KEY (team_id, organization_id) REFERENCES teams (id, organization_id) ON DELETE CASCADE,
    CONSTRAINT invitations_team_role CHECK ((team_id IS NULL) = (team_role IS NULL))
);
CREATE INDEX invitations_organization ON invitations (organization_id, created_at, id);
