-- What one checkout does in the database through the API: add a `change` item to a fresh
-- cart (POST …/cart/items), then place the order (POST …/cart/checkout): record it, and —
-- after the card is charged — finalise it. Same tables, filters, locks, rows and order of
-- statements as the service (captured with log_statement = all). Each client owns its own
-- accounts of the second half, as the load generator's connections do.
\set n :accounts / 2 + 1 + :client_id + :nclients * random(0, :accounts / 2 / :nclients - 1)
\set annual random(0, 1)
\set keyn random(1, 1000000000)
-- Add the item.
BEGIN;
SELECT * FROM accounts WHERE id = bench_uuid(1, :n) LIMIT 1 FOR NO KEY UPDATE;
SELECT carts.*, cart_items.* FROM carts LEFT JOIN cart_items ON cart_items.cart_id = carts.id
    WHERE carts.account_id = bench_uuid(1, :n) AND carts.status <> 'checked_out' ORDER BY cart_items.created_at, cart_items.id;
-- The service inserts the cart (ON CONFLICT DO NOTHING RETURNING) and reads it only when it lost
-- a race; one statement does both here, so a cart left open by the API run cannot stop a client.
WITH created AS (INSERT INTO carts (id, account_id, status, created_at, updated_at)
                 VALUES (gen_random_uuid(), bench_uuid(1, :n), 'open', now(), now()) ON CONFLICT DO NOTHING RETURNING id)
SELECT id AS cart_id FROM created
UNION ALL SELECT id FROM carts WHERE account_id = bench_uuid(1, :n) AND status <> 'checked_out' LIMIT 1 \gset
SELECT * FROM subscriptions WHERE account_id = bench_uuid(1, :n) AND id = bench_uuid(2, :n) LIMIT 1;
INSERT INTO cart_items (id, cart_id, account_id, type, product_id, subscription_id, plan_id, billing_frequency, quantity, created_at)
    VALUES (gen_random_uuid(), :cart_id, bench_uuid(1, :n), 'change', '00000000-0000-4000-8000-000000000001', bench_uuid(2, :n),
            '00000000-0000-4000-8001-000000000001', CASE WHEN :annual = 1 THEN 'annual' ELSE 'monthly' END, 10, now())
    ON CONFLICT (cart_id, product_id) DO UPDATE SET id = excluded.id, type = excluded.type, subscription_id = excluded.subscription_id,
       plan_id = excluded.plan_id, billing_frequency = excluded.billing_frequency, quantity = excluded.quantity, created_at = excluded.created_at;
UPDATE carts SET version = version + 1, updated_at = now() WHERE id = :cart_id RETURNING *;
INSERT INTO events (id, account_id, actor_sub, actor_role, type, subject_type, subject_id, previous_attributes, object, request_id, created_at)
    VALUES (gen_random_uuid(), bench_uuid(1, :n), 'bench', 'admin', 'cart.item_added', 'cart', :cart_id, NULL,
            '{"type": "change", "quantity": 10, "billing_frequency": "annual", "plan_id": "00000000-0000-4000-8001-000000000001"}', 'bench', now());
COMMIT;
-- Record the order.
BEGIN;
SELECT * FROM accounts WHERE id = bench_uuid(1, :n) LIMIT 1 FOR NO KEY UPDATE;
SELECT * FROM idempotency_keys WHERE account_id = bench_uuid(1, :n) AND key = 'bench-' || :client_id || '-' || :keyn LIMIT 1 FOR UPDATE;
SELECT carts.*, cart_items.* FROM carts LEFT JOIN cart_items ON cart_items.cart_id = carts.id
    WHERE carts.account_id = bench_uuid(1, :n) AND carts.status <> 'checked_out' ORDER BY cart_items.created_at, cart_items.id;
SELECT * FROM subscriptions WHERE account_id = bench_uuid(1, :n) AND product_id = '00000000-0000-4000-8000-000000000001' LIMIT 1 FOR NO KEY UPDATE;
INSERT INTO orders (id, account_id, cart_id, status, settlement, currency, quote_date, subtotal, tax_rate, tax,
                    reverse_charge, credit_applied, credit_created, total_due, po_number, reason, placed_by_sub, placed_by_role,
                    idempotency_key, charge_id, created_at, completed_at, quote_id, payment_method_ref, voided_at, void_reason, refunded_at)
    VALUES (gen_random_uuid(), bench_uuid(1, :n), :cart_id, 'pending', 'card', 'USD', current_date,
            290.00, 0, 0.00, false, 0.00, 0.00, 290.00, NULL, NULL, 'bench', 'admin', 'bench-' || :client_id || '-' || :keyn, NULL, now(), NULL,
            NULL, 'card_test_visa_bench', NULL, NULL, NULL)
    RETURNING id AS order_id, number AS order_number \gset
INSERT INTO order_items (id, order_id, account_id, position, type, product_id, subscription_id, plan_id, billing_frequency,
                         quantity, period_start, period_end, unit_price, plan_price, proration_credit)
    VALUES (gen_random_uuid(), :order_id, bench_uuid(1, :n), 0, 'change', '00000000-0000-4000-8000-000000000001',
            bench_uuid(2, :n), '00000000-0000-4000-8001-000000000001', 'monthly', 10, current_date, current_date + 30,
            29.00, 290.00, 290.00)
    RETURNING id AS item_id \gset
INSERT INTO order_lines (id, order_id, account_id, order_item_id, position, description, amount)
    VALUES (gen_random_uuid(), :order_id, bench_uuid(1, :n), :item_id, 0, 'GoToAssist Remote Support v4 Standard, 10 licences', 290.00),
           (gen_random_uuid(), :order_id, bench_uuid(1, :n), :item_id, 1, 'Unused time on Standard × 10', 0.00);
INSERT INTO idempotency_keys (account_id, key, fingerprint, order_id, locked_until)
    VALUES (bench_uuid(1, :n), 'bench-' || :client_id || '-' || :keyn, 'fingerprint', :order_id, now() + interval '60 seconds');
UPDATE carts SET status = 'checking_out', updated_at = now() WHERE id = :cart_id;
COMMIT;
-- (The card is charged here, outside any transaction.) Finalise: the items recorded above are
-- applied as the service holds them, without reading them back.
BEGIN;
SELECT orders.*, accounts.* FROM orders INNER JOIN accounts ON accounts.id = orders.account_id
    WHERE orders.id = :order_id LIMIT 1 FOR NO KEY UPDATE;
SELECT * FROM subscriptions WHERE account_id = bench_uuid(1, :n) AND product_id = '00000000-0000-4000-8000-000000000001' LIMIT 1 FOR NO KEY UPDATE;
UPDATE subscriptions SET plan_id = '00000000-0000-4000-8001-000000000001',
       billing_frequency = CASE WHEN :annual = 1 THEN 'annual' ELSE 'monthly' END, quantity = 10, status = 'active',
       current_period_start = current_date, current_period_end = current_date + 30, period_amount = 290.00,
       quantity_pending = NULL, version = version + 1, updated_at = now()
    WHERE id = bench_uuid(2, :n) RETURNING *;
UPDATE orders SET status = 'completed', completed_at = now(), charge_id = 'ch_bench' WHERE id = :order_id RETURNING *;
UPDATE carts SET status = 'checked_out', updated_at = now() WHERE id = :cart_id;
UPDATE accounts SET invoices_issued = invoices_issued + 1 WHERE id = bench_uuid(1, :n) RETURNING invoices_issued AS invoice_number \gset
INSERT INTO invoices (id, account_id, order_id, number, status, currency, subtotal, tax_rate, tax, reverse_charge, credit_applied,
                      credit_created, total_due, amount_paid, issued_on, due_on, paid_at, created_at)
    VALUES (gen_random_uuid(), bench_uuid(1, :n), :order_id, 'INV-' || :n || '-' || :invoice_number, 'paid', 'USD', 290.00, 0, 0.00, false,
            0.00, 0.00, 290.00, 290.00, current_date, current_date, now(), now());
UPDATE idempotency_keys SET response_status = 201, response_body = '{"status": "completed", "total_due": "290.00"}',
       completed_at = now(), locked_until = NULL
    WHERE account_id = bench_uuid(1, :n) AND key = 'bench-' || :client_id || '-' || :keyn;
INSERT INTO events (id, account_id, actor_sub, actor_role, type, subject_type, subject_id, previous_attributes, object, request_id, created_at)
    VALUES (gen_random_uuid(), bench_uuid(1, :n), 'bench', 'admin', 'subscription.updated', 'subscription', bench_uuid(2, :n),
            '{"billing_frequency": "monthly", "version": 1}',
            '{"quantity": 10, "status": "active", "billing_frequency": "annual", "period_amount": "290.00", "version": 2}', 'bench', now()),
           (gen_random_uuid(), bench_uuid(1, :n), 'bench', 'admin', 'order.placed', 'order', :order_id, NULL,
            '{"number": "ORD", "total_due": "290.00", "settlement": "card"}', 'bench', now()),
           (gen_random_uuid(), bench_uuid(1, :n), 'bench', 'admin', 'invoice.created', 'invoice', :order_id, NULL,
            '{"number": "INV", "total_due": "290.00", "status": "paid"}', 'bench', now()),
           (gen_random_uuid(), bench_uuid(1, :n), 'bench', 'admin', 'invoice.paid', 'invoice', :order_id, NULL,
            '{"number": "INV", "total_due": "290.00", "status": "paid"}', 'bench', now());
COMMIT;
