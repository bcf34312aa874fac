-- The list filtered by status and priority together (the seed's combined filter, with or
-- without a search), in list order, live tickets only: one index range with every column the
-- filter reads, so a page, its count and the walk of a common search word's list order
-- (`tickets::page_among`) read no table row to decide which tickets qualify.
CREATE INDEX tickets_live_status_priority ON tickets (deleted_at, status, priority, created_at, id);
