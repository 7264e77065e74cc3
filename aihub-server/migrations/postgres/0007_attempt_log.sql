-- AI Hub schema, version 7, for PostgreSQL: the attempts of each request.
-- migrations/sqlite/0007_attempt_log.sql is the same change for SQLite (see there).
ALTER TABLE usage_records ADD COLUMN attempt_log TEXT;
