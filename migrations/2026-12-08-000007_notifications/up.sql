-- Email notifications (SPEC §16) through an outbox: an event that should reach the billing
-- contact names its template and its cause; the statement that writes the event queues the
-- mail in the same transaction (the `events_notify` trigger), once per cause.

-- The representative's address, copied on a corporate account's mails.
ALTER TABLE accounts ADD COLUMN representative_email text;
ALTER TABLE accounts ADD CONSTRAINT representative_email_has_representative
    CHECK (representative_email IS NULL OR representative_id IS NOT NULL);

ALTER TABLE events ADD COLUMN notify_template text;
-- What the mail is about, e.g. `order:<id>`: a retried request or job that writes its event
-- again finds the mail already queued.
ALTER TABLE events ADD COLUMN notify_key text;
ALTER TABLE events ADD CONSTRAINT events_notify_pair
    CHECK ((notify_template IS NULL) = (notify_key IS NULL));

CREATE TABLE notifications (
    -- The id of the event that caused it (an event causes one mail at most): mails sort as
    -- their causes do.
    id uuid PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- The event whose resource the mail shows, as it was then.
    event_id uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    template text NOT NULL CHECK (template IN (
        'order_confirmation', 'renewal_invoice', 'renewal_receipt', 'payment_failed',
        'trial_ending', 'cancellation_scheduled', 'subscription_canceled')),
    cause_key text NOT NULL UNIQUE,
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'sent', 'failed', 'skipped')),
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz,
    -- The lease of the worker sending it; a dead worker's mail is taken over when it passes.
    locked_until timestamptz,
    last_error text,
    -- Filled when the mail is rendered: what was (or would have been) sent.
    to_address text,
    cc_addresses text[] NOT NULL DEFAULT '{}',
    subject text,
    sent_at timestamptz,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT pending_is_scheduled CHECK ((status = 'pending') = (next_attempt_at IS NOT NULL)),
    CONSTRAINT sent_has_time CHECK ((status = 'sent') = (sent_at IS NOT NULL))
);
-- Claimed in (next_attempt_at, id) order: the index reads the first due rows, no sort.
CREATE INDEX notifications_due_idx ON notifications (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX notifications_account_idx ON notifications (account_id, created_at DESC, id DESC);

CREATE FUNCTION events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO notifications (id, account_id, event_id, template, cause_key, next_attempt_at,
                               created_at, updated_at)
    SELECT n.id, n.account_id, n.id, n.notify_template, n.notify_key, now(),
           n.created_at, now()
    FROM new_events n
    WHERE n.notify_template IS NOT NULL AND n.account_id IS NOT NULL
    ORDER BY n.id
    ON CONFLICT (cause_key) DO NOTHING;
    RETURN NULL;
END
$$;
CREATE TRIGGER events_notify AFTER INSERT ON events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION events_notify();
