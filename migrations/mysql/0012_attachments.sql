-- Attachments (twin of migrations/sqlite/0012_attachments.sql).
CREATE TABLE attachments (
    id           BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    uploader_id  BIGINT       NOT NULL,
    ticket_id    BIGINT       NULL,
    reply_id     BIGINT       NULL,
    is_internal  BIGINT       NOT NULL DEFAULT 0,
    filename     VARCHAR(255) NOT NULL,
    mime_type    VARCHAR(255) NOT NULL,
    size         BIGINT       NOT NULL,
    sha256       CHAR(64)     NOT NULL,
    created_at   BIGINT       NOT NULL,
    attached_at  BIGINT       NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
CREATE INDEX attachments_ticket ON attachments (ticket_id, reply_id, id);
CREATE INDEX attachments_unattached ON attachments (ticket_id, created_at);
CREATE INDEX attachments_uploader ON attachments (uploader_id, created_at);
CREATE INDEX attachments_sha256 ON attachments (sha256);
CREATE INDEX tickets_live_department ON tickets (deleted_at, created_at, department_id);
CREATE INDEX replies_author ON replies (author_id, created_at);
