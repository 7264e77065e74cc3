-- AI Hub schema, version 8, for PostgreSQL: the models a key may use.
-- migrations/sqlite/0008_key_models.sql is the same change for SQLite (see there).
ALTER TABLE api_keys ADD COLUMN allowed_models TEXT;
