DROP TRIGGER events_notify ON events;
DROP FUNCTION events_notify();
DROP TABLE notifications;
ALTER TABLE events DROP CONSTRAINT events_notify_pair;
ALTER TABLE events DROP COLUMN notify_key;
ALTER TABLE events DROP COLUMN notify_template;
ALTER TABLE accounts DROP CONSTRAINT representative_email_has_representative;
ALTER TABLE accounts DROP COLUMN representative_email;
