DELETE FROM deadline_policies WHERE rule IN ('visit.perform', 'visit.perform.branch');
DROP TABLE visit_plan_items;
DROP TABLE visit_plans;
-- SQLite keeps visits.plan_item_id on the way down (a column with a reference is dropped only by rebuilding the table)
