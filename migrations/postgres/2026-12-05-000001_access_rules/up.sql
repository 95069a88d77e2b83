-- A customer account registers at most so many complaints a day: counted
-- on its own registrations of the last 24 hours.
CREATE INDEX complaints_registered_by ON complaints (registered_by, created_at);

-- What one user holds unattached, for the upload quota.
CREATE INDEX uploads_waiting_by_user ON uploads (uploaded_by, expires_at) WHERE attached_at IS NULL;
