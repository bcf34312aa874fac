-- Outbound webhooks: the endpoints, one delivery per event and endpoint, each HTTP attempt of a
-- delivery, and the cursor of the worker that turns outbox events into deliveries.
CREATE TABLE webhooks (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    url             TEXT    NOT NULL,
    -- A JSON array of event names, or ["*"].
    event_names     TEXT    NOT NULL,
    secret          TEXT    NOT NULL,
    is_active       INTEGER NOT NULL DEFAULT 1,
    -- The newest outbox event when the endpoint was made: it receives only later ones.
    after_event_id  INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);

CREATE TABLE webhook_deliveries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id       INTEGER NOT NULL,
    event_id         INTEGER NOT NULL,
    event_type       TEXT    NOT NULL,
    -- pending, delivered or failed.
    status           TEXT    NOT NULL DEFAULT 'pending',
    attempts         INTEGER NOT NULL DEFAULT 0,
    -- Attempts since the delivery was last queued (a redelivery starts a fresh run).
    run_attempts     INTEGER NOT NULL DEFAULT 0,
    response_status  INTEGER NULL,
    error            TEXT    NULL,
    next_attempt_at  INTEGER NULL,
    delivered_at     INTEGER NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
-- One delivery per event and endpoint, even if two nodes fan out the same event.
CREATE UNIQUE INDEX webhook_deliveries_event ON webhook_deliveries (webhook_id, event_id);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);

CREATE TABLE webhook_attempts (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id      INTEGER NOT NULL,
    attempt          INTEGER NOT NULL,
    response_status  INTEGER NULL,
    error            TEXT    NULL,
    duration_ms      INTEGER NOT NULL,
    attempted_at     INTEGER NOT NULL
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, attempt);

-- The last outbox event turned into deliveries. Starts at the end of the outbox as it is now,
-- so installing webhooks does not replay history.
CREATE TABLE webhook_cursor (
    id             INTEGER NOT NULL PRIMARY KEY,
    last_event_id  INTEGER NOT NULL
);
INSERT INTO webhook_cursor (id, last_event_id) SELECT 1, COALESCE(MAX(id), 0) FROM events;
