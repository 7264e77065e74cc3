-- AI Hub schema, version 5, for SQLite: the exact-match response cache.
-- migrations/postgres/0005_response_cache.sql is the same change for PostgreSQL.
--
-- api_keys.cache_enabled: whether answers to the key's requests are cached by default; NULL
-- follows the configuration's `[cache] enabled`. A request can still opt in or out itself.
-- usage_records.cache_hit: 1 when the answer was served from the response cache (no upstream was
-- called); the token columns then hold the tokens served, and cost_nanos what the hit was charged.
ALTER TABLE api_keys ADD COLUMN cache_enabled INTEGER CHECK (cache_enabled IN (0, 1));
ALTER TABLE usage_records ADD COLUMN cache_hit INTEGER NOT NULL DEFAULT 0 CHECK (cache_hit IN (0, 1));
