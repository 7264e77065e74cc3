-- AI Hub schema, version 6, for SQLite: routing deployments managed through the admin API
-- (docs/routing.md). migrations/postgres/0006_deployments.sql is the same change for PostgreSQL.
--
-- A deployment serves the model group `group_name` with `provider` (a provider configured in
-- aihub.toml) and that provider's model `upstream_model`. Its own credential, when it has one,
-- is stored encrypted (XChaCha20-Poly1305 under the operator's AIHUB_SECRETS_KEY, the
-- deployment id as associated data): credential_key_id names the key (a fingerprint),
-- credential_nonce and credential_ciphertext are base64. The plaintext is never stored.
-- version counts the row's edits; deployments_generation counts every change to the table,
-- so that each gateway instance can tell cheaply whether it must reload.
CREATE TABLE deployments (
    id TEXT PRIMARY KEY NOT NULL,
    group_name TEXT NOT NULL,
    provider TEXT NOT NULL,
    upstream_model TEXT NOT NULL,
    weight INTEGER NOT NULL DEFAULT 1 CHECK (weight >= 0),
    priority INTEGER NOT NULL DEFAULT 0 CHECK (priority >= 0),
    rpm INTEGER CHECK (rpm IS NULL OR rpm >= 0),
    tpm INTEGER CHECK (tpm IS NULL OR tpm >= 0),
    enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    credential_key_id TEXT,
    credential_nonce TEXT,
    credential_ciphertext TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    CHECK ((credential_ciphertext IS NULL) = (credential_nonce IS NULL))
);
CREATE INDEX deployments_by_group ON deployments (group_name);

CREATE TABLE deployments_generation (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    generation INTEGER NOT NULL
);
INSERT INTO deployments_generation (id, generation) VALUES (1, 0);
