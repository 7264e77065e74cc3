-- AI Hub schema, version 3, for SQLite: who set a budget.
--
-- migrations/postgres/0003_budget_setters.sql is the same change for PostgreSQL.
--
-- A key can carry two budgets per period: the admin's, which binds the key's owner (they see
-- it but cannot change or remove it), and the owner's own. Both are enforced. Rows from before
-- this version cannot be told apart (the owner's and the admin's endpoints wrote the same row):
-- they become the admin's, so that no limit an admin may have set can now be lifted by the
-- owner; an owner who had set one asks the admin to change it, or sets a tighter one of their own.
--
-- SQLite cannot change a table's UNIQUE constraint in place, so budgets is rebuilt. With
-- foreign keys on, dropping budgets would cascade to budget_alerts, so budget_alerts is rebuilt
-- first against the new table, and renaming the new table rewrites that reference.

CREATE TABLE budgets_v3 (
    id TEXT NOT NULL PRIMARY KEY,
    scope TEXT NOT NULL CHECK (scope IN ('api_key', 'user', 'team', 'organization')),
    scope_id TEXT NOT NULL,
    period TEXT NOT NULL CHECK (period IN ('monthly', 'lifetime')),
    currency TEXT NOT NULL,
    hard_limit_nanos INTEGER CHECK (hard_limit_nanos >= 0),
    soft_limit_nanos INTEGER CHECK (soft_limit_nanos >= 0),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    set_by TEXT NOT NULL DEFAULT 'admin' CHECK (set_by IN ('admin', 'owner')),
    CONSTRAINT budgets_scope_period_setter_unique UNIQUE (scope, scope_id, period, set_by)
);
INSERT INTO budgets_v3 (id, scope, scope_id, period, currency, hard_limit_nanos,
                        soft_limit_nanos, created_at, updated_at, set_by)
    SELECT id, scope, scope_id, period, currency, hard_limit_nanos, soft_limit_nanos,
           created_at, updated_at, 'admin'
    FROM budgets;

CREATE TABLE budget_alerts_v3 (
    budget_id TEXT NOT NULL REFERENCES budgets_v3 (id) ON DELETE CASCADE,
    period_start INTEGER NOT NULL,
    spent_nanos INTEGER NOT NULL,
    fired_at INTEGER NOT NULL,
    PRIMARY KEY (budget_id, period_start)
);
INSERT INTO budget_alerts_v3 (budget_id, period_start, spent_nanos, fired_at)
    SELECT budget_id, period_start, spent_nanos, fired_at FROM budget_alerts;

DROP TABLE budget_alerts;
DROP TABLE budgets;
ALTER TABLE budgets_v3 RENAME TO budgets;
ALTER TABLE budget_alerts_v3 RENAME TO budget_alerts;
