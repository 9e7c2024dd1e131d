DROP INDEX invoices_open_idx;
ALTER TABLE invoices DROP COLUMN charge_id;
ALTER TABLE invoices DROP COLUMN collected_by_card;
ALTER TABLE invoices DROP COLUMN last_payment_error;
ALTER TABLE invoices DROP COLUMN attempt_count;
DROP INDEX one_renewal_per_period;
DELETE FROM order_items WHERE type = 'renewal';
ALTER TABLE order_items DROP CONSTRAINT order_items_type_check;
ALTER TABLE order_items ADD CONSTRAINT order_items_type_check CHECK (type IN ('change', 'subscribe'));
DELETE FROM orders WHERE renews_subscription_id IS NOT NULL;
ALTER TABLE orders DROP CONSTRAINT order_has_one_source;
ALTER TABLE orders ADD CONSTRAINT order_has_one_source CHECK ((cart_id IS NULL) <> (quote_id IS NULL));
ALTER TABLE orders DROP COLUMN renews_subscription_id;
DROP INDEX subscriptions_trial_end_idx;
DROP INDEX subscriptions_renewal_due_idx;
ALTER TABLE subscriptions DROP CONSTRAINT active_has_period;
UPDATE subscriptions SET status = 'active' WHERE status = 'past_due';
UPDATE subscriptions SET status = 'trialing' WHERE status = 'trial_expired';
ALTER TABLE subscriptions ADD CONSTRAINT active_has_period CHECK (
    (status <> 'active') OR ((current_period_start IS NOT NULL) AND (current_period_end IS NOT NULL)
    AND (current_period_end > current_period_start) AND (period_amount IS NOT NULL)));
ALTER TABLE subscriptions DROP CONSTRAINT subscriptions_status_check;
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_status_check CHECK (status IN ('trialing', 'active', 'canceled'));
ALTER TABLE subscriptions DROP COLUMN billing_anchor_day;
DROP TABLE jobs;
