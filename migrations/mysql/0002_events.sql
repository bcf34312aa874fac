-- The event outbox (twin of migrations/sqlite/0002_events.sql).
CREATE TABLE events (
    id          BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    type        VARCHAR(64) NOT NULL,
    ticket_id   BIGINT NULL,
    payload     MEDIUMTEXT NOT NULL,
    created_at  BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
CREATE INDEX events_created ON events (created_at);

-- Transactions take this row's lock just before they write their events and hold it to their
-- commit, so event ids become visible in id order and a reader that resumes "after id N" never
-- skips an event committed late with a smaller id. (SQLite has one writer at a time anyway.)
CREATE TABLE outbox_lock (
    id  BIGINT NOT NULL PRIMARY KEY
) ENGINE=InnoDB;
INSERT INTO outbox_lock (id) VALUES (1);
