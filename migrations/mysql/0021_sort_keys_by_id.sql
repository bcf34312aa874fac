-- Each ticket's sort keys, found by its id: a search whose matches the search index in memory
-- found (`store/word_index.rs`) orders them by reading this narrow index instead of their rows.
-- At a million tickets the rows (1.1 GiB with the text) are mostly on disk, and a thousand of
-- them read by id took 0.3-0.4 s; their entries here (about 40 MiB in all) stay in the buffer
-- pool. SQLite reads rows from the file cache and has no need of it.
CREATE INDEX tickets_sort_keys ON tickets (id, deleted_at, created_at, updated_at, priority, status);
