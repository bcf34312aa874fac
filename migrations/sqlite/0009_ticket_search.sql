-- Full-text search over ticket subjects and descriptions (twin of
-- migrations/mysql/0009_ticket_search.sql; query shapes in docs/performance.md, "Search").
--
-- An external-content FTS5 table: it stores only the index, the text stays in `tickets`, and its
-- rowid is the ticket id. `tokenchars '_'` keeps `foo_bar` one word, as InnoDB's parser does,
-- so both databases split text into the same words; `remove_diacritics 2` folds accents as
-- MariaDB's utf8mb4_unicode_ci collation does.
CREATE VIRTUAL TABLE tickets_fts USING fts5(
    subject,
    description,
    content = 'tickets',
    content_rowid = 'id',
    tokenize = "unicode61 remove_diacritics 2 tokenchars '_'"
);

-- Kept in sync by triggers, so every writer (the server, the CLI, bulk seeding) is covered.
CREATE TRIGGER tickets_fts_insert AFTER INSERT ON tickets BEGIN
    INSERT INTO tickets_fts (rowid, subject, description)
    VALUES (new.id, new.subject, new.description);
END;

CREATE TRIGGER tickets_fts_delete AFTER DELETE ON tickets BEGIN
    INSERT INTO tickets_fts (tickets_fts, rowid, subject, description)
    VALUES ('delete', old.id, old.subject, old.description);
END;

-- Every ticket update writes the subject column back, so only a real change re-indexes
-- (re-tokenising a long description on each status change would slow every write).
CREATE TRIGGER tickets_fts_update AFTER UPDATE OF subject, description ON tickets
WHEN old.subject IS NOT new.subject OR old.description IS NOT new.description
BEGIN
    INSERT INTO tickets_fts (tickets_fts, rowid, subject, description)
    VALUES ('delete', old.id, old.subject, old.description);
    INSERT INTO tickets_fts (rowid, subject, description)
    VALUES (new.id, new.subject, new.description);
END;

-- Index the tickets that exist already.
INSERT INTO tickets_fts (tickets_fts) VALUES ('rebuild');
