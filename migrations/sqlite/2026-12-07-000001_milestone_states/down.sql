ALTER TABLE rectification_milestones DROP COLUMN updated_at;
ALTER TABLE rectification_milestones DROP COLUMN version;
ALTER TABLE rectification_milestones DROP COLUMN status;
