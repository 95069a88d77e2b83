-- Complaints and rectification plans (004 §5.4–5.8, appendix B). The
-- complaints table held only what a customer's complaint count needs; it
-- gains the register, the judgment, the reply, the filing and the close.
-- No operation wrote complaints before this migration, so the defaults
-- below fill no real row; they exist because SQLite adds columns only so.
ALTER TABLE complaints ADD COLUMN branch_id BIGINT REFERENCES org_units (id) DEFAULT NULL;
-- the project department's path: the scope every read filters on
ALTER TABLE complaints ADD COLUMN scope_path TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE complaints ADD COLUMN status TEXT NOT NULL DEFAULT 'registered'
    CHECK (status IN ('registered', 'closed_not_ours', 'awaiting_plan', 'handling', 'rectifying', 'revisit_due', 'closed_satisfied'));
ALTER TABLE complaints ADD COLUMN category TEXT NOT NULL DEFAULT 'warranty'
    CHECK (category IN ('schedule', 'safety_civility', 'warranty'));
ALTER TABLE complaints ADD COLUMN channel TEXT NOT NULL DEFAULT 'phone'
    CHECK (channel IN ('letter', 'email', 'fax', 'phone', 'sms', 'wechat', 'app', 'visit'));
ALTER TABLE complaints ADD COLUMN complainant_name TEXT NOT NULL DEFAULT '';
ALTER TABLE complaints ADD COLUMN complainant_phone TEXT NOT NULL DEFAULT '';
ALTER TABLE complaints ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE complaints ADD COLUMN sent_to_group BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE complaints ADD COLUMN registered_by BIGINT REFERENCES users (id) DEFAULT NULL;
ALTER TABLE complaints ADD COLUMN repeat_of BIGINT REFERENCES complaints (id) DEFAULT NULL;
ALTER TABLE complaints ADD COLUMN is_repeat BOOLEAN NOT NULL DEFAULT FALSE;
-- the return visit whose dissatisfied survey opened it (visits come later)
ALTER TABLE complaints ADD COLUMN visit_id BIGINT DEFAULT NULL;
ALTER TABLE complaints ADD COLUMN liability TEXT DEFAULT NULL CHECK (liability IN ('ours', 'not_ours'));
ALTER TABLE complaints ADD COLUMN severity TEXT DEFAULT NULL CHECK (severity IN ('serious', 'minor'));
ALTER TABLE complaints ADD COLUMN reasoning TEXT DEFAULT NULL;
ALTER TABLE complaints ADD COLUMN judged_at TIMESTAMP DEFAULT NULL;
ALTER TABLE complaints ADD COLUMN judged_by BIGINT REFERENCES users (id) DEFAULT NULL;
ALTER TABLE complaints ADD COLUMN filing_status TEXT NOT NULL DEFAULT 'not_required'
    CHECK (filing_status IN ('not_required', 'pending', 'filed'));
ALTER TABLE complaints ADD COLUMN filed_at TIMESTAMP DEFAULT NULL;
ALTER TABLE complaints ADD COLUMN filed_by BIGINT REFERENCES users (id) DEFAULT NULL;
ALTER TABLE complaints ADD COLUMN filing_note TEXT DEFAULT NULL;
-- how many times it was resolved: one more for every dissatisfied evaluation
ALTER TABLE complaints ADD COLUMN rounds INTEGER NOT NULL DEFAULT 0;
ALTER TABLE complaints ADD COLUMN rating TEXT DEFAULT NULL
    CHECK (rating IN ('very_satisfied', 'fairly_satisfied', 'basically_satisfied', 'somewhat_dissatisfied', 'dissatisfied'));
ALTER TABLE complaints ADD COLUMN closed_at TIMESTAMP DEFAULT NULL;
ALTER TABLE complaints ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE complaints ADD COLUMN updated_at TIMESTAMP NOT NULL DEFAULT '1970-01-01 00:00:00';
UPDATE complaints SET
    branch_id = (SELECT p.branch_id FROM projects p WHERE p.id = complaints.project_id),
    scope_path = (SELECT p.scope_path FROM projects p WHERE p.id = complaints.project_id),
    updated_at = created_at;

-- lists: newest first within a scope, by status, by project; repeat lookups
CREATE INDEX complaints_scope ON complaints (scope_path, id);
CREATE INDEX complaints_status ON complaints (status, id);
CREATE INDEX complaints_project ON complaints (project_id, category, id);
CREATE INDEX complaints_repeat ON complaints (is_repeat, id);
CREATE INDEX complaints_received ON complaints (received_at, id);
CREATE INDEX complaints_branch ON complaints (branch_id, id);

-- the reply letter to a complaint judged not ours (004 B.2 step 4)
CREATE TABLE complaint_replies (
    complaint_id BIGINT PRIMARY KEY REFERENCES complaints (id),
    method TEXT NOT NULL CHECK (method IN ('courier', 'fax', 'email')),
    sent_at TIMESTAMP NOT NULL,
    text TEXT NOT NULL,
    recorded_by BIGINT NOT NULL REFERENCES users (id),
    recorded_at TIMESTAMP NOT NULL
);

-- every resolution the project department reported, and every evaluation
CREATE TABLE complaint_resolutions (
    id BIGSERIAL PRIMARY KEY,
    complaint_id BIGINT NOT NULL REFERENCES complaints (id),
    round INTEGER NOT NULL,
    summary TEXT NOT NULL,
    resolved_by BIGINT NOT NULL REFERENCES users (id),
    resolved_at TIMESTAMP NOT NULL
);
CREATE INDEX complaint_resolutions_complaint ON complaint_resolutions (complaint_id, id);

CREATE TABLE complaint_evaluations (
    id BIGSERIAL PRIMARY KEY,
    complaint_id BIGINT NOT NULL REFERENCES complaints (id),
    round INTEGER NOT NULL,
    rating TEXT NOT NULL
        CHECK (rating IN ('very_satisfied', 'fairly_satisfied', 'basically_satisfied', 'somewhat_dissatisfied', 'dissatisfied')),
    method TEXT NOT NULL CHECK (method IN ('visit', 'phone', 'acceptance', 'app')),
    notes TEXT,
    satisfied BOOLEAN NOT NULL,
    evaluated_by BIGINT NOT NULL REFERENCES users (id),
    evaluated_at TIMESTAMP NOT NULL
);
CREATE INDEX complaint_evaluations_complaint ON complaint_evaluations (complaint_id, id);

-- 专项整改方案: one per complaint judged serious
CREATE TABLE rectification_plans (
    id BIGSERIAL PRIMARY KEY,
    complaint_id BIGINT NOT NULL UNIQUE REFERENCES complaints (id),
    -- the review and approval clocks run in the branch, the milestones' in the department
    branch_id BIGINT NOT NULL REFERENCES org_units (id),
    project_department_id BIGINT NOT NULL REFERENCES org_units (id),
    scope_path TEXT COLLATE "C" NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'submitted', 'reviewed', 'approved', 'returned')),
    -- the content's version: every change of milestones, resources or result
    revision INTEGER NOT NULL,
    resources TEXT NOT NULL,
    expected_result TEXT NOT NULL,
    created_by BIGINT NOT NULL REFERENCES users (id),
    submitted_at TIMESTAMP,
    reviewed_at TIMESTAMP,
    reviewed_by BIGINT REFERENCES users (id),
    review_comment TEXT,
    covers_all_points BOOLEAN,
    approved_at TIMESTAMP,
    approved_by BIGINT REFERENCES users (id),
    approval_comment TEXT,
    progress_percent INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX rectification_plans_scope ON rectification_plans (scope_path, id);

-- every version of a plan's content, with why it changed
CREATE TABLE rectification_plan_versions (
    id BIGSERIAL PRIMARY KEY,
    plan_id BIGINT NOT NULL REFERENCES rectification_plans (id),
    revision INTEGER NOT NULL,
    milestones TEXT NOT NULL,
    resources TEXT NOT NULL,
    expected_result TEXT NOT NULL,
    reason TEXT,
    changed_by BIGINT NOT NULL REFERENCES users (id),
    changed_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX rectification_plan_versions_plan ON rectification_plan_versions (plan_id, revision);

-- the current revision's milestones; each date is a deadline once approved
CREATE TABLE rectification_milestones (
    id BIGSERIAL PRIMARY KEY,
    plan_id BIGINT NOT NULL REFERENCES rectification_plans (id),
    revision INTEGER NOT NULL,
    position INTEGER NOT NULL,
    due_on DATE NOT NULL,
    description TEXT NOT NULL,
    done_on DATE,
    -- false once a later revision replaced it
    current BOOLEAN NOT NULL DEFAULT TRUE
);
CREATE INDEX rectification_milestones_plan ON rectification_milestones (plan_id, current, position);

CREATE TABLE rectification_progress (
    id BIGSERIAL PRIMARY KEY,
    plan_id BIGINT NOT NULL REFERENCES rectification_plans (id),
    reported_on DATE NOT NULL,
    percent INTEGER NOT NULL CHECK (percent BETWEEN 0 AND 100),
    note TEXT NOT NULL,
    resources_in_place BOOLEAN NOT NULL,
    milestones_done TEXT NOT NULL,
    reported_by BIGINT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX rectification_progress_plan ON rectification_progress (plan_id, id);

-- a deadline may have a due time fixed by its subject (a milestone's date)
ALTER TABLE deadlines ADD COLUMN fixed_due_at TIMESTAMP DEFAULT NULL;

INSERT INTO deadline_policies (rule, version, duration, unit, actor_role, escalation_roles, description, created_at) VALUES
('complaint.file', 1, 24, 'hours', 'group_engineer', 'group_engineer', 'File a complaint judged ours at once (004 §5.4.3, B.2 step 9: 即时)', CURRENT_TIMESTAMP),
('rectification.milestone', 1, 24, 'hours', 'project_manager', 'branch_engineer', 'Report a rectification milestone done by its date (004 §5.6, C04); due the end of the date the plan sets', CURRENT_TIMESTAMP),
('rectification.milestone.group', 1, 24, 'hours', 'project_manager', 'branch_engineer,group_engineer', 'A milestone of a complaint sent to the group: the group tracks it too (004 §5.6.2)', CURRENT_TIMESTAMP);
