-- AI Hub schema, version 3, for PostgreSQL: who set a budget.
--
-- migrations/sqlite/0003_budget_setters.sql is the same change for SQLite.
--
-- A key can carry two budgets per period: the admin's, which binds the key's owner (they see
-- it but cannot change or remove it), and the owner's own. Both are enforced. Rows from before
-- this version cannot be told apart (the owner's and the admin's endpoints wrote the same row):
-- they become the admin's, so that no limit an admin may have set can now be lifted by the
-- owner; an owner who had set one asks the admin to change it, or sets a tighter one of their own.

ALTER TABLE budgets ADD COLUMN set_by TEXT NOT NULL DEFAULT 'admin'
    CHECK (set_by IN ('admin', 'owner'));
ALTER TABLE budgets DROP CONSTRAINT budgets_scope_period_unique;
ALTER TABLE budgets ADD CONSTRAINT budgets_scope_period_setter_unique
    UNIQUE (scope, scope_id, period, set_by);
