-- Cancellation and dunning (SPEC §13): a subscription ends at its period end or at once, or
-- after its renewal could not be collected; an invoice nobody will pay is `uncollectible`.

ALTER TABLE subscriptions ADD COLUMN cancel_at_period_end boolean NOT NULL DEFAULT false;
-- The first day the subscription no longer runs: its period end (or the day after a trial).
ALTER TABLE subscriptions ADD COLUMN cancel_at date;
ALTER TABLE subscriptions ADD COLUMN ended_at date;
ALTER TABLE subscriptions ADD COLUMN cancellation_reason text
    CHECK (cancellation_reason IN ('requested', 'payment_failed'));
ALTER TABLE subscriptions ADD COLUMN cancellation_comment text
    CHECK (length(cancellation_comment) <= 500);
UPDATE subscriptions SET ended_at = updated_at::date, cancellation_reason = 'requested'
    WHERE status = 'canceled';
ALTER TABLE subscriptions ADD CONSTRAINT canceled_has_end
    CHECK ((status = 'canceled') = (ended_at IS NOT NULL AND cancellation_reason IS NOT NULL));
ALTER TABLE subscriptions ADD CONSTRAINT pending_cancellation_has_date
    CHECK (cancel_at_period_end = (cancel_at IS NOT NULL));

ALTER TABLE invoices DROP CONSTRAINT invoices_status_check;
ALTER TABLE invoices ADD CONSTRAINT invoices_status_check
    CHECK (status IN ('open', 'paid', 'uncollectible', 'void'));
-- Dunning: when the first attempt failed, when the next automatic one is due (none after a
-- hard decline or without a card), and when the subscription ends if nothing was paid.
ALTER TABLE invoices ADD COLUMN first_failed_at timestamptz;
ALTER TABLE invoices ADD COLUMN next_payment_attempt timestamptz;
ALTER TABLE invoices ADD COLUMN dunning_ends_at timestamptz;
ALTER TABLE invoices ADD CONSTRAINT retries_only_while_open
    CHECK (status = 'open' OR next_payment_attempt IS NULL);
CREATE INDEX invoices_retry_idx ON invoices (next_payment_attempt) WHERE status = 'open';
CREATE INDEX invoices_dunning_end_idx ON invoices (dunning_ends_at)
    WHERE status = 'open' AND next_payment_attempt IS NULL;
CREATE INDEX invoices_overdue_idx ON invoices (due_on)
    WHERE status = 'open' AND NOT collected_by_card;

-- A cancellation that credits unused time is an order of its own (through the engine).
ALTER TABLE orders ADD COLUMN cancels_subscription_id uuid REFERENCES subscriptions (id);
ALTER TABLE orders DROP CONSTRAINT order_has_one_source;
ALTER TABLE orders ADD CONSTRAINT order_has_one_source
    CHECK (num_nonnulls(cart_id, quote_id, renews_subscription_id, cancels_subscription_id) = 1);
-- One per subscription and day: a subscription subscribed to again after its end may be
-- canceled again another day.
CREATE UNIQUE INDEX one_cancellation_per_subscription ON orders (cancels_subscription_id, quote_date)
    WHERE cancels_subscription_id IS NOT NULL;
ALTER TABLE order_items DROP CONSTRAINT order_items_type_check;
ALTER TABLE order_items ADD CONSTRAINT order_items_type_check
    CHECK (type IN ('change', 'subscribe', 'renewal', 'cancel'));

ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check
    CHECK (kind IN ('renew_subscription', 'trial_will_end', 'expire_trial',
                    'purge_idempotency_keys', 'recover_pending_orders', 'advance_test_clock',
                    'retry_payment', 'end_dunning', 'invoice_overdue'));
