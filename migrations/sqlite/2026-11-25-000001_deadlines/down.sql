DROP TABLE deadline_escalations;
DROP TABLE deadlines;
DROP TABLE calendar_days;
DROP TABLE deadline_policies;
