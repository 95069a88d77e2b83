-- Organisation tree: group -> branches -> project departments.
-- `path` is the materialised ancestry ('/1/4/9/') so that "everything under my
-- unit" is one indexed prefix match instead of a recursive walk.
CREATE TABLE org_units (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('group', 'branch', 'project_department')),
    parent_id BIGINT REFERENCES org_units (id),
    path TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX org_units_path ON org_units (path text_pattern_ops);
CREATE INDEX org_units_parent ON org_units (parent_id, id);
CREATE UNIQUE INDEX org_units_sibling_name ON org_units (parent_id, name);

-- Minimal customer row so that customer users can belong to one; the customer
-- resource (grading, contacts) extends it in its own migration.
CREATE TABLE customers (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('owner_organisation', 'property_company', 'individual')),
    branch_id BIGINT NOT NULL REFERENCES org_units (id),
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX customers_branch ON customers (branch_id, id);

CREATE TABLE users (
    id BIGSERIAL PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    phone TEXT,
    role TEXT NOT NULL CHECK (role IN ('admin', 'group_engineer', 'branch_engineer', 'branch_leader', 'project_manager', 'staff', 'customer')),
    rank TEXT CHECK (rank IN ('manager', 'supervisor', 'staff')),
    org_unit_id BIGINT REFERENCES org_units (id),
    customer_id BIGINT REFERENCES customers (id),
    password_hash TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    last_login_at TIMESTAMP,
    -- a customer user belongs to a customer and to no org unit; staff the reverse
    CHECK ((role = 'customer') = (customer_id IS NOT NULL)),
    CHECK (role IN ('admin', 'customer') OR org_unit_id IS NOT NULL),
    CHECK (role <> 'customer' OR org_unit_id IS NULL)
);
CREATE INDEX users_org_unit ON users (org_unit_id, id);
CREATE INDEX users_customer ON users (customer_id, id);
CREATE INDEX users_role ON users (role, id);

-- Rotating refresh tokens, stored as SHA-256 hashes. A family is one login;
-- presenting a spent token revokes the whole family (token theft).
CREATE TABLE refresh_tokens (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    family TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    issued_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

-- Login attempts, shared by every instance so the rate limit holds behind a
-- load balancer.
CREATE TABLE login_attempts (
    id BIGSERIAL PRIMARY KEY,
    username TEXT NOT NULL,
    remote_addr TEXT NOT NULL,
    succeeded BOOLEAN NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX login_attempts_username ON login_attempts (username, at);
CREATE INDEX login_attempts_addr ON login_attempts (remote_addr, at);
CREATE INDEX login_attempts_at ON login_attempts (at);

-- One row per state change, written in the same transaction as the change:
-- the audit trail, and later the outbox for webhooks.
CREATE TABLE events (
    id BIGSERIAL PRIMARY KEY,
    at TIMESTAMP NOT NULL,
    actor_user_id BIGINT REFERENCES users (id),
    action TEXT NOT NULL,
    subject_type TEXT NOT NULL,
    subject_id BIGINT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX events_subject ON events (subject_type, subject_id, id);
CREATE INDEX events_action ON events (action, id);
CREATE INDEX events_actor ON events (actor_user_id, id);
