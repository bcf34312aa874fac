-- Each sort order of the list led by its sort key, the id that breaks ties, then `deleted_at`
-- (so a seek decides liveness from the index alone). A cursor page's seek names one of these
-- (`FORCE INDEX`): led by `deleted_at`, the same order offered MariaDB a `ref` on
-- `deleted_at IS NULL`, which InnoDB estimates (half the table, its cap for any range) exactly
-- as it estimates the seek's range deep in the list; when the tie fell to the `ref`, a page walked
-- the list from its top (0.5 to 3 s at a million tickets, docs/performance.md). An index with no
-- equality to lead it has no `ref` to offer. These replace 0014's and `tickets_updated`;
-- `tickets_created`, which reports and the export also read, stays beside its new order.
DROP INDEX tickets_live_priority_order ON tickets;
DROP INDEX tickets_live_status_order ON tickets;
DROP INDEX tickets_live_subject_order ON tickets;
DROP INDEX tickets_updated ON tickets;
CREATE INDEX tickets_created_order ON tickets (created_at, id, deleted_at);
CREATE INDEX tickets_updated_order ON tickets (updated_at, id, deleted_at);
CREATE INDEX tickets_priority_order ON tickets (priority, id, deleted_at);
CREATE INDEX tickets_status_order ON tickets (status, id, deleted_at);
CREATE INDEX tickets_subject_order ON tickets (subject, id, deleted_at);
