ALTER TABLE projects DROP COLUMN import_id;
DROP TABLE imports;
