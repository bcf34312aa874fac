-- The change feed (`GET /tickets/changes`) and ticket ETags. Every write transaction that
-- changes a ticket gives it the next number of `change_sequence` as it commits (see
-- `store::Tx::commit`): the ticket's `change_seq` is then the point of the feed after which it
-- shows, and its version. Deleted tickets keep their row (`deleted_at`): the feed's tombstone.
ALTER TABLE tickets ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
UPDATE tickets SET change_seq = id;
CREATE INDEX tickets_change_seq ON tickets (change_seq);
CREATE TABLE change_sequence (
    id   INTEGER PRIMARY KEY,
    seq  BIGINT NOT NULL
);
INSERT INTO change_sequence (id, seq) SELECT 1, COALESCE(MAX(id), 0) FROM tickets;
