-- The floor: the least any checkout must write, in one transaction — lock one subscription,
-- update it, insert one order with two lines and one invoice — on the floor's own tables
-- (bench/pgbench/checkout_floor_setup.sql), for a random account. `API checkouts/s ÷ floor
-- tps` says how close the whole checkout comes to this.
\set n random(1, :accounts)
\set annual random(0, 1)
BEGIN;
SELECT id FROM floor.subscriptions WHERE id = bench_uuid(2, :n) FOR NO KEY UPDATE;
UPDATE floor.subscriptions
    SET billing_frequency = CASE WHEN :annual = 1 THEN 'annual' ELSE 'monthly' END, quantity = 10,
        current_period_start = current_date, current_period_end = current_date + 30, period_amount = 290.00,
        version = version + 1, updated_at = now()
    WHERE id = bench_uuid(2, :n);
INSERT INTO floor.orders (id, account_id, number, status, currency, subtotal, tax, total_due)
    VALUES (gen_random_uuid(), bench_uuid(1, :n), 'ORD-' || nextval('floor.order_number_seq'), 'completed', 'USD',
            290.00, 0.00, 290.00)
    RETURNING id AS order_id \gset
INSERT INTO floor.order_lines (id, order_id, position, description, amount)
    VALUES (gen_random_uuid(), :order_id, 0, 'GoToAssist Remote Support v4 Standard, 10 licences', 290.00),
           (gen_random_uuid(), :order_id, 1, 'Unused time on Standard × 10', 0.00);
INSERT INTO floor.invoices (id, order_id, account_id, number, status, total_due, issued_on)
    VALUES (gen_random_uuid(), :order_id, bench_uuid(1, :n), 'INV-' || :order_id, 'paid', 290.00, current_date);
COMMIT;
