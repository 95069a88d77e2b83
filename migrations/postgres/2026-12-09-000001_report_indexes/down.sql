DROP INDEX complaints_closed;
DROP INDEX complaint_evaluations_evaluated;
DROP INDEX visit_plan_items_project;
DROP INDEX visit_plan_items_planned;
DROP INDEX deadlines_started;
