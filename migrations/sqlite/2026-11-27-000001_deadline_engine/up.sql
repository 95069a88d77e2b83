-- The deadline engine, ready for repairs and visit plans.
-- A policy may let a workflow choose a nearer target (min_duration..duration,
-- e.g. a large repair's 2-5 working days) and names when to warn (a share
-- of the duration).
ALTER TABLE deadline_policies ADD COLUMN min_duration INTEGER CHECK (min_duration > 0);
ALTER TABLE deadline_policies ADD COLUMN warn_percent INTEGER NOT NULL DEFAULT 80 CHECK (warn_percent BETWEEN 1 AND 99);
UPDATE deadline_policies SET min_duration = 2 WHERE rule = 'repair.complete.large';

-- Each deadline keeps the duration it runs for (its policy's, or a chosen
-- target), the time it was paused for (wall seconds for hour policies,
-- working seconds for working-day ones), the pause under way, when it
-- warns, and a note sent with the step in time.
ALTER TABLE deadlines ADD COLUMN duration INTEGER;
UPDATE deadlines SET duration = (SELECT p.duration FROM deadline_policies p WHERE p.id = deadlines.policy_id);
ALTER TABLE deadlines ADD COLUMN paused_secs BIGINT NOT NULL DEFAULT 0;
ALTER TABLE deadlines ADD COLUMN paused_at TIMESTAMP;
ALTER TABLE deadlines ADD COLUMN pause_reason TEXT;
ALTER TABLE deadlines ADD COLUMN warn_at TIMESTAMP;
ALTER TABLE deadlines ADD COLUMN due_soon_at TIMESTAMP;
ALTER TABLE deadlines ADD COLUMN note TEXT;
-- the sweeper's due-soon pass: running clocks not yet warned, by warning time
CREATE INDEX deadlines_warn ON deadlines (warn_at) WHERE status = 'pending' AND due_soon_at IS NULL;
