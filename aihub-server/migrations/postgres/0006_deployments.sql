-- AI Hub schema, version 6, for PostgreSQL: routing deployments managed through the admin API.
-- migrations/sqlite/0006_deployments.sql is the same change for SQLite (see there).
CREATE TABLE deployments (
    id TEXT PRIMARY KEY NOT NULL,
    group_name TEXT NOT NULL,
    provider TEXT NOT NULL,
    upstream_model TEXT NOT NULL,
    weight BIGINT NOT NULL DEFAULT 1 CHECK (weight >= 0),
    priority BIGINT NOT NULL DEFAULT 0 CHECK (priority >= 0),
    rpm BIGINT CHECK (rpm IS NULL OR rpm >= 0),
    tpm BIGINT CHECK (tpm IS NULL OR tpm >= 0),
    enabled SMALLINT NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    credential_key_id TEXT,
    credential_nonce TEXT,
    credential_ciphertext TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    CHECK ((credential_ciphertext IS NULL) = (credential_nonce IS NULL))
);
CREATE INDEX deployments_by_group ON deployments (group_name);

CREATE TABLE deployments_generation (
    id SMALLINT PRIMARY KEY NOT NULL CHECK (id = 1),
    generation BIGINT NOT NULL
);
INSERT INTO deployments_generation (id, generation) VALUES (1, 0);
