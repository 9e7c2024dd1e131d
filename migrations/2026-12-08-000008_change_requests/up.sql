-- Corporate change requests (SPEC §18): the contact asks, the representative answers with a
-- quote or declines; a request is answered at most once.

CREATE TABLE change_requests (
    id uuid PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES accounts (id),
    number text NOT NULL UNIQUE,
    status text NOT NULL DEFAULT 'submitted'
        CHECK (status IN ('submitted', 'quoted', 'completed', 'declined', 'withdrawn')),
    -- The items as asked for (cart item requests, and `cancel` items), validated when asked.
    items jsonb NOT NULL CHECK (jsonb_typeof(items) = 'array' AND jsonb_array_length(items) > 0),
    message text,
    submitted_by text NOT NULL,
    quote_id uuid UNIQUE,
    decline_reason text,
    answered_by text,
    answered_at timestamptz,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT quoted_has_quote
        CHECK ((status IN ('quoted', 'completed')) = (quote_id IS NOT NULL)),
    CONSTRAINT declined_has_reason CHECK ((status = 'declined') = (decline_reason IS NOT NULL)),
    CONSTRAINT answered_has_time CHECK ((status = 'submitted') = (answered_at IS NULL))
);
CREATE INDEX change_requests_account_idx ON change_requests (account_id, created_at DESC, id DESC);
CREATE INDEX change_requests_submitted_idx ON change_requests (created_at DESC, id DESC)
    WHERE status = 'submitted';
INSERT INTO document_counters (name, next) VALUES ('change_request', 1);

-- The quote answering a request; accepting it completes the request. Cancellations asked
-- for are carried out when the quote is accepted.
ALTER TABLE quotes ADD COLUMN change_request_id uuid UNIQUE REFERENCES change_requests (id);
ALTER TABLE quotes ADD COLUMN cancellations jsonb NOT NULL DEFAULT '[]'
    CHECK (jsonb_typeof(cancellations) = 'array');
-- A quote of cancellations only is accepted without an order.
ALTER TABLE quotes DROP CONSTRAINT accepted_has_order;
ALTER TABLE quotes ADD CONSTRAINT accepted_has_order CHECK (
    (order_id IS NULL OR status = 'accepted')
    AND (status <> 'accepted' OR order_id IS NOT NULL OR jsonb_array_length(items) = 0));
ALTER TABLE change_requests ADD CONSTRAINT change_requests_quote_fk
    FOREIGN KEY (quote_id) REFERENCES quotes (id);

ALTER TABLE events DROP CONSTRAINT events_type_check;
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
    'test_clock.created', 'test_clock.advanced', 'test_clock.deleted',
    'change_request.submitted', 'change_request.quoted', 'change_request.declined',
    'change_request.withdrawn', 'change_request.completed'));

ALTER TABLE notifications DROP CONSTRAINT notifications_template_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_template_check CHECK (template IN (
    'order_confirmation', 'renewal_invoice', 'renewal_receipt', 'payment_failed',
    'trial_ending', 'cancellation_scheduled', 'subscription_canceled',
    'change_request_submitted', 'change_request_withdrawn', 'change_request_quoted',
    'change_request_declined'));
