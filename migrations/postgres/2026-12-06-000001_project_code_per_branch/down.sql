DROP INDEX projects_branch_code;
ALTER TABLE projects ADD CONSTRAINT projects_code_key UNIQUE (code);
