-- Visit plans (回访计划, 004 §5.2): a branch's plan for a year, approved by
-- the group; a project department's plan for a month, approved by the
-- branch. Each item, once approved, is a task of its visitor.
CREATE TABLE visit_plans (
    id BIGSERIAL PRIMARY KEY,
    level TEXT NOT NULL CHECK (level IN ('branch', 'project')),
    org_unit_id BIGINT NOT NULL REFERENCES org_units (id),
    scope_path TEXT COLLATE "C" NOT NULL,
    year INTEGER NOT NULL,
    -- 1–12 for a project plan; 0 for a branch plan (the whole year)
    month INTEGER NOT NULL CHECK (month BETWEEN 0 AND 12),
    period_start DATE NOT NULL,
    period_end DATE NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'submitted', 'approved', 'returned')),
    created_by BIGINT NOT NULL REFERENCES users (id),
    submitted_at TIMESTAMP,
    reviewed_at TIMESTAMP,
    reviewed_by BIGINT REFERENCES users (id),
    review_comment TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
-- one plan per unit and period
CREATE UNIQUE INDEX visit_plans_unit_period ON visit_plans (level, org_unit_id, year, month);
CREATE INDEX visit_plans_scope ON visit_plans (scope_path, id);

CREATE TABLE visit_plan_items (
    id BIGSERIAL PRIMARY KEY,
    plan_id BIGINT NOT NULL REFERENCES visit_plans (id),
    project_id BIGINT NOT NULL REFERENCES projects (id),
    kind TEXT NOT NULL CHECK (kind IN ('handover', 'routine', 'rainy_season', 'heating_season', 'summer',
        'winter', 'technical', 'equipment', 'pre_expiry', 'complaint', 'repair_followup')),
    method TEXT NOT NULL CHECK (method IN ('onsite', 'phone', 'letter', 'email', 'meeting')),
    planned_on DATE NOT NULL,
    visitor_id BIGINT NOT NULL REFERENCES users (id),
    -- planned; done (a visit recorded it); replanned (contact failed: an on-site item replaces it)
    status TEXT NOT NULL CHECK (status IN ('planned', 'done', 'replanned')),
    visit_id BIGINT REFERENCES visits (id),
    replaces_item_id BIGINT REFERENCES visit_plan_items (id),
    done_on DATE,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX visit_plan_items_plan ON visit_plan_items (plan_id, planned_on, id);
CREATE INDEX visit_plan_items_visitor ON visit_plan_items (visitor_id, planned_on);

ALTER TABLE visits ADD COLUMN plan_item_id BIGINT REFERENCES visit_plan_items (id) DEFAULT NULL;

INSERT INTO deadline_policies (rule, version, duration, unit, actor_role, escalation_roles, description, created_at) VALUES
('visit.perform', 1, 24, 'hours', 'staff', 'branch_engineer', 'Make a visit of an approved project plan on its planned day (004 A.2 step 7.2); due the end of that day', CURRENT_TIMESTAMP),
('visit.perform.branch', 1, 24, 'hours', 'branch_engineer', 'group_engineer', 'Make a visit of an approved branch plan on its planned day (004 A.2 step 7.1); due the end of that day', CURRENT_TIMESTAMP);
