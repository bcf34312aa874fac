-- The list in each of its sort orders, live tickets only, ending in the id that breaks ties:
-- a cursor page (`store::keyset`) reads a range of one of these from its position, so a page
-- deep in the list is as quick as the first. (Creation and update order have theirs since
-- 0001: tickets_created, tickets_updated.)
CREATE INDEX tickets_live_priority_order ON tickets (deleted_at, priority, id);
CREATE INDEX tickets_live_status_order ON tickets (deleted_at, status, id);
CREATE INDEX tickets_live_subject_order ON tickets (deleted_at, subject, id);
