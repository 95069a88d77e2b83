-- A project's code is unique within its branch: each branch numbers its own
-- projects, and another branch's code is none of its business.
ALTER TABLE projects DROP CONSTRAINT projects_code_key;
CREATE UNIQUE INDEX projects_branch_code ON projects (branch_id, code);
