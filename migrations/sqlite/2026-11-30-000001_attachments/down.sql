DROP TABLE attachments;
DROP TABLE uploads;
DROP TABLE stored_files;
