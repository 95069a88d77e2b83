DROP INDEX deadlines_open_by_id;
DROP INDEX deadlines_open_id;
