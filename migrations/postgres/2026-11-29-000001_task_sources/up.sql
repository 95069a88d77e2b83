-- Lists of open deadlines read partial indexes whose condition is
-- `(status || '') IN ('pending', 'overdue')`, the expression the queries
-- write literally: no index on `status` can serve it, so the planner never
-- reads all open rows through a status index and sorts them.
DROP INDEX deadlines_open_due;
DROP INDEX deadlines_open_id;
DROP INDEX deadlines_open_by_id;
-- the sweep reads `deadlines_open_due`; lists filtered by status page by id
DROP INDEX deadlines_sweep;
CREATE INDEX deadlines_status ON deadlines (status, id);
-- the overdue list, most overdue first; the sweep
CREATE INDEX deadlines_open_due ON deadlines (due_at, id)
    WHERE (status || '') IN ('pending', 'overdue');
-- a project department's overdue list
CREATE INDEX deadlines_open_scope ON deadlines (scope_path, due_at)
    WHERE (status || '') IN ('pending', 'overdue');
-- the task list's three sources, each in (due_at, id) order
CREATE INDEX deadlines_open_assignee ON deadlines (assignee_user_id, due_at, id)
    WHERE (status || '') IN ('pending', 'overdue');
CREATE INDEX deadlines_open_role ON deadlines (assignee_role, due_at, id)
    WHERE (status || '') IN ('pending', 'overdue') AND assignee_user_id IS NULL;
CREATE INDEX deadlines_open_escalated ON deadlines (due_at, id)
    WHERE (status || '') IN ('pending', 'overdue') AND escalation_level > 0;
-- PostgreSQL keeps no statistics on an expression that no index covers: it
-- would guess that 0.5 % of rows are open and that a scope range holds a
-- third, and read open rows through a bitmap and sort them. Statistics on
-- the expressions the queries write let it see how many rows they hold.
CREATE STATISTICS deadlines_open_expr ON ((status || '')) FROM deadlines;
CREATE STATISTICS deadlines_scope_expr ON ((scope_path || '')) FROM deadlines;
CREATE STATISTICS projects_scope_expr ON ((scope_path || '')) FROM projects;
CREATE STATISTICS customers_scope_expr ON ((scope_path || '')) FROM customers;
