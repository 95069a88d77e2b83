-- Customers get their contact details, their current grade and a flag for
-- serious problems (000 §3).
ALTER TABLE customers ADD COLUMN contact_name TEXT;
ALTER TABLE customers ADD COLUMN contact_phone TEXT;
ALTER TABLE customers ADD COLUMN address TEXT;
ALTER TABLE customers ADD COLUMN grade TEXT CHECK (grade IN ('AAA', 'AA', 'A', 'BBB', 'BB', 'B', 'C'));
ALTER TABLE customers ADD COLUMN graded_at TIMESTAMP;
ALTER TABLE customers ADD COLUMN serious_problems BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE customers ADD COLUMN active BOOLEAN NOT NULL DEFAULT TRUE;
CREATE INDEX customers_name ON customers (name);

-- Every grading is kept: the three scores, the grade proposed from them and
-- the grade given (an override needs a reason).
CREATE TABLE customer_gradings (
    id BIGSERIAL PRIMARY KEY,
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    operating_score INTEGER NOT NULL CHECK (operating_score BETWEEN 0 AND 100),
    payment_score INTEGER NOT NULL CHECK (payment_score BETWEEN 0 AND 100),
    cooperation_score INTEGER NOT NULL CHECK (cooperation_score BETWEEN 0 AND 100),
    proposed_grade TEXT NOT NULL CHECK (proposed_grade IN ('AAA', 'AA', 'A', 'BBB', 'BB', 'B', 'C')),
    grade TEXT NOT NULL CHECK (grade IN ('AAA', 'AA', 'A', 'BBB', 'BB', 'B', 'C')),
    override_reason TEXT,
    graded_by BIGINT NOT NULL REFERENCES users (id),
    graded_at TIMESTAMP NOT NULL
);
CREATE INDEX customer_gradings_customer ON customer_gradings (customer_id, id);

-- The completed-projects ledger (竣工工程信息台账, 004 §5.1, appendix C).
CREATE TABLE projects (
    id BIGSERIAL PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    branch_id BIGINT NOT NULL REFERENCES org_units (id),
    project_department_id BIGINT NOT NULL REFERENCES org_units (id),
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    contract_number TEXT,
    building_area DOUBLE PRECISION,
    structure_type TEXT,
    quality_grade TEXT,
    completion_accepted_on DATE NOT NULL,
    handover_on DATE NOT NULL,
    is_key_project BOOLEAN NOT NULL DEFAULT FALSE,
    hvac_in_scope BOOLEAN NOT NULL DEFAULT FALSE,
    design_service_life_years INTEGER NOT NULL CHECK (design_service_life_years > 0),
    ledger_status TEXT NOT NULL CHECK (ledger_status IN ('draft', 'submitted', 'approved', 'returned')),
    ledger_due_at TIMESTAMP NOT NULL,
    ledger_submitted_at TIMESTAMP,
    ledger_submitted_late BOOLEAN NOT NULL DEFAULT FALSE,
    ledger_late_reason TEXT,
    ledger_reviewed_at TIMESTAMP,
    ledger_reviewed_by BIGINT REFERENCES users (id),
    ledger_review_comment TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX projects_department ON projects (project_department_id, id);
CREATE INDEX projects_branch ON projects (branch_id, id);
CREATE INDEX projects_customer ON projects (customer_id, id);
CREATE INDEX projects_ledger_status ON projects (ledger_status, id);

-- Contacts by role (appendix C): warranty side, subcontractors, owner side.
CREATE TABLE project_contacts (
    id BIGSERIAL PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects (id),
    role TEXT NOT NULL CHECK (role IN (
        'warranty_lead', 'project_manager', 'chief_engineer', 'engineering_manager',
        'civil_lead', 'electrical_lead', 'plumbing_hvac_lead',
        'waterproofing_subcontractor', 'secondary_structure_subcontractor',
        'decoration_subcontractor', 'curtain_wall_subcontractor',
        'owner_engineering_manager', 'property_manager')),
    name TEXT NOT NULL,
    phone TEXT NOT NULL,
    company TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX project_contacts_project ON project_contacts (project_id, role, id);

-- One warranty term per component category (保修期限). `years` for most
-- categories, `periods` (heating/cooling seasons) for heating_cooling; the
-- end date is computed and stored so that date queries use an index.
CREATE TABLE warranty_terms (
    id BIGSERIAL PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects (id),
    category TEXT NOT NULL CHECK (category IN (
        'foundation_structure', 'waterproofing', 'heating_cooling', 'electrical_plumbing',
        'equipment_installation', 'decoration', 'other')),
    years INTEGER CHECK (years > 0),
    periods INTEGER CHECK (periods > 0),
    starts_on DATE NOT NULL,
    ends_on DATE NOT NULL,
    note TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK ((category = 'heating_cooling') = (periods IS NOT NULL)),
    CHECK ((category = 'heating_cooling') = (years IS NULL))
);
CREATE UNIQUE INDEX warranty_terms_project_category ON warranty_terms (project_id, category);
CREATE INDEX warranty_terms_active ON warranty_terms (ends_on, starts_on, project_id);

-- Complaints get their own workflow later; the rows exist now so that a
-- customer's complaint count (which decides the visitor's rank) has one source.
CREATE TABLE complaints (
    id BIGSERIAL PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects (id),
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    received_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX complaints_customer_received ON complaints (customer_id, received_at);
