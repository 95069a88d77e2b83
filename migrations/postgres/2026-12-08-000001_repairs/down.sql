DELETE FROM deadline_policies WHERE rule IN ('repair.rework', 'repair.followup');
DELETE FROM deadline_policies WHERE rule = 'repair.respond.emergency'
   AND version = (SELECT MAX(version) FROM deadline_policies WHERE rule = 'repair.respond.emergency') AND version > 1;
DROP INDEX visits_repair;
ALTER TABLE visits DROP COLUMN repair_id;
DROP TABLE repair_reopenings;
DROP TABLE repair_cost_lines;
DROP TABLE repair_steps;
DROP TABLE repairs;
