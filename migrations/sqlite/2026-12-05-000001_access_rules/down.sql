DROP TABLE file_removals;
DROP INDEX complaints_registered_by;
DROP INDEX uploads_waiting_by_user;
