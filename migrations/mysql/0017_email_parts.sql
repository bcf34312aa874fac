-- Twin of migrations/sqlite/0017_email_parts.sql.
ALTER TABLE email_inbound DROP COLUMN raw;
ALTER TABLE email_deliveries ADD COLUMN html MEDIUMTEXT NULL;
