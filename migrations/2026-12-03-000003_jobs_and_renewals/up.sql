-- Background work as data (SPEC §17): a job is a row with a unique dedupe key, claimed by
-- any instance with FOR UPDATE SKIP LOCKED under a lease. Renewals (SPEC §13) are orders
-- without a cart or a quote, one per (subscription, period start).

CREATE TABLE jobs (
    id uuid PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('renew_subscription', 'trial_will_end', 'expire_trial',
                                       'purge_idempotency_keys', 'recover_pending_orders')),
    -- What the job acts on and when it was due: a sweep that finds the same due thing again
    -- hits this key and inserts nothing.
    dedupe_key text NOT NULL UNIQUE,
    subject_id uuid,
    -- When the thing it does was due (a period end, a trial's day): its effects carry this
    -- time. `run_at` is when it is next tried (later after a failure).
    due_at timestamptz NOT NULL,
    run_at timestamptz NOT NULL,
    status text NOT NULL DEFAULT 'due' CHECK (status IN ('due', 'running', 'succeeded', 'failed')),
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- The lease: a running job whose lease has passed is taken over by another worker.
    locked_until timestamptz,
    locked_by text,
    last_error text,
    created_at timestamptz NOT NULL,
    finished_at timestamptz,
    CONSTRAINT running_has_lease CHECK ((status = 'running') = (locked_until IS NOT NULL)),
    CONSTRAINT finished_has_time CHECK ((status IN ('succeeded', 'failed')) = (finished_at IS NOT NULL))
);
CREATE INDEX jobs_due_idx ON jobs (run_at) WHERE status = 'due';
CREATE INDEX jobs_running_idx ON jobs (locked_until) WHERE status = 'running';
CREATE INDEX jobs_finished_idx ON jobs (finished_at) WHERE status = 'succeeded';

-- Periods are anchored on the day of the month they started on: Jan 31 → Feb 28 → Mar 31.
ALTER TABLE subscriptions ADD COLUMN billing_anchor_day smallint
    CHECK (billing_anchor_day BETWEEN 1 AND 31);
UPDATE subscriptions SET billing_anchor_day = extract(day FROM current_period_start)
    WHERE current_period_start IS NOT NULL;
ALTER TABLE subscriptions DROP CONSTRAINT subscriptions_status_check;
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_status_check
    CHECK (status IN ('trialing', 'trial_expired', 'active', 'past_due', 'canceled'));
ALTER TABLE subscriptions DROP CONSTRAINT active_has_period;
ALTER TABLE subscriptions ADD CONSTRAINT active_has_period CHECK (
    status NOT IN ('active', 'past_due')
    OR (current_period_start IS NOT NULL AND current_period_end IS NOT NULL
        AND current_period_end > current_period_start AND period_amount IS NOT NULL
        AND billing_anchor_day IS NOT NULL));
-- Renewals are swept by period end.
CREATE INDEX subscriptions_renewal_due_idx ON subscriptions (current_period_end)
    WHERE status IN ('active', 'past_due');
CREATE INDEX subscriptions_trial_end_idx ON subscriptions (trial_ends_on)
    WHERE status = 'trialing';

-- A renewal order renews one subscription for the period starting on its period end.
ALTER TABLE orders ADD COLUMN renews_subscription_id uuid REFERENCES subscriptions (id);
ALTER TABLE orders DROP CONSTRAINT order_has_one_source;
ALTER TABLE orders ADD CONSTRAINT order_has_one_source
    CHECK (num_nonnulls(cart_id, quote_id, renews_subscription_id) = 1);
ALTER TABLE order_items DROP CONSTRAINT order_items_type_check;
ALTER TABLE order_items ADD CONSTRAINT order_items_type_check
    CHECK (type IN ('change', 'subscribe', 'renewal'));
-- Exactly once per (subscription, period start): the renewal order, and through
-- invoices.order_id (unique) its invoice.
CREATE UNIQUE INDEX one_renewal_per_period ON orders (renews_subscription_id, quote_date)
    WHERE renews_subscription_id IS NOT NULL;

-- Collecting an open invoice by card: attempts and the last refusal (SPEC §13).
ALTER TABLE invoices ADD COLUMN attempt_count integer NOT NULL DEFAULT 0 CHECK (attempt_count >= 0);
ALTER TABLE invoices ADD COLUMN last_payment_error jsonb;
-- A self-service renewal invoice is collected from the card on file; its charge is kept.
ALTER TABLE invoices ADD COLUMN collected_by_card boolean NOT NULL DEFAULT false;
ALTER TABLE invoices ADD COLUMN charge_id text;
CREATE INDEX invoices_open_idx ON invoices (account_id, due_on) WHERE status = 'open';
