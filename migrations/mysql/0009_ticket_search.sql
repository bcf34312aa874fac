-- Full-text search over ticket subjects and descriptions (twin of
-- migrations/sqlite/0009_ticket_search.sql; query shapes in docs/performance.md, "Search").
-- InnoDB maintains the index itself (new rows become searchable at commit) and indexes the rows
-- that exist already while building it. Its parser skips words shorter than
-- innodb_ft_min_token_size (3) and its default stopwords; the domain drops those words from a
-- search on both databases (domain/tickets/search.rs).
CREATE FULLTEXT INDEX tickets_search ON tickets (subject, description);
