DROP TABLE events;
DROP TABLE login_attempts;
DROP TABLE refresh_tokens;
DROP TABLE users;
DROP TABLE customers;
DROP TABLE org_units;
