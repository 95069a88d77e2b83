-- The task list reads three sources, each on its own partial index of open
-- deadlines in (due_at, id) order, so a page never touches settled history.
CREATE INDEX deadlines_open_assignee ON deadlines (assignee_user_id, due_at, id)
    WHERE status IN ('pending', 'overdue');
CREATE INDEX deadlines_open_role ON deadlines (assignee_role, due_at, id)
    WHERE status IN ('pending', 'overdue') AND assignee_user_id IS NULL;
CREATE INDEX deadlines_open_escalated ON deadlines (due_at, id)
    WHERE status IN ('pending', 'overdue') AND escalation_level > 0;
