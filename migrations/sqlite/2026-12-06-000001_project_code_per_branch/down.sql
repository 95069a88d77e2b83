-- Back to one code across the company (fails if two branches share one):
-- a unique index does what the column's UNIQUE did, without a rebuild.
DROP INDEX projects_branch_code;
CREATE UNIQUE INDEX projects_code ON projects (code);
