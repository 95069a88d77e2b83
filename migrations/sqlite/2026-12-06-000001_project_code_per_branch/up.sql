-- A project's code is unique within its branch: each branch numbers its own
-- projects, and another branch's code is none of its business.
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE projects_rebuilt (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    branch_id BIGINT NOT NULL REFERENCES org_units (id),
    project_department_id BIGINT NOT NULL REFERENCES org_units (id),
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    contract_number TEXT,
    building_area DOUBLE,
    structure_type TEXT,
    quality_grade TEXT,
    completion_accepted_on DATE NOT NULL,
    handover_on DATE NOT NULL,
    is_key_project BOOLEAN NOT NULL DEFAULT FALSE,
    hvac_in_scope BOOLEAN NOT NULL DEFAULT FALSE,
    design_service_life_years INTEGER NOT NULL CHECK (design_service_life_years > 0),
    ledger_status TEXT NOT NULL CHECK (ledger_status IN ('draft', 'submitted', 'approved', 'returned')),
    ledger_due_at TIMESTAMP NOT NULL,
    ledger_submitted_at TIMESTAMP,
    ledger_submitted_late BOOLEAN NOT NULL DEFAULT FALSE,
    ledger_late_reason TEXT,
    ledger_reviewed_at TIMESTAMP,
    ledger_reviewed_by BIGINT REFERENCES users (id),
    ledger_review_comment TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    scope_path TEXT NOT NULL DEFAULT '',
    systems_in_operation_on DATE
);
INSERT INTO projects_rebuilt (id, code, name, address, branch_id, project_department_id, customer_id, contract_number, building_area, structure_type, quality_grade, completion_accepted_on, handover_on, is_key_project, hvac_in_scope, design_service_life_years, ledger_status, ledger_due_at, ledger_submitted_at, ledger_submitted_late, ledger_late_reason, ledger_reviewed_at, ledger_reviewed_by, ledger_review_comment, version, created_at, updated_at, scope_path, systems_in_operation_on)
SELECT id, code, name, address, branch_id, project_department_id, customer_id, contract_number, building_area, structure_type, quality_grade, completion_accepted_on, handover_on, is_key_project, hvac_in_scope, design_service_life_years, ledger_status, ledger_due_at, ledger_submitted_at, ledger_submitted_late, ledger_late_reason, ledger_reviewed_at, ledger_reviewed_by, ledger_review_comment, version, created_at, updated_at, scope_path, systems_in_operation_on FROM projects;
DROP TABLE projects;
ALTER TABLE projects_rebuilt RENAME TO projects;
CREATE INDEX projects_department ON projects (project_department_id, id);
CREATE INDEX projects_branch ON projects (branch_id, id);
CREATE INDEX projects_customer ON projects (customer_id, id);
CREATE INDEX projects_ledger_status ON projects (ledger_status, id);
CREATE INDEX projects_scope ON projects (scope_path, id);
CREATE UNIQUE INDEX projects_branch_code ON projects (branch_id, code);
COMMIT;
PRAGMA foreign_keys = ON;
