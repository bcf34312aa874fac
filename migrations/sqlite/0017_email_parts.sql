-- Inbound mail's files now go to attachment storage (§9.5) as they arrive: the raw copy of a
-- message kept for them until then is no longer needed.
ALTER TABLE email_inbound DROP COLUMN raw;

-- Notifications carry an HTML part besides the text, rendered when queued like the text (so
-- every attempt sends the same). NULL for mail queued before: sent as text only.
ALTER TABLE email_deliveries ADD COLUMN html TEXT NULL;
