-- Idempotency keys (contract §9.3): the first answer to a keyed POST, PATCH or DELETE, kept so
-- that a retry, on any node, gets it again instead of repeating the write.
-- status_code is NULL while the first request runs; committed_at is set by the first write
-- transaction of that request, in the same commit, so a claim whose answer was lost still
-- says whether its write happened.
CREATE TABLE idempotency_keys (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id         INTEGER NOT NULL,
    idem_key        TEXT    NOT NULL,
    fingerprint     TEXT    NOT NULL,
    status_code     INTEGER,
    response_headers TEXT,
    response_body   TEXT,
    committed_at    INTEGER,
    created_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX idempotency_keys_owner_key ON idempotency_keys (user_id, idem_key);
-- The purge job's scan.
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
