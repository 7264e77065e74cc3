-- AI Hub schema, version 4, for SQLite: what each usage record knows about how its request was
-- served. migrations/postgres/0004_usage_attempts.sql is the same change for PostgreSQL.
--
-- attempts: upstream attempts the gateway made for the request (retries included); the record's
-- provider and upstream_model name the attempt that served it (or the last one tried).
-- usage_estimated: 1 when the upstream reported no usage (a stream cut short, a client that left
-- before the first byte, a provider without usage) and the gateway counted the tokens itself.
-- upstream_request_id: the provider's own id for the serving attempt, when it sent one.
ALTER TABLE usage_records ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1 CHECK (attempts >= 0);
ALTER TABLE usage_records ADD COLUMN usage_estimated INTEGER NOT NULL DEFAULT 0 CHECK (usage_estimated IN (0, 1));
ALTER TABLE usage_records ADD COLUMN upstream_request_id TEXT;
