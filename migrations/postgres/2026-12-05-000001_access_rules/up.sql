-- A customer account registers at most so many complaints a day: counted
-- on its own registrations of the last 24 hours.
CREATE INDEX complaints_registered_by ON complaints (registered_by, created_at);

-- What one user holds unattached, for the upload quota.
CREATE INDEX uploads_waiting_by_user ON uploads (uploaded_by, expires_at) WHERE attached_at IS NULL;

-- Files the sweeper is removing from the store: decided in the database
-- (the file's row deleted, this one written, committed), then the bytes
-- deleted with no transaction open, then this row removed. A sweeper that
-- stops between leaves the row: its lease runs out and the next sweep
-- finishes the removal. An upload of the same file waits while a lease is
-- live, and takes an expired one over.
CREATE TABLE file_removals (
    sha256 TEXT PRIMARY KEY,
    claimed_until TIMESTAMP NOT NULL
);
CREATE INDEX file_removals_claimed_until ON file_removals (claimed_until);
