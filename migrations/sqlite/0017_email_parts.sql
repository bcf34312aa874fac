-- Inbound mail's files now go to attachment storage (§9.5) as they arrive: the raw copy of a
-- message kept for them until then is no longer needed.
ALTER TABLE email_inbound DROP COLUMN raw;
