-- Idempotency keys (twin of migrations/sqlite/0013_idempotency.sql). Keys are compared
-- byte for byte (ascii_bin): `Abc` and `abc` are two keys.
CREATE TABLE idempotency_keys (
    id               BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id          BIGINT       NOT NULL,
    idem_key         VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    fingerprint      CHAR(64)     CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    status_code      BIGINT       NULL,
    response_headers TEXT         NULL,
    response_body    MEDIUMTEXT   NULL,
    committed_at     BIGINT       NULL,
    created_at       BIGINT       NOT NULL,
    UNIQUE KEY idempotency_keys_owner_key (user_id, idem_key),
    KEY idempotency_keys_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
