-- A milestone has its own small life cycle on the transition kit:
-- open -> done | replaced (a revision) | cancelled (its complaint closed).
ALTER TABLE rectification_milestones ADD COLUMN status TEXT NOT NULL DEFAULT 'open'
    CHECK (status IN ('open', 'done', 'replaced', 'cancelled'));
ALTER TABLE rectification_milestones ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE rectification_milestones ADD COLUMN updated_at TIMESTAMP;
UPDATE rectification_milestones SET status = 'done' WHERE done_on IS NOT NULL;
UPDATE rectification_milestones SET status = 'replaced' WHERE done_on IS NULL AND NOT current;
UPDATE rectification_milestones SET status = 'cancelled'
 WHERE status = 'open' AND plan_id IN (
   SELECT p.id FROM rectification_plans p JOIN complaints c ON c.id = p.complaint_id
    WHERE c.status = 'closed_satisfied');
