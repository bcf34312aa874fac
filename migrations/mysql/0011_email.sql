-- Email in and out (twin of migrations/sqlite/0011_email.sql).
CREATE TABLE email_inbound (
    id            BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    message_key   CHAR(64)     NOT NULL,
    message_id    TEXT         NOT NULL,
    sender        VARCHAR(255) NOT NULL,
    subject       TEXT         NOT NULL,
    outcome       VARCHAR(16)  NOT NULL,
    reason        VARCHAR(64)  NULL,
    ticket_id     BIGINT       NULL,
    reply_id      BIGINT       NULL,
    attachments   TEXT         NOT NULL,
    raw           LONGBLOB     NULL,
    created_at    BIGINT       NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
CREATE UNIQUE INDEX email_inbound_message ON email_inbound (message_key);
CREATE INDEX email_inbound_sender ON email_inbound (sender, created_at);
CREATE INDEX email_inbound_ticket ON email_inbound (ticket_id, id);

CREATE TABLE email_deliveries (
    id               BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    event_id         BIGINT       NOT NULL,
    ticket_id        BIGINT       NOT NULL,
    kind             VARCHAR(32)  NOT NULL,
    recipient        VARCHAR(255) NOT NULL,
    subject          TEXT         NOT NULL,
    body             MEDIUMTEXT   NOT NULL,
    message_id       TEXT         NOT NULL,
    message_key      CHAR(64)     NOT NULL,
    in_reply_to      TEXT         NULL,
    references_ids   TEXT         NULL,
    status           VARCHAR(16)  NOT NULL DEFAULT 'pending',
    attempts         BIGINT       NOT NULL DEFAULT 0,
    error            TEXT         NULL,
    next_attempt_at  BIGINT       NULL,
    sent_at          BIGINT       NULL,
    created_at       BIGINT       NOT NULL,
    updated_at       BIGINT       NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
CREATE UNIQUE INDEX email_deliveries_event ON email_deliveries (event_id, recipient);
CREATE INDEX email_deliveries_message ON email_deliveries (message_key);
CREATE INDEX email_deliveries_due ON email_deliveries (status, next_attempt_at);
CREATE INDEX email_deliveries_ticket ON email_deliveries (ticket_id, id);

CREATE TABLE email_cursor (
    id             BIGINT NOT NULL PRIMARY KEY,
    last_event_id  BIGINT NOT NULL
) ENGINE=InnoDB;
INSERT INTO email_cursor (id, last_event_id) SELECT 1, COALESCE(MAX(id), 0) FROM events;
