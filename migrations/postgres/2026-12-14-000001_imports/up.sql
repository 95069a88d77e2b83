-- One row per import that was written (a dry run writes nothing): what file,
-- by whom, in whose scope, and its answer as the caller got it.
CREATE TABLE imports (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('customers', 'projects')),
    file_name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    row_count INTEGER NOT NULL,
    created_by BIGINT NOT NULL REFERENCES users (id),
    -- the importer's unit's path ('/' for the group and administrators): who may read it
    scope_path TEXT COLLATE "C" NOT NULL,
    created_at TIMESTAMP NOT NULL,
    report TEXT NOT NULL
);
CREATE INDEX imports_scope ON imports (scope_path, id);

-- the import that entered a project; its ledger clock is not started for a
-- handover long past, nor is its submission judged late against it
ALTER TABLE projects ADD COLUMN import_id BIGINT REFERENCES imports (id);

-- an import finds a row's department and branch by name, and its customer
-- by name within the branch
CREATE INDEX org_units_kind_name ON org_units (kind, name);
CREATE INDEX customers_branch_name ON customers (branch_id, name);
