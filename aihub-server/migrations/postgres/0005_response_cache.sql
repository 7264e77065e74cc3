-- AI Hub schema, version 5, for PostgreSQL: the exact-match response cache.
-- migrations/sqlite/0005_response_cache.sql is the same change for SQLite (see there).
ALTER TABLE api_keys ADD COLUMN cache_enabled SMALLINT CHECK (cache_enabled IN (0, 1));
ALTER TABLE usage_records ADD COLUMN cache_hit SMALLINT NOT NULL DEFAULT 0 CHECK (cache_hit IN (0, 1));
