DROP INDEX deadlines_compile_once;
DELETE FROM deadline_escalations WHERE deadline_id IN (SELECT id FROM deadlines WHERE rule = 'visit_plan.compile.project');
DELETE FROM deadlines WHERE rule = 'visit_plan.compile.project';
DELETE FROM deadline_policies WHERE rule = 'visit_plan.compile.project';
UPDATE deadline_policies
SET description = 'Compile the visit plan within 3 days (004 A.2 steps 4.1, 4.2)'
WHERE rule = 'visit_plan.compile' AND version = 1;
ALTER TABLE projects DROP COLUMN systems_in_operation_on;
