-- AI Hub schema, version 7, for SQLite: every upstream attempt a request made, kept with its
-- usage record so that a user can see the waterfall (docs/routing.md).
-- migrations/postgres/0007_attempt_log.sql is the same change for PostgreSQL.
--
-- attempt_log: a JSON array, one object per attempt in the order made:
-- {"deployment", "model" (provider/upstream model), "status" (the provider's HTTP status, or
-- null when it never answered), "latency_ms", "error" (the error kind, or null for the attempt
-- that served)}. NULL when no upstream was called (a cache hit, a request refused before its
-- first attempt) and on records written before version 7.
ALTER TABLE usage_records ADD COLUMN attempt_log TEXT;
