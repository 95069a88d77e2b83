-- Scope in one place: every scoped row keeps the ancestry path of the org
-- unit it belongs to, and a caller's subtree is the range
-- [path, path-with-last-'/'-as-'0'). Paths compare byte-wise (COLLATE "C"):
-- a language collation ignores the '/' and would put '/1/47/' between
-- '/1/4/' and '/1/40'.
ALTER TABLE org_units ALTER COLUMN path TYPE TEXT COLLATE "C";
DROP INDEX org_units_path;
CREATE INDEX org_units_path ON org_units (path);

ALTER TABLE deadlines ALTER COLUMN scope_path TYPE TEXT COLLATE "C";
DROP INDEX deadlines_assignee_role;
DROP INDEX deadlines_scope;
CREATE INDEX deadlines_assignee_role ON deadlines (assignee_role, status, scope_path);
CREATE INDEX deadlines_scope ON deadlines (scope_path, id);

-- a project belongs to the department that built it
ALTER TABLE projects ADD COLUMN scope_path TEXT COLLATE "C" NOT NULL DEFAULT '';
UPDATE projects SET scope_path = (SELECT path FROM org_units WHERE org_units.id = projects.project_department_id);
CREATE INDEX projects_scope ON projects (scope_path, id);

-- a customer belongs to the branch that serves it
ALTER TABLE customers ADD COLUMN scope_path TEXT COLLATE "C" NOT NULL DEFAULT '';
UPDATE customers SET scope_path = (SELECT path FROM org_units WHERE org_units.id = customers.branch_id);
CREATE INDEX customers_scope ON customers (scope_path, id);

-- Idempotency-Key: claimed per user in the transaction of the write it
-- guards, with the first answer stored before that transaction commits.
CREATE TABLE idempotency_keys (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response_status INTEGER NOT NULL,
    response_body TEXT NOT NULL,
    response_location TEXT,
    response_etag TEXT,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX idempotency_keys_user_key ON idempotency_keys (user_id, idem_key);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
