-- Return-visit records (回访记录, 000 §5, 004 appendix D, 003 表3.3.1):
-- who visited whom, when and how, what they found, the issues found with
-- their liability, the satisfaction survey, and the owner's confirmation.
CREATE TABLE visits (
    id BIGSERIAL PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects (id),
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    branch_id BIGINT NOT NULL REFERENCES org_units (id),
    -- the project department's path: the scope every read filters on
    scope_path TEXT COLLATE "C" NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('recorded', 'confirmed')),
    kind TEXT NOT NULL CHECK (kind IN ('handover', 'routine', 'rainy_season', 'heating_season', 'summer',
        'winter', 'technical', 'equipment', 'pre_expiry', 'complaint', 'repair_followup')),
    method TEXT NOT NULL CHECK (method IN ('onsite', 'phone', 'letter', 'email', 'meeting')),
    visited_at TIMESTAMP NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('completed', 'contact_failed')),
    contact_failed_reason TEXT,
    -- JSON: [{"name", "department", "title"}]
    people_met TEXT NOT NULL,
    findings TEXT NOT NULL,
    owner_opinion TEXT,
    -- the number a phone visit reached (001)
    owner_phone TEXT,
    -- the complaint a `complaint` visit revisits
    complaint_id BIGINT REFERENCES complaints (id),
    -- the complaint a dissatisfied survey opened (003 §5.9.2)
    opened_complaint_id BIGINT REFERENCES complaints (id),
    recorded_by BIGINT NOT NULL REFERENCES users (id),
    recorded_late BOOLEAN NOT NULL,
    confirmation TEXT CHECK (confirmation IN ('app', 'paper')),
    confirmed_at TIMESTAMP,
    confirmed_by BIGINT REFERENCES users (id),
    signer_name TEXT,
    signed_on DATE,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX visits_scope ON visits (scope_path, id);
CREATE INDEX visits_project ON visits (project_id, id);
CREATE INDEX visits_customer ON visits (customer_id, id);
CREATE INDEX visits_visited ON visits (visited_at, id);
CREATE INDEX visits_complaint ON visits (complaint_id);

CREATE TABLE visit_visitors (
    visit_id BIGINT NOT NULL REFERENCES visits (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    PRIMARY KEY (visit_id, user_id)
);
CREATE INDEX visit_visitors_user ON visit_visitors (user_id, visit_id);

-- the issues found (000 §5.4), each with its liability
CREATE TABLE visit_issues (
    id BIGSERIAL PRIMARY KEY,
    visit_id BIGINT NOT NULL REFERENCES visits (id),
    position INTEGER NOT NULL,
    description TEXT NOT NULL,
    component TEXT NOT NULL CHECK (component IN ('foundation_structure', 'waterproofing', 'heating_cooling',
        'electrical_plumbing', 'equipment_installation', 'decoration', 'other')),
    location TEXT NOT NULL,
    liability TEXT NOT NULL CHECK (liability IN ('ours', 'not_ours', 'undetermined')),
    explanation TEXT,
    advice TEXT,
    -- ours and under warranty on the visit day: a repair is due
    repair_needed BOOLEAN NOT NULL,
    -- the repair made of it (repairs come later)
    repair_id BIGINT
);
CREATE INDEX visit_issues_visit ON visit_issues (visit_id, position);

-- the satisfaction survey (002 项目满意度调查记录表)
CREATE TABLE visit_surveys (
    visit_id BIGINT PRIMARY KEY REFERENCES visits (id),
    -- JSON: {factor: score}
    scores TEXT NOT NULL,
    -- the weighted total in tenths (73.5 is 735): exact
    weighted_score_tenths INTEGER NOT NULL CHECK (weighted_score_tenths BETWEEN 0 AND 1000),
    rating TEXT NOT NULL CHECK (rating IN ('very_satisfied', 'fairly_satisfied', 'basically_satisfied',
        'somewhat_dissatisfied', 'dissatisfied'))
);
