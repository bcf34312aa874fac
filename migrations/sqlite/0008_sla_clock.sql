-- The SLA clock's pause: when it stopped (NULL while it runs), and the clock time of the pauses
-- that ended (in the policy's business or calendar seconds).
ALTER TABLE tickets ADD COLUMN sla_paused_at INTEGER NULL;
ALTER TABLE tickets ADD COLUMN sla_paused_seconds INTEGER NOT NULL DEFAULT 0;
