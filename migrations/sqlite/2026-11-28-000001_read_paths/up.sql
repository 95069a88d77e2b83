-- The overdue list (`GET /deadlines?overdue=true`) pages the open
-- deadlines by id; with the open states written literally in the query this
-- index holds only them, however many settled ones history piles up.
CREATE INDEX deadlines_open_id ON deadlines (scope_path, id) WHERE status IN ('pending', 'overdue');
CREATE INDEX deadlines_open_by_id ON deadlines (id) WHERE status IN ('pending', 'overdue');
