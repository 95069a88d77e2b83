-- Warranty repairs (保修维修, 002; 003 §3.2-3.3, 表3.3.2): reported by the
-- owner, a visit, a complaint or an inspection; responded to in 24 hours
-- (8 for an emergency); confirmed in 2 days with coverage, liability and who
-- pays; agreed with the owner when billable; dispatched by the branch
-- engineering department; completed, inspected, accepted by the owner and
-- followed up by a visit 1 week to 1 month later.
CREATE TABLE repairs (
    id BIGSERIAL PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects (id),
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    branch_id BIGINT NOT NULL REFERENCES org_units (id),
    project_department_id BIGINT NOT NULL REFERENCES org_units (id),
    -- the project department's path: the scope every read filters on
    scope_path TEXT COLLATE "C" NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('reported', 'arrived', 'awaiting_agreement', 'awaiting_dispatch',
        'in_progress', 'on_hold', 'awaiting_inspection', 'awaiting_acceptance', 'accepted', 'closed',
        'closed_not_a_defect', 'closed_declined')),
    source TEXT NOT NULL CHECK (source IN ('owner_report', 'app', 'visit_issue', 'complaint', 'inspection')),
    visit_id BIGINT REFERENCES visits (id),
    complaint_id BIGINT REFERENCES complaints (id),
    category TEXT NOT NULL CHECK (category IN ('foundation_structure', 'waterproofing', 'heating_cooling',
        'electrical_plumbing', 'equipment_installation', 'decoration', 'other')),
    location TEXT NOT NULL,
    -- the location as repeats compare it: trimmed, lower case, single spaces
    location_key TEXT COLLATE "C" NOT NULL,
    description TEXT NOT NULL,
    severity TEXT NOT NULL CHECK (severity IN ('emergency', 'normal')),
    reported_at TIMESTAMP NOT NULL,
    reported_by BIGINT NOT NULL REFERENCES users (id),
    -- set by the confirmation
    covered BOOLEAN,
    liability TEXT CHECK (liability IN ('general_contractor', 'subcontractor', 'shared', 'company_materials',
        'owner_materials', 'designer', 'misuse', 'force_majeure')),
    payer TEXT CHECK (payer IN ('company', 'subcontractor', 'shared', 'owner', 'none')),
    billable BOOLEAN NOT NULL DEFAULT FALSE,
    scale TEXT CHECK (scale IN ('small', 'large')),
    target_days INTEGER CHECK (target_days BETWEEN 1 AND 30),
    -- set by the dispatch: who leads the work (reads the repair wherever they sit)
    lead_user_id BIGINT REFERENCES users (id),
    -- 1, and one more for each return to work (inspection failed, owner rejected, reopened)
    rounds INTEGER NOT NULL DEFAULT 1,
    is_repeat BOOLEAN NOT NULL DEFAULT FALSE,
    repeat_of BIGINT REFERENCES repairs (id),
    closed_at TIMESTAMP,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX repairs_scope ON repairs (scope_path, id);
CREATE INDEX repairs_project ON repairs (project_id, id);
CREATE INDEX repairs_customer ON repairs (customer_id, id);
CREATE INDEX repairs_branch ON repairs (branch_id, id);
CREATE INDEX repairs_status ON repairs (status, id);
CREATE INDEX repairs_severity ON repairs (severity, id);
CREATE INDEX repairs_category ON repairs (category, id);
CREATE INDEX repairs_payer ON repairs (payer, id);
CREATE INDEX repairs_reported ON repairs (reported_at, id);
CREATE INDEX repairs_lead ON repairs (lead_user_id, id);
CREATE INDEX repairs_repeat ON repairs (is_repeat, id);
CREATE INDEX repairs_same_place ON repairs (project_id, category, location_key, id);
CREATE INDEX repairs_visit ON repairs (visit_id);
CREATE INDEX repairs_complaint ON repairs (complaint_id);

-- What each step recorded (the repair record form, 表3.3.2): the
-- confirmation's cause and measures, the agreement, the repair order, a
-- hold, the work done, the inspection, the sign-off. `internal_note` is
-- never shown to the owner.
CREATE TABLE repair_steps (
    id BIGSERIAL PRIMARY KEY,
    repair_id BIGINT NOT NULL REFERENCES repairs (id),
    round INTEGER NOT NULL,
    action TEXT NOT NULL,
    -- JSON: the step's fields as sent (trimmed)
    details TEXT NOT NULL,
    internal_note TEXT,
    recorded_by BIGINT NOT NULL REFERENCES users (id),
    recorded_at TIMESTAMP NOT NULL
);
CREATE INDEX repair_steps_repair ON repair_steps (repair_id, id);

-- The quote shown to the owner and the actual costs, in fen (1/100 yuan),
-- each with who pays it.
CREATE TABLE repair_cost_lines (
    id BIGSERIAL PRIMARY KEY,
    repair_id BIGINT NOT NULL REFERENCES repairs (id),
    project_id BIGINT NOT NULL REFERENCES projects (id),
    kind TEXT NOT NULL CHECK (kind IN ('quote', 'actual')),
    round INTEGER NOT NULL,
    item TEXT NOT NULL,
    quantity DOUBLE PRECISION NOT NULL CHECK (quantity > 0),
    unit_price_fen BIGINT NOT NULL CHECK (unit_price_fen >= 0),
    amount_fen BIGINT NOT NULL CHECK (amount_fen >= 0),
    payer TEXT NOT NULL CHECK (payer IN ('company', 'subcontractor', 'owner', 'none')),
    contact_id BIGINT REFERENCES project_contacts (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX repair_cost_lines_repair ON repair_cost_lines (repair_id, kind, id);
CREATE INDEX repair_cost_lines_project ON repair_cost_lines (project_id, kind, payer, contact_id);

-- A complaint about a repaired defect (001: a renewed complaint gets a
-- special revisit and rework within 24 hours) and the round it opened.
CREATE TABLE repair_reopenings (
    complaint_id BIGINT PRIMARY KEY REFERENCES complaints (id),
    repair_id BIGINT NOT NULL REFERENCES repairs (id),
    round INTEGER NOT NULL
);
CREATE INDEX repair_reopenings_repair ON repair_reopenings (repair_id);

-- the repair a `repair_followup` visit follows up (001)
ALTER TABLE visits ADD COLUMN repair_id BIGINT REFERENCES repairs (id);
CREATE INDEX visits_repair ON visits (repair_id);

-- rework after a failed inspection, a rejected sign-off or a renewed
-- complaint: within 24 hours (001); the follow-up visit within a month of
-- the sign-off (001, at least a week after it)
INSERT INTO deadline_policies (rule, version, duration, unit, actor_role, escalation_roles, description, created_at) VALUES
('repair.rework', 1, 24, 'hours', 'staff', 'project_manager,branch_engineer', 'Rework a repaired defect the owner complained of again within 24 hours (001)', CURRENT_TIMESTAMP),
('repair.followup', 1, 720, 'hours', 'staff', 'branch_engineer', 'Visit the owner again at least a week and at most a month after a repair was accepted (001)', CURRENT_TIMESTAMP);
-- an emergency nobody answered goes straight to the branch leader
INSERT INTO deadline_policies (rule, version, duration, unit, actor_role, escalation_roles, description, created_at, min_duration, warn_percent)
SELECT rule, version + 1, duration, unit, actor_role, 'branch_leader',
       'Respond to an emergency repair within 8 hours (002); overdue goes to the branch leader at once', CURRENT_TIMESTAMP, min_duration, warn_percent
  FROM deadline_policies
 WHERE rule = 'repair.respond.emergency'
   AND version = (SELECT MAX(version) FROM deadline_policies WHERE rule = 'repair.respond.emergency');
