-- Outbound webhooks (twin of migrations/sqlite/0007_webhooks.sql).
CREATE TABLE webhooks (
    id              BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    url             VARCHAR(2048) NOT NULL,
    event_names     TEXT         NOT NULL,
    secret          VARCHAR(255) NOT NULL,
    is_active       BIGINT       NOT NULL DEFAULT 1,
    after_event_id  BIGINT       NOT NULL DEFAULT 0,
    created_at      BIGINT       NOT NULL,
    updated_at      BIGINT       NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE webhook_deliveries (
    id               BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    webhook_id       BIGINT      NOT NULL,
    event_id         BIGINT      NOT NULL,
    event_type       VARCHAR(64) NOT NULL,
    status           VARCHAR(16) NOT NULL DEFAULT 'pending',
    attempts         BIGINT      NOT NULL DEFAULT 0,
    run_attempts     BIGINT      NOT NULL DEFAULT 0,
    response_status  BIGINT      NULL,
    error            TEXT        NULL,
    next_attempt_at  BIGINT      NULL,
    delivered_at     BIGINT      NULL,
    created_at       BIGINT      NOT NULL,
    updated_at       BIGINT      NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
CREATE UNIQUE INDEX webhook_deliveries_event ON webhook_deliveries (webhook_id, event_id);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);

CREATE TABLE webhook_attempts (
    id               BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    delivery_id      BIGINT NOT NULL,
    attempt          BIGINT NOT NULL,
    response_status  BIGINT NULL,
    error            TEXT   NULL,
    duration_ms      BIGINT NOT NULL,
    attempted_at     BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, attempt);

CREATE TABLE webhook_cursor (
    id             BIGINT NOT NULL PRIMARY KEY,
    last_event_id  BIGINT NOT NULL
) ENGINE=InnoDB;
INSERT INTO webhook_cursor (id, last_event_id) SELECT 1, COALESCE(MAX(id), 0) FROM events;
