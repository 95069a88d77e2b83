-- Reports read records by the day they happened; each period filter has its index.
CREATE INDEX deadlines_started ON deadlines (started_at, scope_path);
CREATE INDEX visit_plan_items_planned ON visit_plan_items (planned_on, plan_id);
-- a project's items: is it in an approved plan (the compilation rate)
CREATE INDEX visit_plan_items_project ON visit_plan_items (project_id, plan_id);
CREATE INDEX complaint_evaluations_evaluated ON complaint_evaluations (evaluated_at, complaint_id);
CREATE INDEX complaints_closed ON complaints (closed_at) WHERE closed_at IS NOT NULL;
