-- Scheduled jobs (twin of migrations/sqlite/0005_jobs.sql).
CREATE TABLE job_leases (
    name        VARCHAR(64)  NOT NULL PRIMARY KEY,
    holder      VARCHAR(64)  NOT NULL DEFAULT '',
    expires_at  BIGINT       NOT NULL DEFAULT 0
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
ALTER TABLE tickets ADD COLUMN first_response_warned BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN resolution_warned BIGINT NOT NULL DEFAULT 0;
CREATE INDEX tickets_first_response_due ON tickets (first_response_breached, first_response_due_at);
CREATE INDEX tickets_resolution_due ON tickets (resolution_breached, resolution_due_at);
