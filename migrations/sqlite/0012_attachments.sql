-- Attachments (contract §9.5). A row per upload; the file itself lives in the object store at
-- its content address (the SHA-256), so rows with the same `sha256` share one stored object.
-- `ticket_id` is NULL until the upload is attached to a ticket (on create) or a reply.
CREATE TABLE attachments (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    uploader_id  INTEGER NOT NULL,
    ticket_id    INTEGER NULL,
    reply_id     INTEGER NULL,
    is_internal  INTEGER NOT NULL DEFAULT 0,   -- 1: attached to an internal note
    filename     TEXT    NOT NULL,
    mime_type    TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    attached_at  INTEGER NULL
);
-- The attachments of a ticket (show, purge of deleted tickets).
CREATE INDEX attachments_ticket ON attachments (ticket_id, reply_id, id);
-- Uploads never attached, oldest first (the purge job), and a caller's own recent uploads.
CREATE INDEX attachments_unattached ON attachments (ticket_id, created_at);
CREATE INDEX attachments_uploader ON attachments (uploader_id, created_at);
-- Whether any row still refers to a stored object.
CREATE INDEX attachments_sha256 ON attachments (sha256);
-- Reports: tickets created / resolved in a period are read by `tickets_created` and
-- `tickets_resolved`; the counts by department are served by this one.
CREATE INDEX tickets_live_department ON tickets (deleted_at, created_at, department_id);
-- Reports: replies and notes an agent wrote in a period (the agents export).
CREATE INDEX replies_author ON replies (author_id, created_at);
