-- Scheduled jobs: a lease per job, so that with several server nodes on one database each job
-- runs on one node at a time; and the SLA warning marks, so each warning is sent once.
CREATE TABLE job_leases (
    name        TEXT    NOT NULL PRIMARY KEY,
    holder      TEXT    NOT NULL DEFAULT '',
    expires_at  INTEGER NOT NULL DEFAULT 0
);
ALTER TABLE tickets ADD COLUMN first_response_warned INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN resolution_warned INTEGER NOT NULL DEFAULT 0;
-- The SLA check's scans: tickets whose target is due and not yet marked.
CREATE INDEX tickets_first_response_due ON tickets (first_response_breached, first_response_due_at);
CREATE INDEX tickets_resolution_due ON tickets (resolution_breached, resolution_due_at);
