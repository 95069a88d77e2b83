DROP INDEX deadlines_open_escalated;
DROP INDEX deadlines_open_role;
DROP INDEX deadlines_open_assignee;
