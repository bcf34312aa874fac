-- The event outbox: every change's events are written in the change's own transaction, so an
-- event exists exactly when its change committed, and survives a restart. The live stream,
-- webhooks, plugins and automations read from here, in id order.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    type        TEXT    NOT NULL,
    ticket_id   INTEGER NULL,
    payload     TEXT    NOT NULL,   -- JSON: the event's `data`
    created_at  INTEGER NOT NULL
);
CREATE INDEX events_created ON events (created_at);
