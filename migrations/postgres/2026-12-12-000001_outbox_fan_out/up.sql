-- An event records the webhooks it is owed to (in its own transaction, as
-- part of its row: no other row or index is written beside it); the
-- dispatcher turns them into delivery rows in batches, after the feed's
-- order, from the position kept here. Events already stored have their
-- deliveries: the position starts after the last of them.
ALTER TABLE events ADD COLUMN webhook_ids TEXT;

CREATE TABLE outbox_position (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    tx BIGINT NOT NULL,
    event_id BIGINT NOT NULL
);

INSERT INTO outbox_position (id, tx, event_id)
SELECT 1,
       COALESCE((SELECT tx FROM events ORDER BY tx DESC, id DESC LIMIT 1), 0),
       COALESCE((SELECT id FROM events ORDER BY tx DESC, id DESC LIMIT 1), 0);
