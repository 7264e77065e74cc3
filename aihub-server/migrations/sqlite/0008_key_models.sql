-- AI Hub schema, version 8, for SQLite: the models a key may use (docs/routing.md).
-- migrations/postgres/0008_key_models.sql is the same change for PostgreSQL.
--
-- allowed_models: a JSON array of model group names and model names the key may ask for, set by
-- the operator; a fallback outside it is never attempted. NULL: every model the gateway serves.
ALTER TABLE api_keys ADD COLUMN allowed_models TEXT;
