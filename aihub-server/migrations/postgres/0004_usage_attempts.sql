-- AI Hub schema, version 4, for PostgreSQL: what each usage record knows about how its request
-- was served. migrations/sqlite/0004_usage_attempts.sql is the same change for SQLite (see there).
ALTER TABLE usage_records ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1 CHECK (attempts >= 0);
ALTER TABLE usage_records ADD COLUMN usage_estimated SMALLINT NOT NULL DEFAULT 0 CHECK (usage_estimated IN (0, 1));
ALTER TABLE usage_records ADD COLUMN upstream_request_id TEXT;
