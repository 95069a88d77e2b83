-- When the M&E equipment and the water supply and drainage systems went into
-- formal operation: the equipment visit is due a month later (000 §2).
ALTER TABLE projects ADD COLUMN systems_in_operation_on DATE;

-- The branch compiles its yearly plan in the first 3 days of the year (004
-- A.2 step 4.1); a new project's department compiles its first project plan
-- within 3 days of the ledger's approval (step 4.2). Two rules: different
-- people act and hear.
UPDATE deadline_policies
SET description = 'Compile the branch''s yearly visit plan within 3 days of 1 January (004 A.2 step 4.1)'
WHERE rule = 'visit_plan.compile' AND version = 1;
INSERT INTO deadline_policies (rule, version, duration, unit, actor_role, escalation_roles, description, created_at) VALUES
('visit_plan.compile.project', 1, 72, 'hours', 'project_manager', 'branch_engineer', 'Compile a new project''s first visit plan within 3 days of the ledger''s approval (004 A.2 step 4.2)', CURRENT_TIMESTAMP);

-- One yearly clock per branch and year, however many instances sweep.
CREATE UNIQUE INDEX deadlines_compile_once ON deadlines (subject_id, started_at) WHERE rule = 'visit_plan.compile';
