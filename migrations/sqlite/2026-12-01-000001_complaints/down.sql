DELETE FROM deadline_policies WHERE rule IN ('complaint.file', 'rectification.milestone', 'rectification.milestone.group');
ALTER TABLE deadlines DROP COLUMN fixed_due_at;
DROP TABLE rectification_progress;
DROP TABLE rectification_milestones;
DROP TABLE rectification_plan_versions;
DROP TABLE rectification_plans;
DROP TABLE complaint_evaluations;
DROP TABLE complaint_resolutions;
DROP TABLE complaint_replies;
DROP INDEX complaints_scope;
DROP INDEX complaints_status;
DROP INDEX complaints_project;
DROP INDEX complaints_repeat;
DROP INDEX complaints_received;
DROP INDEX complaints_branch;
-- SQLite keeps the added complaint columns on the way down (it drops columns with constraints only by rebuilding the table)
