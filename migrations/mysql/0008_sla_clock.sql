-- The SLA clock's pause (twin of migrations/sqlite/0008_sla_clock.sql).
ALTER TABLE tickets ADD COLUMN sla_paused_at BIGINT NULL;
ALTER TABLE tickets ADD COLUMN sla_paused_seconds BIGINT NOT NULL DEFAULT 0;
