-- Corrective actions (纠正措施, 000 §1.4): for a project not brought to the
-- owner's satisfaction, the responsible project department records the
-- cause analysis, the measures, who carries them out and by when; the
-- branch engineering department verifies them or returns them with a reason.
CREATE TABLE corrective_actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id BIGINT NOT NULL REFERENCES projects (id),
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    branch_id BIGINT NOT NULL REFERENCES org_units (id),
    project_department_id BIGINT NOT NULL REFERENCES org_units (id),
    scope_path TEXT NOT NULL,
    -- the complaint whose outcome it answers, when one does
    complaint_id BIGINT REFERENCES complaints (id),
    -- the year of the annual summary it belongs to
    year INTEGER NOT NULL CHECK (year BETWEEN 2000 AND 9999),
    status TEXT NOT NULL CHECK (status IN ('open', 'done', 'verified')),
    cause_analysis TEXT NOT NULL,
    measures TEXT NOT NULL,
    -- who carries the measures out
    responsible TEXT NOT NULL,
    due_on DATE NOT NULL,
    -- set by the completion
    result TEXT,
    done_at TIMESTAMP,
    done_by BIGINT REFERENCES users (id),
    -- set by the verification
    verified_at TIMESTAMP,
    verified_by BIGINT REFERENCES users (id),
    verification_note TEXT,
    -- the last return and how many there were
    return_reason TEXT,
    returns INTEGER NOT NULL DEFAULT 0,
    created_by BIGINT NOT NULL REFERENCES users (id),
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX corrective_actions_scope ON corrective_actions (scope_path, id);
CREATE INDEX corrective_actions_project ON corrective_actions (project_id, id);
CREATE INDEX corrective_actions_branch ON corrective_actions (branch_id, id);
CREATE INDEX corrective_actions_department ON corrective_actions (project_department_id, id);
CREATE INDEX corrective_actions_complaint ON corrective_actions (complaint_id, id);
CREATE INDEX corrective_actions_year ON corrective_actions (year, scope_path);
CREATE INDEX corrective_actions_status ON corrective_actions (status, id);

-- Accountability (责任追究, 004 §5.8, appendices E and H): on a schedule
-- complaint found true, or a warranty complaint the owner had to repeat,
-- the branch engineering department (the group, for a complaint sent to
-- it) records who is held accountable, the measure and why. Never deleted:
-- a mistaken record is withdrawn with a reason and stays.
CREATE TABLE accountability_records (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    complaint_id BIGINT NOT NULL REFERENCES complaints (id),
    project_id BIGINT NOT NULL REFERENCES projects (id),
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    branch_id BIGINT NOT NULL REFERENCES org_units (id),
    project_department_id BIGINT NOT NULL REFERENCES org_units (id),
    scope_path TEXT NOT NULL,
    sent_to_group BOOLEAN NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('recorded', 'withdrawn')),
    basis TEXT NOT NULL CHECK (basis IN ('schedule_complaint', 'repeat_warranty_complaint')),
    -- who is held accountable, and the account when they have one
    person TEXT NOT NULL,
    person_user_id BIGINT REFERENCES users (id),
    measure TEXT NOT NULL CHECK (measure IN ('criticism', 'fine', 'other')),
    fine_fen BIGINT CHECK (fine_fen > 0),
    measure_detail TEXT,
    reason TEXT NOT NULL,
    recorded_by BIGINT NOT NULL REFERENCES users (id),
    withdrawn_reason TEXT,
    -- who decided the withdrawal (an appeal board), when not the one recording it
    withdrawn_decided_by TEXT,
    withdrawn_at TIMESTAMP,
    withdrawn_by BIGINT REFERENCES users (id),
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK ((measure = 'fine') = (fine_fen IS NOT NULL))
);
CREATE INDEX accountability_scope ON accountability_records (scope_path, id);
CREATE INDEX accountability_complaint ON accountability_records (complaint_id, id);
CREATE INDEX accountability_department ON accountability_records (project_department_id, id);
CREATE INDEX accountability_project ON accountability_records (project_id, id);
CREATE INDEX accountability_branch ON accountability_records (branch_id, id);
CREATE INDEX accountability_created ON accountability_records (created_at, scope_path);
CREATE INDEX accountability_status ON accountability_records (status, id);

-- a corrective action is carried out by its date (000 §1.4); overdue, the
-- branch engineering department hears of it
INSERT INTO deadline_policies (rule, version, duration, unit, actor_role, escalation_roles, description, created_at) VALUES
('corrective_action.complete', 1, 720, 'hours', 'project_manager', 'branch_engineer', 'Carry out a corrective action by its date, or within 30 days when returned after it (000 §1.4)', CURRENT_TIMESTAMP);
