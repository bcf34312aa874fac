-- The change feed (`GET /tickets/changes`) and ticket ETags (twin of
-- migrations/sqlite/0015_change_feed.sql). Every write transaction that changes a ticket takes
-- the one `change_sequence` row's lock as it commits, increments it and gives the ticket the
-- new number (see `store::Tx::commit`); holding the lock to the commit makes the numbers
-- become visible in order, so a reader that resumes "after N" never skips a change committed
-- late with a smaller number. Deleted tickets keep their row (`deleted_at`): the tombstone.
ALTER TABLE tickets ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
UPDATE tickets SET change_seq = id;
CREATE INDEX tickets_change_seq ON tickets (change_seq);
CREATE TABLE change_sequence (
    id   BIGINT NOT NULL PRIMARY KEY,
    seq  BIGINT NOT NULL
) ENGINE=InnoDB;
INSERT INTO change_sequence (id, seq) SELECT 1, COALESCE(MAX(id), 0) FROM tickets;
