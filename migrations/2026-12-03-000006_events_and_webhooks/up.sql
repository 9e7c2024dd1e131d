-- The audit trail becomes the event stream (SPEC §14): typed events with the resource as the
-- API shows it after the change (`object`) and the fields that changed, with their old values
-- (`previous_attributes`); signed webhooks deliver it from an outbox of deliveries written in
-- the same transaction as the events.

ALTER TABLE audit_events RENAME TO events;
ALTER INDEX audit_events_account_idx RENAME TO events_account_idx;
ALTER TABLE events RENAME COLUMN action TO type;

-- Time acts as `system`, with no role.
ALTER TABLE events ALTER COLUMN actor_role DROP NOT NULL;
UPDATE events SET actor_role = NULL WHERE actor_sub = 'system';
ALTER TABLE events ADD CONSTRAINT events_actor_has_role
    CHECK (actor_role IS NOT NULL OR actor_sub = 'system');

ALTER TABLE events ADD COLUMN previous_attributes jsonb;
UPDATE events SET previous_attributes = (
    SELECT coalesce(jsonb_object_agg(b.key, b.value), '{}'::jsonb)
    FROM jsonb_each(events.before) AS b
    WHERE events.after IS NULL OR events.after -> b.key IS DISTINCT FROM b.value)
WHERE before IS NOT NULL AND jsonb_typeof(before) = 'object';
ALTER TABLE events DROP COLUMN before;
ALTER TABLE events RENAME COLUMN after TO object;
UPDATE events SET object = '{}'::jsonb WHERE object IS NULL;
ALTER TABLE events ALTER COLUMN object SET NOT NULL;

ALTER TABLE events ADD COLUMN idempotency_key text;
-- Deliveries keep the order of one subscription's events (or one account's, for events
-- without a subscription).
ALTER TABLE events ADD COLUMN subscription_id uuid;
UPDATE events SET subscription_id = subject_id WHERE subject_type = 'subscription';

-- The names of SPEC §14 for what earlier releases wrote under other names.
UPDATE events SET type = 'subscription.created'
    WHERE type = 'subscription.imported'
       OR (type = 'subscription.subscribed' AND previous_attributes IS NULL);
UPDATE events SET type = 'subscription.updated'
    WHERE type IN ('subscription.subscribed', 'subscription.changed');
UPDATE events SET type = 'account.updated'
    WHERE type IN ('account.country_changed', 'account.payment_method_set',
                   'account.representative_changed');
UPDATE events SET type = 'license.assigned' WHERE type = 'license.bulk_changed';
UPDATE events SET type = 'order.payment_failed' WHERE type = 'order.payment_declined';

ALTER TABLE events ADD CONSTRAINT events_type_check CHECK (type IN (
    'account.created', 'account.updated',
    'subscription.created', 'subscription.updated', 'subscription.renewed',
    'subscription.past_due', 'subscription.cancellation_scheduled', 'subscription.reactivated',
    'subscription.canceled', 'subscription.trial_will_end', 'subscription.trial_expired',
    'order.placed', 'order.payment_failed', 'order.voided',
    'invoice.created', 'invoice.paid', 'invoice.payment_failed', 'invoice.payment_recorded',
    'invoice.uncollectible',
    'license.assigned', 'license.unassigned',
    'quote.sent', 'quote.accepted', 'quote.rejected', 'quote.withdrawn',
    'cart.item_added', 'cart.item_replaced', 'cart.item_changed', 'cart.item_removed',
    'user.created', 'user.deleted', 'purchase_order.created',
    'webhook_endpoint.created', 'webhook_endpoint.updated', 'webhook_endpoint.deleted',
    'webhook_endpoint.secret_rotated', 'webhook_endpoint.disabled', 'webhook.test',
    'test_clock.created', 'test_clock.advanced', 'test_clock.deleted'));

-- The tenant-wide stream, newest first.
CREATE INDEX events_created_idx ON events (created_at DESC, id DESC);

CREATE TABLE webhook_endpoints (
    id uuid PRIMARY KEY,
    url text NOT NULL,
    description text,
    -- `{*}`, or event types, or `prefix.*`.
    enabled_events text[] NOT NULL CHECK (cardinality(enabled_events) > 0),
    disabled boolean NOT NULL DEFAULT false,
    disabled_reason text CHECK (disabled_reason IN ('requested', 'gone', 'failing')),
    -- `whsec_` + base64 of 32 random bytes; after a rotation the previous secret signs too,
    -- until it expires.
    secret text NOT NULL,
    previous_secret text,
    previous_secret_expires_at timestamptz,
    -- The first failed attempt since the last success: five days of failures disable it.
    failing_since timestamptz,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT disabled_has_reason CHECK (disabled = (disabled_reason IS NOT NULL)),
    CONSTRAINT previous_secret_expires
        CHECK ((previous_secret IS NULL) = (previous_secret_expires_at IS NULL))
);
CREATE INDEX webhook_endpoints_created_idx ON webhook_endpoints (created_at DESC, id DESC);

CREATE TABLE webhook_deliveries (
    id uuid PRIMARY KEY,
    -- Order of creation: for one (endpoint, ordering key), a delivery waits for the ones
    -- before it to succeed or fail.
    seq bigint GENERATED ALWAYS AS IDENTITY,
    endpoint_id uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    ordering_key uuid NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz,
    -- The lease of the worker sending it: one event goes to one endpoint from one worker at a
    -- time; a dead worker's delivery is taken over when the lease passes.
    locked_until timestamptz,
    last_attempt_at timestamptz,
    last_response_status integer,
    last_duration_ms integer,
    last_error text,
    created_at timestamptz NOT NULL,
    CONSTRAINT pending_is_scheduled CHECK ((status = 'pending') = (next_attempt_at IS NOT NULL))
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_order_idx ON webhook_deliveries (endpoint_id, ordering_key, seq)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint_idx
    ON webhook_deliveries (endpoint_id, created_at DESC, id DESC);
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_id);

-- The outbox: the statement that writes events writes, in the same transaction, one delivery
-- per enabled endpoint that wants each event. An endpoint created later never sees them;
-- `webhook.test` goes only to the endpoint it tests (written by that request).
CREATE FUNCTION events_fan_out() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_deliveries (id, endpoint_id, event_id, ordering_key, next_attempt_at,
                                    created_at)
    SELECT gen_random_uuid(), e.id, n.id, coalesce(n.subscription_id, n.account_id, e.id),
           now(), now()
    FROM new_events n
    JOIN webhook_endpoints e
      ON NOT e.disabled
     AND ('*' = ANY (e.enabled_events)
          OR n.type = ANY (e.enabled_events)
          OR split_part(n.type, '.', 1) || '.*' = ANY (e.enabled_events))
    WHERE n.type <> 'webhook.test'
    ORDER BY n.id, e.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER events_fan_out AFTER INSERT ON events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION events_fan_out();
