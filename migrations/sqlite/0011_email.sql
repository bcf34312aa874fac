-- Email in and out (contract §9.7).

-- Every inbound message, by its Message-ID: a repeat changes nothing, the per-sender rate limit
-- counts these rows, and a reply to a message of this conversation threads through them.
CREATE TABLE email_inbound (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    -- SHA-256 (hex) of the Message-ID without its angle brackets: fixed length for the index.
    message_key   TEXT    NOT NULL,
    message_id    TEXT    NOT NULL,
    sender        TEXT    NOT NULL,
    subject       TEXT    NOT NULL,
    -- processing (claimed, being applied), created, replied or ignored.
    outcome       TEXT    NOT NULL,
    -- Why it was ignored (auto_submitted, bulk, bounce, loop, rate_limited, ...).
    reason        TEXT    NULL,
    ticket_id     INTEGER NULL,
    reply_id      INTEGER NULL,
    -- A JSON array of {filename, mime_type, size}.
    attachments   TEXT    NOT NULL,
    -- The message as received, when it had attachments and was small enough
    -- (email.keep_raw_bytes): attachment storage (§9.5) can take them from here.
    raw           BLOB    NULL,
    created_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX email_inbound_message ON email_inbound (message_key);
CREATE INDEX email_inbound_sender ON email_inbound (sender, created_at);
CREATE INDEX email_inbound_ticket ON email_inbound (ticket_id, id);

-- One notification to one recipient: the delivery log, and the Message-IDs we sent (replies
-- thread back by them).
CREATE TABLE email_deliveries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id         INTEGER NOT NULL,
    ticket_id        INTEGER NOT NULL,
    -- ticket_created, agent_reply or assigned.
    kind             TEXT    NOT NULL,
    recipient        TEXT    NOT NULL,
    subject          TEXT    NOT NULL,
    body             TEXT    NOT NULL,
    message_id       TEXT    NOT NULL,
    message_key      TEXT    NOT NULL,
    in_reply_to      TEXT    NULL,
    -- Space-separated Message-IDs, each in angle brackets.
    references_ids   TEXT    NULL,
    -- pending, sent or failed.
    status           TEXT    NOT NULL DEFAULT 'pending',
    attempts         INTEGER NOT NULL DEFAULT 0,
    error            TEXT    NULL,
    next_attempt_at  INTEGER NULL,
    sent_at          INTEGER NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
-- One mail per event and recipient, even if two nodes fan out the same event.
CREATE UNIQUE INDEX email_deliveries_event ON email_deliveries (event_id, recipient);
CREATE INDEX email_deliveries_message ON email_deliveries (message_key);
CREATE INDEX email_deliveries_due ON email_deliveries (status, next_attempt_at);
CREATE INDEX email_deliveries_ticket ON email_deliveries (ticket_id, id);

-- The last outbox event turned into notifications. Starts at the end of the outbox as it is
-- now, so turning email on does not mail history.
CREATE TABLE email_cursor (
    id             INTEGER NOT NULL PRIMARY KEY,
    last_event_id  INTEGER NOT NULL
);
INSERT INTO email_cursor (id, last_event_id) SELECT 1, COALESCE(MAX(id), 0) FROM events;
