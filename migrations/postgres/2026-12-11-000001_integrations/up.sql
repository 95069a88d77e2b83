-- The events table becomes the outbox of the change feed and the webhooks.
--
-- `tx`: the writing transaction's id. Sequence ids are not commit order (a
-- transaction that took id 41 may commit after one that took 42), so the
-- feed hands out only events of transactions older than every one still
-- running (`tx < txid_snapshot_xmin(txid_current_snapshot())`), in
-- `(tx, id)` order: what it has handed out never gains an earlier event.
-- `scope_path` / `customer_id`: whose the subject is when the event is
-- written; `prior_*`: whose it was before, when the step moved it (a
-- project moved to another branch), so the old owner's feed says `removed`.
-- `audience`: who may read the event in the feed (`customer`: the record's
-- owner too; `staff`: the contractor in scope; `admin`; `none`: sign-ins).
ALTER TABLE events ADD COLUMN tx BIGINT NOT NULL DEFAULT txid_current();
ALTER TABLE events ADD COLUMN scope_path TEXT COLLATE "C";
ALTER TABLE events ADD COLUMN customer_id BIGINT;
ALTER TABLE events ADD COLUMN prior_scope_path TEXT COLLATE "C";
ALTER TABLE events ADD COLUMN prior_customer_id BIGINT;
ALTER TABLE events ADD COLUMN audience TEXT NOT NULL DEFAULT 'admin'
    CHECK (audience IN ('customer', 'staff', 'admin', 'none'));
-- the API key a write came through, when one did
ALTER TABLE events ADD COLUMN api_key_id BIGINT;
CREATE INDEX events_feed ON events (tx, id);
CREATE INDEX events_feed_scope ON events (scope_path, tx, id);
CREATE INDEX events_feed_prior_scope ON events (prior_scope_path, tx, id) WHERE prior_scope_path IS NOT NULL;
CREATE INDEX events_feed_customer ON events (customer_id, tx, id) WHERE customer_id IS NOT NULL;
CREATE INDEX events_feed_prior_customer ON events (prior_customer_id, tx, id) WHERE prior_customer_id IS NOT NULL;

-- Events written before: whose subject they are, and who may read them.
UPDATE events SET scope_path = (SELECT scope_path FROM customers WHERE customers.id = events.subject_id), customer_id = subject_id WHERE subject_type = 'customer';
UPDATE events SET scope_path = (SELECT scope_path FROM projects WHERE projects.id = events.subject_id), customer_id = (SELECT customer_id FROM projects WHERE projects.id = events.subject_id) WHERE subject_type = 'project';
UPDATE events SET scope_path = (SELECT scope_path FROM complaints WHERE complaints.id = events.subject_id), customer_id = (SELECT customer_id FROM complaints WHERE complaints.id = events.subject_id) WHERE subject_type = 'complaint';
UPDATE events SET scope_path = (SELECT scope_path FROM visits WHERE visits.id = events.subject_id), customer_id = (SELECT customer_id FROM visits WHERE visits.id = events.subject_id) WHERE subject_type = 'visit';
UPDATE events SET scope_path = (SELECT scope_path FROM repairs WHERE repairs.id = events.subject_id), customer_id = (SELECT customer_id FROM repairs WHERE repairs.id = events.subject_id) WHERE subject_type = 'repair';
UPDATE events SET scope_path = (SELECT scope_path FROM rectification_plans WHERE rectification_plans.id = events.subject_id) WHERE subject_type = 'rectification_plan';
UPDATE events SET scope_path = (SELECT scope_path FROM visit_plans WHERE visit_plans.id = events.subject_id) WHERE subject_type = 'visit_plan';
UPDATE events SET scope_path = (SELECT scope_path FROM deadlines WHERE deadlines.id = events.subject_id) WHERE subject_type = 'deadline';
UPDATE events SET scope_path = (SELECT scope_path FROM corrective_actions WHERE corrective_actions.id = events.subject_id) WHERE subject_type = 'corrective_action';
UPDATE events SET scope_path = (SELECT scope_path FROM accountability_records WHERE accountability_records.id = events.subject_id) WHERE subject_type = 'accountability_record';
UPDATE events SET scope_path = (SELECT path FROM org_units WHERE org_units.id = events.subject_id) WHERE subject_type = 'org_unit';
UPDATE events SET audience = CASE
    WHEN action LIKE 'auth.%' THEN 'none'
    WHEN action IN ('customer.graded', 'project.ledger_submitted', 'project.ledger_approved', 'project.ledger_returned') THEN 'staff'
    WHEN action LIKE 'attachment.%' AND payload LIKE '%"internal":true%' THEN 'staff'
    WHEN subject_type IN ('customer', 'project', 'complaint', 'visit', 'repair') THEN 'customer'
    WHEN subject_type IN ('rectification_plan', 'visit_plan', 'deadline', 'corrective_action', 'accountability_record', 'org_unit') THEN 'staff'
    ELSE 'admin' END;

-- API keys for systems: each acts as its own service user (role, org
-- unit, scope as for people); the key itself is kept only as its hash.
CREATE TABLE api_keys (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    -- the first characters of the key, to tell keys apart in lists
    prefix TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    user_id BIGINT NOT NULL REFERENCES users (id),
    read_only BOOLEAN NOT NULL DEFAULT FALSE,
    expires_at TIMESTAMP,
    created_by BIGINT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP,
    revoked_by BIGINT REFERENCES users (id)
);
CREATE INDEX api_keys_user ON api_keys (user_id);

-- Webhook subscriptions: where to send which events, signed with the
-- secret (and, for a day after a rotation, with the previous one too).
CREATE TABLE webhooks (
    id BIGSERIAL PRIMARY KEY,
    url TEXT NOT NULL,
    description TEXT,
    -- `,complaint.judged,repair.accepted,`: matched with LIKE in the
    -- event's own transaction
    event_types TEXT NOT NULL,
    branch_id BIGINT REFERENCES org_units (id),
    -- the branch's subtree as a half-open range (none: every event)
    scope_low TEXT COLLATE "C",
    scope_high TEXT COLLATE "C",
    active BOOLEAN NOT NULL DEFAULT TRUE,
    secret TEXT NOT NULL,
    previous_secret TEXT,
    previous_secret_until TIMESTAMP,
    -- the first failure since the last success; five days of them disable it
    failing_since TIMESTAMP,
    disabled_at TIMESTAMP,
    disabled_reason TEXT,
    created_by BIGINT NOT NULL REFERENCES users (id),
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    deleted_at TIMESTAMP
);
CREATE INDEX webhooks_active ON webhooks (active, id);

-- One event to one endpoint: written in the event's transaction, sent by
-- the dispatchers (a claim is taken once: `claimed_until`).
CREATE TABLE webhook_deliveries (
    id BIGSERIAL PRIMARY KEY,
    webhook_id BIGINT NOT NULL REFERENCES webhooks (id),
    event_id BIGINT NOT NULL REFERENCES events (id),
    event_type TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    -- the body sent, fixed at the first attempt so every retry is the same
    body TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    -- the place in the retry schedule (a manual retry starts it again)
    schedule_step INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    claimed_until TIMESTAMP,
    claim TEXT,
    last_attempt_at TIMESTAMP,
    response_status INTEGER,
    response_ms BIGINT,
    response_body TEXT,
    error TEXT,
    delivered_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
-- an endpoint's due deliveries in order, and those in flight (claimed)
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (webhook_id, next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id);
CREATE INDEX webhook_deliveries_claimed ON webhook_deliveries (webhook_id, claimed_until) WHERE status = 'pending';
