DELETE FROM jobs WHERE kind IN ('retry_payment', 'end_dunning', 'invoice_overdue');
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check
    CHECK (kind IN ('renew_subscription', 'trial_will_end', 'expire_trial',
                    'purge_idempotency_keys', 'recover_pending_orders', 'advance_test_clock'));
DELETE FROM invoices WHERE order_id IN (SELECT id FROM orders WHERE cancels_subscription_id IS NOT NULL);
DELETE FROM orders WHERE cancels_subscription_id IS NOT NULL;
ALTER TABLE order_items DROP CONSTRAINT order_items_type_check;
ALTER TABLE order_items ADD CONSTRAINT order_items_type_check
    CHECK (type IN ('change', 'subscribe', 'renewal'));
DROP INDEX one_cancellation_per_subscription;
ALTER TABLE orders DROP CONSTRAINT order_has_one_source;
ALTER TABLE orders ADD CONSTRAINT order_has_one_source
    CHECK (num_nonnulls(cart_id, quote_id, renews_subscription_id) = 1);
ALTER TABLE orders DROP COLUMN cancels_subscription_id;
DROP INDEX invoices_overdue_idx;
DROP INDEX invoices_dunning_end_idx;
DROP INDEX invoices_retry_idx;
ALTER TABLE invoices DROP CONSTRAINT retries_only_while_open;
ALTER TABLE invoices DROP COLUMN dunning_ends_at;
ALTER TABLE invoices DROP COLUMN next_payment_attempt;
ALTER TABLE invoices DROP COLUMN first_failed_at;
UPDATE invoices SET status = 'open' WHERE status IN ('uncollectible', 'void');
ALTER TABLE invoices DROP CONSTRAINT invoices_status_check;
ALTER TABLE invoices ADD CONSTRAINT invoices_status_check CHECK (status IN ('open', 'paid'));
ALTER TABLE subscriptions DROP CONSTRAINT pending_cancellation_has_date;
ALTER TABLE subscriptions DROP CONSTRAINT canceled_has_end;
ALTER TABLE subscriptions DROP COLUMN cancellation_comment;
ALTER TABLE subscriptions DROP COLUMN cancellation_reason;
ALTER TABLE subscriptions DROP COLUMN ended_at;
ALTER TABLE subscriptions DROP COLUMN cancel_at;
ALTER TABLE subscriptions DROP COLUMN cancel_at_period_end;
