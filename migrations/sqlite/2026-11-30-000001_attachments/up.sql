-- Photos and documents. A file's bytes are kept once per content (its
-- SHA-256) however many uploads share them; an upload is one person's
-- sending of a file, kept 24 hours until a step attaches it to a subject
-- (a project now; complaints, visits, plans and repairs later).

CREATE TABLE stored_files (
    sha256 TEXT PRIMARY KEY,
    size_bytes BIGINT NOT NULL,
    media_type TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE uploads (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uploaded_by BIGINT NOT NULL REFERENCES users (id),
    -- the store's bytes may be removed only while no upload names them
    sha256 TEXT NOT NULL REFERENCES stored_files (sha256),
    file_name TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    -- set when a step attaches it: from then on it never expires
    attached_at TIMESTAMP
);
-- the sweeper's query: unattached uploads past their time
CREATE INDEX uploads_unattached_expiry ON uploads (expires_at) WHERE attached_at IS NULL;
CREATE INDEX uploads_sha256 ON uploads (sha256);

CREATE TABLE attachments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subject_type TEXT NOT NULL,
    subject_id BIGINT NOT NULL,
    -- an upload is attached once
    upload_id BIGINT NOT NULL UNIQUE REFERENCES uploads (id),
    caption TEXT,
    taken_at TIMESTAMP,
    -- staff only: customer accounts never see it
    internal BOOLEAN NOT NULL DEFAULT FALSE,
    attached_by BIGINT NOT NULL REFERENCES users (id),
    -- hidden from lists, kept with its bytes for the audit trail
    hidden_at TIMESTAMP,
    hidden_by BIGINT REFERENCES users (id),
    hidden_reason TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
-- a subject's list in id order, and its count of shown attachments
CREATE INDEX attachments_subject ON attachments (subject_type, subject_id, id);
