-- AI Hub schema, version 2, for SQLite: per-key rate limits, budgets and budget alerts.
--
-- migrations/postgres/0002_limits_and_budgets.sql is the same change for PostgreSQL.
--
-- Plans are configuration (aihub.toml), not rows: users.plan (version 1) names one. A key's own
-- limits, when set, apply on top of its owner's plan limits.

ALTER TABLE api_keys ADD COLUMN rpm_limit INTEGER CHECK (rpm_limit > 0);
ALTER TABLE api_keys ADD COLUMN tpm_limit INTEGER CHECK (tpm_limit > 0);
ALTER TABLE api_keys ADD COLUMN max_concurrent INTEGER CHECK (max_concurrent > 0);

-- A spending limit in money on one scope (a key, a user; teams and organizations later), per
-- calendar month (in the gateway's limits time zone) or over the scope's lifetime. One budget per
-- scope and period. Amounts are nano-units of `currency`; a hard limit refuses requests that could
-- exceed it, a soft limit fires an alert once per period.
CREATE TABLE budgets (
    id TEXT NOT NULL PRIMARY KEY,
    scope TEXT NOT NULL CHECK (scope IN ('api_key', 'user', 'team', 'organization')),
    scope_id TEXT NOT NULL,
    period TEXT NOT NULL CHECK (period IN ('monthly', 'lifetime')),
    currency TEXT NOT NULL,
    hard_limit_nanos INTEGER CHECK (hard_limit_nanos >= 0),
    soft_limit_nanos INTEGER CHECK (soft_limit_nanos >= 0),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CONSTRAINT budgets_scope_period_unique UNIQUE (scope, scope_id, period)
);

-- Soft-limit alerts already sent: at most one per budget and period, across every instance.
CREATE TABLE budget_alerts (
    budget_id TEXT NOT NULL REFERENCES budgets (id) ON DELETE CASCADE,
    period_start INTEGER NOT NULL,
    spent_nanos INTEGER NOT NULL,
    fired_at INTEGER NOT NULL,
    PRIMARY KEY (budget_id, period_start)
);
