-- One row per login session (a refresh-token family) holding what the check
-- of every request needs: the account's state, role, rank, unit with its
-- scope path and kind, customer, and whether the session has ended. The check
-- is then one primary-key read. The transactions that change any of these
-- (login, logout, a spent refresh token presented again, deactivation, a
-- role, rank, unit or password change) write this row in the same step.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id),
    username TEXT NOT NULL,
    role TEXT NOT NULL,
    rank TEXT,
    org_unit_id BIGINT REFERENCES org_units (id),
    org_path TEXT,
    org_kind TEXT,
    customer_id BIGINT REFERENCES customers (id),
    active BOOLEAN NOT NULL,
    started_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP
);
-- the sessions of an account, rewritten when the account changes
CREATE INDEX sessions_user ON sessions (user_id);

-- the sessions that exist: live while any of their refresh tokens is not revoked
INSERT INTO sessions (id, user_id, username, role, rank, org_unit_id, org_path, org_kind,
                      customer_id, active, started_at, ended_at)
SELECT f.family, u.id, u.username, u.role, u.rank, u.org_unit_id, o.path, o.kind,
       u.customer_id, u.active, f.started_at, f.ended_at
FROM (SELECT family, MIN(user_id) AS user_id, MIN(issued_at) AS started_at,
             CASE WHEN COUNT(*) = COUNT(revoked_at) THEN MAX(revoked_at) END AS ended_at
      FROM refresh_tokens GROUP BY family) f
JOIN users u ON u.id = f.user_id
LEFT JOIN org_units o ON o.id = u.org_unit_id;
