-- AI Hub schema, version 1, for PostgreSQL.
--
-- migrations/sqlite/0001_initial_schema.sql is the same schema for SQLite: the same tables,
-- columns, constraints and indexes under the same names; only the column types differ. Change both
-- together, and only by adding a new numbered migration: applied migrations are checksummed.
--
-- Conventions: ids are UUID text (lowercase, hyphenated); times are unix milliseconds, UTC; money
-- is an integer count of nano-units (1e-9 of the currency unit) next to an ISO 4217 currency code;
-- flags are 0/1 integers. No floating point anywhere.
-- PostgreSQL types: ids and hashes are TEXT COLLATE "C" (byte order, as in SQLite and Rust, and
-- cheaper comparisons than a linguistic collation); times, token counts and money are BIGINT;
-- flags SMALLINT; HTTP status INTEGER.
--
-- Tenancy: organizations contain teams; users belong to organizations through memberships (and
-- optionally to one team there). Every user owns a personal organization. Budgets, plans and the
-- audit log come in later migrations and hang off organizations, teams, users and api_keys.

CREATE TABLE organizations (
    id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    personal SMALLINT NOT NULL DEFAULT 0 CHECK (personal IN (0, 1)),
    created_at BIGINT NOT NULL
);

CREATE TABLE teams (
    id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    organization_id TEXT COLLATE "C" NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT teams_name_unique UNIQUE (organization_id, name),
    -- Target of the composite foreign keys that keep a team inside its organization.
    CONSTRAINT teams_id_organization_unique UNIQUE (id, organization_id)
);

-- email is stored trimmed and lowercased by the application, so UNIQUE is case-insensitive.
CREATE TABLE users (
    id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    email TEXT NOT NULL CONSTRAINT users_email_unique UNIQUE,
    password_hash TEXT NOT NULL,
    plan TEXT NOT NULL DEFAULT 'free',
    personal_organization_id TEXT COLLATE "C" NOT NULL REFERENCES organizations (id),
    created_at BIGINT NOT NULL,
    disabled_at BIGINT
);

CREATE TABLE memberships (
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    organization_id TEXT COLLATE "C" NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    team_id TEXT COLLATE "C",
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, organization_id),
    FOREIGN KEY (team_id, organization_id) REFERENCES teams (id, organization_id)
);
CREATE INDEX memberships_organization ON memberships (organization_id);

-- Browser sessions; only a hash of the session token is stored.
CREATE TABLE sessions (
    token_hash TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- API keys; only a hash of the key is stored, plus its displayable prefix. A key belongs to a
-- membership (so its user is a member of its organization) and optionally to a team of that
-- organization; removing the membership removes its keys.
CREATE TABLE api_keys (
    id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    user_id TEXT COLLATE "C" NOT NULL,
    organization_id TEXT COLLATE "C" NOT NULL,
    team_id TEXT COLLATE "C",
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    key_hash TEXT COLLATE "C" NOT NULL CONSTRAINT api_keys_key_hash_unique UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT,
    last_used_at BIGINT,
    FOREIGN KEY (user_id, organization_id)
        REFERENCES memberships (user_id, organization_id) ON DELETE CASCADE,
    FOREIGN KEY (team_id, organization_id) REFERENCES teams (id, organization_id)
);
CREATE INDEX api_keys_user ON api_keys (user_id, created_at);
CREATE INDEX api_keys_organization ON api_keys (organization_id);

-- One row per proxied request. This is an append-only ledger: it has no foreign keys, so records
-- outlive the keys, teams and users they name, and the hot write path does no lookups.
-- cost_nanos and currency are both set (a priced request) or both NULL (no price known).
CREATE TABLE usage_records (
    id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    request_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    api_key_id TEXT COLLATE "C",
    user_id TEXT COLLATE "C" NOT NULL,
    organization_id TEXT COLLATE "C" NOT NULL,
    team_id TEXT COLLATE "C",
    model TEXT NOT NULL,
    provider TEXT NOT NULL,
    upstream_model TEXT NOT NULL,
    prompt_tokens BIGINT NOT NULL CHECK (prompt_tokens >= 0),
    completion_tokens BIGINT NOT NULL CHECK (completion_tokens >= 0),
    cached_tokens BIGINT NOT NULL CHECK (cached_tokens >= 0),
    reasoning_tokens BIGINT NOT NULL CHECK (reasoning_tokens >= 0),
    cost_nanos BIGINT,
    currency TEXT,
    latency_ms BIGINT NOT NULL,
    ttft_ms BIGINT,
    status INTEGER NOT NULL,
    error_type TEXT,
    stream SMALLINT NOT NULL CHECK (stream IN (0, 1)),
    CONSTRAINT usage_records_priced CHECK ((cost_nanos IS NULL) = (currency IS NULL))
);
-- Every listing is "newest first" with (created_at, id) as the keyset, so id ends each index.
CREATE INDEX usage_records_user ON usage_records (user_id, created_at, id);
CREATE INDEX usage_records_api_key ON usage_records (api_key_id, created_at, id);
CREATE INDEX usage_records_organization ON usage_records (organization_id, created_at, id);
