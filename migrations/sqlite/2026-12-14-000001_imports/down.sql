DROP INDEX customers_branch_name;
DROP INDEX org_units_kind_name;
ALTER TABLE projects DROP COLUMN import_id;
DROP TABLE imports;
