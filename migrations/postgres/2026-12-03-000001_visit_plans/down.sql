DELETE FROM deadline_policies WHERE rule IN ('visit.perform', 'visit.perform.branch');
ALTER TABLE visits DROP COLUMN plan_item_id;
DROP TABLE visit_plan_items;
DROP TABLE visit_plans;
