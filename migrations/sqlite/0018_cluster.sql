-- Several nodes (twin of migrations/mysql/0018_cluster.sql): a scheduled run sets when the job
-- is due next, and the other nodes' schedulers skip it until then, so a job runs once per period
-- across all nodes, not once per node. A run by hand ignores it.
ALTER TABLE job_leases ADD COLUMN due_at INTEGER NOT NULL DEFAULT 0;
