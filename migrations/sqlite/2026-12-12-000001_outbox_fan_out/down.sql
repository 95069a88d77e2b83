DROP TABLE outbox_position;
ALTER TABLE events DROP COLUMN webhook_ids;
