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
ALTER TABLE complaints
    DROP COLUMN branch_id, DROP COLUMN scope_path, DROP COLUMN status, DROP COLUMN category,
    DROP COLUMN channel, DROP COLUMN complainant_name, DROP COLUMN complainant_phone,
    DROP COLUMN description, DROP COLUMN sent_to_group, DROP COLUMN registered_by,
    DROP COLUMN repeat_of, DROP COLUMN is_repeat, DROP COLUMN visit_id, DROP COLUMN liability,
    DROP COLUMN severity, DROP COLUMN reasoning, DROP COLUMN judged_at, DROP COLUMN judged_by,
    DROP COLUMN filing_status, DROP COLUMN filed_at, DROP COLUMN filed_by,
    DROP COLUMN filing_note, DROP COLUMN rounds, DROP COLUMN rating,
    DROP COLUMN closed_at, DROP COLUMN version, DROP COLUMN updated_at;
