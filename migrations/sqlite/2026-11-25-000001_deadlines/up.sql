-- Deadline policies: one row per rule and version. A change
-- adds a version; deadlines keep the version they started under.
CREATE TABLE deadline_policies (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rule TEXT NOT NULL,
    version INTEGER NOT NULL,
    duration INTEGER NOT NULL CHECK (duration > 0),
    unit TEXT NOT NULL CHECK (unit IN ('hours', 'working_days')),
    actor_role TEXT NOT NULL,
    -- comma-separated roles notified when the deadline passes
    escalation_roles TEXT NOT NULL,
    description TEXT NOT NULL,
    created_by BIGINT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX deadline_policies_rule_version ON deadline_policies (rule, version);

-- The company calendar: holidays on weekdays and make-up working days on
-- weekends (调休). Weekends are non-working unless marked.
CREATE TABLE calendar_days (
    day DATE PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('holiday', 'workday')),
    name TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Every clock the service runs: what must be done about which record, by
-- whom, by when, and how it ended.
CREATE TABLE deadlines (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rule TEXT NOT NULL,
    policy_id BIGINT NOT NULL REFERENCES deadline_policies (id),
    subject_type TEXT NOT NULL,
    subject_id BIGINT NOT NULL,
    title TEXT NOT NULL,
    link TEXT NOT NULL,
    started_at TIMESTAMP NOT NULL,
    due_at TIMESTAMP NOT NULL,
    met_at TIMESTAMP,
    status TEXT NOT NULL CHECK (status IN ('pending', 'met', 'met_late', 'overdue', 'cancelled')),
    assignee_user_id BIGINT REFERENCES users (id),
    assignee_role TEXT,
    -- org unit the work belongs to; its path lets a role's holders within
    -- the unit's ancestry find it with one prefix match
    scope_org_unit_id BIGINT REFERENCES org_units (id),
    scope_path TEXT NOT NULL,
    escalation_level INTEGER NOT NULL DEFAULT 0,
    escalated_at TIMESTAMP,
    late_reason TEXT,
    settled_by BIGINT REFERENCES users (id),
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK (assignee_user_id IS NOT NULL OR assignee_role IS NOT NULL)
);
CREATE INDEX deadlines_sweep ON deadlines (status, due_at);
CREATE INDEX deadlines_subject ON deadlines (subject_type, subject_id, rule);
CREATE INDEX deadlines_assignee_user ON deadlines (assignee_user_id, status, due_at);
CREATE INDEX deadlines_assignee_role ON deadlines (assignee_role, status, scope_path COLLATE NOCASE);
CREATE INDEX deadlines_rule ON deadlines (rule, status, due_at);
CREATE INDEX deadlines_scope ON deadlines (scope_path COLLATE NOCASE, id);
-- The task list walks the open deadlines in due order and stops at a page.
CREATE INDEX deadlines_open_due ON deadlines (due_at, id) WHERE status IN ('pending', 'overdue');

-- Who a passed deadline was escalated to (one row per role and level).
CREATE TABLE deadline_escalations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    deadline_id BIGINT NOT NULL REFERENCES deadlines (id),
    level INTEGER NOT NULL,
    role TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX deadline_escalations_once ON deadline_escalations (deadline_id, level, role);
CREATE INDEX deadline_escalations_role ON deadline_escalations (role, deadline_id);

-- The defaults of the companies' standards (000, 002, 003, 004). "N days" are wall-clock hours (N × 24); an
-- administrator may switch any rule to working days.
INSERT INTO deadline_policies (rule, version, duration, unit, actor_role, escalation_roles, description, created_at) VALUES
('ledger.fill', 1, 72, 'hours', 'project_manager', 'branch_engineer', 'Fill the completed-project ledger within 3 days of handover (004 A.2 step 2)', CURRENT_TIMESTAMP),
('ledger.review', 1, 24, 'hours', 'branch_engineer', 'branch_leader', 'Review a submitted ledger: at once (004 A.2 step 3); 1 day by default', CURRENT_TIMESTAMP),
('visit_plan.compile', 1, 72, 'hours', 'branch_engineer', 'branch_leader', 'Compile the visit plan within 3 days (004 A.2 steps 4.1, 4.2)', CURRENT_TIMESTAMP),
('visit.record', 1, 24, 'hours', 'staff', 'branch_engineer', 'Record a visit within 24 hours (000 §5.5)', CURRENT_TIMESTAMP),
('complaint.judge', 1, 48, 'hours', 'branch_engineer', 'branch_leader,group_engineer', 'Judge complaint liability within 2 days of receipt (004 §5.4.2)', CURRENT_TIMESTAMP),
('rectification.review', 1, 24, 'hours', 'branch_engineer', 'branch_leader', 'Review a rectification plan within 1 day (004 §5.5)', CURRENT_TIMESTAMP),
('rectification.approve', 1, 24, 'hours', 'branch_leader', 'group_engineer', 'Approve a rectification plan within 1 day (004 §5.5)', CURRENT_TIMESTAMP),
('complaint.revisit', 1, 72, 'hours', 'branch_engineer', 'branch_leader', 'Revisit the customer within 3 days of resolution (001)', CURRENT_TIMESTAMP),
('repair.respond', 1, 24, 'hours', 'project_manager', 'branch_engineer', 'Respond to a normal repair within 24 hours (002)', CURRENT_TIMESTAMP),
('repair.respond.emergency', 1, 8, 'hours', 'project_manager', 'branch_engineer,branch_leader', 'Respond to an emergency repair within 8 hours (002)', CURRENT_TIMESTAMP),
('repair.confirm', 1, 48, 'hours', 'project_manager', 'branch_engineer', 'Confirm the defect within 2 days (003 §3.2)', CURRENT_TIMESTAMP),
('repair.complete', 1, 24, 'hours', 'staff', 'project_manager', 'Finish a small repair within 24 hours (002)', CURRENT_TIMESTAMP),
('repair.complete.large', 1, 5, 'working_days', 'staff', 'project_manager', 'Finish a larger repair within 2-5 working days (002); the workflow may set a nearer target', CURRENT_TIMESTAMP);

-- Ledgers that were open before the engine ran get their clocks, with the
-- due times already recorded on the project.
INSERT INTO deadlines (rule, policy_id, subject_type, subject_id, title, link, started_at, due_at, status,
    assignee_role, scope_org_unit_id, scope_path, created_at, updated_at)
SELECT 'ledger.fill', pol.id, 'project', p.id, 'Fill the ledger of ' || p.code || ' ' || p.name,
    '/api/v1/projects/' || p.id, datetime(p.ledger_due_at, '-72 hours'), p.ledger_due_at, 'pending',
    'project_manager', p.project_department_id, u.path, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP
FROM projects p
JOIN org_units u ON u.id = p.project_department_id
JOIN deadline_policies pol ON pol.rule = 'ledger.fill' AND pol.version = 1
WHERE p.ledger_status IN ('draft', 'returned');

INSERT INTO deadlines (rule, policy_id, subject_type, subject_id, title, link, started_at, due_at, status,
    assignee_role, scope_org_unit_id, scope_path, created_at, updated_at)
SELECT 'ledger.review', pol.id, 'project', p.id, 'Review the ledger of ' || p.code || ' ' || p.name,
    '/api/v1/projects/' || p.id, p.ledger_submitted_at, datetime(p.ledger_submitted_at, '+24 hours'), 'pending',
    'branch_engineer', p.project_department_id, u.path, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP
FROM projects p
JOIN org_units u ON u.id = p.project_department_id
JOIN deadline_policies pol ON pol.rule = 'ledger.review' AND pol.version = 1
WHERE p.ledger_status = 'submitted' AND p.ledger_submitted_at IS NOT NULL;
