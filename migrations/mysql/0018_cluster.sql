-- Several nodes (twin of migrations/sqlite/0018_cluster.sql, plus the outbox counter).
-- A transaction that writes events now *writes* the outbox row (`writes = writes + 1`) rather
-- than only locking it: on a Galera cluster a row lock taken on one node does not hold back a
-- transaction on another, but two writes of one row conflict at certification, and the loser
-- is rolled back and retried. So event ids become visible in id order on every node.
ALTER TABLE outbox_lock ADD COLUMN writes BIGINT NOT NULL DEFAULT 0;
-- A scheduled run sets when the job is due next: the other nodes' schedulers skip it until then,
-- so a job runs once per period across all nodes, not once per node. A run by hand ignores it.
ALTER TABLE job_leases ADD COLUMN due_at BIGINT NOT NULL DEFAULT 0;
