-- Twin of migrations/sqlite/0017_email_parts.sql.
ALTER TABLE email_inbound DROP COLUMN raw;
